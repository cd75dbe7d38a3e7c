//go:build !linux

package fakeim

import "net"

// newStampedConn: receive stamps are read on Linux only; elsewhere the
// emulator counts a request when its handler runs.
func newStampedConn(c net.Conn, conns *stamps) (net.Conn, bool) { return nil, false }
