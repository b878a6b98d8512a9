//go:build linux

package server

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"
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
	ours, err := Listen(context.Background(), "tcp", "127.0.0.1:0", 0)
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

// With backlog 1 and nobody accepting, Linux's accept queue holds
// backlog+1 = 2 connections; the kernel drops the SYN of a third, so its
// handshake does not complete while the queue is full. With the system's
// maximum the same third connection completes at once.
func TestListenBacklog(t *testing.T) {
	fill := func(t *testing.T, backlog int) (thirdErr error) {
		t.Helper()
		ln, err := Listen(context.Background(), "tcp", "127.0.0.1:0", backlog)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		for i := range 2 {
			c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatalf("connection %d of 2 with backlog %d: %v", i+1, backlog, err)
			}
			defer c.Close()
		}
		// The SYN of a third is dropped; its first retransmission comes
		// after about a second, so a 500 ms dial cannot complete.
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 500*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := fill(t, 1); err == nil {
		t.Error("backlog 1: a third connection completed while two waited to be accepted")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("backlog 1: third connection: %v, want a time-out", err)
	}
	if err := fill(t, 0); err != nil {
		t.Errorf("system maximum: third connection: %v", err)
	}
	if _, err := Listen(context.Background(), "tcp", "127.0.0.1:0", -1); err == nil {
		t.Error("a negative backlog was accepted")
	}
}
