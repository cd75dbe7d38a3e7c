//go:build markimport_testhooks

package state

import (
	"os"
	"syscall"
)

// KillAfter makes the process kill itself (SIGKILL) once Commit has
// written n partition files of a new generation: the tests' way to crash
// a real run in the middle of writing its state. It exists only in a build
// with the markimport_testhooks tag, never in the shipped binary.
func KillAfter(n int) {
	crashHook = func(written int) {
		if written >= n {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}
