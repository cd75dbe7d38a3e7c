package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"markimport/pipeline/mark"
	"markimport/pipeline/report"
)

// lineAtATime hides report.CSV's AppendItemLines: a report through it is
// written a line at a time, by emit, as before lines were formatted ahead.
type lineAtATime struct{ w *report.CSV }

func (l lineAtATime) Write(line report.Line) error { return l.w.Write(line) }
func (l lineAtATime) Sync() error                  { return l.w.Sync() }
func (l lineAtATime) Close() error                 { return nil } // the test closes the CSV

// TestPartLinesMatchLineAtATime: a dry run's report formatted by the
// planners a partition at a time is byte for byte the report written a
// line at a time, with invalid rows, merged rows, a user over the
// conversation limit and users outside a sample; so are its counts.
func TestPartLinesMatchLineAtATime(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	writeGenInput(t, in, 20000, false)
	sample, err := mark.ParseSample("0.5")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []mark.Sample{{}, sample} {
		reports, sums := dryReportsBothWays(t, dir, Options{Input: in, Sample: s})
		if !bytes.Equal(reports[0], reports[1]) {
			t.Errorf("sample %v: the report formatted ahead (%d bytes) differs from the one written a line at a time (%d bytes)", s.Fraction(), len(reports[0]), len(reports[1]))
		}
		a, b := sums[0], sums[1]
		if a.RequestsPlanned != b.RequestsPlanned || a.Rows != b.Rows || !mapsEqual(a.Statuses, b.Statuses) {
			t.Errorf("sample %v: summaries differ: %+v and %+v", s.Fraction(), a, b)
		}
	}
}

// dryReportsBothWays runs a dry run of opts twice, into a report in dir
// formatted ahead by the planners, then into one written a line at a
// time, and returns both reports and both summaries, in that order.
func dryReportsBothWays(t *testing.T, dir string, opts Options) (reports [2][]byte, sums [2]Summary) {
	t.Helper()
	for k, wrap := range []bool{false, true} {
		path := filepath.Join(dir, fmt.Sprint("r", k, ".csv"))
		os.Remove(path)
		j, err := report.StartJournal(report.FilesOf(path), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var rep report.Writer = j.Writer()
		if wrap {
			rep = lineAtATime{j.Writer()}
		}
		o := opts
		o.Report, o.DryRun = rep, true
		if sums[k], err = Run(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		if err := j.Finish(); err != nil {
			t.Fatal(err)
		}
		if reports[k], err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	return reports, sums
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestPartLinesRejectedMatchLineAtATime: the rows beyond the conversation
// limit, formatted a user's at a time by the planners, are byte for byte
// the lines written one at a time: several users over the limit, c2c and
// group conversations, names needing quotes, conversations of several
// rows beyond the limit, and rows done already (a resumed run's) left out.
func TestPartLinesRejectedMatchLineAtATime(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	r := rand.New(rand.NewPCG(8, 9))
	var rows [][]string
	for u, user := range []string{"heavy-a", `heavy,"b"`, "heavy-c"} {
		for i := range mark.MaxConversations + 40 + 300*u {
			typ, peer := "c2c", fmt.Sprint("p", i)
			if i%3 == 0 {
				typ, peer = "group", fmt.Sprint("g,", i)
			}
			for range 1 + r.IntN(3) {
				to, grp := peer, ""
				if typ == "group" {
					to, grp = "", peer
				}
				rows = append(rows, []string{user, typ, to, grp, fmt.Sprint(r.IntN(64))})
			}
		}
	}
	for i := range 2000 {
		rows = append(rows, []string{fmt.Sprint("user", i%300), "", fmt.Sprint("peer", i), "", "1"})
	}
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	writeCSV(t, in, []string{"from_account", "type", "to_account", "to_group_id", "set_mark"}, rows)
	done := &mark.RowSet{}
	for row := int64(1); row <= int64(len(rows)); row += 3 {
		done.Add(row)
	}
	for _, d := range []mark.Rows{nil, done} {
		reports, sums := dryReportsBothWays(t, dir, Options{Input: in, Done: d})
		if !bytes.Equal(reports[0], reports[1]) {
			t.Errorf("done %v: the report formatted ahead (%d bytes) differs from the one written a line at a time (%d bytes)", d != nil, len(reports[0]), len(reports[1]))
		}
		a, b := sums[0], sums[1]
		if a.Rows != b.Rows || !mapsEqual(a.Statuses, b.Statuses) {
			t.Errorf("done %v: summaries differ: %+v and %+v", d != nil, a, b)
		}
		// Every row beyond the limit is in it, but those done.
		want := int64(0)
		for _, l := range bytes.Split(reports[1], []byte("\n")) {
			if bytes.Contains(l, []byte(",rejected,")) {
				want++
			}
		}
		if got := a.Statuses[report.StatusRejected]; got != want || want < 500 {
			t.Errorf("done %v: %d rows rejected, %d lines say so", d != nil, got, want)
		}
	}
}
