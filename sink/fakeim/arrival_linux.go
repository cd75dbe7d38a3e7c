package fakeim

import (
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// stampedConn reads with recvmsg and keeps the kernel's receive time of
// the latest bytes read (SO_TIMESTAMPNS; for TCP, the time of the last
// segment each read consumed).
type stampedConn struct {
	*net.TCPConn
	raw   syscall.RawConn
	conns *stamps
	addr  string
	last  atomic.Int64 // Unix ns; 0 before any stamp
	oob   []byte
}

// newStampedConn turns on receive stamps for a TCP connection. It returns
// false (and leaves c alone) when c is not TCP or the kernel refuses.
func newStampedConn(c net.Conn, conns *stamps) (net.Conn, bool) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil, false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil, false
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return nil, false
	}
	sc := &stampedConn{TCPConn: tc, raw: raw, conns: conns, addr: tc.RemoteAddr().String(), oob: make([]byte, syscall.CmsgSpace(16))}
	conns.add(sc.addr, sc)
	return sc, true
}

func (c *stampedConn) lastArrival() time.Time {
	if ns := c.last.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Read reads as net.TCPConn does, through recvmsg, and keeps the stamp.
// Deadlines hold: the raw connection waits through the runtime's poller.
func (c *stampedConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n, oobn int
	var err error
	rerr := c.raw.Read(func(fd uintptr) bool {
		for {
			n, oobn, _, _, err = syscall.Recvmsg(int(fd), p, c.oob, 0)
			if err != syscall.EINTR {
				return err != syscall.EAGAIN
			}
		}
	})
	if rerr != nil {
		return 0, rerr // a *net.OpError, a timeout when a deadline passed
	}
	if err != nil {
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("recvmsg", err)}
	}
	if n == 0 {
		return 0, io.EOF
	}
	// The kernel stamps packets only once stamping is on, which it turns on
	// a moment after the first socket asks: a read without a stamp is
	// stamped with the time it returned, still ahead of the handler.
	stamp := time.Now().UnixNano()
	if msgs, err := syscall.ParseSocketControlMessage(c.oob[:oobn]); err == nil {
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
				ts := (*syscall.Timespec)(unsafe.Pointer(&m.Data[0]))
				stamp = ts.Nano()
			}
		}
	}
	c.last.Store(stamp + c.conns.shift.Load())
	return n, nil
}

func (c *stampedConn) Close() error {
	c.conns.remove(c.addr, c)
	return c.TCPConn.Close()
}
