package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"markimport/pipeline/backup"
	"markimport/pipeline/report"
	"markimport/pipeline/state"
)

// Before a command reads its input or sends anything, it claims every file
// it will write, so that what would fail at the end (an output in a
// read-only or missing folder, an existing file it must not replace, a
// file another command is writing) fails at once, with exit 2, naming the
// flag and the path, and with nothing sent. Claiming an output is, in this
// order: its folder exists and takes a new file; its lock is taken (an
// flock on a file beside it, held until the command ends, so that no other
// markimport command writes it meanwhile, and what is there is judged
// under the lock); what is there may be replaced: a backup never, with
// --overwrite neither, and anything else only as the output's own rule
// says (refuse).

// output is one file a command will write.
type output struct {
	flag, path string
	lock       string // the lock file beside it
	what       string // how a lock message names it
	// isBackup marks the --backup file itself, whose own rule (refuse)
	// says which backup may be continued or replaced.
	isBackup bool
	// mkdir, when set, is a folder the output lives in that is created
	// when missing, just before the output is claimed.
	mkdir string
	// refuse says why what is at path must not be replaced, or nil.
	refuse func() error
}

// replaceable is the rule of an output that is written whole at the end
// (a summary, a rejects file, a profile): an existing file is replaced
// only with --overwrite, or with --resume, which continues the run that
// wrote it.
func (c *command) replaceable(flag, path string) output {
	return output{flag: flag, path: path, lock: path + ".lock", what: path, refuse: func() error {
		if _, err := os.Lstat(path); err == nil && !c.overwrite && !c.resume {
			return fmt.Errorf("%s %s exists: pass --overwrite to replace it, or name another file", flag, path)
		}
		return nil
	}}
}

// claim claims every output in order and returns what releases them all;
// on an error nothing stays claimed.
func claim(outs []output) (release func(), err error) {
	var releases []func()
	release = func() {
		for i := len(releases) - 1; i >= 0; i-- {
			releases[i]()
		}
	}
	for _, o := range outs {
		if o.path == "" {
			continue
		}
		if o.mkdir != "" {
			if err := os.MkdirAll(o.mkdir, 0o755); err != nil {
				release()
				return nil, fmt.Errorf("%s %s: %v", o.flag, o.mkdir, unwrapPath(err))
			}
		}
		if err := writableFolder(o.flag, o.path); err != nil {
			release()
			return nil, err
		}
		r, err := lockFile(o.lock, o.what, o.flag)
		if err != nil {
			release()
			return nil, err
		}
		releases = append(releases, r)
		if err := refuseBackup(o); err != nil {
			release()
			return nil, err
		}
		if o.refuse != nil {
			if err := o.refuse(); err != nil {
				release()
				return nil, err
			}
		}
	}
	return release, nil
}

// refuseBackup refuses to write an output over a backup (or beside the
// journal of one being written), whatever the flags.
func refuseBackup(o output) error {
	if o.isBackup {
		return nil
	}
	found, err := backup.Recognise(o.path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", o.flag, o.path, err)
	}
	if found == "" {
		return nil
	}
	return fmt.Errorf("%s %s: %s is a backup, which is never replaced, with --overwrite neither (it may be the only way back to the marks before the run that wrote it); name another file", o.flag, o.path, found)
}

