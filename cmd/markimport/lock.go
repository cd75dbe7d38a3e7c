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
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	holder, _ := os.ReadFile(path)
	if len(holder) > 0 && !bytes.HasPrefix(holder, []byte("markimport ")) && !bytes.HasPrefix(holder, []byte("pid ")) {
		f.Close()
		return nil, fmt.Errorf("%s exists and is not a markimport lock file: move it away, or use another %s", path, flag)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "another process"
			}
			return nil, fmt.Errorf("another markimport run is using %s (%s); wait for it to finish, or use another %s", what, who, flag)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	f.Truncate(0)
	f.WriteAt([]byte("markimport pid "+strconv.Itoa(os.Getpid())+" on "+host+" since "+time.Now().UTC().Format(time.RFC3339)+"\n"), 0)
	return func() {
		os.Remove(path)
		f.Close()
	}, nil
}
