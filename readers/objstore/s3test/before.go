package s3test

import (
	"net/http"
	"strings"
	"sync"

	"markimport/readers/objstore"
)

// hooks are what a Server does before it answers chosen requests: a test
// puts another client's write at an exact point of a run (before the
// run's next read of an object) instead of at a time it guesses.
type hooks struct {
	mu    sync.Mutex
	hooks []*hook
}

type hook struct {
	match func(*http.Request) bool
	do    func()
	once  sync.Once
}

// Before runs do once, before the server answers the first request that
// match takes; every request match takes while do runs waits for it to
// return. do may make requests of the server that match does not take.
func (s *Server) Before(match func(*http.Request) bool, do func()) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.hooks = append(s.hooks.hooks, &hook{match: match, do: do})
}

func (hs *hooks) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs.mu.Lock()
		list := hs.hooks
		hs.mu.Unlock()
		for _, k := range list {
			if k.match(r) {
				k.once.Do(k.do)
			}
		}
		h.ServeHTTP(w, r)
	})
}

// Reads matches a GET of the object l, whole or a range of it, addressed
// in the path (http://host/bucket/key) or in the host
// (http://bucket.host/key).
func Reads(l objstore.Location) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if r.Method != http.MethodGet {
			return false
		}
		path := "/" + l.Bucket + "/" + l.Key
		if strings.HasPrefix(r.Host, l.Bucket+".") {
			path = "/" + l.Key
		}
		return r.URL.Path == path
	}
}
