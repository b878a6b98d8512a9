package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/closing"
	"httplab/httplab-server/internal/server"
	"httplab/httplab-server/internal/servertest"
)

// logBuffer collects a server's log lines, written from many goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// flakyListener fails its first fails Accepts as a process out of
// descriptors does, then accepts normally.
type flakyListener struct {
	net.Listener
	mu    sync.Mutex
	fails int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.fails > 0
	if fail {
		l.fails--
	}
	l.mu.Unlock()
	if fail {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// Temporary accept errors are survived with a backoff that starts at 5 ms
// and doubles, counted and logged; then connections are served again.
func TestAcceptBacksOffOnTemporaryErrors(t *testing.T) {
	var log logBuffer
	o := servertest.Options(site(t))
	o.Log = zerolog.New(&log)
	s, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	served := servertest.Run(t, func(ctx context.Context, ln net.Listener) error {
		return s.Serve(ctx, &flakyListener{Listener: ln, fails: 3})
	}, func() { s.Close() }, 20*time.Second)
	r := &running{&servertest.Running{Server: s, Served: served}}
	if rp := r.get(t, 2, "/a.html"); rp.Status != 200 {
		t.Fatalf("after the accept errors: %d", rp.Status)
	}
	if n := s.Stats().Connections.AcceptErrors; n != 3 {
		t.Errorf("AcceptErrors %d, want 3", n)
	}
	var waits []string
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "accept failed; backing off") {
			_, w, _ := strings.Cut(line, `"retry_in":`)
			w, _, _ = strings.Cut(w, ",")
			waits = append(waits, w)
		}
	}
	if strings.Join(waits, " ") != "5 10 20" {
		t.Errorf("backoffs logged %q (ms), want 5 10 20:\n%s", waits, log.String())
	}
}

// A refused client that sent half a head is given LingerTimeout to send the
// rest before the socket closes (closing.AwaitHead: no half-close): its end
// of stream cannot come sooner. Only a longer head or a body gets the
// lingering close, which half-closes at once. The refusal is logged.
func TestRefusalAwaitsTheRestOfAShortHead(t *testing.T) {
	var log logBuffer
	r := start(t, func(c *server.Options) { c.MaxPerClient = 1; c.Log = zerolog.New(&log) })
	held := r.hold(t, 2)
	defer held.Close()
	began := time.Now()
	c := r.dial(t, 2)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /a.html HTTP/1.0\r\n"); err != nil {
		t.Fatal(err)
	}
	if rp := readReply(t, c); rp.Status != 503 {
		t.Fatalf("got %d, want 503", rp.Status)
	}
	var b [1]byte
	if n, err := c.Read(b[:]); n != 0 || err != io.EOF {
		t.Fatalf("after the 503: read %d, %v; want a clean EOF", n, err)
	}
	if waited := time.Since(began); waited < closing.LingerTimeout {
		t.Errorf("end of stream %v after connecting; a short head is awaited for %v first", waited, closing.LingerTimeout)
	}
	eventually(t, "the refusal logged", func() bool {
		l := log.String()
		return strings.Contains(l, `"message":"connection refused"`) && strings.Contains(l, `"client":"127.0.0.2"`)
	})
}

// The dashboard's limiter view gives waits in milliseconds, within the window.
func TestRateWindowsInMilliseconds(t *testing.T) {
	r := start(t, func(c *server.Options) { c.RateLimit = 2; c.RateWindow = time.Minute })
	for range 2 {
		if rp := r.get(t, 3, "/a.html"); rp.Status != 200 {
			t.Fatalf("status %d", rp.Status)
		}
	}
	rw := r.RateWindows(10)
	if rw.Limit != 2 || rw.WindowS != 60 || rw.Active != 1 || len(rw.Clients) != 1 {
		t.Fatalf("limiter view %+v", rw)
	}
	c := rw.Clients[0]
	if c.Client != "127.0.0.3" || c.Admitted != 2 || c.RetryAfterS < 1 || c.RetryAfterS > 60 {
		t.Errorf("client %+v", c)
	}
	if c.WaitMS <= 0 || c.WaitMS > 60000 || c.SinceMS < 0 || c.SinceMS >= 60000 {
		t.Errorf("wait %v ms, since %v ms; want both within the 60000 ms window", c.WaitMS, c.SinceMS)
	}
}

