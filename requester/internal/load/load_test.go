package load

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestScheduleDue(t *testing.T) {
	s := Schedule{N: 20, Spread: 4100 * time.Millisecond}
	for i := range 20 {
		if got, want := s.Due(i), time.Duration(i)*205*time.Millisecond; got != want {
			t.Errorf("Due(%d) = %v, want %v", i, got, want)
		}
	}
	// i·t/r for values whose product overflows 64 bits.
	big := Schedule{N: 3_000_000, Spread: 1_000_000 * time.Second}
	if got, want := big.Due(2_999_999), time.Duration(999_999_666_666_666); got != want {
		t.Errorf("Due with a 128-bit product = %d, want %d", got, want)
	}
	if got := (Schedule{N: 5}).Due(3); got != 0 {
		t.Errorf("no spread: Due = %v, want 0", got)
	}
	// Thirds of a second: rounded down, never drifting.
	third := Schedule{N: 3, Spread: time.Second}
	if got := third.Due(2); got != 666_666_666 {
		t.Errorf("Due(2) of 3 over 1s = %d", got)
	}
}

// fakeClock advances only when told: SleepUntil jumps to the due time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return ctx.Err() == nil
}

func (c *fakeClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// In sequential mode request i starts at its due time or when request i-1
// ends, whichever is later; the schedule itself never shifts.
func TestSequentialScheduleWithFakeClock(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	// Due every 100 ms; requests 1 and 2 take 250 ms, the others 10 ms.
	took := []time.Duration{10, 250, 250, 10, 10, 10} // ms
	r := &runner{
		plan: fakePlan(Options{Requests: 6, Spread: 600 * time.Millisecond, Mode: Sequential}),
		clk:  clk,
		exchange: func(i int, start time.Time, _ *exchangeBuf) outcome {
			return outcome{end: clk.advance(took[i] * time.Millisecond), status: 200}
		},
	}
	run := r.run(context.Background())
	wantStart := []time.Duration{0, 100, 350, 600, 610, 620} // ms: max(due, previous end)
	for i, res := range run.results {
		if res.Scheduled != time.Duration(i)*100*time.Millisecond {
			t.Errorf("request %d scheduled at %v", i, res.Scheduled)
		}
		if res.Start != wantStart[i]*time.Millisecond {
			t.Errorf("request %d started at %v, want %v ms", i, res.Start, wantStart[i])
		}
		if res.Latency() != took[i]*time.Millisecond {
			t.Errorf("request %d latency %v, want %v ms", i, res.Latency(), took[i])
		}
	}
	if last := run.results[5]; last.End != 630*time.Millisecond {
		t.Errorf("last end = %v, want 630ms", last.End)
	}
	if run.sent != 6 {
		t.Errorf("sent %d", run.sent)
	}
}

func fakePlan(o Options) *plan {
	return newPlan(context.Background(), Target{Host: "127.0.0.1", Port: 1, Paths: []string{"/"}}, o)
}

// Concurrent requests start on their due times even when earlier ones are
// still in flight.
func TestConcurrentScheduleWithFakeClock(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	var mu sync.Mutex
	starts := map[int]time.Time{}
	r := &runner{
		plan: fakePlan(Options{Requests: 5, Spread: time.Second}),
		clk:  clk,
		exchange: func(i int, start time.Time, _ *exchangeBuf) outcome {
			mu.Lock()
			starts[i] = start
			mu.Unlock()
			return outcome{end: start.Add(time.Hour), status: 200} // never finishes in time
		},
	}
	run := r.run(context.Background())
	if len(run.results) != 5 {
		t.Fatalf("%d results", len(run.results))
	}
	for i, res := range run.results {
		if res.Seq != i || res.Scheduled != time.Duration(i)*200*time.Millisecond {
			t.Errorf("result %d: seq %d scheduled %v", i, res.Seq, res.Scheduled)
		}
		// The fake clock only moves forward when the pacer sleeps, so a
		// request starts no earlier than its due time.
		if res.Start < res.Scheduled {
			t.Errorf("request %d started at %v before its due time %v", i, res.Start, res.Scheduled)
		}
	}
}

func TestInterruptedRunReportsWhatWasSent(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{
		plan: fakePlan(Options{Requests: 10, Spread: 10 * time.Second, Mode: Sequential}),
		clk:  clk,
		exchange: func(i int, start time.Time, _ *exchangeBuf) outcome {
			if i == 3 {
				cancel()
			}
			return outcome{end: start, status: 200}
		},
	}
	run := r.run(ctx)
	if run.sent != 4 || len(run.results) != 4 {
		t.Fatalf("sent %d with %d results, want 4", run.sent, len(run.results))
	}
}

// hang never answers, until the server closes.
func hang(c net.Conn, _ string) {
	<-c.(*trackedConn).s.closing
	c.Close()
}

// engines runs a test once per engine: the same behaviour is asked of both.
// The two run at once, and beside the package's other such tests: most of
// them wait on timeouts, and gremlins runs the whole package once per mutant.
// A test that measures the process (memory) uses enginesAlone.
func engines[T interface {
	testing.TB
	Run(string, func(T)) bool
}](t T, test func(t T)) {
	runEngines(t, true, test)
}

// enginesAlone runs a test once per engine, one after the other, with no
// other test running.
func enginesAlone[T interface {
	testing.TB
	Run(string, func(T)) bool
}](t T, test func(t T)) {
	runEngines(t, false, test)
}

func runEngines[T interface {
	testing.TB
	Run(string, func(T)) bool
}](t T, parallel bool, test func(t T)) {
	type parallelizer interface{ Parallel() }
	if p, ok := any(t).(parallelizer); ok && parallel {
		p.Parallel()
	}
	for _, epoll := range []bool{true, false} {
		if epoll && !hasEpoll {
			continue // no epoll engine on this system
		}
		name := map[bool]string{true: "epoll", false: "net"}[epoll]
		t.Run(name, func(t T) {
			portableTests.Store(t.Name(), !epoll)
			if p, ok := any(t).(parallelizer); ok && parallel {
				p.Parallel()
			}
			test(t)
		})
	}
}

// portableTests maps the name of each engine's subtest to whether it runs
// the net engine where the epoll one exists.
var portableTests sync.Map

// engineContext is the context under which t's runs use t's engine: that of
// the engines subtest t is or is inside of.
func engineContext(t testing.TB) context.Context {
	for name := t.Name(); ; {
		if v, ok := portableTests.Load(name); ok {
			if v.(bool) {
				return withPortableEngine(context.Background())
			}
			return context.Background()
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			return context.Background()
		}
		name = name[:i]
	}
}

func execute(t *testing.T, target Target, o Options) Run {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Mode == "" {
		o.Mode = Concurrent
	}
	run := Execute(engineContext(t), target, o)
	if len(run.Results) != o.Requests {
		t.Fatalf("%d results for %d requests", len(run.Results), o.Requests)
	}
	for i, r := range run.Results {
		if r.Seq != i {
			t.Fatalf("result %d has seq %d", i, r.Seq)
		}
		if (r.Err == NoError) == (r.Status == 0) {
			t.Fatalf("result %d has status %d and error %q: want exactly one", i, r.Status, r.Err)
		}
		if r.End < r.Start || r.Start < r.Scheduled {
			t.Fatalf("result %d: scheduled %v, start %v, end %v out of order", i, r.Scheduled, r.Start, r.End)
		}
	}
	return run
}

func TestRealScheduleAgainstServer(t *testing.T) {
	engines(t, func(t *testing.T) {
		srv := startServer(t, ok)
		run := execute(t, srv.target("/a", "/b"), Options{Requests: 10, Spread: 300 * time.Millisecond})
		for i, r := range run.Results {
			if want := time.Duration(i) * 30 * time.Millisecond; r.Scheduled != want {
				t.Errorf("request %d scheduled at %v, want %v", i, r.Scheduled, want)
			}
			// Generous: a loaded CI machine may be late, but not by a whole second.
			if late := r.Lateness(); late < 0 || late > time.Second {
				t.Errorf("request %d late by %v", i, late)
			}
			if r.Status != 200 || r.Bytes != int64(len("hello, world\n")) {
				t.Errorf("request %d: status %d bytes %d", i, r.Status, r.Bytes)
			}
			if want := srv.target().Name() + []string{"/a", "/b"}[i%2]; r.URL != want {
				t.Errorf("request %d url %q, want %q", i, r.URL, want)
			}
			if !r.LocalAddr.IsValid() {
				t.Errorf("request %d has no local address", i)
			}
		}
		if run.Wall < 270*time.Millisecond {
			t.Errorf("wall %v shorter than the schedule", run.Wall)
		}
		if conns, _, _ := srv.stats(); conns != 10 {
			t.Errorf("server saw %d connections, want 10 (one per request)", conns)
		}
	})
}

func TestRequestBytes(t *testing.T) {
	engines(t, func(t *testing.T) {
		// A raw server that captures the request head exactly.
		got := make(chan string, 1)
		raw, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		go func() {
			c, err := raw.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			n, _ := c.Read(buf)
			got <- string(buf[:n])
			respond(c, 200, "")
		}()
		ap := raw.Addr().(*net.TCPAddr).AddrPort()
		target := Target{Host: "127.0.0.1", Port: int(ap.Port()), Paths: []string{"/%2e%2e/x?y=1"}}
		execute(t, target, Options{Requests: 1})
		want := fmt.Sprintf("GET /%%2e%%2e/x?y=1 HTTP/1.0\r\nHost: 127.0.0.1:%d\r\nUser-Agent: httplab-requester\r\n\r\n", ap.Port())
		if g := <-got; g != want {
			t.Errorf("request was\n%q\nwant\n%q", g, want)
		}
	})
}

func TestStatusCounts(t *testing.T) {
	engines(t, func(t *testing.T) {
		srv := startServer(t, func(c net.Conn, path string) {
			switch path {
			case "/limited":
				respond(c, 429, "slow down\n")
			case "/full":
				respond(c, 503, "busy\n")
			default:
				respond(c, 200, "ok\n")
			}
		})
		run := execute(t, srv.target("/", "/limited", "/full"), Options{Requests: 9})
		count := map[int]int{}
		for _, r := range run.Results {
			count[r.Status]++
			if want := []int{200, 429, 503}[r.Seq%3]; r.Status != want {
				t.Errorf("request %d got %d, want %d", r.Seq, r.Status, want)
			}
		}
		if count[200] != 3 || count[429] != 3 || count[503] != 3 {
			t.Errorf("counts %v", count)
		}
	})
}

func TestErrorCategories(t *testing.T) {
	// Set before the engines' subtests start, which run at once: a write from
	// each would race. The other tests use addresses and resolve nothing.
	lookupNetIP = func(_ context.Context, _, host string) ([]netip.Addr, error) {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	t.Cleanup(func() { lookupNetIP = net.DefaultResolver.LookupNetIP })
	engines(t, func(t *testing.T) {
		hanging := startServer(t, hang)

		closed, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closedPort := closed.Addr().(*net.TCPAddr).Port
		closed.Close()

		cases := []struct {
			name   string
			target Target
			want   ErrorKind
			detail string
		}{
			{"refused", Target{Host: "127.0.0.1", Port: closedPort, Paths: []string{"/"}}, Refused, "refused"},
			{"reset", startServer(t, reset).target(), Reset, "reset"},
			{"timeout", hanging.target(), Timeout, "timeout"},
			{"closed without response", startServer(t, func(c net.Conn, _ string) { c.Close() }).target(), Other, "before any response byte"},
			{"truncated body", startServer(t, func(c net.Conn, _ string) {
				fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..")
				c.Close()
			}).target(), Other, "truncated after 10 of 100 bytes"},
			{"malformed status line", startServer(t, func(c net.Conn, _ string) {
				fmt.Fprint(c, "SPDY/9 what\r\n\r\n")
				c.Close()
			}).target(), Other, "malformed status line"},
			{"cut in the headers", startServer(t, func(c net.Conn, _ string) {
				fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Le")
				c.Close()
			}).target(), Other, "unexpected EOF"},
			{"unresolvable host", Target{Host: "no-such-host.test", Port: 80, Paths: []string{"/"}}, Other, "no such host"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				run := execute(t, tc.target, Options{Requests: 3, Timeout: 2 * time.Second})
				for _, r := range run.Results {
					if r.Err != tc.want || !strings.Contains(r.Detail, tc.detail) {
						t.Errorf("request %d: %q %q, want %q containing %q", r.Seq, r.Err, r.Detail, tc.want, tc.detail)
					}
					// No byte came back, so there is no first byte to time.
					if tc.name == "closed without response" && r.FirstByte != 0 {
						t.Errorf("request %d: first byte after %v, though none came", r.Seq, r.FirstByte)
					}
				}
			})
		}
	})
}

func TestTimeoutIsPerRequest(t *testing.T) {
	engines(t, func(t *testing.T) {
		srv := startServer(t, hang)
		run := execute(t, srv.target(), Options{Requests: 2, Timeout: 200 * time.Millisecond})
		for _, r := range run.Results {
			if l := r.Latency(); l < 200*time.Millisecond || l > 2*time.Second {
				t.Errorf("timed out after %v, want about 200ms", l)
			}
		}
	})
}

func TestBodyWithoutContentLength(t *testing.T) {
	engines(t, func(t *testing.T) {
		body := strings.Repeat("x", 10000)
		srv := startServer(t, func(c net.Conn, _ string) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"+body)
			c.Close()
		})
		run := execute(t, srv.target(), Options{Requests: 2})
		for _, r := range run.Results {
			if r.Status != 200 || r.Bytes != int64(len(body)) {
				t.Errorf("status %d bytes %d, want 200 and %d", r.Status, r.Bytes, len(body))
			}
		}
	})
}

