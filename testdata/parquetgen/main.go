// Command parquetgen writes the Parquet interop fixtures of markimport's
// readers to ../parquet (or -out): files written by writers other than the
// reader's own code path, each with a golden file next to it.
//
// Run it from this directory:
//
//	cd testdata/parquetgen && go run .
//
// It is a separate module so that the ~260 modules of
// github.com/xitongsys/parquet-go stay out of markimport's go.mod. Output is
// deterministic: running it twice gives identical files.
//
// For every fixture NAME it writes NAME.parquet and either NAME.csv, the
// same records as CSV (the reader test reads both and compares the
// records), or NAME.err, a piece of the *InputError the file must give.
// README.md in the output directory lists the fixtures.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// fixture is one interop file.
type fixture struct {
	name string
	doc  string
	// rows are the records the file holds; nil for a file that must be
	// refused.
	rows []row
	// wantErr is part of the message of the error reading the file must give.
	wantErr string
	write   func(path string, rows []row) error
}

func main() {
	out := flag.String("out", "../parquet", "directory to write the fixtures to")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "parquetgen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// Start clean so that a renamed fixture leaves no stale file behind.
	old, err := filepath.Glob(filepath.Join(out, "*"))
	if err != nil {
		return err
	}
	for _, p := range old {
		switch filepath.Ext(p) {
		case ".parquet", ".csv", ".err", ".md":
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	fixtures := append(xitongsysFixtures(), arrowFixtures()...)
	var index strings.Builder
	index.WriteString("# Parquet interop fixtures\n\n")
	index.WriteString("Written by `testdata/parquetgen` (`cd testdata/parquetgen && go run .`); do not edit.\n")
	index.WriteString("Each NAME.parquet has NAME.csv (the same records as CSV) or NAME.err (part of the error it must give).\n\n")
	index.WriteString("| file | writer and layout | rows |\n|---|---|---|\n")
	for _, f := range fixtures {
		path := filepath.Join(out, f.name+".parquet")
		if err := f.write(path, f.rows); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		if f.wantErr != "" {
			if err := os.WriteFile(filepath.Join(out, f.name+".err"), []byte(f.wantErr+"\n"), 0o644); err != nil {
				return err
			}
		} else if err := writeGolden(filepath.Join(out, f.name+".csv"), f.rows); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(&index, "| %s.parquet | %s | %d |\n", f.name, f.doc, len(f.rows))
		fmt.Printf("%-45s %7d bytes %5d rows\n", f.name+".parquet", st.Size(), len(f.rows))
	}
	return os.WriteFile(filepath.Join(out, "README.md"), []byte(index.String()), 0o644)
}
