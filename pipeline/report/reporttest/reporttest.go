// Package reporttest makes, for tests of the packages that resume a
// report, the journal a killed run leaves behind. It writes it through
// pipeline/report's own journal (started, committed, lines written and
// checkpointed, never finished), so that a test forges nothing a run
// could not have written. It imports only pipeline/report.
package reporttest

import (
	"testing"

	"markimport/pipeline/report"
)

// KilledJournal leaves beside the report path the journal of a run on the
// input file input that wrote lines and was killed: the journal, its
// checkpoints and the record of its input, as --resume finds them. It
// returns the report's files.
func KilledJournal(t testing.TB, path, input string, lines ...report.Line) report.Files {
	t.Helper()
	digest, err := report.DigestFile(input)
	if err != nil {
		t.Fatal(err)
	}
	files := report.FilesOf(path)
	j, err := report.StartJournal(files, &digest, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Commit(); err != nil {
		t.Fatal(err)
	}
	w := j.Writer()
	for _, l := range lines {
		if err := w.Write(l); err != nil {
			t.Fatal(err)
		}
	}
	// Closing the writer checkpoints the lines and leaves the journal
	// unfinished, as kill -9 after a sync would.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return files
}
