//go:build !unix

package server

import "net"

// drainRequest cannot read without waiting here; refused sockets linger.
func drainRequest(net.Conn, []byte) bool { return false }
