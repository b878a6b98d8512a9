//go:build !unix

package server

import "net"

// drainRequest cannot read without waiting here; refused sockets linger.
func drainRequest(net.Conn, []byte) (bool, int) { return false, 0 }

// writeNow writes b under a generous deadline, which only guards the accept
// loop against a client that advertises a zero window.
func writeNow(c net.Conn, b []byte) bool { return writeWithDeadline(c, b) }
