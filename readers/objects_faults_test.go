package readers

// Inputs in a bucket that fails: a read that hangs ends with the run's
// context, and a stream that breaks is an input error naming the object,
// never a shorter input.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"markimport/readers/objstore/s3test"
)

// hangBound is how long a test waits for a read whose context was
// cancelled before it says the read hangs: a bound on a hang, far above
// what a cancelled read takes, never a measure of speed.
const hangBound = 30 * time.Second

// bigCSV is a CSV of n rows, over 100 KB for n of 3000.
func bigCSV(n int) []byte {
	var b strings.Builder
	b.WriteString("from_account,type,to_account,to_group_id,set_mark\n")
	for i := range n {
		b.WriteString("user" + strconv.Itoa(i) + ",1,peer" + strconv.Itoa(i%17) + ",,\"[1,2]\"\n")
	}
	return []byte(b.String())
}

// countRecords reads every record of r, returning how many and the first
// error.
func countRecords(r interface{ Next() (Record, error) }) (int, error) {
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// cancelWhenHeld runs read, cancels its context once the server holds one
// of its requests, and returns read's error.
func cancelWhenHeld(t *testing.T, srv *s3test.Server, read func(ctx context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- read(ctx) }()
	select {
	case <-srv.Held():
	case err := <-done:
		t.Fatalf("the read ended (%v) before the store held a request", err)
	}
	cancel()
	select {
	case err := <-done:
		return err
	case <-time.After(hangBound):
		t.Fatalf("the read still waits on the store %v after its context was cancelled", hangBound)
	}
	return nil
}

// TestObjectReadStopsWithItsContext: a bucket that stops answering (no
// answer, or half a body) holds a read only until the context the input
// was opened with is cancelled; the error is context.Canceled, so that
// the run reports an interruption, not a bad input.
func TestObjectReadStopsWithItsContext(t *testing.T) {
	srv := startBucket(t)
	srv.Put(t, loc("slow/marks.csv"), bigCSV(3000))
	const n = 20000
	from, to := make([]any, n), make([]any, n)
	for i := range n {
		from[i], to[i] = "user"+strconv.Itoa(i), "peer"+strconv.Itoa(i%17)
	}
	pq := filepath.Join(t.TempDir(), "marks.parquet")
	writeParquet(t, pq, []pqColumn{{"from_account", arrow.BinaryTypes.String, from}, {"to_account", arrow.BinaryTypes.String, to}}, pqWrite{rowGroupLen: 2000})
	srv.PutFile(t, loc("slow/marks.parquet"), pq)

	readInput := func(spec string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			in, err := ResolveInputContext(ctx, []string{spec}, "")
			if err != nil {
				return err
			}
			r, err := in.OpenContext(ctx, Options{})
			if err != nil {
				return err
			}
			defer r.Close()
			_, err = countRecords(r)
			return err
		}
	}
	get := func(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "" }
	for _, tc := range []struct {
		name  string
		spec  string
		fault s3test.Fault
		match func(*http.Request) bool
	}{
		{"listing", "s3://lake/slow/", s3test.Stall, func(r *http.Request) bool { return r.URL.Query().Get("list-type") != "" }},
		{"csv stream, no answer", "s3://lake/slow/marks.csv", s3test.Stall, get},
		{"csv stream, half a body", "s3://lake/slow/marks.csv", s3test.StallBody, get},
		{"parquet footer", "s3://lake/slow/marks.parquet", s3test.Stall, get},
		{"parquet column chunk", "s3://lake/slow/marks.parquet", s3test.Stall, afterGets(6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.Inject(tc.fault, 1, tc.match)
			err := cancelWhenHeld(t, srv, readInput(tc.spec))
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%v; want context.Canceled", err)
			}
		})
	}
}

// afterGets matches the GETs of an object after the first n.
func afterGets(n int) func(*http.Request) bool {
	seen := 0
	return func(r *http.Request) bool {
		if r.Method != http.MethodGet || r.URL.Query().Get("list-type") != "" {
			return false
		}
		seen++
		return seen > n
	}
}

// TestObjectStreamCutShortIsAnInputError: a CSV object whose connection
// drops halfway (plain or gzip) is an *InputError naming the object once
// the rows before the break are read, never an input that ends early.
func TestObjectStreamCutShortIsAnInputError(t *testing.T) {
	srv := startBucket(t)
	data := bigCSV(3000)
	srv.Put(t, loc("cut/marks.csv"), data)
	srv.Put(t, loc("cut/marks.csv.gz"), gzipped(t, string(data)))
	for _, spec := range []string{"s3://lake/cut/marks.csv", "s3://lake/cut/marks.csv.gz"} {
		t.Run(spec, func(t *testing.T) {
			in, err := ResolveInput([]string{spec}, "")
			if err != nil {
				t.Fatal(err)
			}
			srv.Inject(s3test.Drop, 1, s3test.Streamed)
			r, err := in.OpenContext(context.Background(), Options{})
			if err == nil {
				defer r.Close()
				var n int
				n, err = countRecords(r)
				if err != nil && n >= 3000 {
					t.Errorf("%d rows read before the error, of 3000 with half the bytes", n)
				}
			}
			var ie *InputError
			if !errors.As(err, &ie) || ie.Path != spec {
				t.Fatalf("%v; want an *InputError of %s", err, spec)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "the stream broke after") {
				t.Errorf("%v: want it said that the stream broke", err)
			}
			t.Log(err)
		})
	}
}
