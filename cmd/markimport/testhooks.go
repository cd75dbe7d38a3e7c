//go:build markimport_testhooks

package main

import (
	"os"
	"strconv"

	"markimport/pipeline/state"
)

// A build for tests only (go build -tags markimport_testhooks): the tests
// that crash a real binary while it writes its state set
// MARKIMPORT_TEST_STATE_KILL_AFTER. The shipped binary has no such hook.
func init() {
	if n, err := strconv.Atoi(os.Getenv("MARKIMPORT_TEST_STATE_KILL_AFTER")); err == nil && n > 0 {
		state.KillAfter(n)
	}
}
