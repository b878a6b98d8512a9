//go:build !unix

package closing

import "net"

// Without unix sockets nothing can be peeked at or written without a
// deadline, so every answer here takes the safe side: input may be
// pending, and the caller lingers.

func writeNow(c net.Conn, b []byte) bool { return writeWithDeadline(c, b) }

// WriteHeld is a plain write here: nothing can be held for the close.
func WriteHeld(c net.Conn, b []byte) (int, error) { return c.Write(b) }

// PendingInput cannot peek at the socket here, so it assumes input may be
// pending and the close lingers, which is always safe.
func PendingInput(net.Conn) bool { return true }

// Drain closes c; draining without waiting needs unix sockets.
func Drain(c net.Conn) { _ = c.Close() }
