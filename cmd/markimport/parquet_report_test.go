package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"markimport/sink/fakeim"
)

// TestParquetReport: --report x.parquet holds the same lines as the CSV
// report, with row int64, code and attempts int32 and the rest strings.
func TestParquetReport(t *testing.T) {
	dir, in, _ := newInput(t, 12, 300)
	csvRep, pqRep := filepath.Join(dir, "r.csv"), filepath.Join(dir, "r.parquet")
	for _, rep := range []string{csvRep, pqRep} {
		if code, _, stderr := runCLI(t, "validate", "--input", in, "--report", rep, "--quiet"); code != exitSomeNotOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	want := readReport(t, csvRep)
	f, err := os.Open(pqRep)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	var fields []string
	for _, f := range tbl.Schema().Fields() {
		fields = append(fields, f.Name+":"+f.Type.String())
	}
	if got := strings.Join(fields, " "); got != reportSchemaWant {
		t.Fatalf("schema %s\nwant   %s", got, reportSchemaWant)
	}
	if int(tbl.NumRows()) != len(want) {
		t.Fatalf("%d rows in Parquet, %d in CSV", tbl.NumRows(), len(want))
	}
	tr := array.NewTableReader(tbl, 1000)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		cols := rec.Columns()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := cols[0].(*array.Int64).Value(i)
			got := reportLine{
				from: cols[1].(*array.String).Value(i), typ: cols[2].(*array.String).Value(i), peer: cols[3].(*array.String).Value(i),
				status: cols[4].(*array.String).Value(i), code: int(cols[5].(*array.Int32).Value(i)),
				message: cols[6].(*array.String).Value(i), attempts: int(cols[7].(*array.Int32).Value(i)),
			}
			if got != want[row] {
				t.Fatalf("row %d: parquet %+v, csv %+v", row, got, want[row])
			}
		}
	}
}

const reportSchemaWant = "row:int64 from_account:utf8 type:utf8 peer:utf8 status:utf8 code:int32 message:utf8 attempts:int32"

// TestRunParquetLikeCSV: each interop fixture imported as Parquet leaves the
// emulator and the report exactly as its CSV twin does.
func TestRunParquetLikeCSV(t *testing.T) {
	t.Setenv("MARKIMPORT_SECRET_KEY", testKey)
	// Fixtures with rows that import: typed and text columns, every list
	// layout that carries peers, dictionaries, many row groups. (The legacy
	// list fixtures have no peer column; TestParquetFixtures reads them.)
	for _, name := range []string{"arrow_many_row_groups", "xitongsys_int_types_lists", "xitongsys_small_ints_repeated",
		"arrow_large_list", "arrow_small_ints", "arrow_dictionary_strings", "xitongsys_optional_strings"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var snaps []string
			var reports []map[int64]reportLine
			for _, ext := range []string{".csv", ".parquet"} {
				// The reports are compared to their attempts, so no
				// request may time out and be tried again: at --rate 5000
				// every request is in flight at once, sharing a loaded
				// machine's cores with the emulator, and one can wait
				// longer than the default 10 s; --timeout 10m is more
				// than the test is given.
				srv, url := startEmulator(t, fakeim.Config{RateLimit: -1})
				rep := filepath.Join(dir, "r"+ext+".csv")
				code, _, stderr := runCLI(t, "run", "--input", "../../testdata/parquet/"+name+ext, "--report", rep, "--endpoint", url,
					"--sdkappid", strconv.Itoa(testAppID), "--admin", testAdmin, "--quiet", "--rate", "5000", "--timeout", "10m")
				if code != exitOK && code != exitSomeNotOK {
					t.Fatalf("%s: exit %d: %s", ext, code, stderr)
				}
				if srv.TotalConversations() == 0 {
					t.Fatalf("%s: nothing reached the emulator", ext)
				}
				snaps = append(snaps, fmt.Sprint(srv.Snapshot()))
				reports = append(reports, readReport(t, rep))
			}
			if snaps[0] != snaps[1] {
				t.Errorf("emulator state differs between CSV and Parquet")
			}
			if len(reports[0]) == 0 || !maps.Equal(reports[0], reports[1]) {
				t.Errorf("reports differ between CSV (%d lines) and Parquet (%d lines)", len(reports[0]), len(reports[1]))
			}
		})
	}
}
