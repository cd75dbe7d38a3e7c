package pipeline

import (
	"fmt"

	"markimport/pipeline/mark"
)

// undefinedBits counts the valid rows that set or clear a bit of 4–31
// (mark.SDKUndefined) for the run's one warning about them: the API takes
// those bits, but no client SDK shows them, so they are more likely a
// mistake in the export than a mark an app means.
type undefinedBits struct {
	rows  int64
	first int64 // the first such row, of the whole input
}

// see counts c when it uses such a bit.
func (u *undefinedBits) see(c *mark.Change) {
	if (c.Set|c.Clear)&mark.SDKUndefined == 0 {
		return
	}
	if u.rows == 0 {
		u.first = c.Row
	}
	u.rows++
}

// warnUndefinedBits logs, once the input is read, how many rows used bits
// 4–31 and which was the first.
func (r *run) warnUndefinedBits() {
	u := &r.undefined
	if u.rows == 0 {
		return
	}
	first := fmt.Sprintf("row %d", u.first)
	if in := r.opts.Files; in != nil && in.Multi() {
		file, row := in.FileRow(u.first)
		first = fmt.Sprintf("%s row %d", file, row)
	}
	r.log.Warn("rows set or clear bits 4-31, which Tencent's client SDKs do not define (standard marks: star 0, unread 1, fold 2, hide 3; an app's own marks: 32-63); check the export, or refuse such rows with --strict-bits",
		"rows", u.rows, "first", first)
}
