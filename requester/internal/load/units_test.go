package load

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// Served counts the 200s, and nothing else.
func TestServed(t *testing.T) {
	run := Run{Results: []Result{{Status: 200}, {Status: 404}, {Status: 200}, {Err: Reset}, {Status: 503}, {Status: 200}}}
	if n := run.Served(); n != 3 {
		t.Errorf("Served() = %d, want 3", n)
	}
	if n := (Run{}).Served(); n != 0 {
		t.Errorf("no results: Served() = %d", n)
	}
}

// The in-flight limit: -c when it is below the requests, else the
// requests; 1 when sequential, whatever -c says.
func TestPlanLimit(t *testing.T) {
	for _, c := range []struct {
		mode        Mode
		requests, c int
		want        int
	}{
		{Concurrent, 10, 0, 10}, {Concurrent, 10, 3, 3}, {Concurrent, 10, 9, 9}, {Concurrent, 10, 10, 10}, {Concurrent, 10, 20, 10},
		{Sequential, 10, 0, 1}, {Sequential, 10, 3, 1}, {Sequential, 10, 20, 1},
	} {
		if got := fakePlan(Options{Mode: c.mode, Requests: c.requests, Concurrency: c.c}).limit; got != c.want {
			t.Errorf("%s, %d requests, -c %d: limit %d, want %d", c.mode, c.requests, c.c, got, c.want)
		}
	}
}

// The Host header leaves out port 80, and keeps an IPv6 literal bracketed
// with or without its port.
func TestHostHeader(t *testing.T) {
	for _, c := range []struct {
		host string
		port int
		want string
	}{
		{"example.test", 80, "example.test"}, {"example.test", 8080, "example.test:8080"},
		{"::1", 80, "[::1]"}, {"::1", 8080, "[::1]:8080"}, {"127.0.0.1", 80, "127.0.0.1"},
	} {
		if got := (Target{Host: c.host, Port: c.port}).hostHeader(); got != c.want {
			t.Errorf("%s port %d: Host %q, want %q", c.host, c.port, got, c.want)
		}
	}
}

// Target.Resolve adds the port to the address, or says why there is none.
func TestTargetResolve(t *testing.T) {
	fail := errors.New("lookup no-such-host.test: no such host")
	lookupNetIP = func(_ context.Context, _, host string) ([]netip.Addr, error) {
		if host == "no-such-host.test" {
			return nil, fail
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.2")}, nil
	}
	t.Cleanup(func() { lookupNetIP = defaultLookup })
	if ap, err := (Target{Host: "no-such-host.test", Port: 80}).Resolve(context.Background(), nil); !errors.Is(err, fail) || ap.IsValid() {
		t.Errorf("unresolvable: %v, %v", ap, err)
	}
	if ap, err := (Target{Host: "localhost", Port: 8080}).Resolve(context.Background(), nil); err != nil || ap.String() != "127.0.0.2:8080" {
		t.Errorf("localhost: %v, %v", ap, err)
	}
}

var defaultLookup = lookupNetIP

// Ports run from 1 to 65535.
func TestTargetPortBounds(t *testing.T) {
	for _, c := range []struct {
		url string
		ok  bool
	}{{"http://x:1/", true}, {"http://x:65535/", true}, {"http://x:0/", false}, {"http://x:65536/", false}} {
		ts, err := TargetsFromURLs([]string{c.url})
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.url, err)
		}
		if c.ok && err == nil && ts[0].HostPort() != c.url[len("http://"):len(c.url)-1] {
			t.Errorf("%s: %s", c.url, ts[0].HostPort())
		}
	}
}

// A path is sent byte for byte, so a space or a control character (which
// would break the request line) is refused; everything else printable is
// kept.
func TestValidatePath(t *testing.T) {
	for p, ok := range map[string]bool{
		"/": true, "/~a!$%2e": true, "/\x80é": true,
		"a": false, "": false, "/a b": false, "/a\x1f": false, "/a\x00": false, "/a\x7f": false, "/a\t": false,
	} {
		if err := ValidatePath(p); (err == nil) != ok {
			t.Errorf("ValidatePath(%q) = %v", p, err)
		}
	}
}

// A shard of a schedule with no request is due at 0, and so is request 0.
func TestScheduleDueEdges(t *testing.T) {
	if got := (Schedule{N: 0, Spread: time.Second, Shard: 1, Shards: 2}).Due(0); got != 0 {
		t.Errorf("no requests: Due(0) = %v", got)
	}
	if got := (Schedule{N: 4, Spread: -time.Second}).Due(2); got != 0 {
		t.Errorf("negative spread: Due(2) = %v", got)
	}
	if got := (Schedule{N: 4, Spread: time.Second, Shard: 1, Shards: 2}).Due(1); got != 750*time.Millisecond {
		t.Errorf("shard 1/2: Due(1) = %v, want 750ms (request 3 of 4)", got)
	}
	if got := (Schedule{N: 3, Shard: 3, Shards: 4}).Count(); got != 0 {
		t.Errorf("shard 3/4 of 3 requests: Count() = %d", got)
	}
}

// The fields of a run that no request changes: the schedule's last due
// time ((r−1)·t/r), the counts, and "not interrupted" when every request
// was sent, in either engine and mode. The requests are refused at once.
func TestRunFields(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	engines(t, func(t *testing.T) {
		for _, mode := range []Mode{Concurrent, Sequential} {
			run := Execute(engineContext(t), Target{Host: "127.0.0.1", Port: port, Paths: []string{"/"}},
				Options{Requests: 4, Spread: 4 * time.Millisecond, Timeout: 5 * time.Second, Mode: mode})
			if run.LastDue != 3*time.Millisecond || run.Requests != 4 || run.RunRequests != 4 || run.Shards != 1 ||
				run.Interrupted || run.Anchored || len(run.Results) != 4 || run.Address != "127.0.0.1:"+strconv.Itoa(port) {
				t.Errorf("%s: last due %v, requests %d of %d, shards %d, interrupted %v, anchored %v, %d results, address %q",
					mode, run.LastDue, run.Requests, run.RunRequests, run.Shards, run.Interrupted, run.Anchored, len(run.Results), run.Address)
			}
			if want := map[Mode]int{Concurrent: 0, Sequential: 1}[mode]; run.Concurrency != want {
				t.Errorf("%s: concurrency %d, want %d", mode, run.Concurrency, want)
			}
		}
	})
}

func TestLatencyAndLateness(t *testing.T) {
	r := Result{Scheduled: 2 * time.Millisecond, Start: 5 * time.Millisecond, End: 9 * time.Millisecond}
	if r.Latency() != 4*time.Millisecond || r.Lateness() != 3*time.Millisecond {
		t.Errorf("latency %v, lateness %v; want 4ms and 3ms", r.Latency(), r.Lateness())
	}
}

// The real clock's sleep never returns before its time, whether the time is
// past, within the spin window or beyond it, and returns false once the
// context is done.
func TestRealClockSleepUntil(t *testing.T) {
	var clk realClock
	ctx := context.Background()
	for _, d := range []time.Duration{-time.Second, 0, 100 * time.Microsecond, spinWindow, 3 * time.Millisecond} {
		at := time.Now().Add(d)
		if !clk.SleepUntil(ctx, at) {
			t.Errorf("%v: false without a cancel", d)
		}
		if now := time.Now(); now.Before(at) {
			t.Errorf("%v: returned %v early", d, at.Sub(now))
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	for _, d := range []time.Duration{100 * time.Microsecond, time.Hour} {
		if clk.SleepUntil(done, time.Now().Add(d)) {
			t.Errorf("%v ahead, context done: true", d)
		}
	}
}
