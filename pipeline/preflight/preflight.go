package preflight

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"strings"
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

// bitOrder sets bit 1 alone: binary notation reads "…10" (the '1' second
// from the end), bit 0 first reads "01…" (the '1' second).
func (p *prober) bitOrder(ctx context.Context) error {
	const name, expected = "bit order of StandardMark", "bit 0 at one end"
	if err := p.writeOK(ctx, name, expected, only(1<<1)); err != nil {
		return err
	}
	// The read-back of the write made is what tells the order the
	// restore needs to write the original marks: it is made a
	// cancellation notwithstanding, bounded like a write.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opt.RestoreTimeout)
	defer cancel()
	m, err := p.read(rctx, p.sc.From)
	if err != nil {
		return err
	}
	s := m.Standard
	order := mark.BitOrderUnknown
	if m.Found && strings.Count(s, "1") == 1 && strings.Count(s, "0") == len(s)-1 {
		switch strings.IndexByte(s, '1') {
		case len(s) - 2:
			order = mark.BitZeroLast
		case 1:
			order = mark.BitZeroFirst
		}
	}
	if order == mark.BitOrderUnknown {
		p.check(Check{Name: name, Expected: expected, Found: fmt.Sprintf("bit 1 alone reads %s", describe(m)),
			Consequence: "markimport cannot read standard marks back: verify, --backup, --mode insert and rollback are impossible", Fails: true})
		return errStop
	}
	p.order = order
	f := &p.res.Findings
	f.BitOrder = order.String()
	width := "zeros beyond the highest set bit dropped"
	if len(s) == 64 {
		f.StandardMarkWidth = 64
		width = "padded to 64 characters"
	}
	found := "bit 0 last (binary notation)"
	if order == mark.BitZeroFirst {
		found = "bit 0 FIRST"
	}
	p.check(Check{Name: name, Expected: expected, Found: fmt.Sprintf("%s: bit 1 alone reads %q, %s", found, s, width),
		Consequence: "verify, --backup, --mode insert and rollback read StandardMark this way with this profile"})
	return nil
}

// endBits sets bit 0 alone, then bit 63 alone, and reads each back.
func (p *prober) endBits(ctx context.Context) error {
	for _, bit := range []uint{0, 63} {
		name := fmt.Sprintf("bit %d", bit)
		m, err := p.standard(ctx, name, "reads back alone", 1<<bit)
		if err != nil {
			return err
		}
		v, perr := mark.ParseStandardMark(m.Standard, p.order)
		if !m.Found || perr != nil || v != 1<<bit {
			p.check(Check{Name: name, Expected: "reads back alone", Found: describe(m),
				Consequence: fmt.Sprintf("marks on bit %d cannot be imported or checked", bit), Fails: true})
			return errStop
		}
		p.check(Check{Name: name, Expected: "reads back alone", Found: fmt.Sprintf("%q", m.Standard), Consequence: "none"})
	}
	return nil
}

// noMarks clears every bit and sees how that reads.
func (p *prober) noMarks(ctx context.Context) error {
	const name, expected = "no standard marks", `"", zeros, or absent`
	m, err := p.standard(ctx, name, expected, 0)
	if err != nil {
		return err
	}
	f := &p.res.Findings
	switch {
	case !m.Found:
		f.NoMarksReadAs = "absent"
	case m.Standard == "":
		f.NoMarksReadAs = "empty"
	case strings.Trim(m.Standard, "0") == "" && len(m.Standard) <= 64:
		f.NoMarksReadAs = "zeros"
	default:
		p.check(Check{Name: name, Expected: expected, Found: describe(m),
			Consequence: "cleared marks do not read as cleared: verify and backups would be wrong", Fails: true})
		return errStop
	}
	p.check(Check{Name: name, Expected: expected, Found: f.NoMarksReadAs + " " + describe(m), Consequence: "read as no marks"})
	return nil
}

