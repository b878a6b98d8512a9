//go:build linux

package server

import (
	"context"
	"net"
	"syscall"
	"testing"
)

// Connections accepted through Listen have no keep-alive probes; net.Listen's
// have (the difference Listen exists for).
func TestListenTurnsKeepAliveOff(t *testing.T) {
	keepAlive := func(ln net.Listener) int {
		t.Helper()
		defer ln.Close()
		go func() {
			if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
				defer c.Close()
				var b [1]byte
				_, _ = c.Read(b[:])
			}
		}()
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		rc, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var v int
		var serr error
		if err := rc.Control(func(fd uintptr) {
			v, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		}); err != nil || serr != nil {
			t.Fatal(err, serr)
		}
		return v
	}
	ours, err := Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if v := keepAlive(ours); v != 0 {
		t.Errorf("Listen: SO_KEEPALIVE = %d, want 0", v)
	}
	std, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if v := keepAlive(std); v == 0 {
		t.Errorf("net.Listen: SO_KEEPALIVE = 0; the comparison no longer shows anything")
	}
}