// The cap holds when requests are paced too (a spread), not only when they
// all start at once: requests due while three are in flight wait.
func TestConcurrencyCapWithSpread(t *testing.T) {
	engines(t, func(t *testing.T) {
		srv := startServer(t, func(c net.Conn, _ string) {
			time.Sleep(60 * time.Millisecond)
			respond(c, 200, "ok")
		})
		execute(t, srv.target(), Options{Requests: 12, Concurrency: 3, Spread: 120 * time.Millisecond})
		if _, maxOpen, _ := srv.stats(); maxOpen > 3 {
			t.Errorf("server saw %d connections at once with -c 3", maxOpen)
		}
	})
}

func TestConcurrencyCap(t *testing.T) {
	engines(t, func(t *testing.T) {
		srv := startServer(t, func(c net.Conn, _ string) {
			time.Sleep(40 * time.Millisecond)
			respond(c, 200, "ok")
		})
		run := execute(t, srv.target(), Options{Requests: 15, Concurrency: 3})
		_, maxOpen, _ := srv.stats()
		if maxOpen > 3 {
			t.Errorf("server saw %d connections at once with -c 3", maxOpen)
		}
		if maxOpen < 2 {
			t.Errorf("server saw at most %d connection at once: the cap is not being used", maxOpen)
		}
		if run.Concurrency != 3 {
			t.Errorf("run concurrency %d", run.Concurrency)
		}
		// Five rounds of three 40 ms requests cannot take less than 200 ms.
		if run.Wall < 200*time.Millisecond {
			t.Errorf("wall %v: more than 3 in flight?", run.Wall)
		}
		// The requests that waited for a slot were sent late, and say so.
		if last := run.Results[len(run.Results)-1]; last.Lateness() < 100*time.Millisecond {
			t.Errorf("last request late by %v only, though it waited for a slot", last.Lateness())
		}
	})
}