// setAndClear sends one item that sets and clears bit 5, once on bit 5
// clear and once on bit 5 set.
func (p *prober) setAndClear(ctx context.Context) error {
	const name, expected = "one item sets and clears one bit", "refused, or one of the two wins"
	const bit = uint64(1) << 5
	both := mark.Item{Set: bit, Clear: bit, Opt: mark.OptStandard}
	var after [2]uint64
	for i, start := range []uint64{0, bit} {
		if err := p.writeOK(ctx, name, expected, only(start)); err != nil {
			return err
		}
		code, info, err := p.write(ctx, p.sc.From, both)
		if err != nil {
			return err
		}
		if code != 0 {
			if i > 0 {
				p.check(Check{Name: name, Expected: expected, Found: fmt.Sprintf("accepted on bit 5 clear, refused on bit 5 set: %d %s", code, info),
					Consequence: "the service's handling of one item depends on the marks it holds", Fails: true})
				return errStop
			}
			p.res.Findings.SetAndClear = refused(code)
			p.check(Check{Name: name, Expected: expected, Found: fmt.Sprintf("refused: %d %s", code, info), Consequence: consequenceSetClear})
			return nil
		}
		m, err := p.read(ctx, p.sc.From)
		if err != nil {
			return err
		}
		v, perr := mark.ParseStandardMark(m.Standard, p.order)
		if m.Found && perr != nil || v&^bit != 0 {
			p.check(Check{Name: name, Expected: expected, Found: "other bits changed: " + describe(m),
				Consequence: "the service changes bits an item did not name", Fails: true})
			return errStop
		}
		after[i] = v
	}
	var found string
	switch after {
	case [2]uint64{bit, bit}:
		found = "set-wins"
	case [2]uint64{0, 0}:
		found = "clear-wins"
	case [2]uint64{0, bit}:
		found = "ignored"
	default:
		p.check(Check{Name: name, Expected: expected, Found: "the bit is toggled",
			Consequence: "the service's handling of one item depends on the marks it holds", Fails: true})
		return errStop
	}
	p.res.Findings.SetAndClear = found
	p.check(Check{Name: name, Expected: expected, Found: found, Consequence: consequenceSetClear})
	return nil
}

const consequenceSetClear = "none: markimport never sends one bit both set and cleared (such a row is invalid; of merged rows the later wins)"

// emptyCustom sets a custom mark, then writes OptType 2 with "".
func (p *prober) emptyCustom(ctx context.Context) error {
	const name, expected = `OptType 2 with CustomMark ""`, "clears the custom mark"
	for _, c := range []string{"markimport preflight", ""} {
		if err := p.writeOK(ctx, name, expected, mark.Item{Custom: c, Opt: mark.OptCustom}); err != nil {
			return err
		}
	}
	m, err := p.read(ctx, p.sc.From)
	if err != nil {
		return err
	}
	if m.Custom != "" {
		p.check(Check{Name: name, Expected: expected, Found: fmt.Sprintf("the custom mark stays %q", m.Custom),
			Consequence: `rows with custom_mark "" and rollbacks of new custom marks would leave the old mark`, Fails: true})
		return errStop
	}
	p.res.Findings.EmptyCustomClears = true
	p.check(Check{Name: name, Expected: expected, Found: "cleared", Consequence: "none"})
	return nil
}

// customRoundTrip writes 256-byte custom marks, ASCII and multi-byte UTF-8,
// and reads each back.
func (p *prober) customRoundTrip(ctx context.Context) error {
	const expected = "reads back byte for byte"
	for _, c := range []struct{ name, value string }{
		{"256-byte ASCII custom mark", fill("markimport preflight 0123456789 ", mark.MaxCustomMarkBytes)},
		{"256-byte UTF-8 custom mark", fill("标记 émoji 😀 ", mark.MaxCustomMarkBytes)},
	} {
		if err := p.writeOK(ctx, c.name, expected, mark.Item{Custom: c.value, Opt: mark.OptCustom}); err != nil {
			return err
		}
		m, err := p.read(ctx, p.sc.From)
		if err != nil {
			return err
		}
		if m.Custom != c.value {
			p.check(Check{Name: c.name, Expected: expected, Found: fmt.Sprintf("reads back %d bytes, differing", len(m.Custom)),
				Consequence: "custom marks would be changed on their way in", Fails: true})
			return errStop
		}
		p.check(Check{Name: c.name, Expected: expected, Found: fmt.Sprintf("%d bytes, identical", len(c.value)), Consequence: "none"})
	}
	p.res.Findings.CustomRoundTrip = true
	return nil
}

// fill repeats pattern, whole characters only, to exactly n bytes, padding
// the end with ASCII.
func fill(pattern string, n int) string {
	var b strings.Builder
	for b.Len() < n {
		for _, r := range pattern {
			if b.Len()+len(string(r)) > n {
				break
			}
			b.WriteRune(r)
		}
		if b.Len()+len(pattern) > n {
			for b.Len() < n {
				b.WriteByte('.')
			}
		}
	}
	return b.String()
}

