package load

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// The hostile-server suite: whatever a server does (stay silent, hold the
// socket, drip, flood, reset, send garbage or a huge head, speak HTTP/0.9 or
// SSH), a run ends within its schedule plus one timeout per request that can
// be in flight, counts every request once, keeps bytes truthful, and stores
// nothing raw from the server. Every server listens on 127.0.0.1, every loop
// is bounded, and the time bounds have generous margins for a busy CI
// machine.

// slack is the margin allowed on every time bound.
const slack = 2 * time.Second

// quick is the timeout of the cases that end without one: long enough that
// a SYN dropped on a loopback flooded by the other cases (Linux sends it
// again after a second) does not turn their answer into a timeout.
const quick = 3 * time.Second

// closingOf is the channel closed when the test server shuts down.
func closingOf(c net.Conn) <-chan struct{} { return c.(*trackedConn).s.closing }

// writeFor writes chunk again and again, every pause, until the peer goes
// away, the server shuts down or limit has passed.
func writeFor(c net.Conn, chunk []byte, pause, limit time.Duration) {
	end := time.Now().Add(limit)
	for time.Now().Before(end) {
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(chunk); err != nil {
			select {
			case <-closingOf(c):
				return
			default:
			}
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				return
			}
		}
		select {
		case <-closingOf(c):
			return
		case <-time.After(pause):
		}
	}
}

// hold keeps the connection open, doing nothing, until the server shuts down.
func hold(c net.Conn) {
	<-closingOf(c)
}

// checkResults asserts what must hold of every run whatever the server did.
func checkResults(t *testing.T, run Run, o Options) {
	t.Helper()
	status, errs := 0, 0
	for _, r := range run.Results {
		if r.Err == NoError {
			status++
		} else {
			errs++
		}
		if len(r.Detail) > 256 {
			t.Errorf("request %d: detail of %d bytes", r.Seq, len(r.Detail))
		}
		if !utf8.ValidString(r.Detail) {
			t.Errorf("request %d: detail is not valid UTF-8: %q", r.Seq, r.Detail)
		}
		for _, c := range r.Detail {
			if !unicode.IsPrint(c) && c != ' ' {
				t.Errorf("request %d: unescaped %U in detail %q", r.Seq, c, r.Detail)
				break
			}
		}
		if m := afterBytes.FindStringSubmatch(r.Detail); m != nil {
			if n, _ := strconv.ParseInt(m[1], 10, 64); n != r.Bytes {
				t.Errorf("request %d: bytes %d but detail %q", r.Seq, r.Bytes, r.Detail)
			}
		}
		if r.Connect < 0 || r.FirstByte < 0 || (r.FirstByte > 0 && r.Connect > r.FirstByte) || r.FirstByte > r.Latency() || r.Connect > r.Latency() {
			t.Errorf("request %d: phases connect %v first byte %v latency %v out of order", r.Seq, r.Connect, r.FirstByte, r.Latency())
		}
		if r.Latency() > o.Timeout+slack {
			t.Errorf("request %d took %v with a timeout of %v", r.Seq, r.Latency(), o.Timeout)
		}
	}
	if status+errs != len(run.Results) || len(run.Results) != o.Requests {
		t.Errorf("%d statuses + %d errors for %d results of %d requests", status, errs, len(run.Results), o.Requests)
	}
}

var afterBytes = regexp.MustCompile(`after (\d+) bytes`)

// bound is the longest a run may take: its schedule plus one timeout per
// request that can be in flight one after another, plus slack.
func bound(o Options) time.Duration {
	waves := 1
	switch {
	case o.Mode == Sequential:
		waves = o.Requests
	case o.Concurrency > 0:
		waves = (o.Requests + o.Concurrency - 1) / o.Concurrency
	}
	return o.Spread + time.Duration(waves)*o.Timeout + slack
}

