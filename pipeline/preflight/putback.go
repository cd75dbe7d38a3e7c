package preflight

import (
	"context"
	"fmt"
	"math/bits"
	"strings"

	"markimport/pipeline/mark"
)

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
