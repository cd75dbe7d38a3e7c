package mark

import (
	"strconv"
	"strings"
)

// Changes reports whether the item changes the marks prev of its
// conversation; found is false when the server holds none for it, and any
// item then creates the conversation.
func (it *Item) Changes(prev ServerMarks, found bool) bool {
	if !found {
		return true
	}
	if it.Opt&OptStandard != 0 && (prev.Standard|it.Set)&^it.Clear != prev.Standard {
		return true
	}
	return it.Opt&OptCustom != 0 && it.Custom != prev.Custom
}

// Applied is what the conversation holds once the item is applied to the
// marks prev (the zero ServerMarks when the server holds none): its set
// bits set, its cleared bits cleared, its custom mark written when the
// item writes one.
func (it *Item) Applied(prev ServerMarks) ServerMarks {
	out := ServerMarks{Standard: prev.Standard, Custom: prev.Custom}
	if it.Opt&OptStandard != 0 {
		out.Standard = (out.Standard | it.Set) &^ it.Clear
	}
	if it.Opt&OptCustom != 0 {
		out.Custom = it.Custom
	}
	return out
}

// Describe renders marks for a message: `standard bits 0,5 custom "vip"`
// (`standard bits none custom ""` for none).
func (m ServerMarks) Describe() string {
	var b strings.Builder
	b.WriteString("standard bits ")
	if m.Standard == 0 {
		b.WriteString("none")
	}
	for k, n := range Bits(m.Standard) {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(n))
	}
	b.WriteString(" custom ")
	b.WriteString(strconv.Quote(m.Custom))
	return b.String()
}