// unknownFrom writes an empty custom mark for an account that was never
// imported (to the scratch conversation's peer).
func (p *prober) unknownFrom(ctx context.Context) error {
	const name, expected = "From_Account never imported", "refused with a code, or accepted"
	code, info, err := p.write(ctx, p.opt.Ghost, mark.Item{Opt: mark.OptCustom})
	if err != nil {
		var fatal *mark.FatalError
		if !errors.As(err, &fatal) || fatal.Code < 0 {
			return err
		}
		code, info = fatal.Code, fatal.Info
		p.res.Findings.UnknownFrom = refused(code)
		p.check(Check{Name: name, Expected: expected, Found: fmt.Sprintf("fatal answer %d: %s", code, info),
			Consequence: "one row of an account not yet imported would stop the whole run: import every account first", Fails: true})
		return errStop
	}
	if code != 0 {
		p.res.Findings.UnknownFrom = refused(code)
		p.check(Check{Name: name, Expected: expected, Found: fmt.Sprintf("refused: %d %s", code, info),
			Consequence: fmt.Sprintf("rows of accounts not yet imported fail with %d; import the accounts, then re-run them", code)})
		return nil
	}
	p.res.Findings.UnknownFrom = "accepted"
	p.check(Check{Name: name, Expected: expected, Found: fmt.Sprintf("accepted (tried as %q)", p.opt.Ghost),
		Consequence: "marks of accounts not yet imported are accepted: check in the app that they show once the account exists"})
	return nil
}

// latency reads the scratch conversation a few more times.
func (p *prober) latency(ctx context.Context) error {
	for range p.opt.LatencyReads {
		if _, err := p.read(ctx, p.sc.From); err != nil {
			return err
		}
	}
	return nil
}

// describe renders a read for messages.
func describe(m Marks) string {
	if !m.Found {
		return "(the conversation is not in the answer)"
	}
	return fmt.Sprintf("StandardMark %q", m.Standard)
}

// restore puts the original marks back and confirms them by a read; it
// runs after a cancellation too, bounded by RestoreTimeout. When no write
// can have changed the conversation there is nothing to put back.
func (p *prober) restore(ctx context.Context) {
	if !p.dirty {
		p.res.Restored = true
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opt.RestoreTimeout)
	defer cancel()
	orig := p.res.Original
	want, ok := p.originalValue()
	if !ok {
		p.res.Restore = fmt.Sprintf("the bit order is not known, so StandardMark %q cannot be written back; put back by hand: %s",
			orig.Standard, p.byHand(orig.Standard))
		return
	}
	it := mark.Item{Set: want, Clear: allBits &^ want, Custom: orig.Custom, Opt: mark.OptBoth}
	code, info, err := p.write(ctx, p.sc.From, it)
	if err == nil && code != 0 {
		err = fmt.Errorf("refused: %d %s", code, info)
	}
	if err == nil {
		var m Marks
		if m, err = p.read(ctx, p.sc.From); err == nil {
			v, perr := p.value(m.Standard)
			switch {
			case !m.Found && want == 0 && orig.Custom == "":
			case perr != nil:
				err = perr
			case !m.Found || v != want || m.Custom != orig.Custom:
				err = fmt.Errorf("the read-back says %s custom %q", describe(m), m.Custom)
			}
		}
	}
	if err != nil {
		p.res.Restore = fmt.Sprintf("restoring failed (%v); put back by hand: %s", err, p.bits(want))
		return
	}
	p.res.Restored = true
}

// originalValue is the scratch conversation's standard mark before
// preflight, when it can be read (see value).
func (p *prober) originalValue() (uint64, bool) {
	if !p.res.Original.Found {
		return 0, true
	}
	v, err := p.value(p.res.Original.Standard)
	return v, err == nil
}

// value reads a StandardMark text with the order found, or, before an order
// is known, when the text reads the same both ways (no marks, or a
// palindrome).
func (p *prober) value(s string) (uint64, error) {
	if p.order != mark.BitOrderUnknown {
		return mark.ParseStandardMark(s, p.order)
	}
	last, err := mark.ParseStandardMark(s, mark.BitZeroLast)
	if err != nil {
		return 0, err
	}
	if first, _ := mark.ParseStandardMark(s, mark.BitZeroFirst); first != last {
		return 0, fmt.Errorf("StandardMark %q reads differently from each end and the order is not known", s)
	}
	return last, nil
}

// bits renders what to put back: the row an input file would carry.
func (p *prober) bits(v uint64) string {
	var set []string
	for b := range 64 {
		if v&(1<<b) != 0 {
			set = append(set, fmt.Sprint(b))
		}
	}
	clear := "0-63"
	if len(set) > 0 {
		clear = fmt.Sprintf("every bit of 0-63 but %s", strings.Join(set, ";"))
	}
	return fmt.Sprintf("%s set_mark %q clear_mark %s custom_mark %q (%d bits set)",
		p.sc, strings.Join(set, ";"), clear, p.res.Original.Custom, bits.OnesCount64(v))
}

// byHand is the message when the original text cannot be decoded.
func (p *prober) byHand(standard string) string {
	return fmt.Sprintf("%s StandardMark %q (read it with the service's bit order) custom_mark %q", p.sc, standard, p.res.Original.Custom)
}
