package readers

// Inputs in object storage against a real S3 protocol server (s3test):
// every input read from the bucket must give what the same files give on
// local disk: the same parts, names, Hive columns, records, and the same
// refusals.

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/zstd"

	"markimport/readers/objstore"
	"markimport/readers/objstore/s3test"
)

const testBucket = "lake"

// startBucket starts a server with the bucket "lake", and points the
// environment the readers make their client from at it.
func startBucket(t *testing.T) *s3test.Server {
	t.Helper()
	srv := s3test.Start(t)
	srv.MakeBucket(t, testBucket)
	srv.SetEnv(t)
	return srv
}

func loc(key string) objstore.Location { return objstore.Location{Bucket: testBucket, Key: key} }

// uploadTree puts every file beneath dir under the prefix key.
func uploadTree(t *testing.T, srv *s3test.Server, dir, key string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		srv.PutFile(t, loc(key+filepath.ToSlash(rel)), p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readSpecs resolves specs and reads every record.
func readSpecs(t *testing.T, specs ...string) (*Input, []Record) {
	t.Helper()
	in, err := ResolveInput(specs, "")
	if err != nil {
		t.Fatalf("ResolveInput(%q): %v", specs, err)
	}
	r, err := in.Open(Options{})
	if err != nil {
		t.Fatalf("open %q: %v", specs, err)
	}
	var recs []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read %q: %v", specs, err)
		}
		recs = append(recs, rec)
	}
	r.Close()
	return in, recs
}

// sameInput checks that two inputs have the same parts (by name and Hive
// columns), format and records.
func sameInput(t *testing.T, gotIn *Input, got []Record, wantIn *Input, want []Record) {
	t.Helper()
	if gotIn.Format != wantIn.Format {
		t.Errorf("format %s, want %s", gotIn.Format, wantIn.Format)
	}
	var gotNames, wantNames []string
	for _, p := range gotIn.Parts {
		gotNames = append(gotNames, p.Name)
	}
	for _, p := range wantIn.Parts {
		wantNames = append(wantNames, p.Name)
	}
	if !reflect.DeepEqual(gotNames, wantNames) {
		t.Fatalf("parts\n got %q\nwant %q", gotNames, wantNames)
	}
	for k := range gotIn.Parts {
		if !reflect.DeepEqual(gotIn.Parts[k].Hive, wantIn.Parts[k].Hive) {
			t.Errorf("%s: Hive %v, want %v", gotNames[k], gotIn.Parts[k].Hive, wantIn.Parts[k].Hive)
		}
	}
	if len(want) == 0 {
		t.Fatal("the local input has no records")
	}
	diffRecords(t, got, want)
}

// TestObjectPrefixesAndGlobsReadAsFolders reads DuckDB's Hive exports
// from a bucket, with the markers Spark and Hadoop leave beside them, as
// a prefix, a prefix without its slash, and globs.
func TestObjectPrefixesAndGlobsReadAsFolders(t *testing.T) {
	srv := startBucket(t)
	lake := filepath.Join("..", "testdata", "lake")
	for _, d := range []string{"duckdb_hive_parquet", "duckdb_hive_csv", "duckdb_split_parquet"} {
		uploadTree(t, srv, filepath.Join(lake, d), "exports/"+d+"/")
		for _, marker := range []string{"_SUCCESS", "_committed_1234", "_temporary/0/part-0.parquet", ".part-0.crc", "data_0.parquet.crc"} {
			srv.Put(t, loc("exports/"+d+"/"+marker), []byte("not data"))
		}
	}
	srv.Put(t, loc("exports/duckdb_hive_csv/from_account=user2/empty.csv"), nil)
	srv.Put(t, loc("exports/duckdb_hive_csv/from_account=user2/"), nil) // a console's folder placeholder
	cases := []struct{ s3, local string }{
		{"exports/duckdb_hive_parquet/", "duckdb_hive_parquet"},
		{"exports/duckdb_hive_parquet", "duckdb_hive_parquet"},
		{"exports/duckdb_hive_csv/", "duckdb_hive_csv"},
		{"exports/duckdb_hive_parquet/from_account=*/*.parquet", "duckdb_hive_parquet/from_account=*/*.parquet"},
		{"exports/duckdb_hive_parquet/**/data_*.parquet", "duckdb_hive_parquet/**/data_*.parquet"},
		{"exports/duckdb_split_parquet/data_*.parquet", "duckdb_split_parquet/data_*.parquet"},
		{"exports/duckdb_split_parquet/", "duckdb_split_parquet"},
	}
	for _, tc := range cases {
		t.Run(tc.s3, func(t *testing.T) {
			gotIn, got := readSpecs(t, "s3://"+testBucket+"/"+tc.s3)
			wantIn, want := readSpecs(t, filepath.Join(lake, tc.local))
			sameInput(t, gotIn, got, wantIn, want)
		})
	}
	// Beside the same folder or glob on disk, each part is named by its
	// key or path: a glob's names start at its root, not with the pattern.
	for _, spec := range []string{"exports/duckdb_split_parquet/", "exports/duckdb_split_parquet/data_*.parquet"} {
		t.Run("beside its local twin: "+spec, func(t *testing.T) {
			local := filepath.Join(lake, "duckdb_split_parquet")
			localSpec := local
			if strings.Contains(spec, "*") {
				localSpec = filepath.Join(local, "data_*.parquet")
			}
			gotIn, got := readSpecs(t, "s3://lake/"+spec, localSpec)
			onceIn, once := readSpecs(t, local)
			n := len(gotIn.Parts) / 2
			if n != len(onceIn.Parts) {
				t.Fatalf("%d parts, want twice %d", len(gotIn.Parts), len(onceIn.Parts))
			}
			for k, p := range gotIn.Parts {
				want := "s3://lake/exports/duckdb_split_parquet/"
				if k >= n {
					want = filepath.ToSlash(local) + "/"
				}
				// The folder read alone names its files below it.
				if want += onceIn.Parts[k%n].Name; p.Name != want {
					t.Errorf("part %d is %s, want %s", k, p.Name, want)
				}
			}
			if len(got) != 2*len(once) {
				t.Errorf("%d records, want twice %d", len(got), len(once))
			}
		})
	}
}

