package load

import (
	"context"
	"errors"
	"net/netip"
	"testing"
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
