package s3test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
)

// Fault is a way a store fails a request, for tests of what a client does
// then. Each is what a real store or the network between does at times.
type Fault int

const (
	// Stall holds the request unanswered until the client goes away (a
	// store or a proxy that hangs).
	Stall Fault = iota + 1
	// StallBody sends the headers and the first half of the body, then
	// holds the rest until the client goes away (a slow bucket mid-read).
	StallBody
	// Unavailable answers 503 Service Unavailable with S3's SlowDown
	// error, as S3 and COS do under load.
	Unavailable
	// Drop sends the headers, announcing the whole body, and the first
	// half of it, then closes the connection (a reset mid-stream).
	Drop
)

// faults is the faults a Server injects: the first rule whose match takes
// a request decides it.
type faults struct {
	mu    sync.Mutex
	rules []*rule
	stop  chan struct{} // closed when the test ends: nothing stays held
	// held receives every request a Stall or StallBody holds, once it is
	// held (dropped when nobody waits for it).
	held chan *http.Request
}

type rule struct {
	fault Fault
	match func(*http.Request) bool
	left  int // requests still to fail; < 0: every one
}

// Inject makes the server fail the next n requests that match (n < 0:
// every one) with f. Rules are tried in the order they were added.
func (s *Server) Inject(f Fault, n int, match func(*http.Request) bool) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.rules = append(s.faults.rules, &rule{fault: f, match: match, left: n})
}

// Held returns a channel that receives each request a Stall or a
// StallBody holds, once the server holds it: a test cancels its client
// then, knowing the client is waiting on the store.
func (s *Server) Held() <-chan *http.Request { return s.faults.held }

// Ranged matches a GET of a byte range (a Parquet object's footer or
// column chunks).
func Ranged(r *http.Request) bool { return r.Method == http.MethodGet && r.Header.Get("Range") != "" }

// Streamed matches a GET of a whole object (a CSV object read as a
// stream).
func Streamed(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Range") == "" && r.URL.Query().Get("list-type") == ""
}

// pick returns the fault for r, if any, counting it.
func (fs *faults) pick(r *http.Request) Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, ru := range fs.rules {
		if ru.left != 0 && ru.match(r) {
			if ru.left > 0 {
				ru.left--
			}
			return ru.fault
		}
	}
	return 0
}

func (fs *faults) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch fs.pick(r) {
		case 0:
			h.ServeHTTP(w, r)
		case Stall:
			fs.hold(r)
		case Unavailable:
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
		case StallBody:
			if half(w, r, h) {
				fs.hold(r)
			}
		case Drop:
			if half(w, r, h) {
				if hj, ok := w.(http.Hijacker); ok {
					if conn, _, err := hj.Hijack(); err == nil {
						conn.Close()
					}
				}
			}
		}
	})
}

// hold keeps r unanswered until its client goes away or the test ends.
func (fs *faults) hold(r *http.Request) {
	select {
	case fs.held <- r:
	default:
	}
	select {
	case <-r.Context().Done():
	case <-fs.stop:
	}
}

// half answers r as h would, but sends only the first half of the body
// (the headers announcing all of it), and flushes it. It reports whether
// it did: an answer of no body, or not a success, is sent whole.
func half(w http.ResponseWriter, r *http.Request, h http.Handler) bool {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	if rec.Code/100 != 2 || len(body) < 2 {
		w.WriteHeader(rec.Code)
		w.Write(body)
		return false
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	io.Copy(w, bytes.NewReader(body[:len(body)/2]))
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return true
}
