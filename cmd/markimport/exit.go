package main

import (
	"strconv"
	"strings"
)

// Exit codes. What each means is said once, in exitCodes: --help prints
// it, and TestExitCodesREADME holds README.md's table to it.
const (
	exitOK          = 0   // every row ok (or valid in a dry run)
	exitSomeNotOK   = 1   // some rows are not ok: see the report
	exitUsage       = 2   // usage, configuration or input error, or an output that cannot be written; nothing was sent
	exitFatal       = 3   // stopped: a fatal API error, an endpoint never reached, a report or backup that cannot be written, or a lease lost
	exitMaxInvalid  = 4   // stopped by --max-invalid before the first request
	exitInterrupted = 130 // interrupted; the report is flushed and --resume continues
)

// exitCodes is the one table of the exit codes of validate, run and
// verify, in plain text: a scheduler acts on these (retry, alert, page).
var exitCodes = []struct {
	code    int
	meaning string
}{
	{exitOK, "every row ok or, with --state or --skip-unchanged, unchanged, with --mode insert, exists, with --sample, skipped (validate: valid or unchanged; --online: would-change or already; verify: every checked row matches); with --allow-empty, also an input without rows (a warning says so)"},
	{exitSomeNotOK, "some rows are not ok (failed, invalid, rejected, unsent; verify: mismatch, missing, unread): see the report"},
	{exitUsage, "usage, configuration or input error, an input without rows (unless --allow-empty): nothing was sent (also an output that may not be replaced, is locked by another command, or whose folder is missing or read-only, and a temporary folder that takes no file)"},
	{exitFatal, "stopped by a fatal API error (credentials, region, edition), a redirect, an endpoint never reached or never answering, a report or --backup journal that could not be written (a full disk: stopped: \"report\" or \"backup\"), or a lease in object storage lost (stopped: \"lease\"); the message names the cause and the fix; then --resume"},
	{exitMaxInvalid, "stopped by --max-invalid: more rows invalid or rejected than it allows, so nothing was sent; the report (and --rejects) says which and why"},
	{exitInterrupted, "interrupted (SIGINT, SIGTERM or SIGHUP): the report is flushed; --resume continues"},
}

// exitCodesHelp is the exit codes as help prints them.
var exitCodesHelp = formatExitCodes()

func formatExitCodes() string {
	var b strings.Builder
	b.WriteString("Exit codes:\n")
	for _, e := range exitCodes {
		lines := wrap(e.meaning, 72)
		for i, l := range lines {
			head := ""
			if i == 0 {
				head = strconv.Itoa(e.code)
			}
			b.WriteString("  " + head + strings.Repeat(" ", 5-len(head)) + l + "\n")
		}
	}
	return b.String()
}

// wrap breaks text into lines of at most width bytes at spaces (a longer
// word is a line of its own).
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) > width:
			lines = append(lines, line)
			line = w
		default:
			line += " " + w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
