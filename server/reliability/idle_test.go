//go:build linux

package reliability

import (
	"net"
	"testing"
	"time"
)

// idleStackLimit is the most stack an idle connection's goroutine may use,
// in bytes: Go starts a goroutine with 2 KiB and doubles the stack when a
// call would overrun it, so an idle wait that fits takes 2 KiB and one that
// does not takes 4 KiB.
const idleStackLimit = 3 << 10

// TestIdleConnectionStack holds connections that never send a byte and
// checks, through /metrics' go_memstats_stack_inuse_bytes, that each one's
// goroutine waits for its request in its initial 2 KiB stack. That wait is
// the deepest call an idle connection makes (accept goroutine's go
// statement, serveConn, handler.Serve, setting the read deadline, the first
// read); a few more bytes of frame on it, and every idle connection's
// goroutine doubles its stack: 10,000 idle connections then held 73 MB
// instead of 53 (scripts/bench's memory part), and a served request paid
// for copying its stack at the deepest point of its first read.
//
// The server is the built binary, not the test's -race build, whose
// instrumented frames are larger.
func TestIdleConnectionStack(t *testing.T) {
	const n = 1000
	if lim := raiseNoFile(t); lim < 2*n+200 {
		t.Skipf("descriptor limit %d: %d idle connections need about %d", lim, n, 2*n+200)
	}
	p := startProcess(t, nil, []string{"-maxclient", "0", "-maxtotal", "0", "-rate", "0"},
		"SERVER_READ_TIMEOUT=60s")
	if rp := get(t, p.Addr, 5, "/a.html"); rp.Status != 200 { // warms up the runtime and the pools
		t.Fatalf("warm-up request: %s", rp.StatusLine)
	}
	p.awaitActive(t, "the warm-up connection released", 0)
	before := p.metric(t, "go_memstats_stack_inuse_bytes")

	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range n {
		c, err := dialFrom(p.Addr, byte(10+i%8))
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	p.awaitActive(t, "all idle connections admitted", n)
	// An admitted goroutine grows its stack, if it does, when it first
	// runs, which it does within microseconds of the admission; the larger
	// of two readings a while apart is the figure.
	var after float64
	for range 2 {
		time.Sleep(300 * time.Millisecond)
		after = max(after, p.metric(t, "go_memstats_stack_inuse_bytes"))
	}
	perConn := (after - before) / n
	t.Logf("stack in use: %.0f KiB before, %.0f KiB with %d idle connections: %.0f bytes each",
		before/1024, after/1024, n, perConn)
	if perConn > idleStackLimit {
		t.Errorf("an idle connection's goroutine holds %.0f bytes of stack, more than %d: "+
			"its wait for the request no longer fits the initial 2 KiB stack", perConn, idleStackLimit)
	}
	if perConn < 1024 {
		t.Errorf("%.0f bytes of stack per idle connection: the goroutines were not measured", perConn)
	}
}
