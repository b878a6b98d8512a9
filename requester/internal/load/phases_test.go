package load

import (
	"net"
	"testing"
	"time"
)

// The phases of a request, from its own start: a server that waits a known
// time before its first byte and again before the body shows up in
// first_byte and complete, and connect comes before both.
func TestPhases(t *testing.T) {
	const before, between = 150 * time.Millisecond, 150 * time.Millisecond
	const margin = 30 * time.Millisecond // timers may fire a little early on the server's side
	engines(t, func(t *testing.T) {
		srv := startServer(t, func(c net.Conn, _ string) {
			time.Sleep(before)
			_, _ = c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n"))
			time.Sleep(between)
			_, _ = c.Write([]byte("hello"))
		})
		for _, o := range []Options{
			{Requests: 3, Mode: Sequential},
			{Requests: 4, Mode: Concurrent},
			{Requests: 4, Mode: Concurrent, Concurrency: 2, Spread: 100 * time.Millisecond},
		} {
			run := execute(t, srv.target(), o)
			for _, r := range run.Results {
				if r.Status != 200 {
					t.Fatalf("%s request %d: %d %q %q", shapeName(o), r.Seq, r.Status, r.Err, r.Detail)
				}
				if !(0 < r.Connect && r.Connect <= r.FirstByte && r.FirstByte <= r.Latency()) {
					t.Errorf("%s request %d: connect %v, first byte %v, latency %v: out of order",
						shapeName(o), r.Seq, r.Connect, r.FirstByte, r.Latency())
				}
				if r.FirstByte < before-margin {
					t.Errorf("%s request %d: first byte after %v, but the server waited %v", shapeName(o), r.Seq, r.FirstByte, before)
				}
				if body := r.Latency() - r.FirstByte; body < between-margin {
					t.Errorf("%s request %d: body %v after the first byte, but the server waited %v", shapeName(o), r.Seq, body, between)
				}
				// On loopback the kernel completes the handshake whatever
				// the server does, so connecting is quick (generous bound).
				if r.Connect > before/2+time.Second/10 {
					t.Errorf("%s request %d: connect took %v on loopback", shapeName(o), r.Seq, r.Connect)
				}
			}
		}
	})
}

// A request that fails before connecting has no phase; one that connected
// and got no byte has a connect phase only.
func TestPhasesOfFailures(t *testing.T) {
	engines(t, func(t *testing.T) {
		closed, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := closed.Addr().(*net.TCPAddr).Port
		closed.Close()
		run := execute(t, Target{Host: "127.0.0.1", Port: port, Paths: []string{"/"}}, Options{Requests: 2})
		for _, r := range run.Results {
			if r.Err != Refused || r.Connect != 0 || r.FirstByte != 0 {
				t.Errorf("refused: %q connect %v first byte %v", r.Err, r.Connect, r.FirstByte)
			}
		}
		srv := startServer(t, reset)
		run = execute(t, srv.target(), Options{Requests: 2})
		for _, r := range run.Results {
			if r.Err != Reset || r.Connect <= 0 || r.FirstByte != 0 {
				t.Errorf("reset: %q connect %v first byte %v", r.Err, r.Connect, r.FirstByte)
			}
		}
	})
}
