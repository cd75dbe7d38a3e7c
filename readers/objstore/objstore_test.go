package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"markimport/readers/objstore"
	"markimport/readers/objstore/s3test"
)

func loc(t *testing.T, s string) objstore.Location {
	t.Helper()
	l, err := objstore.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestParse(t *testing.T) {
	good := map[string]objstore.Location{
		"s3://bucket-1/exports/marks/":     {Bucket: "bucket-1", Key: "exports/marks/"},
		"s3://my.bucket/a.csv":             {Bucket: "my.bucket", Key: "a.csv"},
		"s3://marks-1250000000":            {Bucket: "marks-1250000000", Key: ""},
		"s3://b12/dt=2026-12-01/*.parquet": {Bucket: "b12", Key: "dt=2026-12-01/*.parquet"},
	}
	for in, want := range good {
		got, err := objstore.Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != in && !(want.Key == "" && got.String() == in+"/") {
			t.Errorf("%q.String() = %q", in, got.String())
		}
	}
	for _, bad := range []string{"s3://", "s3:///key", "s3://Upper/key", "s3://ab/k", "s3://-bucket/k", "s3://bucket_x/k", "s3://bucket/a\nb", "/tmp/x.csv", "S3://bucket/k"} {
		if _, err := objstore.Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if !loc(t, "s3://bucket/dir/").IsPrefix() || loc(t, "s3://bucket/dir/a").IsPrefix() {
		t.Error("IsPrefix")
	}
}

func TestEndpointRules(t *testing.T) {
	ctx := context.Background()
	for _, ep := range []string{"http://127.0.0.1:9000", "http://localhost:9000", "http://[::1]:9000", "https://cos.ap-guangzhou.myqcloud.com", "https://10.0.0.5"} {
		if _, err := objstore.NewWith(ctx, objstore.Options{Endpoint: ep, AccessKey: "a", SecretKey: "b"}); err != nil {
			t.Errorf("%s refused: %v", ep, err)
		}
	}
	for _, ep := range []string{"http://cos.ap-guangzhou.myqcloud.com", "http://10.0.0.5:9000", "ftp://127.0.0.1", "http://user:hunter2@minio.example.com"} {
		_, err := objstore.NewWith(ctx, objstore.Options{Endpoint: ep, AccessKey: "a", SecretKey: "b"})
		if err == nil {
			t.Errorf("%s accepted", ep)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the message shows the password: %v", err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	srv := s3test.Start(t)
	srv.MakeBucket(t, "marks")
	st := srv.Store(t)
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789"), 1000)
	l := loc(t, "s3://marks/exports/dt=1/part-0.csv")
	if err := st.Put(ctx, l, data, true); err != nil {
		t.Fatal(err)
	}
	err := st.Put(ctx, l, []byte("other"), true)
	if !errors.Is(err, objstore.ErrExist) || !errors.Is(err, fs.ErrExist) {
		t.Fatalf("a second put with ifAbsent: %v", err)
	}
	info, err := st.Stat(ctx, l)
	if err != nil || info.Size != int64(len(data)) || info.ETag == "" {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	if _, err := st.Stat(ctx, loc(t, "s3://marks/none")); !errors.Is(err, objstore.ErrNotExist) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat of a missing object: %v", err)
	}
	if err := st.Put(ctx, loc(t, "s3://nobucket/x"), []byte("x"), true); err == nil {
		t.Fatal("a put into a missing bucket succeeded")
	}
	srv.Put(t, loc(t, "s3://marks/exports/dt=1/_SUCCESS"), nil)
	srv.Put(t, loc(t, "s3://marks/other.csv"), []byte("x"))
	list, err := st.List(ctx, loc(t, "s3://marks/exports/"))
	if err != nil || len(list) != 2 || list[0].Key != "exports/dt=1/_SUCCESS" || list[1].Key != "exports/dt=1/part-0.csv" || list[1].Size != int64(len(data)) {
		t.Fatalf("List = %+v, %v", list, err)
	}

	rc, oinfo, err := st.Open(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) || oinfo.ETag != info.ETag {
		t.Fatalf("Open read %d bytes, %v", len(got), err)
	}

	before := st.Fetched()
	ra := st.ReaderAt(ctx, l, info)
	buf := make([]byte, 25)
	if n, err := ra.ReadAt(buf, 9990); n != 10 || err != io.EOF || string(buf[:n]) != "0123456789" {
		t.Fatalf("ReadAt at the end = %d, %v, %q", n, err, buf[:n])
	}
	if n, err := ra.ReadAt(buf[:5], 13); n != 5 || err != nil || string(buf[:5]) != "34567" {
		t.Fatalf("ReadAt = %d, %v, %q", n, err, buf[:5])
	}
	if d := st.Fetched() - before; d != 15 {
		t.Fatalf("ranged reads fetched %d bytes, want 15", d)
	}

	srv.Put(t, l, []byte("a new version of the object"))
	if _, err := ra.ReadAt(buf[:5], 0); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("a read of a replaced object: %v", err)
	}
	if err := st.Delete(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, l); err != nil {
		t.Fatalf("deleting a missing object: %v", err)
	}
}

// TestWriterAppearsWhole writes an object of several parts: nothing is
// listed before Commit, the whole object after; an aborted one leaves
// nothing, and ifAbsent refuses an existing key at Create and at Commit.
func TestWriterAppearsWhole(t *testing.T) {
	srv := s3test.Start(t)
	srv.MakeBucket(t, "out")
	st := srv.Store(t)
	ctx := context.Background()
	l := loc(t, "s3://out/report.csv")
	w, err := st.Create(ctx, l, true)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("r"), 1<<20)
	for i := 0; i < 3*objstore.PartSize>>20; i++ {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if keys := srv.Keys(t, loc(t, "s3://out/")); len(keys) != 0 {
		t.Fatalf("before Commit the bucket lists %v", keys)
	}
	if srv.Requests.Of(http.MethodPut) == 0 {
		t.Fatal("no part was sent while writing")
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := srv.Get(t, l); len(got) != 3*objstore.PartSize {
		t.Fatalf("the object holds %d bytes", len(got))
	}
	if _, err := st.Create(ctx, l, true); !errors.Is(err, objstore.ErrExist) {
		t.Fatalf("Create over an existing object: %v", err)
	}

	l2 := loc(t, "s3://out/aborted.csv")
	w2, err := st.Create(ctx, l2, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3*objstore.PartSize>>20; i++ {
		w2.Write(chunk)
	}
	// Someone else writes the key meanwhile: Commit must not replace it.
	srv.Put(t, l2, []byte("theirs"))
	if err := w2.Commit(); !errors.Is(err, objstore.ErrExist) {
		t.Fatalf("Commit over an object written meanwhile: %v", err)
	}
	if got := string(srv.Get(t, l2)); got != "theirs" {
		t.Fatalf("the other object was replaced: %d bytes", len(got))
	}

	l3 := loc(t, "s3://out/small.json")
	w3, _ := st.Create(ctx, l3, true)
	w3.Write([]byte("{}"))
	if err := w3.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w3.Commit(); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}
	if _, err := st.Stat(ctx, l3); !errors.Is(err, objstore.ErrNotExist) {
		t.Fatalf("an aborted object exists: %v", err)
	}
}

// TestDishonestStore: a ranged answer of another length, or a stream that
// ends early, is an error, never short data.
func TestDishonestStore(t *testing.T) {
	var mode string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"e1"`)
		switch mode {
		case "long-range":
			w.Header().Set("Content-Length", "8")
			w.WriteHeader(http.StatusPartialContent)
			w.Write([]byte("abcdefgh"))
		case "short-stream":
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("only ten b"))
		}
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	st, err := objstore.NewWith(context.Background(), objstore.Options{Endpoint: srv.URL, AccessKey: "a", SecretKey: "b"})
	if err != nil {
		t.Fatal(err)
	}
	l := loc(t, "s3://bkt/obj")
	mode = "long-range"
	ra := st.ReaderAt(context.Background(), l, objstore.Info{Size: 100, ETag: `"e1"`})
	if _, err := ra.ReadAt(make([]byte, 4), 0); err == nil {
		t.Fatal("a range answered with 8 bytes for 4 was accepted")
	}
	mode = "short-stream"
	rc, _, err := st.Open(context.Background(), l)
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if err == nil {
		t.Fatal("a stream that ended at 10 of 100 bytes was accepted")
	}
}

// TestNewFromEnvironment: the settings a user gives (AWS_ENDPOINT_URL_S3,
// the keys, the region) reach the server, with path-style addressing for a
// loopback IP; a bad AWS_S3_USE_PATH_STYLE is refused, not guessed.
func TestNewFromEnvironment(t *testing.T) {
	srv := s3test.Start(t)
	srv.MakeBucket(t, "envbucket")
	srv.SetEnv(t)
	st, err := objstore.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l := loc(t, "s3://envbucket/a.csv")
	if err := st.Put(context.Background(), l, []byte("x"), false); err != nil {
		t.Fatal(err)
	}
	if got := string(srv.Get(t, l)); got != "x" {
		t.Fatalf("read back %q", got)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value")
	st2, err := objstore.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = st2.Stat(context.Background(), l)
	if err != nil && strings.Contains(err.Error(), "wrong-secret-value") {
		t.Fatalf("the message shows the secret: %v", err)
	}
	t.Setenv("AWS_S3_USE_PATH_STYLE", "yes please")
	if _, err := objstore.New(context.Background()); err == nil {
		t.Fatal("AWS_S3_USE_PATH_STYLE=\"yes please\" accepted")
	}
}