// runBounded executes a run and checks it ended within its bound.
func runBounded(t *testing.T, target Target, o Options) Run {
	t.Helper()
	began := time.Now()
	run := Execute(engineContext(t), target, o)
	if took, b := time.Since(began), bound(o); took > b {
		t.Errorf("run took %v, bound %v", took, b)
	}
	checkResults(t, run, o)
	return run
}

// shapes are the schedules every hostile server is met with: the one that
// hung (a request timing out while the next is due), sequential, capped.
var shapes = []Options{
	{Requests: 3, Spread: 150 * time.Millisecond, Mode: Sequential},
	{Requests: 4, Spread: 100 * time.Millisecond, Mode: Concurrent, Concurrency: 2},
	{Requests: 3, Mode: Concurrent},
}

func shapeName(o Options) string {
	return fmt.Sprintf("%s-r%d-t%v-c%d", o.Mode, o.Requests, o.Spread, o.Concurrency)
}

func TestHostileServers(t *testing.T) {
	garbage := make([]byte, 64<<10)
	_, _ = rand.Read(garbage)
	garbage[0] = 0x9b // a C1 CSI first, for good measure
	cases := []struct {
		name    string
		handle  func(c net.Conn, path string)
		timeout time.Duration
		want    ErrorKind // NoError: a status is wanted
		status  int
		bytes   int64 // -1: any
		detail  string
	}{
		{"silent", func(c net.Conn, _ string) { hold(c) }, 250 * time.Millisecond, Timeout, 0, 0, "read status line: timeout"},
		{"holds after a complete response", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello")
			hold(c)
		}, quick, NoError, 200, 5, ""},
		{"drips", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\n\r\n")
			writeFor(c, []byte("x"), 20*time.Millisecond, 10*time.Second)
		}, 250 * time.Millisecond, Timeout, 0, -1, "read body of HTTP 200 after"},
		{"drips its head", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\nX-Drip: ")
			writeFor(c, []byte("d"), 20*time.Millisecond, 10*time.Second)
		}, 250 * time.Millisecond, Timeout, 0, 0, "read headers of HTTP 200: timeout"},
		{"endless body", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\n\r\n")
			writeFor(c, make([]byte, 32<<10), 0, 10*time.Second)
		}, 250 * time.Millisecond, Timeout, 0, -1, "read body of HTTP 200 after"},
		{"endless body past its length", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc")
			writeFor(c, make([]byte, 32<<10), 0, 10*time.Second)
		}, quick, NoError, 200, 3, ""},
		{"8 MB head", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\n")
			writeFor(c, []byte("X-Junk: "+strings.Repeat("j", 8<<10)+"\r\n"), 0, 10*time.Second)
		}, quick, Other, 0, 0, "head longer than 65536 bytes"},
		{"endless 100 Continue", func(c net.Conn, _ string) {
			writeFor(c, []byte("HTTP/1.1 100 Continue\r\n\r\n"), 0, 10*time.Second)
		}, quick, Other, 0, 0, "head longer than 65536 bytes"},
		{"reset", reset, time.Second, Reset, 0, 0, "reset"},
		{"reset mid-body", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
			time.Sleep(50 * time.Millisecond)
			reset(c, "")
		}, quick, Reset, 0, 10, "after 10 bytes"},
		{"64 KB of garbage", func(c net.Conn, _ string) {
			_, _ = c.Write(garbage)
		}, quick, Other, 0, 0, "malformed status line"},
		{"SSH banner", func(c net.Conn, _ string) {
			fmt.Fprint(c, "SSH-2.0-OpenSSH_9.6\r\n")
			hold(c)
		}, quick, Other, 0, 0, `malformed status line "SSH-2.0-OpenSSH_9.6"`},
		{"HTTP/0.9 body", func(c net.Conn, _ string) {
			fmt.Fprint(c, "<html><body>hello</body></html>\n")
		}, quick, Other, 0, 0, "malformed status line"},
		{"terminal escapes in the status line", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 2\x1b]0;pwned\x07\x1b[2J\u009b31m\r\n\r\n")
		}, quick, Other, 0, 0, `\x1b]0;pwned\a\x1b[2J\u009b31m`},
		{"short body", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..")
		}, quick, Other, 0, 10, "truncated after 10 of 100 bytes"},
		{"long body", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nfour and more")
		}, quick, NoError, 200, 4, ""},
		{"101 Switching Protocols", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello")
		}, quick, NoError, 101, 7, ""},
		{"100 Continue, then 200", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
			time.Sleep(20 * time.Millisecond)
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello")
		}, quick, NoError, 200, 5, ""},
		{"conflicting Content-Length", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhello")
		}, quick, Other, 0, 0, "protocol error: conflicting Content-Length values 5 and 50"},
		{"equal Content-Lengths", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Length: 5\r\nContent-Length: 5, 5\r\n\r\nhello")
		}, quick, NoError, 200, 5, ""},
		{"invalid Content-Length", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Length: +5\r\n\r\nhello")
		}, quick, Other, 0, 0, "protocol error: invalid Content-Length"},
		{"chunked", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 999\r\n\r\n"+
				"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n")
			hold(c)
		}, quick, NoError, 200, 12, ""},
		{"bad chunk size", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
		}, quick, Other, 0, 5, "protocol error: bad chunked encoding: chunk size \"zz\""},
		{"chunk longer than its size", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n")
		}, quick, Other, 0, 3, "chunk data not followed by CRLF"},
		{"chunked, cut", func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhello")
		}, quick, Other, 0, 5, "chunked body of HTTP 200 truncated after 5 bytes"},
	}
	engines(t, func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				srv := startServer(t, tc.handle)
				for _, o := range shapes {
					o.Timeout = tc.timeout
					run := runBounded(t, srv.target(), o)
					for _, r := range run.Results {
						if r.Err != tc.want || r.Status != tc.status || (tc.bytes >= 0 && r.Bytes != tc.bytes) ||
							!strings.Contains(r.Detail, tc.detail) {
							t.Errorf("%s request %d: status %d bytes %d %q %q; want status %d bytes %d %q containing %q",
								shapeName(o), r.Seq, r.Status, r.Bytes, r.Err, r.Detail, tc.status, tc.bytes, tc.want, tc.detail)
						}
						if tc.want == NoError && r.Latency() > tc.timeout/2 {
							t.Errorf("%s request %d: complete response took %v: not ended at its length?", shapeName(o), r.Seq, r.Latency())
						}
					}
				}
			})
		}
	})
}

