package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"markimport/pipeline/mark"
	"markimport/pipeline/report"
)

// lineAtATime hides report.CSV's AppendLines: a report through it is
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
		var reports [2][]byte
		var sums [2]Summary
		for k, wrap := range []bool{false, true} {
			path := filepath.Join(dir, "r.csv")
			j, err := report.StartJournal(report.FilesOf(path), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var rep report.Writer = j.Writer()
			if wrap {
				rep = lineAtATime{j.Writer()}
			}
			sums[k], err = Run(context.Background(), Options{Input: in, Report: rep, DryRun: true, Sample: s})
			if err != nil {
				t.Fatal(err)
			}
			if err := j.Finish(); err != nil {
				t.Fatal(err)
			}
			if reports[k], err = os.ReadFile(path); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(reports[0], reports[1]) {
			t.Errorf("sample %v: the report formatted ahead (%d bytes) differs from the one written a line at a time (%d bytes)", s.Fraction(), len(reports[0]), len(reports[1]))
		}
		a, b := sums[0], sums[1]
		if a.RequestsPlanned != b.RequestsPlanned || a.Rows != b.Rows || !mapsEqual(a.Statuses, b.Statuses) {
			t.Errorf("sample %v: summaries differ: %+v and %+v", s.Fraction(), a, b)
		}
	}
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
