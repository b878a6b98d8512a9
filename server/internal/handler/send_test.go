package handler

import (
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/hits"
	"httplab/httplab-server/internal/static"
	"httplab/httplab-server/internal/tally"
)

// stuckConn takes the request and then never takes a byte of the
// response: each write times out after advancing the fake clock by step.
type stuckConn struct {
	memConn
	mu     sync.Mutex
	now    time.Time
	step   time.Duration
	first  time.Time // when the first write started
	writes int
	// deadlines: every write deadline set, in order.
	deadlines []time.Time
}

func (c *stuckConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadlines = append(c.deadlines, t)
	return nil
}

func (c *stuckConn) clock() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stuckConn) Write([]byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writes == 0 {
		c.first = c.now
	}
	c.writes++
	c.now = c.now.Add(c.step)
	return 0, os.ErrDeadlineExceeded
}

// stallSlot records when the handler reported the connection stalled, and
// sheds it then.
type stallSlot struct {
	at      time.Time
	stalled bool
}

func (s *stallSlot) HeadDone() bool { return true }
func (s *stallSlot) Stalled(stalled bool, now time.Time) bool {
	if stalled && !s.stalled {
		s.stalled, s.at = true, now
	}
	return true
}
func (s *stallSlot) Shed() bool { return s.stalled }

// TestStallReportedAfterStallTimeout: a response that moves no byte is
// reported stalled once StallTimeout has passed since its first write
// began, counted in whole quarters: the fourth empty attempt, not later.
func TestStallReportedAfterStallTimeout(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.html", "<p>a</p>")
	site, err := static.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	conn := &stuckConn{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), step: 100 * time.Millisecond}
	counter, _ := hits.New(hits.Locked)
	h := New(Options{Site: site, Hits: counter, Tally: &tally.Requests{}, ReadTimeout: time.Minute,
		WriteTimeout: time.Hour, StallTimeout: 400 * time.Millisecond, NoFileCache: true,
		Log: zerolog.Nop(), RefusalLog: zerolog.Nop(), Now: conn.clock})
	conn.r.Reset([]byte("GET /a.html HTTP/1.0\r\n\r\n"))
	var slot stallSlot
	h.Serve(conn, clientid.Of(clientid.ByIP, netip.MustParseAddrPort("127.0.0.1:1")), &slot)
	if !slot.stalled {
		t.Fatalf("never reported stalled after %d empty writes", conn.writes)
	}
	if got := slot.at.Sub(conn.first); got != 400*time.Millisecond {
		t.Errorf("reported stalled %v after the first write began, want 400ms", got)
	}
	if conn.writes != 5 {
		t.Errorf("%d writes, want 4 until the stall and 1 more that finds it shed", conn.writes)
	}
	// Each attempt waits a quarter of StallTimeout: the first under the
	// deadline set with the response, each later one under its own.
	var want []time.Time
	for i := 1; i <= 5; i++ {
		want = append(want, conn.first.Add(time.Duration(i)*100*time.Millisecond))
	}
	if len(conn.deadlines) != len(want) {
		t.Fatalf("write deadlines %v, want %v", conn.deadlines, want)
	}
	for i := range want {
		if !conn.deadlines[i].Equal(want[i]) {
			t.Fatalf("write deadlines %v, want %v", conn.deadlines, want)
		}
	}
}
