package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// lockFile takes the lock of what (a report, a state, any output) that
// flag names, so that two commands (two cron jobs, say) never write the
// same file, nor spend the quota on the same job. It is an flock(2) on
// path (REPORT.lock, DIR/LOCK): the kernel releases it
// when the process ends however it ends, so the lock of a dead process is
// never in the way; the file only says who holds it. A file at path that
// is not a markimport lock is left alone.
func lockFile(path, what, flag string) (release func(), err error) {
	// The holder removes the file when it releases the lock, so a file
	// opened just before that removal is locked in vain: after the flock,
	// the file must still be the one at path, else open it again.
	for range 16 {
		f, locked, err := lockOnce(path, what, flag)
		if err != nil || locked {
			return f, err
		}
	}
	return nil, fmt.Errorf("lock %s: the file keeps being replaced while it is locked", path)
}

// lockOnce opens and locks path. locked is false when the file locked is
// no longer the one at path (its holder removed it meanwhile).
func lockOnce(path, what, flag string) (release func(), locked bool, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	return lockOpened(f, path, what, flag)
}

// lockOpened locks f, opened at path, and checks that path still names it.
// It closes f unless it returns locked.
func lockOpened(f *os.File, path, what, flag string) (release func(), locked bool, err error) {
	holder, _ := os.ReadFile(path)
	if len(holder) > 0 && !bytes.HasPrefix(holder, []byte("markimport ")) && !bytes.HasPrefix(holder, []byte("pid ")) {
		f.Close()
		return nil, false, fmt.Errorf("%s exists and is not a markimport lock file: move it away, or use another %s", path, flag)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "another process"
			}
			return nil, false, fmt.Errorf("another markimport run is using %s (%s); wait for it to finish, or use another %s", what, who, flag)
		}
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	held, err1 := f.Stat()
	now, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || !os.SameFile(held, now) {
		f.Close()
		return nil, false, nil
	}
	host, _ := os.Hostname()
	f.Truncate(0)
	f.WriteAt([]byte("markimport pid "+strconv.Itoa(os.Getpid())+" on "+host+" since "+time.Now().UTC().Format(time.RFC3339)+"\n"), 0)
	return func() {
		os.Remove(path)
		f.Close()
	}, true, nil
}
