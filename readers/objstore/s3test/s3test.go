// Package s3test starts a real S3 protocol server for tests: gofakes3 with
// its in-memory backend, served on a loopback httptest server. Tests of
// markimport's object-storage inputs and outputs talk to it through the
// same client (package objstore) and, for a child process, through the
// same environment variables a user sets. Inject makes it fail chosen
// requests the ways real stores and networks do (faults.go): a hang, a
// 503, a connection that drops mid-body. Before runs a test's own request
// at an exact point among a client's (before.go).
package s3test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"markimport/readers/objstore"
)

// The credentials and region of every Server. They are test values, the
// same for every server, and mean nothing outside it.
const (
	AccessKey = "s3test-access-key"
	SecretKey = "s3test-secret-key-not-a-secret"
	Region    = "us-east-1"
)

// Server is one S3 protocol server on loopback, stopped when its test ends.
type Server struct {
	URL string // http://127.0.0.1:PORT
	srv *httptest.Server
	// Requests counts the requests the server answered, by HTTP method.
	Requests *Counter
	faults   *faults
	hooks    *hooks
}

// Start starts a Server for t.
func Start(t testing.TB) *Server {
	t.Helper()
	faker := gofakes3.New(s3mem.New())
	counter := newCounter()
	fs := &faults{stop: make(chan struct{}), held: make(chan *http.Request, 16)}
	hs := &hooks{}
	srv := httptest.NewServer(counter.wrap(hs.wrap(fs.wrap(faker.Server()))))
	t.Cleanup(srv.Close)
	// Cleanups run last first: held requests are let go before Close
	// waits for every handler to return.
	t.Cleanup(func() { close(fs.stop) })
	return &Server{URL: srv.URL, srv: srv, Requests: counter, faults: fs, hooks: hs}
}

// Env is the environment a child process needs to reach the server, and
// nothing of the parent's AWS settings: the endpoint, the keys, the region,
// no shared config files, no instance metadata service.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_S3=" + s.URL,
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_REGION=" + Region,
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Store is a client of the server, made without reading the environment.
func (s *Server) Store(t testing.TB) *objstore.Store {
	t.Helper()
	st, err := objstore.NewWith(context.Background(), objstore.Options{
		Endpoint: s.URL, Region: Region, AccessKey: AccessKey, SecretKey: SecretKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// MakeBucket creates a bucket.
func (s *Server) MakeBucket(t testing.TB, name string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, s.URL+"/"+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create bucket %s: %s", name, resp.Status)
	}
}

// Put stores data at l.
func (s *Server) Put(t testing.TB, l objstore.Location, data []byte) {
	t.Helper()
	if err := s.Store(t).Put(context.Background(), l, data, false); err != nil {
		t.Fatal(err)
	}
}

// PutFile stores the local file path at l.
func (s *Server) PutFile(t testing.TB, l objstore.Location, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Put(t, l, data)
}

// Get is the whole object at l.
func (s *Server) Get(t testing.TB, l objstore.Location) []byte {
	t.Helper()
	rc, _, err := s.Store(t).Open(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf []byte
	b := make([]byte, 32<<10)
	for {
		n, err := rc.Read(b)
		buf = append(buf, b[:n]...)
		if err != nil {
			if err == io.EOF {
				return buf
			}
			t.Fatal(err)
		}
	}
}

// Keys lists the keys under the prefix l, sorted.
func (s *Server) Keys(t testing.TB, l objstore.Location) []string {
	t.Helper()
	infos, err := s.Store(t).List(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(infos))
	for i, in := range infos {
		keys[i] = in.Key
	}
	sort.Strings(keys)
	return keys
}

// SetEnv points this process's environment (objstore.Shared)
// at the server for the rest of t, as Env does for a child process.
func (s *Server) SetEnv(t testing.TB) {
	t.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}