// TestObjectCSVCodecs streams a CSV object plain, gzip and zstd.
func TestObjectCSVCodecs(t *testing.T) {
	srv := startBucket(t)
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("from_account,type,to_account,to_group_id,set_mark\n")
	for i := range 3000 {
		b.WriteString("u" + strconv.Itoa(i) + ",1,peer" + strconv.Itoa(i%17) + ",,\"[1,2]\"\n")
	}
	plain := []byte(b.String())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	enc, _ := zstd.NewWriter(nil)
	files := map[string][]byte{"marks.csv": plain, "marks.csv.gz": gz.Bytes(), "marks.csv.zst": enc.EncodeAll(plain, nil)}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		srv.PutFile(t, loc("in/"+name), p)
		t.Run(name, func(t *testing.T) {
			gotIn, got := readSpecs(t, "s3://lake/in/"+name)
			_, want := readSpecs(t, p)
			if gotIn.Parts[0].Name != "s3://lake/in/"+name {
				t.Errorf("named %s", gotIn.Parts[0].Name)
			}
			diffRecords(t, got, want)
		})
	}
}

// TestObjectParquetReadsOnlyWhatItNeeds reads a Parquet object of over
// 0.5 MB, most of it a column markimport does not read: the records are
// the local file's, and the bytes fetched are a small part of the object.
func TestObjectParquetReadsOnlyWhatItNeeds(t *testing.T) {
	srv := startBucket(t)
	const n = 20000
	from, to, payload := make([]any, n), make([]any, n), make([]any, n)
	for i := range n {
		from[i] = "user" + strconv.Itoa(i%500)
		to[i] = "peer" + strconv.Itoa(i)
		payload[i] = strings.Repeat(strconv.Itoa(i*7919), 12) // incompressible enough
	}
	p := filepath.Join(t.TempDir(), "marks.parquet")
	writeParquet(t, p, []pqColumn{
		{"from_account", arrow.BinaryTypes.String, from},
		{"payload", arrow.BinaryTypes.String, payload},
		{"to_account", arrow.BinaryTypes.String, to},
	}, pqWrite{rowGroupLen: 5000})
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() < 512<<10 {
		t.Fatalf("the fixture is %d bytes, want 0.5 MB or more", st.Size())
	}
	srv.PutFile(t, loc("big/marks.parquet"), p)
	store, err := objectStore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	before := store.Fetched()
	_, got := readSpecs(t, "s3://lake/big/marks.parquet")
	fetched := store.Fetched() - before
	_, want := readSpecs(t, p)
	diffRecords(t, got, want)
	if fetched <= 0 || fetched > st.Size()/3 {
		t.Errorf("fetched %d bytes of a %d-byte object; want a third or less (the unread column is most of it)", fetched, st.Size())
	}
	t.Logf("fetched %d of %d bytes", fetched, st.Size())
}

