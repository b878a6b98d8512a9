//go:build unix

package closing

import (
	"net"
	"os"
	"sync"
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
	op := getOp(b)
	err := rc.Control(op.sendNow)
	n := op.n
	putOp(op)
	if err != nil {
		return false
	}
	return n == len(b)
}

// rawOp carries one call's data into the functions that RawConn.Control and
// RawConn.Write run, as a closure would. The functions are bound once, when
// the pool makes an op: a closure made per call is two or three allocations
// (the closure and the variables it shares), and these calls are on every
// response and every refusal.
type rawOp struct {
	b       []byte
	n       int
	err     error
	pending bool

	sendNow, peek func(fd uintptr)
	write         func(fd uintptr) bool
}

var rawOps = sync.Pool{New: func() any {
	op := new(rawOp)
	op.sendNow, op.peek, op.write = op.sendNowFD, op.peekFD, op.writeFD
	return op
}}

func getOp(b []byte) *rawOp {
	op := rawOps.Get().(*rawOp)
	op.b, op.n, op.err, op.pending = b, 0, nil, false
	return op
}

func putOp(op *rawOp) {
	op.b = nil
	rawOps.Put(op)
}

func (op *rawOp) sendNowFD(fd uintptr) {
	for op.n < len(op.b) {
		m, err := syscall.SendmsgN(int(fd), op.b[op.n:], nil, nil, holdFlag)
		if m <= 0 || err != nil {
			return // EAGAIN (a zero window) or an error: give up, never wait
		}
		op.n += m
	}
}

func (op *rawOp) writeFD(fd uintptr) bool {
	for op.n < len(op.b) {
		m, e := syscall.SendmsgN(int(fd), op.b[op.n:], nil, nil, holdFlag)
		if m > 0 {
			op.n += m
		}
		switch {
		case e == syscall.EAGAIN:
			return false
		case e == syscall.EINTR:
		case e != nil:
			op.err = os.NewSyscallError("sendmsg", e)
			return true
		}
	}
	return true
}

func (op *rawOp) peekFD(fd uintptr) {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	op.pending = err == nil && n > 0
}

// WriteHeld writes b and waits, as net.Conn.Write does under the write
// deadline, for a reader slower than the socket buffers. On Linux it writes
// with MSG_MORE (holdFlag): see WriteHeld in closing.go.
func WriteHeld(c net.Conn, b []byte) (int, error) {
	rc := rawConn(c)
	if rc == nil {
		return c.Write(b)
	}
	op := getOp(b)
	err := rc.Write(op.write)
	n, serr := op.n, op.err
	putOp(op)
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
	op := getOp(nil)
	_ = rc.Control(op.peek)
	pending := op.pending
	putOp(op)
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
	_ = closeWrite(c)
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
