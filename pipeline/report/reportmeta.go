package report

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"markimport/pipeline/durable"
)

// reportMeta is the sidecar beside a report: which input it belongs to
// and, for a finished report, what proves its bytes.
type reportMeta struct {
	InputDigest
	Started time.Time `json:"started"`
	// Report is the finished report's proof (a journal's meta has none: its
	// checkpoints prove it).
	Report *fileCheck `json:"report,omitempty"`
}

// fileCheck proves a finished report: its size and CRC-32C, and its
// lines (CSV, line ends counted, the header's included) or rows
// (Parquet).
type fileCheck struct {
	Size   int64  `json:"size"`
	Lines  int64  `json:"lines,omitempty"`
	Rows   int64  `json:"rows,omitempty"`
	CRC32C string `json:"crc32c"`
}

func crcString(c uint32) string { return fmt.Sprintf("%08x", c) }

// metaPath is the sidecar file that records the input of a report or
// journal.
func metaPath(report string) string { return report + ".meta.json" }

// writeJournalMeta records, at meta (beside a journal), the input it reports on,
// as one durable output.
func writeJournalMeta(fsys durable.FS, meta string, digest InputDigest) error {
	return writeMeta(fsys, meta, digest, nil)
}

// writeMeta records the input of a report, and with check what proves the
// finished report, as one durable output.
func writeMeta(fsys durable.FS, meta string, digest InputDigest, check *fileCheck) error {
	b, err := json.MarshalIndent(reportMeta{InputDigest: digest, Started: time.Now().UTC(), Report: check}, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(fsys, meta, append(b, '\n'))
}

// checkMeta reads the record of report's input, meta, and refuses to
// resume report when it is missing or names another input than digest.
func checkMeta(meta, report string, digest InputDigest) (reportMeta, error) {
	b, err := os.ReadFile(meta)
	if err != nil {
		return reportMeta{}, fmt.Errorf("cannot resume: %s has no record of its input (%v); start over with --overwrite", report, err)
	}
	var m reportMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return reportMeta{}, fmt.Errorf("cannot resume: %s: %v; start over with --overwrite", meta, err)
	}
	if what, hint := changedFile(m.InputDigest, digest); what != "" {
		if hint == "" {
			hint = "resume with that input, or start a new report"
		}
		return reportMeta{}, fmt.Errorf("cannot resume: the input changed since the report %s was started: %s; %s", report, what, hint)
	}
	if m.Reading != digest.Reading && m.same(digest) {
		return reportMeta{}, fmt.Errorf("cannot resume: the report %s was started reading the input's columns %s, and this run reads them %s: its ok rows would be other conversations or marks; resume with the same --map or --map-file, or start a new report",
			report, readingOf(m.Reading), readingOf(digest.Reading))
	}
	if !m.same(digest) {
		if m.Input != digest.Input {
			// Another path: most likely another file, not an edit.
			return reportMeta{}, fmt.Errorf("cannot resume: the report %s was started on the input %s (%s), and --input %s is another file (%s): resume with the report's input, or start a new report for this one",
				report, m.Input, m.InputDigest, digest.Input, digest)
		}
		return reportMeta{}, fmt.Errorf("cannot resume: %s changed since the report %s was started (%s then; %s now); start a new report for the new file",
			digest.Input, report, m.InputDigest, digest)
	}
	return m, nil
}

// overwriteHint is what to do about a report that cannot be proven.
const overwriteHint = "nothing proves which of its rows were sent; start over with --overwrite: it sends every row again, which changes nothing the API already applied"

// readingOf says how an input's columns are read, for a message.
func readingOf(reading string) string {
	if reading == "" {
		return "by their own names"
	}
	return "through " + reading
}