// TestObjectRefusals: what a local input refuses, an input in a bucket
// refuses with the same message, naming the object; and what only a
// bucket can do wrong names the object and what to check.
func TestObjectRefusals(t *testing.T) {
	srv := startBucket(t)
	dir := t.TempDir()
	csv := []byte("from_account,to_account\na,b\n")
	pq := filepath.Join(dir, "pq")
	writeParquet(t, pq, []pqColumn{{"from_account", arrow.BinaryTypes.String, strs("a")}}, pqWrite{})
	pqData, _ := os.ReadFile(pq)
	trees := map[string]map[string][]byte{
		"two-formats":  {"a.csv": csv, "b.parquet": pqData},
		"markers-only": {"_SUCCESS": nil, "_committed_1": []byte("x")},
		"readme":       {"a.csv": csv, "README.md": []byte("# hi")},
		"empty-only":   {"a.csv": nil},
	}
	for name, files := range trees {
		local := filepath.Join(dir, name)
		os.Mkdir(local, 0o755)
		for f, data := range files {
			os.WriteFile(filepath.Join(local, f), data, 0o644)
			srv.Put(t, loc(name+"/"+f), data)
		}
		t.Run(name, func(t *testing.T) {
			_, lerr := ResolveInput([]string{local}, "")
			_, serr := ResolveInput([]string{"s3://lake/" + name + "/"}, "")
			if lerr == nil || serr == nil {
				t.Fatalf("local %v, bucket %v: want both refused", lerr, serr)
			}
			var ie *InputError
			if !errors.As(serr, &ie) {
				t.Fatalf("%T %v: want an *InputError", serr, serr)
			}
			want := strings.ReplaceAll(lerr.Error(), local+"/", "s3://lake/"+name+"/")
			want = strings.ReplaceAll(want, local, "s3://lake/"+name)
			if got := serr.Error(); got != want && got != strings.Replace(want, "s3://lake/"+name+":", "s3://lake/"+name+"/:", 1) {
				t.Errorf("bucket: %s\n local: %s", got, lerr)
			}
		})
	}
	refused := func(t *testing.T, spec, want string) {
		t.Helper()
		_, err := ResolveInput([]string{spec}, "")
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "s3://") {
			t.Fatalf("%s: %v; want an input error naming it, with %q", spec, err, want)
		}
		t.Log(err)
		if strings.Contains(err.Error(), s3test.SecretKey) {
			t.Fatalf("the secret key in %q", err)
		}
	}
	t.Run("missing", func(t *testing.T) { refused(t, "s3://lake/nothing/here.csv", "no such object") })
	t.Run("no bucket", func(t *testing.T) { refused(t, "s3://other-bucket/a.csv", "does not exist") })
	t.Run("no glob match", func(t *testing.T) { refused(t, "s3://lake/two-formats/*.tsv", "no data file matches") })
	t.Run("bad url", func(t *testing.T) { refused(t, "s3://A_B/x.csv", "bucket name") })
	t.Run("access denied", func(t *testing.T) {
		// gofakes3 takes any signature: a store that denies everything, as
		// a wrong key or a bucket policy makes S3 and COS answer.
		deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			if r.Method != http.MethodHead {
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			}
		}))
		defer deny.Close()
		t.Setenv("AWS_ENDPOINT_URL_S3", deny.URL)
		refused(t, "s3://lake/two-formats/a.csv", "access denied (check AWS_ACCESS_KEY_ID")
		refused(t, "s3://lake/two-formats/", "access denied (check AWS_ACCESS_KEY_ID")
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
		t.Setenv("AWS_MAX_ATTEMPTS", "1")
		refused(t, "s3://lake/two-formats/a.csv", "cannot reach the object store")
	})
}

// TestObjectChangedWhileRead: an object replaced after the input was
// listed is refused when it is read, never read as the new version under
// the old identity.
func TestObjectChangedWhileRead(t *testing.T) {
	srv := startBucket(t)
	srv.Put(t, loc("c/a.csv"), []byte("from_account,to_account\na,b\n"))
	in, err := ResolveInput([]string{"s3://lake/c/a.csv"}, "")
	if err != nil {
		t.Fatal(err)
	}
	etag, size, ok := in.Parts[0].Object()
	if !ok || etag == "" || size != 28 {
		t.Fatalf("identity %q %d %v", etag, size, ok)
	}
	srv.Put(t, loc("c/a.csv"), []byte("from_account,to_account\na,c\n"))
	if _, err := in.Open(Options{}); err == nil || !strings.Contains(err.Error(), "changed since the input was listed") {
		t.Fatalf("%v: want the object refused as changed", err)
	}
	again, err := ResolveInput([]string{"s3://lake/c/a.csv"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if etag2, _, _ := again.Parts[0].Object(); etag2 == etag {
		t.Fatalf("the new content has the old ETag %s", etag)
	}
}
