//go:build unix

package response

import (
	"net"
	"syscall"
)

// DrainClose closes c after discarding, without waiting, the input the kernel
// already holds for it (at most 64 KiB). It is the cheap alternative to
// LingerClose when no time may be spent: what the client sent before the
// close is taken, so the close sends a FIN instead of a reset that could
// destroy the response. Input arriving later can still draw a reset.
func DrainClose(c net.Conn) {
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) {
				var b [4096]byte
				for range 16 {
					n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_DONTWAIT)
					if err != nil || n <= 0 {
						return
					}
				}
			})
		}
	}
	_ = c.Close()
}
