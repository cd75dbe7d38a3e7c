package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// main is the process: it turns signals into the cancellation of the
// root context, runs the command line and exits with its code.
func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	// SIGHUP too: a terminal or an SSH session that goes away must not
	// kill a run without its report.
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	// A closed stdout or stderr (a log reader that died, `| head`) makes
	// writes fail with EPIPE instead of killing the process; the commands
	// drop what they can no longer write (stream).
	signal.Ignore(syscall.SIGPIPE)
	go func() {
		// The first signal stops new sends; in-flight requests finish and
		// the report is flushed. The second exits at once, after flushing
		// what the report has buffered, so it stays resumable.
		s := <-sigs
		msg := fmt.Sprintf("%v: finishing requests in flight (signal again to exit now)", s)
		if say := signalNotice.Load(); say != nil {
			(*say)(msg)
		} else {
			fmt.Fprintf(os.Stderr, "markimport: %s\n", msg)
		}
		cancel()
		<-sigs
		if f := emergencyFlush.Load(); f != nil {
			(*f)()
		}
		os.Exit(exitInterrupted)
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// signalNotice is how the command running says that a signal came: in
// its log format (nil: a plain line).
var signalNotice atomic.Pointer[func(string)]

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
