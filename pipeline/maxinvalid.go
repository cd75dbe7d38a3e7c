package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"markimport/pipeline/report"
)

// Limit is a bound on bad rows: a count, or a percentage of the rows.
type Limit struct {
	Count   int64
	Percent float64 // used when positive, instead of Count
}

// ParseLimit reads "100" or "0.5%".
func ParseLimit(s string) (*Limit, error) {
	t := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v <= 0 || v > 100 {
			return nil, fmt.Errorf("%q: want a count such as 100 or a share such as 0.5%%", s)
		}
		return &Limit{Percent: v}, nil
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%q: want a count such as 100 or a share such as 0.5%%", s)
	}
	return &Limit{Count: n}, nil
}

func (l *Limit) exceeded(bad, rows int64) bool {
	if l.Percent > 0 {
		return float64(bad) > l.Percent/100*float64(rows)
	}
	return bad > l.Count
}

func (l *Limit) String() string {
	if l.Percent > 0 {
		return strconv.FormatFloat(l.Percent, 'g', -1, 64) + "%"
	}
	return strconv.FormatInt(l.Count, 10)
}

// GuardError says that validation found more invalid and rejected rows
// than --max-invalid allows: nothing was sent.
type GuardError struct {
	Invalid, Rejected, Rows int64
	Limit                   string
}

func (e *GuardError) Error() string {
	return fmt.Sprintf("%d invalid and %d rejected rows of %d exceed --max-invalid %s", e.Invalid, e.Rejected, e.Rows, e.Limit)
}

// countBad is the --max-invalid guard: a pass of its own over the input,
// before the run's, that validates and plans it without sending or
// reporting anything, to count the invalid and rejected rows before the
// first request. It returns a *GuardError when there are too many.
func (r *run) countBad(ctx context.Context) (*GuardError, error) {
	if r.opts.Input == "-" {
		return nil, errors.New("--max-invalid needs an input file: standard input cannot be read twice")
	}
	o := r.opts
	o.DryRun, o.Report, o.Rejects, o.MaxInvalid, o.Counters, o.Log, o.InputRead = true, report.Discard{}, nil, nil, nil, nil, nil
	counted, err := newRun(o)
	if err != nil {
		return nil, err
	}
	if err := counted.pass(ctx, ctx, nil); err != nil {
		return nil, err
	}
	invalid, rejected := counted.rep.statuses.Get(string(report.StatusInvalid)), counted.rep.statuses.Get(string(report.StatusRejected))
	if !r.opts.MaxInvalid.exceeded(invalid+rejected, counted.sum.Rows) {
		return nil, nil
	}
	g := &GuardError{Invalid: invalid, Rejected: rejected, Rows: counted.sum.Rows, Limit: r.opts.MaxInvalid.String()}
	r.log.Warn("too many bad rows: nothing will be sent", "invalid", g.Invalid, "rejected", g.Rejected, "rows", g.Rows, "max_invalid", g.Limit)
	return g, nil
}