// writableFolder checks that the folder of path exists and that a file can
// be created in it, by creating one and removing it.
func writableFolder(flag, path string) error {
	dir := filepath.Dir(path)
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s %s: the folder %s does not exist", flag, path, dir)
	case err != nil:
		return fmt.Errorf("%s %s: %w", flag, path, err)
	case !info.IsDir():
		return fmt.Errorf("%s %s: %s is not a folder", flag, path, dir)
	}
	probe, err := os.CreateTemp(dir, "."+filepath.Base(path)+".probe-*")
	if err != nil {
		return fmt.Errorf("%s %s: cannot write in the folder %s: %v", flag, path, dir, unwrapPath(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// writableTemp checks that temporary files can be created where the
// grouping spills: --temp-dir, or else the system's temporary folder.
func writableTemp(tempDir string) error {
	dir, what := tempDir, "--temp-dir "+tempDir
	if dir == "" {
		dir = os.TempDir()
		what = "the temporary folder " + dir + " (TMPDIR; --temp-dir names another)"
	}
	f, err := os.CreateTemp(dir, "markimport-probe-*")
	if err != nil {
		return fmt.Errorf("%s: cannot create temporary files there: %v", what, unwrapPath(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// unwrapPath is the cause of a file error without the path, which the
// message names already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// stateOutput claims a --state folder: it must be a state, or hold
// nothing but what a run killed before its first state left (a run adds
// its files to the folder, and removes the generations no manifest names).
// A run creates the folder; validate, which writes nothing there, claims
// only one that exists.
func (c *command) stateOutput(dry bool) (output, error) {
	dir := c.stateDir
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist) && dry:
		return output{}, nil
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return output{}, fmt.Errorf("--state %s: %v", dir, unwrapPath(err))
	case !info.IsDir():
		return output{}, fmt.Errorf("--state %s is not a folder: name the folder that holds the state, or a new one", dir)
	}
	lock := filepath.Join(dir, state.LockName)
	return output{flag: "--state", path: lock, lock: lock, what: "the state " + dir, mkdir: dir, refuse: func() error {
		return notAState(dir)
	}}, nil
}

// notAState refuses a folder that holds other files and nothing of a
// state: a --state that names the wrong folder (a home folder, an export)
// is never taken over, not even with --full. A folder with something of a
// state in it (a damaged state, or one with foreign files beside it) is
// the state's to judge: state.Open refuses it, and --full sets it aside.
func notAState(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("--state %s: %w", dir, err)
	}
	stateLike, foreign := false, ""
	for _, e := range entries {
		switch n := e.Name(); {
		case n == state.LockName:
		case n == "MANIFEST.json", n == "MANIFEST.json.tmp", strings.HasPrefix(n, "gen-"), strings.HasPrefix(n, "pending-"), strings.HasPrefix(n, "set-aside-"):
			stateLike = true
		case foreign == "":
			foreign = n
		}
	}
	if foreign != "" && !stateLike {
		return fmt.Errorf("--state %s holds %s and no state: give --state a folder of its own (a new or empty one)", dir, foreign)
	}
	return nil
}

// claim checks the temporary folder and claims the outputs of validate or
// run. The backup comes first: that it is never replaced is the one
// refusal no flag lifts.
func (r *importRun) claim() (release func(), err error) {
	f := r.importFlags
	if err := writableTemp(f.tempDir); err != nil {
		return nil, err
	}
	var outs []output
	if f.backup != "" {
		files := backup.FilesOf(f.backup)
		outs = append(outs, output{flag: "--backup", path: f.backup, lock: files.Lock, what: "the backup " + f.backup, isBackup: true, refuse: func() error {
			if f.resume {
				return nil // the run continues the backup, or says why not
			}
			if err := files.CheckFresh(); err != nil {
				return err
			}
			for _, p := range []string{files.Final, files.Journal} {
				if _, err := os.Lstat(p); err == nil && !f.overwrite {
					return fmt.Errorf("--backup %s: %s exists (a backup without rows, which restores nothing): pass --overwrite to replace it, or name another file", f.backup, p)
				}
			}
			return nil
		}})
	}
	if f.report != "" {
		outs = append(outs, output{flag: "--report", path: f.report, lock: r.files.Lock, what: f.report, refuse: r.refuseReport})
	}
	outs = append(outs, r.replaceable("--summary", f.summary), r.replaceable("--html", f.html), r.replaceable("--rejects", f.rejects))
	if f.fakeState != "" {
		// The emulator's marks: read when the run starts, saved when it
		// ends, on purpose.
		outs = append(outs, output{flag: "--fake-state", path: f.fakeState, lock: f.fakeState + ".lock", what: f.fakeState})
	}
	outs = append(outs, r.replaceable("--cpuprofile", f.cpuProfile), r.replaceable("--memprofile", f.memProfile), r.metricsOutput())
	// Last: a run creates the state's folder.
	if f.stateDir != "" {
		o, err := r.stateOutput(r.dry)
		if err != nil {
			return nil, err
		}
		outs = append(outs, o)
	}
	return claim(outs)
}

// refuseReport refuses a report, or the journal of a run that did not
// finish, that this run must not replace: it needs --resume (continue it)
// or --overwrite (start over).
func (r *importRun) refuseReport() error {
	f := r.importFlags
	if r.files.Mirror != nil {
		return nil // a report in object storage: its objects are judged under its lease
	}
	final, journal := r.files.Exists()
	switch {
	case r.dry && journal && !f.overwrite:
		// validate takes no --resume: a dry run is made again whole.
		return fmt.Errorf("%s holds the report of a command that did not finish (a run's: run --resume continues it): name another report, or pass --overwrite to replace it with this one's, losing it", r.files.Journal)
	case r.dry && final && !f.overwrite:
		return fmt.Errorf("the report %s exists: pass --overwrite to replace it, or name another file", f.report)
	case journal && !f.resume && !f.overwrite:
		return fmt.Errorf("%s holds the report of a run that did not finish: pass --resume to continue it, or --overwrite to start over", r.files.Journal)
	case final && !f.resume && !f.overwrite:
		return fmt.Errorf("the report %s exists: pass --resume to continue it (rows already ok are not sent again), or --overwrite to replace it", f.report)
	case f.resume && !final && !journal:
		return fmt.Errorf("--resume: there is no report %s to continue", f.report)
	}
	return nil
}

// claim checks the temporary folder and claims the outputs of verify.
func (v *verifyRun) claim() (release func(), err error) {
	f := v.importFlags
	if err := writableTemp(f.tempDir); err != nil {
		return nil, err
	}
	files := report.FilesOf(f.report)
	rep := output{flag: "--report", path: f.report, lock: files.Lock, what: f.report, refuse: func() error {
		if _, err := os.Lstat(files.Journal); err == nil {
			return fmt.Errorf("--report %s: %s holds the report of a run that did not finish, which its --resume makes %s: give the verify report another name", f.report, files.Journal, f.report)
		}
		if _, err := os.Lstat(f.report); err == nil && !f.overwrite {
			return fmt.Errorf("the verify report %s exists: pass --overwrite to replace it", f.report)
		}
		return nil
	}}
	return claim([]output{rep, v.replaceable("--summary", f.summary), v.replaceable("--html", f.html), v.replaceable("--cpuprofile", f.cpuProfile), v.replaceable("--memprofile", f.memProfile), v.metricsOutput()})
}
