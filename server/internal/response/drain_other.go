//go:build !unix

package response

import "net"

// DrainClose closes c; draining without blocking needs unix sockets.
func DrainClose(c net.Conn) { _ = c.Close() }