func TestSequentialVersusConcurrent(t *testing.T) {
	engines(t, func(t *testing.T) {
		srv := startServer(t, func(c net.Conn, _ string) {
			time.Sleep(30 * time.Millisecond)
			respond(c, 200, "ok")
		})
		seq := execute(t, srv.target(), Options{Requests: 6, Mode: Sequential})
		for i := 1; i < len(seq.Results); i++ {
			if seq.Results[i].Start < seq.Results[i-1].End {
				t.Errorf("sequential request %d started at %v before %d ended at %v",
					i, seq.Results[i].Start, i-1, seq.Results[i-1].End)
			}
		}
		if seq.Wall < 180*time.Millisecond {
			t.Errorf("sequential wall %v for six 30 ms requests", seq.Wall)
		}
		_, maxOpen, _ := srv.stats()
		if maxOpen != 1 {
			t.Errorf("sequential run had %d connections open at once", maxOpen)
		}

		conc := execute(t, srv.target(), Options{Requests: 6, Mode: Concurrent})
		overlap := 0
		for i := 1; i < len(conc.Results); i++ {
			if conc.Results[i].Start < conc.Results[0].End {
				overlap++
			}
		}
		if overlap == 0 {
			t.Error("no concurrent request started before the first one ended")
		}
		if conc.Wall >= seq.Wall {
			t.Errorf("concurrent wall %v not shorter than sequential %v", conc.Wall, seq.Wall)
		}
	})
}