// A refused connection and a listener that never accepts end on time too.
func TestHostileListeners(t *testing.T) {
	engines(t, func(t *testing.T) {
		closed, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		refusedPort := closed.Addr().(*net.TCPAddr).Port
		closed.Close()
		never, err := net.Listen("tcp", "127.0.0.1:0") // listens, never accepts
		if err != nil {
			t.Fatal(err)
		}
		defer never.Close()
		neverPort := never.Addr().(*net.TCPAddr).Port
		for _, tc := range []struct {
			name string
			port int
			want ErrorKind
		}{{"refused", refusedPort, Refused}, {"never accepts", neverPort, Timeout}} {
			for _, o := range shapes {
				o.Timeout = 300 * time.Millisecond
				run := runBounded(t, Target{Host: "127.0.0.1", Port: tc.port, Paths: []string{"/"}}, o)
				for _, r := range run.Results {
					if r.Err != tc.want {
						t.Errorf("%s %s request %d: %q %q, want %q", tc.name, shapeName(o), r.Seq, r.Err, r.Detail, tc.want)
					}
				}
			}
		}
	})
}

// A hang once seen here: a request that ends by its own timeout while the
// next is already due must not leave the loop waiting for ever.
func TestTimeoutWhileNextIsDue(t *testing.T) {
	engines(t, func(t *testing.T) {
		srv := startServer(t, func(c net.Conn, _ string) { hold(c) })
		for _, o := range []Options{
			{Requests: 3, Spread: 500 * time.Millisecond, Timeout: 300 * time.Millisecond, Mode: Sequential},
			{Requests: 4, Spread: 200 * time.Millisecond, Timeout: 250 * time.Millisecond, Mode: Concurrent, Concurrency: 1},
			{Requests: 4, Spread: 200 * time.Millisecond, Timeout: 250 * time.Millisecond, Mode: Concurrent, Concurrency: 2},
		} {
			run := runBounded(t, srv.target(), o)
			for _, r := range run.Results {
				if r.Err != Timeout {
					t.Errorf("%s request %d: %q %q", shapeName(o), r.Seq, r.Err, r.Detail)
				}
			}
		}
	})
}

