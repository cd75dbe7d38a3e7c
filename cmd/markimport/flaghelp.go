package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// commands is a set of the commands that share importFlags: validate, run
// and verify.
type commands uint8

const (
	inValidate commands = 1 << iota
	inRun
	inVerify
	inAll = inValidate | inRun | inVerify
)

// commandBit is the member of commands a command name is (0 for the
// others).
func commandBit(name string) commands {
	switch name {
	case "validate":
		return inValidate
	case "run":
		return inRun
	case "verify":
		return inVerify
	}
	return 0
}

// String names the commands of the set: "validate and run".
func (s commands) String() string {
	var names []string
	for _, n := range []string{"validate", "run", "verify"} {
		if s&commandBit(n) != 0 {
			names = append(names, n)
		}
	}
	if len(names) > 1 {
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
	return strings.Join(names, "")
}

// flagHome is which of validate, run and verify take a flag, and what each
// of the others says when given it.
type flagHome struct {
	in  commands
	why map[string]string // by refusing command: why, after "--flag belongs to run"
}

// flagHomes holds every flag of importFlags that not all of validate, run
// and verify take; a flag it does not name is taken by all three. Help
// lists a command's flags from it and checkFlagHomes refuses the others
// by it, so that what help shows and what a command takes cannot differ.
// (validate takes the connection flags only with --online: checkOnline.)
var flagHomes = map[string]flagHome{
	"rejects":     {inValidate | inRun, map[string]string{"verify": "verify reports every row in --report"}},
	"max-invalid": {inValidate | inRun, map[string]string{"verify": "verify reports every row in --report"}},
	"state":       {inValidate | inRun, map[string]string{"verify": "verify reads every row back, unchanged ones too"}},
	"full":        {inValidate | inRun, map[string]string{"verify": "verify reads every row back, unchanged ones too"}},
	"resume": {inRun, map[string]string{
		"validate": "validate sends nothing; run it again",
		"verify":   "verify reads every row again; there is nothing to resume"}},
	"mode": {inRun, map[string]string{
		"validate": "validate cannot know which conversations already hold marks on the server (run reads them back before writing); rehearse it with run --fake --mode insert",
		"verify":   "to verify an insert-only run, give its report with --run-report (rows it reported exists are not checked)"}},
	"backup": {inRun, map[string]string{
		"validate": "validate sends nothing, so there is nothing to back up and no server to read; rehearse the backup with run --fake --backup",
		"verify":   "verify changes nothing, so there is nothing to back up (to check a rollback, verify --input BACKUP)"}},
	"skip-unchanged": {inRun, map[string]string{
		"validate": "validate sends nothing (validate --online shows what the server already holds)",
		"verify":   "verify changes nothing"}},
	"read-rate": {inValidate | inRun, map[string]string{"verify": "verify reads at --rate"}},
	"force": {inRun | inVerify, map[string]string{
		"validate": "validate reads a backup as any input and sends nothing: there is nothing to force"}},
	"online": {inValidate, map[string]string{
		"run":    "run always reads and writes the service; validate --online previews what it would change",
		"verify": "verify always reads the service"}},
	"run-report": {inVerify, nil},
	"strict-bits": {inValidate | inRun, map[string]string{
		"verify": "verify checks the marks the file asks for, bits 4-31 included"}},
}

// takes reports whether command takes the flag.
func takes(command, flag string) bool {
	h, ok := flagHomes[flag]
	return !ok || h.in&commandBit(command) != 0
}

// checkFlagHomes refuses the first flag of the command line that the
// command does not take (flagHomes), saying which commands take it.
func (c *command) checkFlagHomes() error {
	for _, name := range givenInOrder(c.args, c.given) {
		if takes(c.name, name) {
			continue
		}
		h := flagHomes[name]
		msg := fmt.Sprintf("--%s belongs to %s", name, h.in)
		if why := h.why[c.name]; why != "" {
			msg += ": " + why
		}
		return errors.New(msg)
	}
	return nil
}

// givenInOrder are the names of the flags given, in the order of the
// command line.
func givenInOrder(args []string, given map[string]bool) []string {
	var names []string
	for _, a := range args {
		if a == "--" {
			break
		}
		name, ok := strings.CutPrefix(a, "-")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(strings.TrimPrefix(name, "-"), "=")
		if given[name] && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// usageError is a command line the flag parser refused: what is wrong
// (one line) and where to look.
type usageError struct {
	msg  string
	hint string
}

func (e *usageError) Error() string { return e.msg }

// parseFlags parses args into fs. It returns help true for -h or --help,
// and a *usageError for any other mistake: an unknown flag with the
// command's flag (those takes accepts) closest to it, if one is close.
// The flag package prints nothing: the caller prints help, or the error.
func parseFlags(command string, fs *flag.FlagSet, args []string, takes func(string) bool) (help bool, err error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err = fs.Parse(args)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, flag.ErrHelp):
		return true, nil
	}
	hint := fmt.Sprintf("See \"markimport %s -h\" for its flags.", command)
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		msg = "unknown flag --" + name
		if near := closestFlag(fs, name, takes); near != "" {
			msg += "; did you mean --" + near + "?"
		}
		return false, &usageError{msg, hint}
	}
	// The flag package names a flag with one dash; markimport's help and
	// README, with two.
	msg = strings.NewReplacer("for flag -", "for flag --", "argument: -", "argument: --").Replace(msg)
	return false, &usageError{msg, hint}
}

// closestFlag is the flag of fs, among those takes accepts, nearest to
// name, when it is close enough to be the one meant: at most two edits
// (a swap of neighbours is one), and fewer than half of name's letters.
func closestFlag(fs *flag.FlagSet, name string, takes func(string) bool) string {
	best, bestD := "", 3
	fs.VisitAll(func(f *flag.Flag) {
		if !takes(f.Name) {
			return
		}
		if d := editDistance(name, f.Name); d < bestD && 2*d < len(name) {
			best, bestD = f.Name, d
		}
	})
	return best
}

// editDistance is the optimal string alignment distance of a and b: the
// insertions, deletions, substitutions and swaps of adjacent bytes that
// turn one into the other.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// printHelp prints a command's help: what it does, how it is called, the
// flags it takes (those takes accepts) with two dashes, each with what
// note adds (nil: nothing), and what its exit codes mean.
func printHelp(w io.Writer, about, usage string, fs *flag.FlagSet, takes func(string) bool, note func(string) string, exits string) {
	fmt.Fprintf(w, "%s\n\nUsage:\n%s\nFlags:\n", about, usage)
	fs.VisitAll(func(f *flag.Flag) {
		if !takes(f.Name) {
			return
		}
		kind, text := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if kind != "" {
			line += " " + kind
		}
		if !zeroDefault(f.DefValue) {
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		if note != nil {
			text += note(f.Name)
		}
		fmt.Fprintln(w, line)
		for _, l := range wrap(text, 88) {
			fmt.Fprintln(w, "        "+l)
		}
	})
	fmt.Fprint(w, "\n", exits)
}

// zeroDefault reports whether a flag's default is its type's zero value,
// which help does not print.
func zeroDefault(v string) bool {
	switch v {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}
