//go:build linux

// Package fdconn accepts TCP connections as bare descriptors, so that the
// server can decide on a connection, and refuse it, before Go's net package
// sets it up: a refused socket is answered and closed (closing.WaitSet)
// without ever entering Go's poller, and without the getsockname and
// TCP_NODELAY calls that net makes for every accepted connection. An
// admitted one becomes a Conn, a net.Conn on an *os.File, which joins Go's
// poller as net's own connections do.
//
// Linux only: elsewhere the server accepts through net.Listener.
package fdconn

import (
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Listener accepts from a *net.TCPListener's socket. Go's listener gives no
// way to call accept4 on its descriptor (its RawConn refuses Read), so the
// Listener accepts from a duplicate of it, which shares the socket and its
// queue, waited on in Go's poller as an *os.File.
type Listener struct {
	f      *os.File
	rc     syscall.RawConn
	closed atomic.Bool

	// One Accept at a time (the accept loop); accept's results.
	fd     int
	sa     syscall.Sockaddr
	err    error
	accept func(uintptr) bool
}

// Listen wraps ln, which stays the caller's: Close closes only the
// duplicate.
func Listen(ln *net.TCPListener) (*Listener, error) {
	src, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd int
	var derr error
	if err := src.Control(func(lfd uintptr) { fd, derr = unix.FcntlInt(lfd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("fcntl", derr)
	}
	// The duplicate shares the listener's open file, which Go made
	// non-blocking, so os.NewFile puts it in the poller.
	f := os.NewFile(uintptr(fd), "listener")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	l := &Listener{f: f, rc: rc}
	l.accept = l.acceptFD
	return l, nil
}

// Accept waits for a connection and returns its descriptor, non-blocking
// and close-on-exec, which the caller then owns, and its peer. After
// Close it returns net.ErrClosed.
func (l *Listener) Accept() (fd int, peer netip.AddrPort, err error) {
	l.sa, l.err = nil, nil
	err = l.rc.Read(l.accept)
	if err == nil {
		err = l.err
	}
	if err != nil {
		if l.closed.Load() {
			err = net.ErrClosed
		}
		return -1, netip.AddrPort{}, err
	}
	return l.fd, addrPort(l.sa), nil
}

func (l *Listener) acceptFD(lfd uintptr) bool {
	for {
		fd, sa, err := syscall.Accept4(int(lfd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		switch err {
		case nil:
			l.fd, l.sa = fd, sa
			return true
		case syscall.EAGAIN:
			return false // wait in the poller
		case syscall.EINTR, syscall.ECONNABORTED:
			// A connection reset in the queue is no reason to stop.
			continue
		}
		l.err = os.NewSyscallError("accept4", err)
		return true
	}
}

// Close stops Accept. The socket goes on listening until the *net.TCPListener
// given to Listen is closed too.
func (l *Listener) Close() error {
	l.closed.Store(true)
	return l.f.Close()
}

func addrPort(sa syscall.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	}
	return netip.AddrPort{}
}

// Conn is an accepted connection: New makes it, Open gives it its socket.
// Between the two it is a refused connection's stand-in that only knows
// its peer (for the server's ConnState callback).
type Conn struct {
	f     *os.File
	rc    syscall.RawConn
	peer  netip.AddrPort
	local atomic.Pointer[net.TCPAddr]
}

// New is a Conn for peer, with no socket yet.
func New(peer netip.AddrPort) *Conn {
	return &Conn{peer: peer}
}

// Open gives c the accepted descriptor fd, which c then owns, and puts it
// in Go's poller.
func (c *Conn) Open(fd int) {
	c.f = os.NewFile(uintptr(fd), "tcp")
	c.rc, _ = c.f.SyscallConn() // fails only for a nil *os.File
}

func (c *Conn) Read(b []byte) (int, error) {
	if c.f == nil {
		return 0, net.ErrClosed
	}
	return c.f.Read(b)
}

func (c *Conn) Write(b []byte) (int, error) {
	if c.f == nil {
		return 0, net.ErrClosed
	}
	return c.f.Write(b)
}

// Close closes the socket; an unopened Conn has nothing to close.
func (c *Conn) Close() error {
	if c.f == nil {
		return nil
	}
	return c.f.Close()
}

// CloseWrite shuts down the sending side: a FIN follows what was written.
func (c *Conn) CloseWrite() error {
	if c.rc == nil {
		return net.ErrClosed
	}
	var serr error
	if err := c.rc.Control(func(fd uintptr) { serr = syscall.Shutdown(int(fd), syscall.SHUT_WR) }); err != nil {
		return err
	}
	return os.NewSyscallError("shutdown", serr) // nil when serr is
}

// WriteBuffers writes bufs with one writev, as net.Buffers.WriteTo does for
// net's own connections, waiting under the write deadline for a slow
// reader, and like it consumes bufs: after a time-out, bufs is what is left.
func (c *Conn) WriteBuffers(bufs *net.Buffers) (int64, error) {
	if c.rc == nil {
		return 0, net.ErrClosed
	}
	var total int64
	var werr error
	err := c.rc.Write(func(fd uintptr) bool {
		for len(*bufs) > 0 {
			n, e := unix.Writev(int(fd), *bufs)
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return false
			case e != nil:
				werr = os.NewSyscallError("writev", e)
				return true
			}
			total += int64(n)
			*bufs = consume(*bufs, int64(n))
		}
		return true
	})
	if werr != nil {
		return total, werr
	}
	return total, err
}

func consume(bufs net.Buffers, n int64) net.Buffers {
	for len(bufs) > 0 && n >= int64(len(bufs[0])) {
		n -= int64(len(bufs[0]))
		bufs = bufs[1:]
	}
	if len(bufs) > 0 {
		bufs[0] = bufs[0][n:]
	}
	return bufs
}

// LocalAddr is read from the socket the first time it is asked for: the
// server rarely needs it, and net's connections pay a getsockname for it
// at every accept.
func (c *Conn) LocalAddr() net.Addr {
	if a := c.local.Load(); a != nil {
		return a
	}
	a := &net.TCPAddr{}
	if c.rc != nil {
		_ = c.rc.Control(func(fd uintptr) {
			if sa, err := syscall.Getsockname(int(fd)); err == nil {
				a = net.TCPAddrFromAddrPort(addrPort(sa))
			}
		})
	}
	c.local.Store(a)
	return a
}

// RemoteAddr is made when asked for (a logged request, ConnState), not at
// every accept: a refusal never needs it.
func (c *Conn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.peer) }

func (c *Conn) SetDeadline(t time.Time) error {
	if c.f == nil {
		return net.ErrClosed
	}
	return c.f.SetDeadline(t)
}

func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.f == nil {
		return net.ErrClosed
	}
	return c.f.SetReadDeadline(t)
}

func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.f == nil {
		return net.ErrClosed
	}
	return c.f.SetWriteDeadline(t)
}

// SyscallConn reaches the socket's descriptor (the closing package's
// writes and peeks, sendfile).
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	if c.rc == nil {
		return nil, net.ErrClosed
	}
	return c.rc, nil
}