// Requests waiting on a silent server do not hold back the next one due:
// the loop wakes for the earliest of its timed events (the next due time,
// here long before any request's deadline), not the latest.
func TestSilentServerDoesNotDelayTheSchedule(t *testing.T) {
	engines(t, func(t *testing.T) {
		srv := startServer(t, func(c net.Conn, _ string) { hold(c) })
		o := Options{Requests: 3, Spread: 600 * time.Millisecond, Timeout: 4 * time.Second, Mode: Concurrent}
		run := runBounded(t, srv.target(), o)
		for _, r := range run.Results {
			// Due at 0, 200 and 400 ms; sent at the first deadline instead
			// it would be 3.6 s late or more.
			if r.Err != Timeout || r.Lateness() > 1500*time.Millisecond {
				t.Errorf("request %d: %q, %v late; want a timeout, sent on time", r.Seq, r.Err, r.Lateness())
			}
		}
	})
}

// A complete response ends its request at once, even if the server keeps
// the socket: latency, wall time and the peak in flight leave the wait out.
func TestCompleteResponseEndsTheRequest(t *testing.T) {
	engines(t, func(t *testing.T) {
		srv := startServer(t, func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
			hold(c)
		})
		o := Options{Requests: 20, Spread: 200 * time.Millisecond, Timeout: 5 * time.Second, Mode: Concurrent}
		began := time.Now()
		run := runBounded(t, srv.target(), o)
		if took := time.Since(began); took > 2*time.Second {
			t.Errorf("run took %v: waited for closes that never came", took)
		}
		if run.Wall > time.Second {
			t.Errorf("wall %v for 20 quick responses over 200 ms", run.Wall)
		}
		seq := runBounded(t, srv.target(), Options{Requests: 5, Timeout: 5 * time.Second, Mode: Sequential})
		if seq.Wall > time.Second {
			t.Errorf("sequential wall %v: each request waited for the server's close", seq.Wall)
		}
	})
}

// An interrupt ends a run at once, however long the timeout, and reports
// every request sent, the ones in flight as interrupted.
func TestInterruptEndsRunAtOnce(t *testing.T) {
	engines(t, func(t *testing.T) {
		srv := startServer(t, func(c net.Conn, _ string) { hold(c) })
		for _, o := range shapes {
			o.Timeout = time.Minute
			ctx, cancel := context.WithTimeout(engineContext(t), 250*time.Millisecond)
			began := time.Now()
			run := Execute(ctx, srv.target(), o)
			cancel()
			if took := time.Since(began); took > slack {
				t.Errorf("%s: interrupted run took %v", shapeName(o), took)
			}
			if !run.Interrupted || len(run.Results) == 0 {
				t.Errorf("%s: interrupted %v with %d results", shapeName(o), run.Interrupted, len(run.Results))
			}
			for _, r := range run.Results {
				if r.Err != Other || !strings.Contains(r.Detail, "interrupted") {
					t.Errorf("%s request %d: %q %q, want other, interrupted", shapeName(o), r.Seq, r.Err, r.Detail)
				}
			}
		}
	})
}
