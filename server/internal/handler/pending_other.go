//go:build !unix

package handler

import "net"

// inputPending cannot peek at the socket here, so it assumes input may be
// pending and the close lingers, which is always safe.
func inputPending(c net.Conn) bool {
	_, ok := c.(interface{ CloseWrite() error })
	return ok
}
