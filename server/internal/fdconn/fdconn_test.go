//go:build linux

package fdconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"
)

func listen(t *testing.T, network, addr string) (*net.TCPListener, *Listener) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	fl, err := Listen(ln.(*net.TCPListener))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fl.Close() })
	return ln.(*net.TCPListener), fl
}

// accept dials ln and returns both ends: the server's as an opened Conn.
func accept(t *testing.T, ln *net.TCPListener, fl *Listener) (*Conn, *net.TCPConn) {
	t.Helper()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	fd, peer, err := fl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if want := client.LocalAddr().(*net.TCPAddr).AddrPort(); peer.Addr().Unmap() != want.Addr().Unmap() || peer.Port() != want.Port() {
		t.Fatalf("Accept's peer %v, want the client's address %v", peer, want)
	}
	c := New(peer)
	c.Open(fd)
	t.Cleanup(func() { c.Close() })
	return c, client.(*net.TCPConn)
}

// Accept hands over a non-blocking, close-on-exec descriptor and the
// peer's address, for IPv4 and IPv6, and a Conn on it carries data both
// ways and knows both addresses.
func TestAcceptAndConn(t *testing.T) {
	for _, tc := range []struct{ network, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(tc.network, func(t *testing.T) {
			ln, fl := listen(t, tc.network, tc.addr)
			c, client := accept(t, ln, fl)
			var fl2 int
			_ = c.rc.Control(func(fd uintptr) { fl2, _ = fcntl(int(fd), syscall.F_GETFL) })
			if fl2&syscall.O_NONBLOCK == 0 {
				t.Error("the accepted descriptor is blocking")
			}
			var fdflags int
			_ = c.rc.Control(func(fd uintptr) { fdflags, _ = fcntl(int(fd), syscall.F_GETFD) })
			if fdflags&syscall.FD_CLOEXEC == 0 {
				t.Error("the accepted descriptor is not close-on-exec")
			}
			if got, want := c.RemoteAddr().String(), client.LocalAddr().String(); got != want {
				t.Errorf("RemoteAddr %s, want %s", got, want)
			}
			if got, want := c.LocalAddr().String(), client.RemoteAddr().String(); got != want {
				t.Errorf("LocalAddr %s, want %s", got, want)
			}
			if _, err := client.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 4)
			if _, err := io.ReadFull(c, b); err != nil || string(b) != "ping" {
				t.Fatalf("read %q, %v", b, err)
			}
			if _, err := c.Write([]byte("pong")); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(client, b); err != nil || string(b) != "pong" {
				t.Fatalf("client read %q, %v", b, err)
			}
		})
	}
}

func fcntl(fd, cmd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// CloseWrite sends a FIN after what was written and leaves reading open;
// the client's EOF proves it.
func TestCloseWrite(t *testing.T) {
	ln, fl := listen(t, "tcp4", "127.0.0.1:0")
	c, client := accept(t, ln, fl)
	if _, err := c.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = client.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(client)
	if err != nil || string(got) != "bye" {
		t.Fatalf("client read %q, %v; want bye and EOF", got, err)
	}
	if _, err := client.Write([]byte("still reading")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 13)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read after CloseWrite: %v", err)
	}
}

// Deadlines work as on net's connections: a read past its deadline fails
// with os.ErrDeadlineExceeded, which the handler checks for.
func TestReadDeadline(t *testing.T) {
	ln, fl := listen(t, "tcp4", "127.0.0.1:0")
	c, _ := accept(t, ln, fl)
	if err := c.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	if err := c.SetDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
}

// WriteBuffers sends every buffer, in order, with as few writev calls as
// the socket allows; when the reader stalls it stops at the write deadline
// having consumed exactly what it sent, and a second call sends the rest.
func TestWriteBuffers(t *testing.T) {
	ln, fl := listen(t, "tcp4", "127.0.0.1:0")
	c, client := accept(t, ln, fl)
	_ = c.rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096) })
	_ = client.SetReadBuffer(4096)
	var want []byte
	var bufs net.Buffers
	for i := range 5 {
		b := bytes.Repeat([]byte{'a' + byte(i)}, 100_000)
		want = append(want, b...)
		bufs = append(bufs, b)
	}
	bufs = append(bufs, nil, []byte("end")) // an empty buffer is skipped
	want = append(want, "end"...)
	_ = c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n1, err := c.WriteBuffers(&bufs)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("with nobody reading: sent %d, %v; want a time-out", n1, err)
	}
	left := 0
	for _, b := range bufs {
		left += len(b)
	}
	if int(n1)+left != len(want) {
		t.Fatalf("sent %d and %d left, want %d in all", n1, left, len(want))
	}
	got := make(chan []byte)
	go func() {
		_ = client.SetReadDeadline(time.Now().Add(20 * time.Second))
		b, _ := io.ReadAll(client)
		got <- b
	}()
	_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
	n2, err := c.WriteBuffers(&bufs)
	if err != nil || n1+n2 != int64(len(want)) || len(bufs) != 0 {
		t.Fatalf("second call: sent %d (%d before), %v, %d buffers left", n2, n1, err, len(bufs))
	}
	c.Close()
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("client got %d bytes, want %d in order", len(b), len(want))
	}
}

// Close ends a pending Accept with net.ErrClosed; the listener given to
// Listen still listens until its owner closes it.
func TestCloseStopsAccept(t *testing.T) {
	ln, fl := listen(t, "tcp4", "127.0.0.1:0")
	errc := make(chan error, 1)
	go func() {
		_, _, err := fl.Accept()
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := fl.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept still waiting 10 s after Close")
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("the original listener stopped listening: %v", err)
	}
	c.Close()
	if _, _, err := fl.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept on a closed Listener: %v", err)
	}
}

// A Conn that was never opened (a refused connection's stand-in) knows its
// peer and refuses everything else without touching any descriptor.
func TestUnopenedConn(t *testing.T) {
	peer := netip.MustParseAddrPort("192.0.2.7:4242")
	c := New(peer)
	if got := c.RemoteAddr().String(); got != "192.0.2.7:4242" {
		t.Errorf("RemoteAddr %s", got)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read: %v", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write: %v", err)
	}
	if err := c.SetDeadline(time.Now()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("SetDeadline: %v", err)
	}
	if err := c.CloseWrite(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("CloseWrite: %v", err)
	}
	if _, err := c.SyscallConn(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("SyscallConn: %v", err)
	}
	var bufs net.Buffers
	if _, err := c.WriteBuffers(&bufs); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteBuffers: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if a := c.LocalAddr(); a == nil {
		t.Error("LocalAddr is nil")
	}
}

// A reset connection waiting in the queue (ECONNABORTED) does not end
// accepting: the next connection is accepted.
func TestAcceptSurvivesAConnectionResetInTheQueue(t *testing.T) {
	ln, fl := listen(t, "tcp4", "127.0.0.1:0")
	reset, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = reset.(*net.TCPConn).SetLinger(0)
	reset.Close() // a RST while it waits to be accepted
	good, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	for range 2 {
		fd, peer, err := fl.Accept()
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		syscall.Close(fd)
		if peer.Port() == uint16(good.LocalAddr().(*net.TCPAddr).Port) {
			return
		}
	}
	t.Fatal("the connection after the reset one was not accepted")
}
