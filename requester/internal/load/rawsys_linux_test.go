//go:build linux

package load

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The raw socket calls encode ports and addresses by hand: a connection made
// with them must reach the listener, over IPv4 and IPv6, and rawLocalAddr
// must report exactly the address the server sees.
func TestRawSocketCalls(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
			if err != nil {
				t.Skipf("no %s here: %v", host, err)
			}
			defer ln.Close()
			target := netip.MustParseAddrPort(ln.Addr().String())
			family := unix.AF_INET
			if target.Addr().Is6() {
				family = unix.AF_INET6
			}
			fd, err := rawSocket(family)
			if err != nil {
				t.Fatal(err)
			}
			defer rawClose(fd)
			if err := rawConnect(fd, target); err != nil && !errors.Is(err, unix.EINPROGRESS) {
				t.Fatalf("connect %v: %v", target, err)
			}
			_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
			c, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got, want := rawLocalAddr(fd), netip.MustParseAddrPort(c.RemoteAddr().String()); got != want {
				t.Errorf("rawLocalAddr %v, the server sees %v", got, want)
			}
			msg := []byte("GET / HTTP/1.0\r\n\r\n")
			for sent := 0; sent < len(msg); {
				n, err := rawWrite(fd, msg[sent:])
				if errors.Is(err, unix.EAGAIN) { // still connecting
					time.Sleep(time.Millisecond)
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				sent += n
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != string(msg) {
				t.Fatalf("server read %q, %v", got, err)
			}
			if _, err := c.Write([]byte("ok")); err != nil {
				t.Fatal(err)
			}
			_ = c.Close()
			buf := make([]byte, 16)
			var read []byte
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
				n, err := rawRead(fd, buf)
				if errors.Is(err, unix.EAGAIN) {
					time.Sleep(time.Millisecond)
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				read = append(read, buf[:n]...)
			}
			if string(read) != "ok" {
				t.Fatalf("client read %q, want \"ok\" then end of stream", read)
			}
		})
	}
}
