package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"markimport/readers"
)

// TestUndefinedBitsWarnOnce: rows that set or clear bits 4-31 give one
// warning for the whole run, grouped or sorted, naming how many valid rows
// used them and the first by its file and row; invalid rows do not count.
func TestUndefinedBitsWarnOnce(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"part-1.csv": "from_account,to_account,set_mark,clear_mark\nu1,p1,star,\nu1,p2,64|5,\n",
		"part-2.csv": "from_account,to_account,set_mark,clear_mark\nu2,p1,32,\nu2,p2,hide,\"[20, 40]\"\nu3,p3,4,\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, sorted := range []bool{false, true} {
		in, err := readers.ResolveInput([]string{dir}, "")
		if err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		if _, err := Run(context.Background(), Options{Files: in, DryRun: true, Report: &memReport{}, Sorted: sorted,
			Log: slog.New(slog.NewJSONHandler(&log, nil))}); err != nil {
			t.Fatal(err)
		}
		var warnings []map[string]any
		for line := range strings.Lines(log.String()) {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			if msg, _ := m["msg"].(string); strings.Contains(msg, "bits 4-31") {
				warnings = append(warnings, m)
			}
		}
		if len(warnings) != 1 || warnings[0]["level"] != "WARN" || warnings[0]["rows"] != float64(2) || warnings[0]["first"] != "part-2.csv row 2" {
			t.Errorf("sorted %v: warnings %v; want one, rows 2, first part-2.csv row 2", sorted, warnings)
		}
	}
}
