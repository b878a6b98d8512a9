package load

import (
	"net"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"
)

// The union of the n shards of a schedule is the undivided schedule: every
// index exactly once, each at its undivided due time, and a shard's
// requests are exactly those with i mod n = k.
func TestShardsUnionIsTheUndividedSchedule(t *testing.T) {
	for _, c := range []struct {
		n      int
		spread time.Duration
		shards int
	}{{20, 4100 * time.Millisecond, 4}, {20, 4100 * time.Millisecond, 3}, {7, time.Second, 7}, {5, time.Second, 8}, {1000, 10 * time.Second, 6}, {3, 0, 2}} {
		whole := Schedule{N: c.n, Spread: c.spread}
		seen := make([]int, c.n)
		total := 0
		for k := range c.shards {
			s := Schedule{N: c.n, Spread: c.spread, Shard: k, Shards: c.shards}
			total += s.Count()
			for j := range s.Count() {
				i := s.Seq(j)
				if i%c.shards != k || i < 0 || i >= c.n {
					t.Fatalf("%+v: request %d of shard %d is index %d", c, j, k, i)
				}
				if s.Due(j) != whole.Due(i) {
					t.Errorf("%+v: index %d due at %v in shard %d, %v undivided", c, i, s.Due(j), k, whole.Due(i))
				}
				seen[i]++
			}
		}
		if total != c.n {
			t.Errorf("%+v: the shards count %d requests, want %d", c, total, c.n)
		}
		for i, n := range seen {
			if n != 1 {
				t.Errorf("%+v: index %d sent by %d shards", c, i, n)
			}
		}
	}
	// No shard, or one: the whole schedule.
	for _, s := range []Schedule{{N: 10, Spread: time.Second}, {N: 10, Spread: time.Second, Shards: 1}} {
		if s.Count() != 10 || s.Seq(9) != 9 {
			t.Errorf("%+v: count %d, seq(9) %d", s, s.Count(), s.Seq(9))
		}
	}
}

// Real shards against a real server, anchored at one instant: together
// they send the undivided run's requests (each index once, its path, its
// due time from the shared zero), and each reports its own lateness.
func TestShardsAgainstServer(t *testing.T) {
	engines(t, func(t *testing.T) {
		// The body is the path asked for, so bytes say which path was sent.
		srv := startServer(t, func(c net.Conn, path string) { respond(c, 200, path) })
		const n, shards = 12, 3
		spread := 600 * time.Millisecond
		start := time.Now().Add(300 * time.Millisecond).Round(time.Millisecond)
		whole := Schedule{N: n, Spread: spread}
		var all []Result
		for k := range shards {
			run := Execute(engineContext(t), srv.target("/a", "/bb", "/ccc"), Options{
				Requests: n, Spread: spread, Shard: k, Shards: shards, StartAt: start,
				Mode: Concurrent, Timeout: 5 * time.Second,
				Bind: []netip.Addr{netip.MustParseAddr("127.0.0." + strconv.Itoa(2+k))},
			})
			if !run.Began.Equal(start) || !run.Anchored || run.Shard != k || run.Shards != shards || run.RunRequests != n {
				t.Errorf("shard %d: began %v (want %v), anchored %v, shard %d/%d of %d", k, run.Began, start, run.Anchored, run.Shard, run.Shards, run.RunRequests)
			}
			if run.Requests != n/shards || len(run.Results) != n/shards || run.Interrupted {
				t.Fatalf("shard %d: %d requests, %d results, interrupted %v", k, run.Requests, len(run.Results), run.Interrupted)
			}
			for _, r := range run.Results {
				if r.Seq%shards != k || r.Scheduled != whole.Due(r.Seq) {
					t.Errorf("shard %d: seq %d scheduled at %v, undivided %v", k, r.Seq, r.Scheduled, whole.Due(r.Seq))
				}
				path := []string{"/a", "/bb", "/ccc"}[r.Seq%3]
				if want := srv.target().Name() + path; r.URL != want || r.Bytes != int64(len(path)) {
					t.Errorf("seq %d: url %q and %d bytes, want %q and %d (the undivided run's path)", r.Seq, r.URL, r.Bytes, want, len(path))
				}
				// Generous: not early, and not a second late on a loaded machine.
				if r.Lateness() < 0 || r.Lateness() > time.Second || r.Status != 200 {
					t.Errorf("seq %d: late %v, status %d", r.Seq, r.Lateness(), r.Status)
				}
				if got := r.LocalAddr.Addr().String(); got != "127.0.0."+strconv.Itoa(2+k) {
					t.Errorf("seq %d of shard %d sent from %s", r.Seq, k, got)
				}
			}
			all = append(all, run.Results...)
		}
		slices.SortFunc(all, func(a, b Result) int { return a.Seq - b.Seq })
		for i, r := range all {
			if r.Seq != i {
				t.Fatalf("the union of the shards has seq %d at %d", r.Seq, i)
			}
		}
		if conns, _, _ := srv.stats(); conns != n {
			t.Errorf("server saw %d connections, want %d", conns, n)
		}
	})
}

// A start instant already past is the schedule's zero all the same: the
// requests already due leave at once and say how late they are.
func TestStartAtInThePast(t *testing.T) {
	engines(t, func(t *testing.T) {
		srv := startServer(t, ok)
		start := time.Now().Add(-200 * time.Millisecond)
		run := Execute(engineContext(t), srv.target("/"), Options{
			Requests: 4, Spread: 400 * time.Millisecond, StartAt: start, Mode: Concurrent, Timeout: 5 * time.Second,
		})
		if len(run.Results) != 4 || !run.Began.Equal(start) {
			t.Fatalf("%d results, began %v", len(run.Results), run.Began)
		}
		if r := run.Results[0]; r.Lateness() < 150*time.Millisecond {
			t.Errorf("request 0, due 200 ms ago, late by %v", r.Lateness())
		}
	})
}
