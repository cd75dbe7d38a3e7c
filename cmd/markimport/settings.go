package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Every flag of validate, run, verify, preflight and fake-server may also
// come from the environment, MARKIMPORT_<FLAG> (upper case, dashes as
// underscores: MARKIMPORT_READ_RATE), or from a TOML config file (--config
// FILE, or MARKIMPORT_CONFIG): keys are flag names, at the top level for
// every command that takes the flag, and in a [validate], [run], [verify],
// [preflight] or [fake-server] table for that command alone, which wins
// over the top level. Precedence: the command line, then the environment,
// then the file, then the default. A setting a command does not take is
// left alone when it comes from the environment or the file's top level
// (one environment serves every command), and refused in a command's own
// table; a top-level key no command takes is refused. Repeatable flags
// (input, map) take a TOML array; from the environment, one value.

// secretEnv are the variables that hold credentials: read from the
// environment only, never a flag's value, never shown.
var secretEnv = []string{"MARKIMPORT_SECRET_KEY", "MARKIMPORT_USERSIG"}

// envName is the environment variable of a flag.
func envName(flagName string) string {
	return "MARKIMPORT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// settingSource says, by flag name, where a flag's value came from:
// "flag", "env NAME", "FILE" or "FILE [run]"; a flag it does not name has
// its default.
type settingSource map[string]string

// importCommands share one set of flags (importFlags); configTables are
// the config file's command tables.
var (
	importCommands = []string{"validate", "run", "verify"}
	configTables   = append(slices.Clone(importCommands), "preflight", "fake-server")
)

// configHelp is the help of a command's --config flag.
func configHelp(command string) string {
	return fmt.Sprintf("a TOML file of settings: flag names as keys, at the top level (for every command that takes the flag) or in a [%s] table (or env MARKIMPORT_CONFIG); every flag may also come from MARKIMPORT_<FLAG>; the command line wins, then the environment, then the file", command)
}

// flagSetOf is a fresh set of command's flags, to check its table of a
// config file whichever command reads the file.
func flagSetOf(command string) *flag.FlagSet {
	switch command {
	case "preflight":
		return preflightFlags(&importFlags{}, new(string))
	case "fake-server":
		return new(fakeServerFlags).define()
	}
	fs, _ := newImportFlags(command)
	return fs
}

// sameFlags reports whether commands a and b have one set of flags.
func sameFlags(a, b string) bool {
	return a == b || slices.Contains(importCommands, a) && slices.Contains(importCommands, b)
}

// applySettings sets every flag of fs that command takes and the command
// line did not give (given) from the environment (lookup) or the config
// file, and returns where each flag's value came from.
func applySettings(command string, fs *flag.FlagSet, given map[string]bool, lookup func(string) (string, bool)) (settingSource, error) {
	src := settingSource{}
	path := ""
	if f := fs.Lookup("config"); f != nil && given["config"] {
		path = f.Value.String()
		src["config"] = "flag"
	} else if v, ok := lookup(envName("config")); ok {
		path = v
		fs.Set("config", v)
		src["config"] = "env " + envName("config")
	}
	top, table, err := readConfig(path, command, fs)
	if err != nil {
		return nil, err
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := f.Name
		switch {
		case name == "config":
			return
		case given[name]:
			src[name] = "flag"
			return
		case !takes(command, name):
			return
		}
		if v, ok := lookup(envName(name)); ok {
			if err := fs.Set(name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", envName(name), v, err))
			}
			src[name] = "env " + envName(name)
			return
		}
		for _, layer := range []struct {
			values map[string]any
			where  string
		}{{table, path + " [" + command + "]"}, {top, path}} {
			v, ok := layer.values[name]
			if !ok {
				continue
			}
			if err := setFromConfig(fs, name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %v", layer.where, name, err))
			}
			src[name] = layer.where
			return
		}
	})
	return src, errors.Join(errs...)
}

