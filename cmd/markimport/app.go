package main

import (
	"context"
	"fmt"
	"io"
)

const usage = `markimport imports conversation marks into Tencent Cloud IM (v4/recentcontact/mark_contact).

Usage:
  markimport validate --input FILE [--report FILE] [--summary FILE]      dry run: nothing is sent
  markimport run      --input FILE --report FILE --sdkappid N --admin ID
                      (--region NAME | --endpoint URL) [--rate 200] [--concurrency N]
                      [--backup FILE] [--mode upsert|insert] [--state DIR] [--resume]
  markimport run      --fake --input FILE --report FILE                   rehearsal on the built-in emulator
  markimport fake-server --listen 127.0.0.1:8080 [flags]                  run the emulator
  markimport verify   --input FILE --report FILE --sdkappid N --admin ID
                      (--region NAME | --endpoint URL) [--rate 200]      read the marks back and compare
  markimport preflight --scratch FROM:TYPE:PEER --sdkappid N --admin ID
                      (--region NAME | --endpoint URL) [--profile FILE]  prove the service's behaviour on one conversation
  markimport config [validate|run|verify] [flags]                        the settings a command would use, and where each comes from
  markimport help | version


Run "markimport COMMAND -h" for the flags of a command (each with two dashes,
--input) and "markimport --version" for the build.
Credentials come from MARKIMPORT_SECRET_KEY (or --secret-key-file), or a ready
usersig in MARKIMPORT_USERSIG (or --usersig-file). Every flag of validate, run
and verify may also come from MARKIMPORT_<FLAG> (MARKIMPORT_READ_RATE) or a TOML
file (--config FILE or MARKIMPORT_CONFIG); "markimport config" shows them.

`

// commandHelp is what -h says a command does and how it is called.
var commandHelp = map[string]struct{ about, usage string }{
	"validate": {"markimport validate reads every row, checks it and prints the plan: rows by status, users,\nconversations, requests and the time they take at the rate. Nothing is sent (--online reads the\nplanned conversations back and says what a run would change).",
		"  markimport validate --input FILE [--report FILE] [--summary FILE] [flags]\n  markimport validate --online --input FILE --profile FILE (--region NAME | --endpoint URL | --fake) [flags]\n"},
	"run": {"markimport run imports the marks: it reads and checks every row, plans the fewest requests and sends\nthem at --rate, writing one report line per input row.",
		"  markimport run --input FILE --report FILE --sdkappid N --admin ID (--region NAME | --endpoint URL) [flags]\n  markimport run --fake --input FILE --report FILE [flags]     rehearsal on the built-in emulator\n"},
	"verify": {"markimport verify reads back the marks of every conversation the input plans and compares them\nwith what its rows asked for, one report line per input row.",
		"  markimport verify --input FILE --report FILE --profile FILE --sdkappid N --admin ID\n                    (--region NAME | --endpoint URL) [flags]\n"},
}

// run is the whole program: it parses args, runs a command and returns the
// exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWithHooks(ctx, args, stdout, stderr, hooks{})
}

// runWithHooks is run with what a caller in-process injects (main
// injects nothing).
func runWithHooks(ctx context.Context, args []string, stdout, stderr io.Writer, h hooks) int {
	// A closed stdout or stderr never stops a command: writes to it are
	// dropped from then on, and the summary says so.
	stdout, stderr = newStream("stdout", stdout), newStream("stderr", stderr)
	if len(args) == 0 {
		fmt.Fprint(stderr, usage, exitCodesHelp)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "validate":
		return cmdImport(ctx, rest, stdout, stderr, h, true)
	case "run":
		return cmdImport(ctx, rest, stdout, stderr, h, false)
	case "fake-server":
		return cmdFakeServer(ctx, rest, stdout, stderr)
	case "verify":
		return cmdVerify(ctx, rest, stdout, stderr, h)
	case "preflight":
		return cmdPreflight(ctx, rest, stdout, stderr, h)
	case "config":
		return cmdConfig(rest, stdout, stderr, h)
	case "page":
		return cmdPage(rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage, exitCodesHelp)
		return exitOK
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	}
	fmt.Fprintf(stderr, "markimport: unknown command %q\n\n%s%s", cmd, usage, exitCodesHelp)
	return exitUsage
}
