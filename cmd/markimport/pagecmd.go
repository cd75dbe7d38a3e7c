package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"markimport/pipeline/durable"
	"markimport/pipeline/page"
	"markimport/sink"
)

// The sign-off page (--html, and markimport page to make it again): one
// HTML file made from the summary JSON and the finished report, so that
// the page a run writes and the page made later from its files are the
// same page.

// pageOptions are what the page needs to know that the run's files do not
// say: what each code means, and the API's quota.
var pageOptions = page.Options{Explain: sink.Meaning, Quota: sink.DefaultRate}

// invocation is what the summary JSON says of how the command was run:
// the command line with its secrets masked, the version, the profile, and
// with --backup the backup and the commands that roll back and check.
type invocation struct {
	Command     string `json:"command"`
	CommandLine string `json:"command_line"`
	Version     string `json:"version"`
	Profile     string `json:"profile,omitempty"`
	Backup      string `json:"backup,omitempty"`
	Rollback    string `json:"rollback_command,omitempty"`
}

// invocation describes this command for its summary.
func (c *command) invocation() invocation {
	in := invocation{Command: c.name, CommandLine: sink.Redact(commandLine(append([]string{"markimport", c.name}, c.args...))),
		Version: versionLine(), Profile: c.profile}
	if c.backup != "" {
		in.Backup = c.backup
		in.Rollback = sink.Redact(c.rollbackCommand())
	}
	return in
}

// commandLine is args as a shell would take them back.
func commandLine(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = shellQuote(a)
	}
	return strings.Join(out, " ")
}

// shellQuote quotes a for a POSIX shell when it needs it.
func shellQuote(a string) string {
	if a == "" || strings.ContainsAny(a, " \t\n'\"$`\\*?[]{}()<>|&;#~!") {
		return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return a
}

// rollbackCommand is how to roll back this run's changes from its backup
// and check the rollback: the backup imported with the run's connection,
// then verified.
func (c *command) rollbackCommand() string {
	var conn []string
	for _, name := range append([]string{"sdkappid", "admin"}, connectionFlags...) {
		if !c.given[name] && c.settings[name] == "" {
			continue
		}
		f := c.flags.Lookup(name)
		if f == nil {
			continue
		}
		if name == "fake" {
			conn = append(conn, "--fake")
			continue
		}
		conn = append(conn, "--"+name, f.Value.String())
	}
	stem := strings.TrimSuffix(c.backup, filepath.Ext(c.backup))
	run := append([]string{"markimport", "run", "--input", c.backup, "--report", stem + "-rollback.csv"}, conn...)
	verify := append([]string{"markimport", "verify", "--input", c.backup, "--report", stem + "-rollback-verify.csv"}, conn...)
	return commandLine(run) + "\n" + commandLine(verify)
}

// checkHTML refuses --html without --report: the page's samples and
// counts come from the report.
func (c *command) checkHTML() error {
	if c.html != "" && c.report == "" {
		return errors.New("--html needs --report: the page's counts and sample rows are read from the report")
	}
	return nil
}

// savePage writes --html, when given, from the summary JSON the command
// wrote (or would have written) and its finished report; a page that
// cannot be made makes the exit code at least 1.
func (c *command) savePage(summary []byte, code int) int {
	if c.html == "" {
		return code
	}
	if err := writePage(c.html, summary, c.report, c.staged[c.report]); err != nil {
		c.tell(slog.LevelError, "write the page: "+err.Error(), "")
		return max(code, exitSomeNotOK)
	}
	c.log.Info("page written", "path", c.html)
	return code
}

// writePage makes the page of summary and report and writes it to path as
// one durable output, secrets redacted; the page names the report
// reportName ("": reportPath).
func writePage(path string, summary []byte, reportPath, reportName string) error {
	var b bytes.Buffer
	o := pageOptions
	o.ReportName = reportName
	if err := page.Make(&b, summary, reportPath, o); err != nil {
		return err
	}
	return durable.WriteFile(nil, path, []byte(sink.Redact(b.String())))
}

// cmdPage makes the sign-off page again from a command's report and
// summary, without running anything: markimport page --report R --summary
// S --html FILE [--overwrite].
func cmdPage(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("page", flag.ContinueOnError)
	rep := fs.String("report", "", "the report of a finished validate, run or verify (CSV, or a run's Parquet report)")
	sum := fs.String("summary", "", "the summary JSON the same command wrote (--summary)")
	html := fs.String("html", "", "the page to write")
	overwrite := fs.Bool("overwrite", false, "replace an existing page")
	all := func(string) bool { return true }
	help, err := parseFlags("page", fs, args, all)
	if help {
		printHelp(stdout, "markimport page makes the sign-off page of a finished command again from its report and summary; nothing is run or sent.",
			"  markimport page --report FILE --summary FILE --html FILE [--overwrite]\n", fs, all, nil, "Exit codes:\n  0    the page was written\n  2    usage, or a report or summary that is not of one finished command\n")
		return exitOK
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "markimport page: %s\n", sink.Redact(fmt.Sprintf(format, a...)))
		return exitUsage
	}
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		return fail("%s\n%s", ue.msg, ue.hint)
	case err != nil:
		return fail("%v", err)
	case *rep == "" || *sum == "" || *html == "":
		return fail("--report, --summary and --html are all needed")
	case fs.NArg() > 0:
		return fail("unexpected argument %q", fs.Arg(0))
	}
	inputs := []named{{"--report", *rep}, {"--summary", *sum}}
	objects, err := stagePage(html, inputs)
	if err != nil {
		return fail("%v", err)
	}
	if objects != nil {
		defer objects.close()
	}
	if err := checkOutputs(inputs, []named{{"--html", *html}, {"--html", *html + ".tmp"}, {"--html", *html + ".lock"}}, nil); err != nil {
		return fail("%v", err)
	}
	c := &command{importFlags: &importFlags{overwrite: *overwrite}}
	release, err := claim([]output{c.replaceable("--html", *html)})
	if err != nil {
		return fail("%v", err)
	}
	defer release()
	releaseLeases, err := c.holdObjects(objects)
	if err != nil {
		return fail("%v", err)
	}
	defer releaseLeases()
	summary, err := os.ReadFile(*sum)
	if err != nil {
		return fail("--summary: %v", err)
	}
	if err := writePage(*html, summary, *rep, ""); err != nil {
		return fail("%v", err)
	}
	if objects != nil {
		if err := objects.publishSummary(*overwrite); err != nil {
			return fail("%v", err)
		}
		*html = objects.files[0].obj.String()
	}
	fmt.Fprintf(stdout, "page written: %s\n", *html)
	return exitOK
}
