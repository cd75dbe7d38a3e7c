package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"strings"
	"sync"
	"testing"
)

// holding is a proxy in front of an emulator that holds each request of
// one API from the n-th on, so that a run cannot end before the test
// signals or kills it: release lets them through (a run stopping after
// its requests in flight), drop lets them go unanswered and drops every
// later one (requests lost with a killed run: never applied).
type holding struct {
	url      string
	mu       sync.Mutex
	seen     int
	released bool
	dropped  bool
	open     chan struct{} // closed by release or drop
}

// holdFrom starts a holding proxy to target for the requests of api,
// closed when the test ends.
func holdFrom(t *testing.T, target, api string, n int) *holding {
	t.Helper()
	to, err := neturl.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	h := &holding{open: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(to)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/"+api) {
			h.mu.Lock()
			h.seen++
			hold := h.seen >= n && !h.released
			h.mu.Unlock()
			if hold {
				<-h.open
			}
			h.mu.Lock()
			dropped := h.dropped
			h.mu.Unlock()
			if dropped {
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	t.Cleanup(h.drop) // before Close, which waits for the requests held
	h.url = hs.URL
	return h
}

// release lets the requests held through, and holds no more.
func (h *holding) release() { h.end(false) }

// drop lets the requests held go unanswered, and drops every later one.
func (h *holding) drop() { h.end(true) }

func (h *holding) end(drop bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released || h.dropped {
		return
	}
	h.released, h.dropped = !drop, drop
	close(h.open)
}
