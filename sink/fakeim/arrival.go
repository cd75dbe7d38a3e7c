package fakeim

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// The service counts a call when it arrives. An emulator in a process of
// its own on a busy machine runs its handler some milliseconds after the
// request arrived, and not always in the order of arrival: a handler that
// waited for a core stamps late, next to requests that arrived after it,
// and a second of such stamps can hold more than the client sent in any
// second. The emulator then throttles a client that kept the limit, which
// the service would not. So requests that come through Server.Listener
// are stamped with the time the kernel received their bytes (on Linux,
// SO_TIMESTAMPNS; the time the read returned when the kernel gave no
// stamp), not the time the handler ran. Elsewhere, or with Config.Now set
// (a test's clock), the handler's time is used.

// Listener wraps l so that the emulator counts each request it accepts at
// the time its bytes reached this machine. Serve the emulator on the
// listener it returns: http.Server{Handler: srv}.Serve(srv.Listener(l)),
// or httptest.NewUnstartedServer(srv) with its Listener replaced before
// Start.
func (s *Server) Listener(l net.Listener) net.Listener {
	return &stampingListener{Listener: l, conns: &s.conns}
}

// stamps are the connections that carry arrival times, by remote address
// (which is what a request knows of its connection).
type stamps struct {
	mu sync.Mutex
	m  map[string]stamper
	// shift, in nanoseconds, is added to every stamp as it is taken, so
	// that a test can make bytes arrive later than they did without
	// waiting (export_test.go); 0 otherwise.
	shift atomic.Int64
}

// stamper is a connection that knows when its latest bytes arrived.
type stamper interface {
	lastArrival() time.Time
}

func (st *stamps) add(addr string, c stamper) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.m == nil {
		st.m = make(map[string]stamper)
	}
	st.m[addr] = c
}

func (st *stamps) remove(addr string, c stamper) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.m[addr] == c {
		delete(st.m, addr)
	}
}

func (st *stamps) lookup(addr string) stamper {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.m[addr]
}

// Arrival is when r arrived, as the rate limit counts it: when the kernel
// received the bytes the server had read when it called the handler (the
// end of r's header), or now. Call it before r's body is read.
func (s *Server) Arrival(r *http.Request) time.Time { return s.arrival(r) }

func (s *Server) arrival(r *http.Request) time.Time {
	if s.cfg.Now == nil {
		if c := s.conns.lookup(r.RemoteAddr); c != nil {
			if t := c.lastArrival(); !t.IsZero() {
				return t
			}
		}
	}
	return s.now()
}

type stampingListener struct {
	net.Listener
	conns *stamps
}

func (l *stampingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	sc, ok := newStampedConn(c, l.conns)
	if !ok {
		return c, nil
	}
	return sc, nil
}
