package readers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parOptions are Options that read a plain CSV file in parallel chunks of
// chunk bytes (workers 0: the one-thread reader).
func parOptions(chunk int64, workers int) Options {
	return Options{Extra: []ExtraColumn{{Name: "note"}}, par: &parConfig{chunk: chunk, workers: workers, ahead: 2, min: 0}}
}

// transcript reads the CSV file path with opts and writes down all a
// caller can see: each record with its row, fields, extras, problem and
// raw fields, then how the read ended. par says whether the rows were
// read in parallel, and reparsed how many chunks were parsed again.
func transcript(t *testing.T, path string, opts Options) (out string, par bool, reparsed int) {
	t.Helper()
	r, err := openContext(context.Background(), path, opts)
	if err != nil {
		return "open: " + err.Error() + "\n", false, 0
	}
	c := r.(*CSVReader)
	var b strings.Builder
	for {
		rec, err := c.Next()
		if err == io.EOF {
			b.WriteString("EOF\n")
			break
		}
		if err != nil {
			fmt.Fprintf(&b, "error: %v\n", err)
			break
		}
		fmt.Fprintf(&b, "%d %q %q %q %q raw %q\n", rec.Row, rec.Fields, rec.Extra, rec.Problem, rec.ProblemColumn, c.Raw())
	}
	if c.par != nil {
		par, reparsed = true, c.par.reparsed
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), par, reparsed
}

// checkSame reads data as a file by the one-thread reader, then in
// parallel chunks of every size to 64 bytes, then of sizes a fifth apart
// to past the file's, with 2 and 3 workers, and fails at the first
// difference. It returns how many
// chunks were parsed again in all.
func checkSame(t *testing.T, name string, data []byte) int {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	want, par, _ := transcript(t, path, parOptions(1, 1))
	if par {
		t.Fatal("one worker read in parallel")
	}
	reparsed := 0
	for chunk := int64(1); chunk <= int64(len(data))+1; chunk = nextChunk(chunk) {
		for _, workers := range []int{2, 3} {
			got, par, n := transcript(t, path, parOptions(chunk, workers))
			reparsed += n
			if got != want {
				t.Fatalf("%s, chunks of %d bytes, %d workers:\n%s\nthe one-thread reader:\n%s", name, chunk, workers, got, want)
			}
			if !par && strings.Count(want, "\n") > 1 && !strings.Contains(name, "cr-only") {
				t.Fatalf("%s, chunks of %d bytes: not read in parallel", name, chunk)
			}
		}
	}
	return reparsed
}

// nextChunk is the chunk size tried after chunk: every size to 64
// bytes, then a fifth more each time.
func nextChunk(chunk int64) int64 {
	if chunk < 64 {
		return chunk + 1
	}
	return chunk + chunk/5
}

const parHeader = "from_account,to_account,custom_mark,note\n"

// TestParallelCSVMatchesOneThread: hostile files read in parallel chunks
// of every size give the records, row numbers, line numbers in messages,
// raw fields and errors of the one-thread reader.
func TestParallelCSVMatchesOneThread(t *testing.T) {
	long := strings.Repeat("x", 3000) // over a chunk, and over the 1 KiB kept of a known column
	cases := map[string]string{
		"quoted-newlines": parHeader + "u1,p1,\"a\nb\nc\",n\nu2,p2,\"\n\",\"\n\n\"\nu3,p3,plain,n\n\"u\n4\",p4,,\n",
		"crlf":            strings.ReplaceAll(parHeader, "\n", "\r\n") + "u1,p1,\"a\r\nb\",n\r\nu2,p2,c,n\r\nu3,p3,\"\r\n\",n\r\n",
		"doubled-quotes":  parHeader + "u1,p1,\"say \"\"hi\"\"\",n\nu2,p2,\"\"\"\"\"\",\"\"\"\n\"\"\"\nu3,p3,\"\"\"\",n\n",
		"unterminated":    parHeader + "u1,p1,x,n\nu2,p2,\"never\nends,n\nu3,p3,x,n\n",
		"malformed":       parHeader + "u1,p1,x,n\nu2,p2,x,n\nu3,p\"3,x,n\nu4,p4,\"a\"b,n\nu5,p5,\"ok\",n\nu6,\"p6\nq\"x,y\nu7,p7,x,n\n",
		"field-count":     parHeader + "u1,p1\nu2,p2,x,n,extra\nu3,p3,x,n\n",
		"blank-lines":     parHeader + "\n\nu1,p1,x,n\n\n\r\n\nu2,p2,\"\n\n\",n\n\n\n\n",
		"no-last-newline": parHeader + "u1,p1,x,n\nu2,p2,\"a\nb\",n",
		"quote-at-end":    parHeader + "u1,p1,x,n\nu2,p2,x,\"n",
		"empty":           "",
		"header-only":     parHeader,
		"header-no-nl":    strings.TrimSuffix(parHeader, "\n"),
		"bom":             "\ufeff" + parHeader + "u1,p1,\"a\nb\",n\nu2,p2,x,n\n",
		"sep-line":        "sep=;\n" + strings.ReplaceAll(parHeader, ",", ";") + "u1;p1;\"a;\nb\";n\nu2;p2;x;n\n",
		"long-fields":     parHeader + "u1,p1," + long + ",n\nu2,p2,\"" + long + "\n" + long + "\",n\nu3,p3,x," + long + "\n",
		"cr-only":         strings.ReplaceAll(parHeader, "\n", "\r") + "u1,p1,x,n\ru2,p2,\"a\rb\",n\r",
		"quoted-header":   "from_account,\"to_\naccount\",custom_mark,note\nu1,p1,x,n\nu2,p2,\"y\nz\",\"bad\"q\n",
	}
	reparsed := 0
	for name, data := range cases {
		reparsed += checkSame(t, name+".csv", []byte(data))
	}
	if reparsed == 0 {
		t.Fatal("no chunk was parsed again: the hostile files do not reach the fall-back")
	}
}

