// Package servertest holds what the server's in-process tests share: running
// a server on loopback for the length of a test, dialling it from chosen
// 127.0.0.x addresses, and waiting for state that settles after a close.
// It does not import the server, so the server package's own tests can use
// it; callers pass the serve and close functions.
package servertest

import (
	"context"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Served is a server that Run started.
type Served struct {
	Addr   string // host:port on 127.0.0.1
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	ended  bool
	err    error
}

// Cancel begins the shutdown; it does not wait.
func (s *Served) Cancel() { s.cancel() }

// Wait waits up to d for serve to return and reports whether it did and
// what it returned. It may be called more than once.
func (s *Served) Wait(d time.Duration) (returned bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return true, s.err
	}
	select {
	case s.err = <-s.done:
		s.ended = true
		return true, s.err
	case <-time.After(d):
		return false, nil
	}
}

// Run listens on 127.0.0.1 and runs serve until the test ends; then it
// cancels serve, requires it to return within stopWithin without an error,
// and calls closeFn (if not nil).
func Run(t testing.TB, serve func(context.Context, net.Listener) error, closeFn func(), stopWithin time.Duration) *Served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Served{Addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if ok, err := s.Wait(stopWithin); !ok {
			t.Errorf("Serve did not return within %v of cancel", stopWithin)
		} else if err != nil {
			t.Errorf("Serve: %v", err)
		}
		if closeFn != nil {
			closeFn()
		}
	})
	return s
}

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT (linux/in.h).
const ipBindAddressNoPort = 24

// DialFrom connects to addr from the loopback address 127.0.0.<from>, so
// one machine can act as many clients. IP_BIND_ADDRESS_NO_PORT leaves the
// choice of port to connect, which knows the destination and so can reuse
// ports in TIME_WAIT: binding first picks among ports free towards every
// destination, which tens of thousands of connections from one address
// (fuzzing, the soak) exhaust ("bind: address already in use").
func DialFrom(addr string, from byte) (*net.TCPConn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, from)}, Timeout: 10 * time.Second,
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
			}); err != nil {
				return err
			}
			return serr
		}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// Eventually polls cond until it holds or 15 s pass: for state that settles
// after connections close, asserted without assuming how fast.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
