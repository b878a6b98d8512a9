package admit

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"httplab/httplab-server/internal/clientid"
)

func key(i int) clientid.Key {
	return clientid.Of(clientid.ByIP, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 1234))
}

func TestVerdictString(t *testing.T) {
	for v, want := range map[Verdict]string{Admitted: "admitted", RefusedTotal: "total_cap", RefusedClient: "client_cap", 9: "Verdict(9)"} {
		if got := v.String(); got != want {
			t.Errorf("%d.String() = %q; want %q", v, got, want)
		}
	}
}

func TestCaps(t *testing.T) {
	a := New(3, 2)
	if mt, mc := a.Limits(); mt != 3 || mc != 2 {
		t.Fatalf("Limits() = %d, %d", mt, mc)
	}
	x, y, z := key(1), key(2), key(3)
	steps := []struct {
		k    clientid.Key
		want Verdict
	}{
		{x, Admitted}, {x, Admitted}, {x, RefusedClient}, {y, Admitted},
		// Total is full (3) and x is also at its cap: total is reported.
		{x, RefusedTotal}, {z, RefusedTotal},
	}
	for i, s := range steps {
		if got := a.Admit(s.k); got != s.want {
			t.Fatalf("step %d Admit(%v) = %v; want %v", i, s.k, got, s.want)
		}
	}
	s := a.Snapshot()
	if s.Active != 3 || s.Peak != 3 || s.PeakPerClient != 2 || s.Accepted != 3 || s.RejectedTotal != 2 || s.RejectedClient != 1 {
		t.Errorf("snapshot %+v", s)
	}
	if len(s.Clients) != 2 || s.Clients["10.0.0.1"] != 2 || s.Clients["10.0.0.2"] != 1 {
		t.Errorf("clients %v", s.Clients)
	}
	// A refusal must not have taken anything: after one release z fits.
	a.Release(y)
	if got := a.Admit(z); got != Admitted {
		t.Errorf("after release Admit(z) = %v", got)
	}
	a.Release(x)
	if got := a.Admit(x); got != Admitted {
		t.Errorf("after release Admit(x) = %v", got)
	}
	a.Release(x)
	a.Release(x)
	a.Release(z)
	s = a.Snapshot()
	if s.Active != 0 || len(s.Clients) != 0 || len(a.perClient) != 0 || s.Spurious != 0 {
		t.Errorf("not back to zero: %+v, map %v", s, a.perClient)
	}
	if s.Peak != 3 || s.Accepted != 5 {
		t.Errorf("history lost: %+v", s)
	}
}

func TestUnlimited(t *testing.T) {
	for _, c := range []struct{ total, client int }{{0, 0}, {0, 2}, {2, 0}, {-1, -1}} {
		a := New(c.total, c.client)
		var admitted int
		for i := range 100 {
			if a.Admit(key(i%3)) == Admitted {
				admitted++
			}
		}
		want := 100
		switch {
		case c.total > 0:
			want = c.total
		case c.client > 0:
			want = 3 * c.client
		}
		if admitted != want {
			t.Errorf("New(%d, %d): %d admitted; want %d", c.total, c.client, admitted, want)
		}
	}
}

func TestSpurious(t *testing.T) {
	a := New(2, 1)
	a.Release(key(1)) // never admitted
	if a.Admit(key(1)) != Admitted {
		t.Fatal("admit failed")
	}
	a.Release(key(1))
	a.Release(key(1)) // double release
	s := a.Snapshot()
	if s.Spurious != 2 || s.Active != 0 || len(s.Clients) != 0 {
		t.Fatalf("snapshot %+v", s)
	}
	// Counts did not go negative: the caps still hold exactly.
	if a.Admit(key(1)) != Admitted || a.Admit(key(1)) != RefusedClient || a.Admit(key(2)) != Admitted || a.Admit(key(3)) != RefusedTotal {
		t.Fatalf("caps wrong after spurious releases: %+v", a.Snapshot())
	}
}

