package readers

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParquet feeds damaged Parquet files to the reader: whatever the
// bytes, openParquet and Next must return records or an *InputError, never
// panic or exhaust memory. Seeds are the smaller interop fixtures (the
// fuzzer mutates large inputs too slowly to be useful). Minimizing a new
// input takes up to a minute by default, during which no progress shows, so
// run it as
//
//	go test ./readers -run '^$' -fuzz FuzzParquet -fuzztime 60s -fuzzminimizetime 1s
func FuzzParquet(f *testing.F) {
	for _, path := range fixtureFiles(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) <= 8<<10 {
			f.Add(data)
		}
	}
	f.Add([]byte("PAR1PAR1"))
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.parquet")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := openParquet(path, Options{})
		if err != nil {
			requireInputError(t, err)
			return
		}
		defer r.Close()
		// A few bytes of RLE levels can declare millions of null rows;
		// reading some of them is enough.
		for n := 0; n < 200_000; n++ {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				requireInputError(t, err)
				return
			}
			if rec.Row != int64(n+1) {
				t.Fatalf("record %d has row %d", n+1, rec.Row)
			}
		}
	})
}

func requireInputError(t *testing.T, err error) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v (%T) is not an *InputError", err, err)
	}
}
