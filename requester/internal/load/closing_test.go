package load

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The requester keeps a socket whose response is complete open for the
// server's FIN (lingerGrace), so the server closes first and keeps the
// TIME_WAIT, as it would with a browser. A client closing first shows here
// as an EOF the server reads before the grace could have run out. Only the
// last request's socket may close early: the run ends with its response, and
// waiting for FINs never makes a run longer. One request in flight at a time
// makes that one loop, so one last request (the epoll engine runs a loop per
// core, each with a last request of its own).
func TestTheServerClosesFirst(t *testing.T) {
	engines(t, func(t *testing.T) {
		const n = 4
		early := make(chan time.Duration, n) // how soon the requester closed, or -1: not early
		srv := startServer(t, func(c net.Conn, _ string) {
			start := time.Now() // before the write: the grace starts after it
			fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
			_ = c.SetReadDeadline(start.Add(lingerGrace * 9 / 10))
			_, err := c.Read(make([]byte, 1))
			if took := time.Since(start); errors.Is(err, io.EOF) && took < lingerGrace {
				early <- took
				return
			}
			early <- -1
		})
		run := execute(t, srv.target(), Options{Requests: n, Spread: n * 150 * time.Millisecond, Concurrency: 1})
		for _, r := range run.Results {
			if r.Status != 200 {
				t.Errorf("request %d: %d %q %q", r.Seq, r.Status, r.Err, r.Detail)
			}
		}
		var closed []time.Duration
		for range n {
			if took := <-early; took >= 0 {
				closed = append(closed, took)
			}
		}
		if len(closed) > 1 {
			t.Errorf("the requester closed %d of %d sockets before the server did, after %v", len(closed), n, closed)
		}
	})
}

// A server that answers in full but never closes: the response ends with its
// Content-Length, and the requester closes every socket itself by the time
// Execute returns (lingering ones included), so no descriptor outlives a run.
func TestNoSocketOutlivesTheRun(t *testing.T) {
	engines(t, func(t *testing.T) {
		eof := make(chan error, 8)
		srv := startServer(t, func(c net.Conn, _ string) {
			fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err := c.Read(make([]byte, 1))
			eof <- err
		})
		const n = 4
		run := execute(t, srv.target(), Options{Requests: n})
		for _, r := range run.Results {
			// Content-Length ends the response, not the server's close,
			// which would come after 5 s. Generous: the answer takes
			// microseconds.
			if r.Status != 200 || r.Latency() > 2*time.Second {
				t.Errorf("request %d: %d %q %q after %v", r.Seq, r.Status, r.Err, r.Detail, r.Latency())
			}
		}
		for range n {
			if err := <-eof; !errors.Is(err, io.EOF) {
				t.Errorf("the server's read after the run: %v, want EOF (the requester closed)", err)
			}
		}
	})
}

// A connect that fails at once, before any packet is sent (TCP to a
// multicast address is unreachable by definition), is reported as such.
func TestConnectThatFailsAtOnce(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux refuses TCP to a multicast address at connect; other systems may wait for a timeout")
	}
	engines(t, func(t *testing.T) {
		run := execute(t, Target{Host: "224.0.0.1", Port: 9, Paths: []string{"/"}}, Options{Requests: 2, Timeout: 2 * time.Second})
		for _, r := range run.Results {
			if r.Err == Timeout || !strings.Contains(r.Detail, "connect") || !strings.Contains(r.Detail, "unreachable") {
				t.Errorf("request %d: %q %q, want a connect error naming the unreachable network", r.Seq, r.Err, r.Detail)
			}
		}
	})
}
