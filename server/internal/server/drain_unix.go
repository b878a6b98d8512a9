//go:build unix

package server

import (
	"net"
	"syscall"
	"unsafe"
)

// drainRequest reads, without waiting, what the client has sent so far and
// reports whether a close now would be clean, and how many bytes it read into buf: the input ended (the client
// shut its side), or it is one complete request head with no body to
// follow. Then nothing is left unread and nothing more is due, so the close
// sends a FIN, not a reset, and the refused socket needs no lingering (what
// nginx does too: it lingers only when the client may still send). Anything
// else (half a head, a body, more than buf holds) answers false and the
// caller lingers.
func drainRequest(c net.Conn, buf []byte) (clean bool, n int) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false, 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, 0
	}
	eof := false
	if rc.Control(func(fd uintptr) {
		for n < len(buf) {
			m, err := rawRead(fd, buf[n:])
			if m > 0 {
				n += m
				// A short read emptied the socket: if that completed the
				// head, the read that would only say EAGAIN is skipped.
				if n < len(buf) && completeHead(buf[:n]) {
					return
				}
				continue
			}
			eof = m == 0 && err == nil
			return // EAGAIN: all that was sent is read; or an error: lingering copes
		}
	}) != nil {
		return false, 0
	}
	return eof || (n < len(buf) && completeHead(buf[:n])), n
}

// rawRead and rawWrite are read(2) and write(2) on a non-blocking socket
// through RawSyscall, which keeps the processor: with plain Syscall, a
// call over 20 µs (a loopback write delivers the data to the peer inside
// the call) lets sysmon hand the P to another thread when GOMAXPROCS is 1,
// a futex wake-up and a thread switch per refusal for a call that cannot
// block anyway.
func rawRead(fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

func rawWrite(fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// writeNow makes one non-blocking write of b and reports whether all of it
// went. A refusal is a few hundred bytes to a fresh socket, whose send
// buffer is empty, so the kernel takes it whole. Going through the raw
// descriptor means no deadline is involved: with net.Conn.Write and a
// short write deadline, an accept goroutine descheduled past that deadline
// (a loaded machine, the race detector) would find it expired, write
// nothing and close, and the client would read an empty reply.
func writeNow(c net.Conn, b []byte) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return writeWithDeadline(c, b)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return writeWithDeadline(c, b)
	}
	// Control, not RawConn.Write: the latter checks the deadline first too.
	n := 0
	if rc.Control(func(fd uintptr) {
		for n < len(b) {
			m, err := rawWrite(fd, b[n:])
			if m <= 0 || err != nil {
				return // EAGAIN (a zero window) or an error: give up, never wait
			}
			n += m
		}
	}) != nil {
		return false
	}
	return n == len(b)
}