// readConfig reads the config file at path (none when ""): its top-level
// settings and command's table. A key that is no flag, a table that is no
// command, and a flag in a command's table that the command does not take
// are errors.
func readConfig(path, command string, fs *flag.FlagSet) (top, table map[string]any, err error) {
	if path == "" {
		return nil, nil, nil
	}
	var doc map[string]any
	if _, err := toml.DecodeFile(path, &doc); err != nil {
		return nil, nil, fmt.Errorf("--config %s: %v", path, err)
	}
	top = map[string]any{}
	// known refuses a name that is no flag of fs.
	known := func(fs *flag.FlagSet, name string) error {
		if name == "config" || fs.Lookup(name) == nil {
			msg := fmt.Sprintf("--config %s: %q is not a setting", path, name)
			if near := closestFlag(fs, name, func(string) bool { return true }); near != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", near)
			}
			return errors.New(msg)
		}
		return nil
	}
	sets := map[string]*flag.FlagSet{command: fs}
	flagsOf := func(cmd string) *flag.FlagSet {
		for have, set := range sets {
			if sameFlags(have, cmd) {
				return set
			}
		}
		sets[cmd] = flagSetOf(cmd)
		return sets[cmd]
	}
	for key, v := range doc {
		sub, isTable := v.(map[string]any)
		if !isTable {
			// A top-level key: a flag of some command.
			if err := known(fs, key); err != nil && !slices.ContainsFunc(configTables, func(cmd string) bool { return known(flagsOf(cmd), key) == nil }) {
				return nil, nil, err
			}
			top[key] = v
			continue
		}
		if !slices.Contains(configTables, key) {
			return nil, nil, fmt.Errorf("--config %s: [%s] is not a command's table (%s)", path, key, strings.Join(configTables, ", "))
		}
		for name := range sub {
			if err := known(flagsOf(key), name); err != nil {
				return nil, nil, err
			}
			if !takes(key, name) {
				return nil, nil, fmt.Errorf("--config %s: [%s] %s: --%s belongs to %s", path, key, name, name, flagHomes[name].in)
			}
		}
		if key == command {
			table = sub
		}
	}
	return top, table, nil
}

// setFromConfig sets flag name from a TOML value: a string, number or
// boolean, or an array of them for a repeatable flag.
func setFromConfig(fs *flag.FlagSet, name string, v any) error {
	values := []any{v}
	if list, ok := v.([]any); ok {
		values = list
	}
	for _, e := range values {
		var s string
		switch x := e.(type) {
		case string:
			s = x
		case bool:
			s = strconv.FormatBool(x)
		case int64:
			s = strconv.FormatInt(x, 10)
		case float64:
			s = strconv.FormatFloat(x, 'g', -1, 64)
		default:
			return fmt.Errorf("%v is not a string, number or boolean", e)
		}
		if err := fs.Set(name, s); err != nil {
			return err
		}
	}
	return nil
}

// printSettings prints, for markimport config, every flag the command
// takes with its value and where it came from, and whether the secrets
// the command may read are set (never their values).
func printSettings(w io.Writer, command string, fs *flag.FlagSet, src settingSource) {
	fmt.Fprintf(w, "markimport %s: settings (command line > environment > config file > default)\n", command)
	fs.VisitAll(func(f *flag.Flag) {
		if !takes(command, f.Name) {
			return
		}
		from := src[f.Name]
		if from == "" {
			from = "default"
		}
		fmt.Fprintf(w, "  --%-18s %-28q %s\n", f.Name, f.Value.String(), from)
	})
	for _, secret := range secretEnv {
		state := "not set"
		if v, ok := os.LookupEnv(secret); ok && v != "" {
			state = "set (not shown)"
		}
		fmt.Fprintf(w, "  %-20s %s\n", secret, state)
	}
}

// configUsage is what markimport config -h prints.
const configUsage = `markimport config prints the settings validate, run or verify (run unless named) would use with
the given flags, the environment (MARKIMPORT_<FLAG>) and the config file (--config or
MARKIMPORT_CONFIG), and where each comes from: flag, environment, file or default. Secrets are
said to be set or not, never shown. Nothing is read, run or sent.

Usage:
  markimport config [validate|run|verify] [flags]

Flags: those of the command named ("markimport COMMAND -h").

Exit codes:
  0    the settings were printed
  2    usage: a command other than validate, run or verify, or a flag it refuses
`

// cmdConfig prints the settings validate, run or verify (default run)
// would use with the given flags, the environment and the config file,
// and where each comes from: markimport config [COMMAND] [flags]. Secrets
// are said to be set or not, never shown.
func cmdConfig(args []string, stdout, stderr io.Writer, h hooks) int {
	for _, a := range args {
		if a == "--" {
			break
		}
		if slices.Contains([]string{"-h", "-help", "--help"}, a) {
			// Its own help, not that of the command it would show.
			fmt.Fprint(stdout, configUsage)
			return exitOK
		}
	}
	command := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		command, args = args[0], args[1:]
	}
	if !slices.Contains(importCommands, command) {
		fmt.Fprintf(stderr, "markimport config: %q is not validate, run or verify\n", command)
		return exitUsage
	}
	c, code, ok := parseCommand(command, args, stdout, stderr, h)
	if !ok {
		return code
	}
	// A flag the command would refuse is refused here too, rather than
	// left out of the settings shown as if it had not been given.
	if err := c.checkFlagHomes(); err != nil {
		return c.fail("%v", err)
	}
	printSettings(stdout, command, c.flags, c.settings)
	return exitOK
}
