package preflight

import (
	"context"
	"errors"
	"fmt"
	"time"

	"markimport/pipeline/mark"
)

// Options tune a preflight.
type Options struct {
	// Rate is the quota the concurrency advice aims at (requests/s).
	Rate float64
	// DefaultConcurrency is what the import uses without --concurrency,
	// named in the advice.
	DefaultConcurrency int
	// Ghost is the From_Account used to learn what the service does with an
	// account that was never imported. It must not be an imported account.
	Ghost string
	// LatencyReads is how many extra reads of the scratch conversation
	// measure latency (the steps' own calls count too).
	LatencyReads int
	// RestoreTimeout bounds the restore after a cancellation.
	RestoreTimeout time.Duration
}

// Result is what a preflight found.
type Result struct {
	Checks   []Check
	Findings Findings
	// Original is the scratch conversation's marks before preflight.
	Original Marks
	// Restored reports that a read-back confirmed the original marks at
	// the end; when it is false, Restore says what to put back by hand.
	Restored bool
	Restore  string
}

// Failed reports whether a check found something markimport cannot work
// with, or the scratch conversation could not be restored.
func (r *Result) Failed() bool {
	if !r.Restored {
		return true
	}
	for _, c := range r.Checks {
		if c.Fails {
			return true
		}
	}
	return false
}

// errStop ends the probing after a check that later ones depend on failed;
// the restore still runs.
var errStop = errors.New("preflight stopped")

// prober runs the steps against one scratch conversation.
type prober struct {
	svc   Service
	sc    Scratch
	opt   Options
	res   *Result
	order mark.BitOrder
	taken []time.Duration
	// dirty is set once a write to the scratch conversation may have been
	// applied: accepted, or failed in a way that does not prove it was not.
	dirty bool
}

// allBits is every standard bit.
const allBits = ^uint64(0)

// Run reads the scratch conversation, probes the service on it, and
// restores it. The first read checks reachability, credentials, admin and
// region: its error (a *mark.FatalError says which) is returned with
// nothing changed. A later error (a fatal code on a write, such as an
// edition without standard marks, or a cancelled ctx) is returned after
// the restore, with the Result so far.
func Run(ctx context.Context, svc Service, sc Scratch, opt Options) (*Result, error) {
	if opt.Ghost == "" || opt.Ghost == sc.From {
		return nil, errors.New("preflight: the unknown account to try must be given and differ from the scratch user")
	}
	p := &prober{svc: svc, sc: sc, opt: opt, res: &Result{}}
	orig, err := p.read(ctx, sc.From)
	if err != nil {
		return nil, fmt.Errorf("reading the scratch conversation %s: %w", sc, err)
	}
	p.res.Original = orig
	err = p.probe(ctx)
	p.restore(ctx)
	if errors.Is(err, errStop) {
		err = nil
	}
	f := &p.res.Findings
	p50, p99 := percentile(p.taken, 0.5), percentile(p.taken, 0.99)
	f.LatencyP50Ms, f.LatencyP99Ms = ms(p50), ms(p99)
	f.Concurrency = concurrencyFor(opt.Rate, p99)
	if err == nil {
		advice := fmt.Sprintf("the default (%d) is enough", opt.DefaultConcurrency)
		if f.Concurrency > opt.DefaultConcurrency {
			advice = fmt.Sprintf("run with --concurrency %d; the default (%d) would send below the quota", f.Concurrency, opt.DefaultConcurrency)
		}
		p.check(Check{Name: "latency", Expected: "any",
			Found:       fmt.Sprintf("p50 %v, p99 %v over %d calls", p50.Round(time.Millisecond/10), p99.Round(time.Millisecond/10), len(p.taken)),
			Consequence: fmt.Sprintf("%d requests in flight reach %.0f requests/s: %s", f.Concurrency, opt.Rate, advice)})
	}
	return p.res, err
}

func (p *prober) check(c Check) { p.res.Checks = append(p.res.Checks, c) }

// probe runs the steps in order; each later step relies on the bit order
// the first establishes.
func (p *prober) probe(ctx context.Context) error {
	for _, step := range []func(context.Context) error{
		p.bitOrder, p.endBits, p.noMarks, p.setAndClear, p.emptyCustom, p.customRoundTrip, p.unknownFrom, p.latency,
	} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// read reads the scratch conversation (of user from), timing the call.
func (p *prober) read(ctx context.Context, from string) (Marks, error) {
	start := time.Now()
	m, err := p.svc.Read(ctx, from, p.sc.Conv)
	if err == nil {
		p.taken = append(p.taken, time.Since(start))
	}
	return m, err
}

// write sends one item on the scratch conversation for user from, unless
// ctx is done.
func (p *prober) write(ctx context.Context, from string, it mark.Item) (int, string, error) {
	it.Conv = p.sc.Conv
	if err := ctx.Err(); err != nil {
		return 0, "", err
	}
	// A write that leaves is seen through to its answer, a cancellation
	// notwithstanding: one the client gave up on may still be applied
	// by the server after the restore, and undo it. RestoreTimeout bounds
	// the wait.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opt.RestoreTimeout)
	defer cancel()
	start := time.Now()
	code, info, err := p.svc.Write(wctx, from, it)
	if err == nil {
		p.taken = append(p.taken, time.Since(start))
	}
	var fatal *mark.FatalError
	if from == p.sc.From && (err == nil && code == 0 || err != nil && !errors.As(err, &fatal)) {
		p.dirty = true
	}
	return code, info, err
}

// only makes the scratch conversation's standard mark exactly v: bits of v
// set, every other bit cleared, the custom mark left alone.
func only(v uint64) mark.Item { return mark.Item{Set: v, Clear: allBits &^ v, Opt: mark.OptStandard} }

// writeOK writes it and turns a refused item into a failed check named
// name, ending the probing.
func (p *prober) writeOK(ctx context.Context, name, expected string, it mark.Item) error {
	code, info, err := p.write(ctx, p.sc.From, it)
	if err != nil {
		return err
	}
	if code != 0 {
		p.check(Check{Name: name, Expected: expected, Found: fmt.Sprintf("the write was refused: %d %s", code, info),
			Consequence: "markimport writes such items; imports would fail the same way", Fails: true})
		return errStop
	}
	return nil
}

// standard writes v alone and reads back the StandardMark text.
func (p *prober) standard(ctx context.Context, name, expected string, v uint64) (Marks, error) {
	if err := p.writeOK(ctx, name, expected, only(v)); err != nil {
		return Marks{}, err
	}
	return p.read(ctx, p.sc.From)
}
