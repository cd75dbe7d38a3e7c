package preflight

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"markimport/pipeline/mark"
)

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
