//go:build unix

package closing

import (
	"net"
	"os"
	"syscall"
)

// The calls below work on the socket's descriptor directly, through
// RawConn.Control, with MSG_DONTWAIT or on the non-blocking descriptor Go
// keeps: none of them can wait, and none checks a deadline.

func writeNow(c net.Conn, b []byte) bool {
	rc := rawConn(c)
	if rc == nil {
		return writeWithDeadline(c, b)
	}
	// Control, not RawConn.Write: the latter checks the deadline first too.
	n := 0
	err := rc.Control(func(fd uintptr) {
		for n < len(b) {
			m, err := syscall.SendmsgN(int(fd), b[n:], nil, nil, holdFlag)
			if m <= 0 || err != nil {
				return // EAGAIN (a zero window) or an error: give up, never wait
			}
			n += m
		}
	})
	if err != nil {
		return false
	}
	return n == len(b)
}

// WriteHeld writes b and waits, as net.Conn.Write does under the write
// deadline, for a reader slower than the socket buffers. On Linux it writes
// with MSG_MORE (holdFlag): see WriteHeld in closing.go.
func WriteHeld(c net.Conn, b []byte) (int, error) {
	rc := rawConn(c)
	if rc == nil {
		return c.Write(b)
	}
	var n int
	var serr error
	err := rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, e := syscall.SendmsgN(int(fd), b[n:], nil, nil, holdFlag)
			if m > 0 {
				n += m
			}
			switch {
			case e == syscall.EAGAIN:
				return false
			case e == syscall.EINTR:
			case e != nil:
				serr = os.NewSyscallError("sendmsg", e)
				return true
			}
		}
		return true
	})
	if serr != nil {
		return n, serr
	}
	return n, err
}

// PendingInput reports whether the kernel holds input for c that its
// reader has not taken: pipelined requests beyond what the head's read
// buffer took in. Closing over it makes the kernel send a reset, which
// truncates a response still in the send queue. A peek that would block,
// an error, or EOF (a FIN, which close does not answer with a reset) all
// mean no.
func PendingInput(c net.Conn) bool {
	rc := rawConn(c)
	if rc == nil {
		return true
	}
	pending := false
	_ = rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		pending = err == nil && n > 0
	})
	return pending
}

// Drain closes c after discarding, without waiting, the input the kernel
// already holds for it (at most 64 KiB). It is the cheap alternative to
// Linger when no time may be spent: what the client sent before the close
// is taken, so the close sends a FIN instead of a reset that could destroy
// the response. Input arriving later can still draw a reset.
//
// A reply held for the close (WriteNow) leaves first, with the FIN: input
// that the drain leaves, or that arrives after it, makes the close a reset,
// and a reset discards what the kernel still holds.
func Drain(c net.Conn) {
	closeWrite(c)
	if rc := rawConn(c); rc != nil {
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
	_ = c.Close()
}

func rawConn(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
