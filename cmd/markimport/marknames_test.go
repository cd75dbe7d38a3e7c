package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"markimport/sink/fakeim"
)

// markNamesRows are the input of TestMarkNamesEndToEnd: from_account,
// to_account, set_mark, clear_mark.
var markNamesRows = [][4]string{
	{"u1", "p1", "star|32", ""},      // 1: a name beside an app's own bit
	{"u2", "p2", " Hide ", "UNREAD"}, // 2: names in any case, trimmed
	{"u3", "p3", "star|Bogus", ""},   // 3: not a mark, quoted as written
	{"u4", "p4", "7", ""},            // 4: bits 4-31: a warning, or invalid with --strict-bits
	{"u5", "p5", "", "[fold, 9]"},    // 5: bits 4-31 again
	{"u6", "p6", "hide", "Hide"},     // 6: one mark set and cleared
}

// TestMarkNamesEndToEnd: validate takes the standard marks by name in CSV
// and in Parquet alike; an unknown name is an invalid row whose message
// names it and the accepted names; a run sends the bits the names stand
// for; the report and the rejects keep the
// values as the file wrote them; bits 4-31 give one warning for the run
// (how many rows, the first), or with --strict-bits make those rows
// invalid and no warning.
func TestMarkNamesEndToEnd(t *testing.T) {
	dir := t.TempDir()
	csvIn, pqIn := filepath.Join(dir, "in.csv"), filepath.Join(dir, "in.parquet")
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"from_account", "to_account", "set_mark", "clear_mark"})
	for _, r := range markNamesRows {
		w.Write(r[:])
	}
	w.Flush()
	if err := os.WriteFile(csvIn, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	writeStringParquet(t, pqIn, []string{"from_account", "to_account", "set_mark", "clear_mark"}, markNamesRows)

	var reports []map[int64]reportLine
	for _, in := range []string{csvIn, pqIn} {
		ext := filepath.Ext(in)
		rep, rej := filepath.Join(dir, "r"+ext+".csv"), filepath.Join(dir, "rej"+ext)
		code, _, stderr := runCLI(t, "validate", "--input", in, "--report", rep, "--rejects", rej, "--quiet", "--log-format", "json")
		if code != exitSomeNotOK {
			t.Fatalf("%s: exit %d, want %d: %s", ext, code, exitSomeNotOK, stderr)
		}
		got := readReport(t, rep)
		for row, want := range map[int64]string{1: "valid", 2: "valid", 3: "invalid", 4: "valid", 5: "valid", 6: "invalid"} {
			if got[row].status != want {
				t.Errorf("%s row %d: %s %q, want %s", ext, row, got[row].status, got[row].message, want)
			}
		}
		if m := got[3].message; !strings.Contains(m, `set_mark: "Bogus" is neither a bit number (0..63) nor a mark name (star, unread, fold, hide)`) {
			t.Errorf("%s row 3: message %q does not name the value and the accepted names", ext, m)
		}
		if m := got[6].message; !strings.Contains(m, "bit 3 (hide) is both set and cleared") {
			t.Errorf("%s row 6: message %q", ext, m)
		}
		warnings := bitWarnings(t, stderr)
		if len(warnings) != 1 || warnings[0]["rows"] != float64(2) || warnings[0]["first"] != "row 4" {
			t.Errorf("%s: warnings about bits 4-31 %v; want one, with rows 2 and first row 4\n%s", ext, warnings, stderr)
		}
		reports = append(reports, got)
	}
	if len(reports[0]) != len(reports[1]) {
		t.Errorf("CSV report has %d lines, Parquet %d", len(reports[0]), len(reports[1]))
	}
	for row, l := range reports[0] {
		if reports[1][row] != l {
			t.Errorf("row %d: CSV %+v, Parquet %+v", row, l, reports[1][row])
		}
	}

	// The CSV rejects copy the file's values, names and spacing included.
	rej := readCSVFile(t, filepath.Join(dir, "rej.csv"), "")[1:]
	for _, want := range [][]string{{"u3", "p3", "star|Bogus", ""}, {"u6", "p6", "hide", "Hide"}} {
		found := false
		for _, r := range rej {
			found = found || strings.Join(r[:4], ",") == strings.Join(want, ",")
		}
		if !found {
			t.Errorf("rejects %v lack the row %v as the file wrote it", rej, want)
		}
	}
	// The Parquet rejects, read as an input, judge their rows the same way.
	rep2 := filepath.Join(dir, "r2.csv")
	if code, _, stderr := runCLI(t, "validate", "--input", filepath.Join(dir, "rej.parquet"), "--report", rep2, "--quiet"); code != exitSomeNotOK {
		t.Fatalf("Parquet rejects as input: exit %d: %s", code, stderr)
	}
	if got := readReport(t, rep2); len(got) != 2 || got[1].message != reports[1][3].message || got[2].message != reports[1][6].message {
		t.Errorf("Parquet rejects judged %+v; want rows 3 and 6 as before", got)
	}

	// A run sends the bits the names stand for.
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	srv, url := startEmulator(t, fakeim.Config{RateLimit: -1})
	if code, _, stderr := runCLI(t, runArgs(url, "--input", csvIn, "--report", filepath.Join(dir, "run.csv"))...); code != exitSomeNotOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	snap := srv.Snapshot()
	for from, want := range map[string]uint64{"u1": 1 | 1<<32, "u2": 1 << 3, "u4": 1 << 7} {
		peer := "p" + from[1:]
		if got := snap[from][fakeim.Conversation{Type: 1, Peer: peer}].Standard; got != want {
			t.Errorf("run: %s %s holds standard marks %#x, want %#x", from, peer, got, want)
		}
	}

	// --strict-bits: rows 4 and 5 are invalid, naming the column and bit;
	// nothing warns.
	rep := filepath.Join(dir, "strict.csv")
	code, _, stderr := runCLI(t, "validate", "--input", csvIn, "--report", rep, "--strict-bits", "--quiet", "--log-format", "json")
	if code != exitSomeNotOK {
		t.Fatalf("--strict-bits: exit %d: %s", code, stderr)
	}
	got := readReport(t, rep)
	for row, want := range map[int64]string{4: "set_mark: bit 7 is in 4..31", 5: "clear_mark: bit 9 is in 4..31"} {
		if got[row].status != "invalid" || !strings.Contains(got[row].message, want) {
			t.Errorf("--strict-bits row %d: %s %q, want invalid with %q", row, got[row].status, got[row].message, want)
		}
	}
	if got[1].status != "valid" || got[2].status != "valid" {
		t.Errorf("--strict-bits refused standard or own marks: %+v", got)
	}
	if w := bitWarnings(t, stderr); len(w) != 0 {
		t.Errorf("--strict-bits still warns: %v", w)
	}
}

// bitWarnings returns the JSON log lines of stderr that warn about bits 4-31.
func bitWarnings(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(stderr) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			continue
		}
		if msg, _ := m["msg"].(string); m["level"] == "WARN" && strings.Contains(msg, "bits 4-31") {
			out = append(out, m)
		}
	}
	return out
}

// writeStringParquet writes rows as a Parquet file of string columns.
func writeStringParquet(t *testing.T, path string, names []string, rows [][4]string) {
	t.Helper()
	fields := make([]arrow.Field, len(names))
	cols := make([]arrow.Array, len(names))
	for i, name := range names {
		fields[i] = arrow.Field{Name: name, Type: arrow.BinaryTypes.String}
		bld := array.NewStringBuilder(memory.DefaultAllocator)
		for _, r := range rows {
			bld.Append(r[i])
		}
		cols[i] = bld.NewArray()
		defer cols[i].Release()
	}
	schema := arrow.NewSchema(fields, nil)
	tbl := array.NewTableFromSlice(schema, [][]arrow.Array{cols[0:1], cols[1:2], cols[2:3], cols[3:4]})
	defer tbl.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pqarrow.WriteTable(tbl, f, 1024, nil, pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
}
