package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"markimport/readers/objstore"
	"markimport/readers/objstore/s3test"
)

// What a store that fails does to reads: a transient failure is retried
// (the SDK's standard retryer: 3 attempts, for 5xx answers and connection
// errors before an answer starts), a lasting one is an error naming the
// object, a body cut short is an error and never shorter data, and a read
// that hangs ends with its context.

// faultyObject starts a server holding data at s3://faults/obj.
func faultyObject(t *testing.T, data []byte) (*s3test.Server, *objstore.Store, objstore.Location, objstore.Info) {
	t.Helper()
	srv := s3test.Start(t)
	srv.MakeBucket(t, "faults")
	l := loc(t, "s3://faults/obj")
	srv.Put(t, l, data)
	st := srv.Store(t)
	info, err := st.Stat(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	return srv, st, l, info
}

// TestRangedReadRetriesA503: one 503 on a ranged read is survived (the
// bytes are right, the GET was sent twice); a 503 on every try is an
// error naming the object, after 3 tries.
func TestRangedReadRetriesA503(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100)
	srv, st, l, info := faultyObject(t, data)
	ra := st.ReaderAt(context.Background(), l, info)

	srv.Inject(s3test.Unavailable, 1, s3test.Ranged)
	before := srv.Requests.Of(http.MethodGet)
	buf := make([]byte, 10)
	if n, err := ra.ReadAt(buf, 500); n != 10 || err != nil || string(buf) != "0123456789" {
		t.Fatalf("ReadAt after one 503 = %d, %v, %q", n, err, buf[:n])
	}
	if got := srv.Requests.Of(http.MethodGet) - before; got != 2 {
		t.Errorf("%d GETs for one read after one 503, want 2", got)
	}

	srv.Inject(s3test.Unavailable, -1, s3test.Ranged)
	before = srv.Requests.Of(http.MethodGet)
	_, err := ra.ReadAt(buf, 500)
	if err == nil || !strings.Contains(err.Error(), l.String()) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("ReadAt under lasting 503s: %v; want an error naming %s and the 503", err, l)
	}
	if got := srv.Requests.Of(http.MethodGet) - before; got != 3 {
		t.Errorf("%d GETs under lasting 503s, want 3 (the SDK's standard attempts)", got)
	}
	t.Log(err)
}

// TestStreamRetriesA503: a 503 before a stream starts is retried too.
func TestStreamRetriesA503(t *testing.T) {
	data := bytes.Repeat([]byte("abcdefghij"), 100)
	srv, st, l, _ := faultyObject(t, data)
	srv.Inject(s3test.Unavailable, 1, s3test.Streamed)
	rc, _, err := st.Open(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d of %d bytes after one 503: %v", len(got), len(data), err)
	}
}

// TestDroppedConnection: a connection closed halfway through the body of
// a stream is an error naming the object, never a shorter object; a
// ranged read is asked for again, up to 3 times.
func TestDroppedConnection(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 10000)
	srv, st, l, info := faultyObject(t, data)

	srv.Inject(s3test.Drop, 1, s3test.Streamed)
	rc, _, err := st.Open(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err == nil || !strings.Contains(err.Error(), l.String()) {
		t.Fatalf("a stream cut at %d of %d bytes: %v; want an error naming %s", len(got), len(data), err, l)
	}
	if len(got) >= len(data) {
		t.Fatalf("read %d bytes of a stream cut halfway", len(got))
	}
	t.Log(err)

	// The SDK does not retry a body that breaks once the answer started;
	// a range is asked for again: a break once is survived, one every
	// time fails naming the object after 3 GETs.
	srv.Inject(s3test.Drop, 1, s3test.Ranged)
	before := srv.Requests.Of(http.MethodGet)
	buf := make([]byte, 4000)
	ra := st.ReaderAt(context.Background(), l, info)
	if n, err := ra.ReadAt(buf, 1000); n != len(buf) || err != nil || !bytes.Equal(buf, data[1000:5000]) {
		t.Fatalf("a ranged read cut once = %d, %v", n, err)
	}
	if got := srv.Requests.Of(http.MethodGet) - before; got != 2 {
		t.Errorf("%d GETs for a range cut once, want 2", got)
	}
	srv.Inject(s3test.Drop, -1, s3test.Ranged)
	before = srv.Requests.Of(http.MethodGet)
	n, err := ra.ReadAt(buf, 1000)
	if err == nil || !strings.Contains(err.Error(), l.String()) || !strings.Contains(err.Error(), "broke off after 2000 of 4000 bytes") {
		t.Fatalf("a ranged read cut every time = %d, %v; want an error naming %s and the break", n, err, l)
	}
	if got := srv.Requests.Of(http.MethodGet) - before; got != 3 {
		t.Errorf("%d GETs for a range cut every time, want 3", got)
	}
	t.Log(err)
}

// TestHungReadEndsWithItsContext: a read the store never answers, or
// stops answering halfway, returns context.Canceled once its context is
// cancelled.
func TestHungReadEndsWithItsContext(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 10000)
	for _, tc := range []struct {
		name  string
		fault s3test.Fault
		read  func(ctx context.Context, st *objstore.Store, l objstore.Location, info objstore.Info) error
	}{
		{"ranged, no answer", s3test.Stall, readAt},
		{"ranged, half a body", s3test.StallBody, readAt},
		{"stream, no answer", s3test.Stall, readStream},
		{"stream, half a body", s3test.StallBody, readStream},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, st, l, info := faultyObject(t, data)
			srv.Inject(tc.fault, 1, func(r *http.Request) bool { return r.Method == http.MethodGet })
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- tc.read(ctx, st, l, info) }()
			<-srv.Held()
			cancel()
			err := <-done
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%v; want context.Canceled", err)
			}
		})
	}
}

func readAt(ctx context.Context, st *objstore.Store, l objstore.Location, info objstore.Info) error {
	_, err := st.ReaderAt(ctx, l, info).ReadAt(make([]byte, 50000), 0)
	return err
}

func readStream(ctx context.Context, st *objstore.Store, l objstore.Location, _ objstore.Info) error {
	rc, _, err := st.Open(ctx, l)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.ReadAll(rc)
	return err
}