// The edge of every range New checks is accepted: the zeros that mean
// unlimited, off or none, and the least positive durations.
func TestNewAcceptsTheEdgeOfEveryRange(t *testing.T) {
	root := site(t)
	for name, mutate := range map[string]func(*server.Options){
		"caps 0":                  func(o *server.Options) { o.MaxTotal, o.MaxPerClient = 0, 0 },
		"rate limit 0":            func(o *server.Options) { o.RateLimit = 0 },
		"rate window 1ns":         func(o *server.Options) { o.RateLimit, o.RateWindow = 1, time.Nanosecond },
		"delay 0":                 func(o *server.Options) { o.Delay = 0 },
		"timeouts 1ns":            func(o *server.Options) { o.ReadTimeout, o.WriteTimeout = time.Nanosecond, time.Nanosecond },
		"grace 0":                 func(o *server.Options) { o.ShutdownGrace = 0 },
		"head grace 0, stall 1ns": func(o *server.Options) { o.Shed, o.HeadGrace, o.StallTimeout = true, 0, time.Nanosecond },
		"no shedding, no stall":   func(o *server.Options) { o.Shed, o.HeadGrace, o.StallTimeout = false, -1, 0 },
	} {
		o := servertest.Options(root)
		mutate(&o)
		s, err := server.New(o)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		s.Close()
	}
	for name, mutate := range map[string]func(*server.Options){
		"head grace -1ns": func(o *server.Options) { o.Shed, o.HeadGrace = true, -1 },
		"stall 0":         func(o *server.Options) { o.Shed, o.StallTimeout = true, 0 },
	} {
		o := servertest.Options(root)
		mutate(&o)
		if s, err := server.New(o); err == nil {
			s.Close()
			t.Errorf("%s with shedding: accepted", name)
		} else if !strings.Contains(err.Error(), "shedding") {
			t.Errorf("%s: error %q does not mention shedding", name, err)
		}
	}
}

// Under -clientkey ip-port the caps count connections, but the rate limit
// still counts requests per IP: new connections (new ports) do not escape it.
func TestRateLimitIsPerIPUnderIPPortKey(t *testing.T) {
	r := start(t, func(c *server.Options) {
		c.ClientKey, c.RateLimit, c.RateWindow = clientid.ByIPPort, 2, time.Minute
	})
	var got []int
	for range 3 {
		got = append(got, r.get(t, 2, "/a.html").Status)
	}
	if got[0] != 200 || got[1] != 200 || got[2] != 429 {
		t.Errorf("three requests on three connections from one IP, limit 2: %v, want [200 200 429]", got)
	}
}

// A newcomer whose rate window is full sheds nobody, even with the cap full
// of idle connections: its request would only be answered 429.
func TestRateLimitedNewcomerShedsNobody(t *testing.T) {
	r := start(t, func(c *server.Options) {
		c.MaxPerClient, c.MaxTotal = 4, 5
		c.RateLimit, c.RateWindow = 1, time.Minute
	})
	if rp := r.get(t, 4, "/a.html"); rp.Status != 200 {
		t.Fatalf("the newcomer's first request: %d", rp.Status)
	}
	var held []net.Conn
	for range 4 {
		held = append(held, r.hold(t, 2))
	}
	held = append(held, r.hold(t, 3)) // the reserved last slot: 127.0.0.3 holds nothing else
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	time.Sleep(1100 * time.Millisecond) // idle past the server's minimum: sheddable
	if rp := r.get(t, 4, "/a.html"); rp.Status != 503 {
		t.Errorf("rate-limited newcomer with the cap full of idle connections: %d, want 503", rp.Status)
	}
	if st := r.Stats().Connections; st.ShedPending != 0 || st.ShedStalled != 0 {
		t.Errorf("shed %d pending, %d stalled; want none", st.ShedPending, st.ShedStalled)
	}
}

