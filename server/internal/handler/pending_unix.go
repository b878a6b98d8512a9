//go:build unix

package handler

import (
	"net"
	"syscall"
)

// inputPending reports whether the kernel holds input c's reader has not
// taken yet: pipelined requests beyond what the head's read buffer took in.
// Closing over it makes the kernel send a reset, which truncates a response
// still in the send queue. A peek that would block, an error, or EOF (a
// FIN, which close does not answer with a reset) all mean no.
func inputPending(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	pending := false
	_ = rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		pending = err == nil && n > 0
	})
	return pending
}
