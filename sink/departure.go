package sink

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// The server counts a request when its bytes arrive, so the pacer must
// count it when its bytes leave. net/http writes a request in a goroutine
// of its own (the connection's writer), handed the request after the
// connection was chosen; on a busy machine that hand-off takes tens of
// milliseconds now and then, and requests admitted evenly leave in bunches
// that put more than the rate into a second. So the client's own
// transport dials pacedConns, and the pacer admits a request on the first
// write of it, in the goroutine that makes the write, right before the
// bytes go to the kernel. That needs one request at a time on a
// connection: the transport speaks HTTP/1.1 only (keep-alive, one
// connection per request in flight), which serves this API's few hundred
// requests a second. A transport the caller gives (Config.HTTPClient) is
// paced when it hands over a connection instead.

// pacedConn is a connection of the client's own transport.
type pacedConn struct {
	net.Conn
	mu   sync.Mutex
	next *departure // the request whose first write is next, if any
}

// departure is a request waiting to be admitted on its first write.
type departure struct {
	ctx   context.Context
	pacer *Pacer
	left  func(time.Time) // called with the time the pacer admitted it
}

// arm makes the next write on c the first of d's request.
func (c *pacedConn) arm(d *departure) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next = d
}

// Write admits the armed request, if any, before its first bytes go.
func (c *pacedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	d := c.next
	c.next = nil
	c.mu.Unlock()
	if d != nil {
		t, err := d.pacer.admit(d.ctx)
		if err != nil {
			return 0, err
		}
		d.left(t)
	}
	return c.Conn.Write(p)
}

// pacedConnOf finds the pacedConn under a connection the transport handed
// over, plain or TLS; nil for a connection of another transport.
func pacedConnOf(c net.Conn) *pacedConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	pc, _ := c.(*pacedConn)
	return pc
}

// pacedDialer dials connections whose requests the pacer admits on their
// first write.
func pacedDialer(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &pacedConn{Conn: c}, nil
	}
}