// TestParallelCSVRandomHostile: random rows of every hostile kind, read in
// chunks of every size.
func TestParallelCSVRandomHostile(t *testing.T) {
	for seed := int64(1); seed <= 6; seed++ {
		checkSame(t, fmt.Sprintf("random-%d.csv", seed), hostileCSV(rand.New(rand.NewSource(seed)), 40))
	}
}

// hostileCSV makes a file of n rows built from pieces that trouble a
// chunked parse: quoted line ends, doubled quotes, bare quotes, CRLF,
// blank lines, rows of the wrong width.
func hostileCSV(rng *rand.Rand, n int) []byte {
	pieces := []string{"a", "", "\"q\nq\"", "\"\"\"\"", "\"x\"\"\ny\"", "b\"c", "\"d\"e", "\"\r\n\"", "\"\n\n\"", "\"open"}
	ends := []string{"\n", "\r\n", "\n\n", "\n"}
	var b strings.Builder
	b.WriteString(parHeader)
	for i := range n {
		fields := 4
		if rng.Intn(8) == 0 {
			fields = 1 + rng.Intn(6)
		}
		for f := range fields {
			if f > 0 {
				b.WriteByte(',')
			}
			if f == 0 {
				fmt.Fprintf(&b, "u%d", i)
				continue
			}
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		b.WriteString(ends[rng.Intn(len(ends))])
	}
	return []byte(b.String())
}

// FuzzParallelCSVMatchesOneThread: any bytes read in parallel chunks give
// what the one-thread reader gives.
func FuzzParallelCSVMatchesOneThread(f *testing.F) {
	f.Add([]byte(parHeader+"u1,p1,\"a\nb\",n\nu2,p2,x,n\n"), uint8(5))
	f.Add([]byte(parHeader+"u1,p\"1,x,n\nu2,\"p\n2\"x,y\n\n\nu3,p3,\"open\n"), uint8(3))
	f.Add([]byte("\ufeff"+parHeader+"u1,p1,\"\"\"\r\n\"\"\",n\r\n"), uint8(1))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		path := filepath.Join(dir, "fuzz.csv")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		want, _, _ := transcript(t, path, parOptions(1, 1))
		got, _, _ := transcript(t, path, parOptions(int64(chunk)+1, 2))
		if got != want {
			t.Fatalf("chunks of %d bytes:\n%s\nthe one-thread reader:\n%s", int(chunk)+1, got, want)
		}
	})
}

// TestParallelCSVStops: the end of the context the file was opened under
// stops every worker, Close or not, and the next read says why.
func TestParallelCSVStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(path, []byte(parHeader+strings.Repeat("u1,p1,\"a\nb\",n\n", 20000)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r, err := openContext(ctx, path, parOptions(1024, 2))
	if err != nil {
		t.Fatal(err)
	}
	c := r.(*CSVReader)
	if c.par == nil {
		t.Fatal("not read in parallel")
	}
	if _, err := c.Next(); err != nil {
		t.Fatal(err)
	}
	cancel()
	c.par.wg.Wait() // every worker returns without Close
	for {
		_, err := c.Next()
		if err == nil {
			continue // records already parsed may still come
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("after cancel: %v, want context.Canceled", err)
		}
		break
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestParallelCSVCloseEarly: a reader closed before its rows end stops
// its workers (Close returns only once they have).
func TestParallelCSVCloseEarly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(path, []byte(parHeader+strings.Repeat("u1,p1,x,n\n", 50000)), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := openContext(context.Background(), path, parOptions(4096, 3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}
