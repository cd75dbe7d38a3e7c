// Command markimport imports conversation marks into Tencent Cloud IM in
// bulk through the mark_contact REST API. Run `markimport help` for usage.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"

	"markimport/pipeline/state"
)

func main() {
	if n, err := strconv.Atoi(os.Getenv("MARKIMPORT_TEST_STATE_KILL_AFTER")); err == nil && n > 0 {
		state.KillAfter(n) // tests: a crash while the state is written
	}
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal stops new sends; in-flight requests finish and
		// the report is flushed. The second exits at once, after flushing
		// what the report has buffered, so it stays resumable.
		s := <-sigs
		fmt.Fprintf(os.Stderr, "markimport: %v: finishing requests in flight (signal again to exit now)\n", s)
		cancel()
		<-sigs
		if f := emergencyFlush.Load(); f != nil {
			(*f)()
		}
		os.Exit(exitInterrupted)
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// emergencyFlush is what a second signal runs before exiting: it makes the
// report durable.
var emergencyFlush atomic.Pointer[func()]

func setEmergencyFlush(f func()) {
	if f == nil {
		emergencyFlush.Store(nil)
		return
	}
	emergencyFlush.Store(&f)
}
