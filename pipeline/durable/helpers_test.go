package durable_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"markimport/pipeline/durable/durabletest"
)

// kinds lists the kinds of ops, in order, as "kind base" strings.
func kinds(ops []durabletest.Op) []string {
	var out []string
	for _, o := range ops {
		s := string(o.Kind) + " " + filepath.Base(o.Path)
		if o.To != "" {
			s += " -> " + filepath.Base(o.To)
		}
		out = append(out, s)
	}
	return out
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkCalls fails the test unless rec recorded exactly want, as kinds
// lists them.
func checkCalls(t *testing.T, rec *durabletest.Recorder, want []string) {
	t.Helper()
	if got := kinds(rec.Ops()); !slices.Equal(got, want) {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