func TestBindCyclesSourceAddresses(t *testing.T) {
	engines(t, func(t *testing.T) {
		// The whole of 127.0.0.0/8 is loopback on Linux; skip where it is not.
		for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
			ln, err := net.Listen("tcp", ip+":0")
			if err != nil {
				t.Skipf("cannot use %s here: %v", ip, err)
			}
			ln.Close()
		}
		srv := startServer(t, ok)
		bind := []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")}
		run := execute(t, srv.target(), Options{Requests: 6, Bind: bind, Mode: Sequential})
		_, _, remotes := srv.stats()
		if len(remotes) != 6 {
			t.Fatalf("server saw %d connections", len(remotes))
		}
		for i, r := range run.Results {
			if r.LocalAddr.Addr() != bind[i%2] {
				t.Errorf("request %d sent from %v, want %v", i, r.LocalAddr, bind[i%2])
			}
			if remotes[i] != bind[i%2] { // sequential: accepted in order
				t.Errorf("server saw connection %d from %v, want %v", i, remotes[i], bind[i%2])
			}
		}
	})
}

func TestBindFailureIsReported(t *testing.T) {
	engines(t, func(t *testing.T) {
		srv := startServer(t, ok)
		// 192.0.2.1 (TEST-NET-1) is not assigned here, so bind fails locally:
		// no packet leaves the machine.
		run := execute(t, srv.target(), Options{Requests: 2, Bind: []netip.Addr{netip.MustParseAddr("192.0.2.1")}})
		for _, r := range run.Results {
			if r.Err != Other || !strings.Contains(r.Detail, "assign") {
				t.Errorf("got %q %q, want other: cannot assign requested address", r.Err, r.Detail)
			}
		}
	})
}

