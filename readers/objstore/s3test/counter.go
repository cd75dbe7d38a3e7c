package s3test

import (
	"net/http"
	"sync"
)

// Counter counts the requests a Server answered, by method ("GET",
// "PUT", ...).
type Counter struct {
	mu sync.Mutex
	n  map[string]int
}

func newCounter() *Counter { return &Counter{n: map[string]int{}} }

func (c *Counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.n[r.Method]++
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// Of is the number of requests of a method so far.
func (c *Counter) Of(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[method]
}
