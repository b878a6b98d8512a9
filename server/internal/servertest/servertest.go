// Package servertest is the server's test harness, shared by the server
// package's tests, the reliability suite and the command's tests: a server
// in-process or as its own process on loopback for the length of a test,
// dialling it from chosen 127.0.0.x addresses, reading and checking replies,
// and waiting for state that settles after a close.
package servertest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/admit"
	"httplab/httplab-server/internal/config"
	"httplab/httplab-server/internal/server"
)

// Options are the options the in-process tests start from: the defaults,
// except no rate limit and 5 s timeouts and grace, so that a test turns on
// only what it exercises and a failure cannot hang it for long.
func Options(root string) server.Options {
	c := config.Default()
	c.Root = root
	c.RateLimit = 0
	c.ReadTimeout, c.WriteTimeout, c.ShutdownGrace = 5*time.Second, 5*time.Second, 5*time.Second
	return c.Options(zerolog.Nop())
}

// Running is a server that Start runs in this process.
type Running struct {
	*server.Server
	*Served // Addr, Cancel, Wait
}

// Start builds a server from o and runs it on 127.0.0.1 until the test ends.
func Start(t testing.TB, o server.Options) *Running {
	t.Helper()
	return StartWatched(t, o, nil)
}

// StartWatched is Start with decided called after every admission decision
// (through o.ConnState, keeping any callback o has): on the accept
// goroutine, with the admitter's state that decision left, so a test can
// check the caps at every instant rather than only at the end.
func StartWatched(t testing.TB, o server.Options, decided func(server.ConnState, admit.Snapshot)) *Running {
	t.Helper()
	var srv atomic.Pointer[server.Server]
	if decided != nil {
		prev := o.ConnState
		o.ConnState = func(c net.Conn, st server.ConnState) {
			if prev != nil {
				prev(c, st)
			}
			if st != server.StateClosed {
				decided(st, srv.Load().Admission())
			}
		}
	}
	s, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv.Store(s)
	served := Run(t, s.Serve, func() { s.Close() }, 20*time.Second)
	return &Running{Server: s, Served: served}
}

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

// Tree writes files (slash-separated path: content) under a fresh
// temporary folder and returns it.
func Tree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// DialFrom connects to addr from the loopback address 127.0.0.<from>, so
// one machine can act as many clients. IP_BIND_ADDRESS_NO_PORT (Linux)
// leaves the choice of port to connect, which knows the destination and so
// can reuse ports in TIME_WAIT: binding first picks among ports free
// towards every destination, which tens of thousands of connections from
// one address (fuzzing, the soak) exhaust ("bind: address already in use").
func DialFrom(addr string, from byte) (*net.TCPConn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, from)}, Timeout: 10 * time.Second,
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) { serr = bindAddressNoPort(fd) }); err != nil {
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

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
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