// TestHammer runs many goroutines through Admit/Release on a few keys and
// checks both caps at every change (under the lock), then that everything
// returns to zero.
func TestHammer(t *testing.T) {
	const (
		maxTotal, maxClient = 10, 3
		workers, iters      = 32, 2000
		clients             = 6
	)
	a := New(maxTotal, maxClient)
	var violations atomic.Int64
	a.onChange = func(active, client int) {
		if active > maxTotal || client > maxClient || active < 0 || client < 0 {
			violations.Add(1)
		}
	}
	var wg sync.WaitGroup
	var admitted, refused atomic.Uint64
	for w := range workers {
		wg.Go(func() {
			held := make([]clientid.Key, 0, 4)
			for i := range iters {
				k := key((w + i) % clients)
				if a.Admit(k) == Admitted {
					admitted.Add(1)
					held = append(held, k)
					// Let the others in while this one holds: run one
					// after another, the workers would never meet a cap.
					runtime.Gosched()
				} else {
					refused.Add(1)
				}
				// Hold up to a few slots so the caps actually bind.
				if len(held) == cap(held) || i%3 == 0 {
					for _, h := range held {
						a.Release(h)
					}
					held = held[:0]
				}
			}
			for _, h := range held {
				a.Release(h)
			}
		})
	}
	wg.Wait()
	s := a.Snapshot()
	if v := violations.Load(); v != 0 {
		t.Errorf("%d cap violations observed", v)
	}
	if s.Peak > maxTotal || s.PeakPerClient > maxClient {
		t.Errorf("peaks over caps: %+v", s)
	}
	if s.Active != 0 || len(s.Clients) != 0 || len(a.perClient) != 0 || s.Spurious != 0 {
		t.Errorf("not back to zero: %+v", s)
	}
	if s.Accepted != admitted.Load() || s.RejectedTotal+s.RejectedClient != refused.Load() {
		t.Errorf("counters %+v; callers saw %d admitted, %d refused", s, admitted.Load(), refused.Load())
	}
	if s.RejectedTotal == 0 || s.RejectedClient == 0 {
		t.Errorf("caps never bound, test proves nothing: %+v", s)
	}
}

// TestExactlyMax mirrors x/net's LimitListener test: max+k try at once while
// nobody releases, and exactly max get in.
func TestExactlyMax(t *testing.T) {
	for _, c := range []struct {
		name               string
		total, client      int
		keys, tries, admit int
	}{
		{"total", 20, 0, 1000, 70, 20},
		{"client", 0, 7, 1, 50, 7},
		{"both", 20, 3, 5, 80, 15},
		{"total-binds-first", 10, 3, 5, 80, 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := New(c.total, c.client)
			start := make(chan struct{})
			var wg sync.WaitGroup
			var admitted atomic.Int64
			for i := range c.tries {
				wg.Go(func() {
					<-start
					if a.Admit(key(i%c.keys)) == Admitted {
						admitted.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if got := admitted.Load(); got != int64(c.admit) {
				t.Errorf("%d admitted; want exactly %d", got, c.admit)
			}
			s := a.Snapshot()
			if s.Active != c.admit || s.Accepted != uint64(c.admit) ||
				s.RejectedTotal+s.RejectedClient != uint64(c.tries-c.admit) {
				t.Errorf("snapshot %+v", s)
			}
		})
	}
}

// TestAllocs: the accept path must not allocate once the map has room.
func TestAllocs(t *testing.T) {
	a := New(100, 10)
	k := key(1)
	if n := testing.AllocsPerRun(1000, func() {
		a.Admit(k)
		a.Release(k)
	}); n != 0 {
		t.Errorf("Admit+Release, one key: %v allocs; want 0", n)
	}
	// Fresh keys each time: the slot a deleted key leaves is reused.
	i := 0
	if n := testing.AllocsPerRun(10000, func() {
		k := key(i)
		i++
		a.Admit(k)
		a.Release(k)
	}); n != 0 {
		t.Errorf("Admit+Release, fresh keys: %v allocs; want 0", n)
	}
	// Many held keys, churning: the map stays at its high-water size.
	for j := range 50 {
		a.Admit(key(1_000_000 + j))
	}
	if n := testing.AllocsPerRun(10000, func() {
		k := key(i)
		i++
		a.Admit(k)
		a.Release(k)
	}); n != 0 {
		t.Errorf("Admit+Release, fresh keys beside 50 held: %v allocs; want 0", n)
	}
}

func BenchmarkAdmitRelease(b *testing.B) {
	b.Run("same-key", func(b *testing.B) {
		a := New(60, 12)
		k := key(1)
		b.ReportAllocs()
		for b.Loop() {
			a.Admit(k)
			a.Release(k)
		}
	})
	b.Run("fresh-keys", func(b *testing.B) {
		a := New(60, 12)
		for j := range 50 {
			a.Admit(key(1 << 20 * (j + 1)))
		}
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			k := key(i)
			i++
			a.Admit(k)
			a.Release(k)
		}
	})
	for _, keys := range []int{1, 64} {
		b.Run(fmt.Sprintf("parallel-%dkeys", keys), func(b *testing.B) {
			a := New(0, 0)
			var next atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				k := key(int(next.Add(1)) % keys)
				for pb.Next() {
					a.Admit(k)
					a.Release(k)
				}
			})
		})
	}
}

func BenchmarkSnapshot(b *testing.B) {
	a := New(0, 0)
	for i := range 60 {
		a.Admit(key(i))
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Snapshot()
	}
}