// The limiter forgets a client whose window has emptied, with no other
// client arriving to trigger it: a background sweep does.
func TestIdleRateKeysAreSwept(t *testing.T) {
	r := start(t, func(c *server.Options) { c.RateLimit, c.RateWindow = 5, 50*time.Millisecond })
	if rp := r.get(t, 2, "/a.html"); rp.Status != 200 {
		t.Fatalf("status %d", rp.Status)
	}
	if n := r.Stats().Limits.RateKeys; n != 1 {
		t.Fatalf("RateKeys %d after one client's request, want 1", n)
	}
	eventually(t, "the idle client's key swept", func() bool { return r.Stats().Limits.RateKeys == 0 })
}

// /stats gives the configured delay in milliseconds.
func TestStatsDelayInMilliseconds(t *testing.T) {
	r := start(t, func(c *server.Options) { c.Delay = 250 * time.Millisecond })
	if st := r.Stats(); st.DelayMS != 250 || st.UptimeS < 0 {
		t.Errorf("DelayMS %v, UptimeS %v; want 250 and >= 0", st.DelayMS, st.UptimeS)
	}
}

// In stock mode the write timeout starts before the delay, so it is
// extended by the delay: a response delayed longer than the write timeout
// alone is still written whole.
func TestStockWriteTimeoutCoversTheDelay(t *testing.T) {
	r := start(t, func(c *server.Options) {
		c.Mode, c.WriteTimeout, c.Delay = server.Stock, time.Second, 600*time.Millisecond
	})
	if rp := r.get(t, 2, "/a.html"); rp.Status != 200 || string(rp.Body) != "<p>a</p>" {
		t.Errorf("delayed stock response: %d %q", rp.Status, rp.Body)
	}
}

// Stock mode past its shutdown grace: the delay still running is cut
// short, the connection closed, and the cut logged.
func TestStockShutdownGraceIsBounded(t *testing.T) {
	var log logBuffer
	r := start(t, func(c *server.Options) {
		c.Mode, c.ShutdownGrace, c.Delay, c.Log = server.Stock, 200*time.Millisecond, 30*time.Second, zerolog.New(&log)
	})
	c := r.dial(t, 2)
	defer c.Close()
	_, _ = io.WriteString(c, "GET /a.html HTTP/1.0\r\n\r\n")
	eventually(t, "request in flight", func() bool { return r.Stats().Connections.Active == 1 })
	time.Sleep(150 * time.Millisecond) // let net/http read the head (see TestGracefulShutdown)
	r.Cancel()
	if ok, err := r.Wait(10 * time.Second); !ok || err != nil {
		t.Fatalf("Serve returned %v, %v within 10 s of a 200 ms grace", ok, err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Error("the connection in flight was still open 10 s after the grace")
	}
	if !strings.Contains(log.String(), "shutdown grace over") {
		t.Errorf("the cut is not logged:\n%s", log.String())
	}
}

// A shed connection is logged, with its client and why.
func TestSheddingIsLogged(t *testing.T) {
	var log logBuffer
	r := start(t, func(c *server.Options) { c.MaxPerClient, c.MaxTotal, c.Log = 4, 5, zerolog.New(&log) })
	var held []net.Conn
	for range 3 {
		held = append(held, r.hold(t, 2))
	}
	held = append(held, r.hold(t, 3), r.hold(t, 5))
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	time.Sleep(1100 * time.Millisecond) // idle past the server's minimum
	if rp := r.get(t, 4, "/a.html"); rp.Status != 200 {
		t.Fatalf("newcomer with the cap full of idle connections: %d", rp.Status)
	}
	eventually(t, "the shed logged", func() bool {
		for _, line := range strings.Split(log.String(), "\n") {
			if strings.Contains(line, `"message":"connection shed for a newcomer"`) && strings.Contains(line, `"client":"127.0.0.2"`) {
				return true
			}
		}
		return false
	})
}