func TestTargetsFromURLs(t *testing.T) {
	ts, err := TargetsFromURLs([]string{
		"http://127.0.0.1:8080/", "http://127.0.0.1:8081/a", "http://127.0.0.1:8080/b%20c?x=1", "http://example.test/",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 {
		t.Fatalf("%d targets, want 3", len(ts))
	}
	if got := ts[0].Paths; !slices.Equal(got, []string{"/", "/b%20c?x=1"}) {
		t.Errorf("paths of the first target %q", got)
	}
	if ts[1].Name() != "http://127.0.0.1:8081" || ts[2].Port != 80 || ts[2].hostHeader() != "example.test" {
		t.Errorf("targets %+v", ts)
	}
	for _, bad := range []string{"https://x/", "ftp://x/", "http:///x", "http://x:0/", "http://x:99999/", "http://u:p@x/", "http://x/#frag"} {
		if _, err := TargetsFromURLs([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestInterruptStopsSending(t *testing.T) {
	engines(t, func(t *testing.T) {
		srv := startServer(t, ok)
		ctx, cancel := context.WithTimeout(engineContext(t), 300*time.Millisecond)
		defer cancel()
		began := time.Now()
		run := Execute(ctx, srv.target(), Options{Requests: 100, Spread: 10 * time.Second, Timeout: time.Second, Mode: Concurrent})
		if elapsed := time.Since(began); elapsed > 3*time.Second {
			t.Errorf("interrupted run took %v", elapsed)
		}
		if !run.Interrupted || len(run.Results) == 0 || len(run.Results) > 10 {
			t.Errorf("interrupted=%v with %d results, want true with a few (one per 100 ms)", run.Interrupted, len(run.Results))
		}
		for i, r := range run.Results {
			// A request in flight at the interrupt is ended and reported
			// as such; every other one was answered.
			aborted := r.Err == Other && strings.Contains(r.Detail, "interrupted")
			if (i > 0 && r.Seq <= run.Results[i-1].Seq) || (r.Status != 200 && !aborted) {
				t.Errorf("result %d: seq %d status %d %q %q", i, r.Seq, r.Status, r.Err, r.Detail)
			}
		}
	})
}

func TestResolvePrefersTheBindFamily(t *testing.T) {
	lookupNetIP = func(context.Context, string, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.1")}, nil
	}
	t.Cleanup(func() { lookupNetIP = net.DefaultResolver.LookupNetIP })
	if ip, _ := Resolve(context.Background(), "localhost", nil); ip.String() != "127.0.0.1" {
		t.Errorf("no bind: %v, want IPv4", ip)
	}
	if ip, _ := Resolve(context.Background(), "localhost", []netip.Addr{netip.MustParseAddr("::1")}); ip.String() != "::1" {
		t.Errorf("bind ::1: %v, want IPv6", ip)
	}
	if ip, _ := Resolve(context.Background(), "::ffff:127.0.0.1", nil); ip.String() != "127.0.0.1" {
		t.Errorf("mapped literal: %v", ip)
	}
}

// OnResult is called once per request and never concurrently, also when
// the epoll engine runs one loop per core: the race detector would flag the
// plain counter, and without it the calls that overlap are counted.
func TestOnResultIsSerial(t *testing.T) {
	engines(t, func(t *testing.T) {
		srv := startServer(t, ok)
		calls := 0
		seen := map[int]bool{}
		var inside, overlaps atomic.Int32
		run := Execute(engineContext(t), srv.target(), Options{
			Requests: 200, Concurrency: 16, Timeout: 5 * time.Second, Mode: Concurrent,
			OnResult: func(r Result) {
				if inside.Add(1) > 1 {
					overlaps.Add(1)
				}
				calls++
				seen[r.Seq] = true
				time.Sleep(100 * time.Microsecond) // widen the window an overlap needs
				inside.Add(-1)
			},
		})
		if calls != 200 || len(seen) != 200 || len(run.Results) != 200 {
			t.Errorf("%d calls for %d distinct requests, %d results", calls, len(seen), len(run.Results))
		}
		if n := overlaps.Load(); n > 0 {
			t.Errorf("%d calls of OnResult overlapped another", n)
		}
	})
}

// The epoll engine runs where it exists, unless the context asks for the
// portable one; Run says which ran.
func TestEngineThatRan(t *testing.T) {
	srv := startServer(t, ok)
	want := map[bool]string{true: "epoll", false: "net"}[hasEpoll]
	if run := execute(t, srv.target(), Options{Requests: 3}); run.Engine != want {
		t.Errorf("engine %q ran, want %q", run.Engine, want)
	}
	if run := Execute(withPortableEngine(context.Background()), srv.target(), Options{Requests: 3, Timeout: 5 * time.Second, Mode: Concurrent}); run.Engine != "net" {
		t.Errorf("engine %q ran when the net one was asked for", run.Engine)
	}
}
