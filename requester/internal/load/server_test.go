package load

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer is a minimal HTTP/1.0 server on loopback whose behaviour per
// connection is a function, and which records what a test needs to check:
// connections, the most open at once, and the client addresses seen.
type testServer struct {
	ln     net.Listener
	handle func(c net.Conn, path string)

	mu      sync.Mutex
	conns   int
	open    int
	maxOpen int
	remotes []netip.Addr
	wg      sync.WaitGroup
	closing chan struct{}
}

// startServer listens on addr ("127.0.0.1:0" unless a test needs another).
func startServer(t *testing.T, handle func(c net.Conn, path string)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{ln: ln, handle: handle, closing: make(chan struct{})}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *testServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		s.open++
		s.maxOpen = max(s.maxOpen, s.open)
		s.remotes = append(s.remotes, c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap())
		s.mu.Unlock()
		tc := &trackedConn{TCPConn: c.(*net.TCPConn), s: s}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer tc.Close()
			s.handle(tc, readPath(tc))
		}()
	}
}

// trackedConn stops counting as open before it closes, so that a client
// that saw the close can never find it still counted.
type trackedConn struct {
	*net.TCPConn
	s    *testServer
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.finish()
	return c.TCPConn.Close()
}

// finish stops counting the connection as open. respond calls it before it
// writes: the requester takes a response with a complete Content-Length as
// the end of the request and may open the next connection before this one
// is closed.
func (c *trackedConn) finish() {
	c.once.Do(func() {
		c.s.mu.Lock()
		c.s.open--
		c.s.mu.Unlock()
	})
}

func (s *testServer) close() {
	close(s.closing)
	s.ln.Close()
	s.wg.Wait()
}

func (s *testServer) target(paths ...string) Target {
	if len(paths) == 0 {
		paths = []string{"/"}
	}
	ap := s.ln.Addr().(*net.TCPAddr).AddrPort()
	return Target{Host: ap.Addr().String(), Port: int(ap.Port()), Paths: paths}
}

func (s *testServer) stats() (conns, maxOpen int, remotes []netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, s.maxOpen, append([]netip.Addr(nil), s.remotes...)
}

// readPath reads a request head and returns the path of its request line.
func readPath(c net.Conn) string {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return ""
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil || l == "\r\n" || l == "\n" {
			break
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	f := strings.Fields(line)
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// respond writes a complete HTTP/1.0 response and closes.
func respond(c net.Conn, code int, body string) {
	if tc, ok := c.(*trackedConn); ok {
		tc.finish()
	}
	fmt.Fprintf(c, "HTTP/1.0 %d Whatever\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", code, len(body), body)
	c.Close()
}

// ok answers 200 with a body.
func ok(c net.Conn, _ string) { respond(c, 200, "hello, world\n") }

// reset aborts the connection: SO_LINGER 0 makes Close send RST.
func reset(c net.Conn, _ string) {
	_ = c.(*trackedConn).SetLinger(0)
	c.Close()
}
