package ratelimit

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"httplab/httplab-server/internal/clientid"
)

func mustNew(t testing.TB, o Options) *Limiter {
	t.Helper()
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestNewValidates(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string // "" = valid
	}{
		{Options{}, ""},
		{Options{Limit: 0, Window: -1}, ""}, // off: window irrelevant
		{Options{Limit: 5, Window: time.Second}, ""},
		{Options{Limit: -1, Window: time.Second}, "rate limit -1"},
		{Options{Limit: 5}, "rate window 0s"},
		{Options{Limit: 5, Window: -time.Second}, "rate window -1s"},
		{Options{Limit: 5, Window: time.Second, MaxKeys: -1}, "max keys -1"},
	} {
		_, err := New(c.o)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("New(%+v): %v", c.o, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("New(%+v) error %v; want one containing %q", c.o, err, c.want)
		}
	}
	l := mustNew(t, Options{Limit: 5, Window: time.Second})
	if o := l.Options(); o.MaxKeys != DefaultMaxKeys || o.Limit != 5 || o.Window != time.Second {
		t.Errorf("Options() = %+v", o)
	}
}

func TestShardCapsSumToMaxKeys(t *testing.T) {
	for _, mk := range []int{1, 7, 511, 512, 1000, 32767, DefaultMaxKeys, 1 << 20} {
		l := mustNew(t, Options{Limit: 1, Window: time.Second, MaxKeys: mk})
		sum := 0
		for i := range l.shards {
			sum += l.shards[i].cap
			if l.shards[i].cap < 1 {
				t.Errorf("MaxKeys %d: shard %d has cap %d", mk, i, l.shards[i].cap)
			}
		}
		if sum != mk || len(l.shards) > maxShards {
			t.Errorf("MaxKeys %d: %d shards, caps sum to %d", mk, len(l.shards), sum)
		}
	}
}

func TestOff(t *testing.T) {
	l := mustNew(t, Options{Limit: 0})
	now := time.Now()
	for i := range 1000 {
		if ok, retry := l.Allow(keyN(i%3), now); !ok || retry != 0 {
			t.Fatalf("limiter off refused: %v %v", ok, retry)
		}
	}
	if l.Len() != 0 || l.Sweep(now) != 0 {
		t.Errorf("limiter off tracks keys: Len %d", l.Len())
	}
}

// TestSpreadAllAdmitted is the lab's reference scenario: 20 requests spread
// evenly over 4.1 s (0.205 s apart) with 5 per 1 s are all admitted...
func TestSpreadAllAdmitted(t *testing.T) {
	l := mustNew(t, Options{Limit: 5, Window: time.Second})
	base := time.Now()
	for i := range 20 {
		at := base.Add(time.Duration(i) * 4100 * time.Millisecond / 20)
		if ok, retry := l.Allow(keyN(1), at); !ok {
			t.Errorf("request %d at +%v refused (retry %v)", i, at.Sub(base), retry)
		}
	}
	// ... and so are 0.2 s apart: the admission exactly 1 s ago has left
	// the half-open window (now-1s, now].
	l = mustNew(t, Options{Limit: 5, Window: time.Second})
	for i := range 20 {
		if ok, _ := l.Allow(keyN(1), base.Add(time.Duration(i)*200*time.Millisecond)); !ok {
			t.Errorf("request %d at 0.2 s spacing refused", i)
		}
	}
}

// ...while a burst of 20 gets exactly 5.
func TestBurstExactlyLimit(t *testing.T) {
	l := mustNew(t, Options{Limit: 5, Window: time.Second})
	now := time.Now()
	admitted := 0
	for i := range 20 {
		ok, retry := l.Allow(keyN(1), now.Add(time.Duration(i)*time.Millisecond))
		if ok {
			admitted++
		} else if want := time.Second - time.Duration(i)*time.Millisecond; retry != want {
			t.Errorf("request %d: retry %v; want %v", i, retry, want)
		}
	}
	if admitted != 5 {
		t.Errorf("burst of 20: %d admitted; want 5", admitted)
	}
}

func TestRefusedNotCounted(t *testing.T) {
	l := mustNew(t, Options{Limit: 2, Window: time.Second})
	base := time.Now()
	ms := func(n int) time.Time { return base.Add(time.Duration(n) * time.Millisecond) }
	for _, s := range []struct {
		at int
		ok bool
	}{
		{0, true}, {100, true},
		{500, false}, {900, false}, {999, false}, // knocking while throttled
		{1000, true},  // 0 ms left the window; the refusals did not fill it
		{1050, false}, // 100 ms still in
		{1100, true},
		{1999, false},
		{2000, true},
	} {
		if ok, _ := l.Allow(keyN(1), ms(s.at)); ok != s.ok {
			t.Errorf("at %d ms: ok=%v; want %v", s.at, ok, s.ok)
		}
	}
}

// TestRetryAfterExact: a request exactly retryAfter later is admitted, one
// nanosecond earlier is not, for throttled keys and for a full table.
func TestRetryAfterExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		limit := 1 + r.IntN(6)
		window := time.Duration(1+r.IntN(1000)) * time.Millisecond
		l := mustNew(t, Options{Limit: limit, Window: window, MaxKeys: 1 + r.IntN(3)})
		now := l.epoch
		var k clientid.Key
		for {
			k = keyN(r.IntN(5))
			now = now.Add(time.Duration(r.Int64N(int64(window) / 2)))
			if ok, retry := l.Allow(k, now); !ok {
				if retry <= 0 {
					t.Fatalf("trial %d: refused with retry %v", trial, retry)
				}
				if ok, _ := l.Allow(k, now.Add(retry-1)); ok {
					t.Fatalf("trial %d: admitted 1ns before retryAfter %v", trial, retry)
				}
				if ok, _ := l.Allow(k, now.Add(retry)); !ok {
					t.Fatalf("trial %d: refused at retryAfter %v", trial, retry)
				}
				break
			}
		}
	}
}

func TestKeysIndependent(t *testing.T) {
	l := mustNew(t, Options{Limit: 3, Window: time.Second})
	now := time.Now()
	a, b := keyN(1), keyN(2)
	for range 3 {
		l.Allow(a, now)
	}
	if ok, _ := l.Allow(a, now); ok {
		t.Fatal("a not throttled")
	}
	for i := range 3 {
		if ok, _ := l.Allow(b, now); !ok {
			t.Fatalf("b request %d refused while only a is throttled", i)
		}
	}
	// IPv6 clients share a limit per /64 (the key does the grouping).
	v6a := clientid.Of(clientid.ByIP, netipAP("[2001:db8::1]:1"))
	v6b := clientid.Of(clientid.ByIP, netipAP("[2001:db8::2]:1"))
	for range 3 {
		l.Allow(v6a, now)
	}
	if ok, _ := l.Allow(v6b, now); ok {
		t.Error("another address in the same /64 escaped the limit")
	}
}

// TestMatchesModel checks random traffic against the brute-force model,
// decision by decision, and that no trailing window ever holds more than
// Limit admissions.
func TestMatchesModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for trial := range 60 {
		limit := 1 + r.IntN(6)
		if trial%10 == 9 {
			limit = 20 + r.IntN(30) // past initialRing: exercises ring growth
		}
		window := time.Duration(1+r.IntN(2000)) * time.Millisecond
		maxKeys := []int{1, 2, 3, 5, 600, 0}[r.IntN(6)] // 600: two shards
		nkeys := 1 + r.IntN(12)
		l := mustNew(t, Options{Limit: limit, Window: window, MaxKeys: maxKeys})
		m := newModel(l)
		// Mean gap around window/limit/keys so the limit binds often but not always.
		meanGap := int64(window) / int64(limit*nkeys) * 2
		now := l.epoch
		for i := range 3000 {
			k := keyN(r.IntN(nkeys))
			switch r.IntN(20) {
			case 0: // same instant
			case 1: // long idle
				now = now.Add(window + time.Duration(r.Int64N(int64(window))))
			default:
				now = now.Add(time.Duration(r.Int64N(meanGap + 1)))
			}
			tm := int64(now.Sub(l.epoch))
			ok, retry := l.Allow(k, now)
			wantOK, wantRetry := m.allow(k, tm)
			if ok != wantOK || retry != wantRetry {
				t.Fatalf("trial %d (limit %d window %v maxKeys %d) request %d key %v at %v: got %v %v, model %v %v",
					trial, limit, window, maxKeys, i, k, time.Duration(tm), ok, retry, wantOK, wantRetry)
			}
			if i%500 == 0 {
				if n := l.Len(); n > l.maxKeys {
					t.Fatalf("tracking %d keys over cap %d", n, l.maxKeys)
				}
			}
		}
		for k, ts := range m.admitted {
			lo := 0
			for hi := range ts {
				for ts[lo] <= ts[hi]-int64(window) {
					lo++
				}
				if hi-lo+1 > limit {
					t.Fatalf("trial %d key %v: %d admissions in (%v-%v, %v]", trial, k, hi-lo+1, ts[hi], window, ts[hi])
				}
			}
		}
	}
}

func TestMaxKeysFailsClosed(t *testing.T) {
	l := mustNew(t, Options{Limit: 2, Window: time.Second, MaxKeys: 3})
	base := time.Now()
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	for i := range 3 {
		if ok, _ := l.Allow(keyN(i), at(100*i)); !ok {
			t.Fatalf("key %d refused with room", i)
		}
	}
	// Table full of live keys: a new key is refused until the key admitted
	// first (at 0 ms) replenishes at 1000 ms.
	ok, retry := l.Allow(keyN(9), at(500))
	if ok || retry != 500*time.Millisecond {
		t.Fatalf("new key on a full table: %v %v; want refused, 500ms", ok, retry)
	}
	// Known keys are still served normally.
	if ok, _ := l.Allow(keyN(1), at(500)); !ok {
		t.Fatal("known key refused because the table is full")
	}
	if l.Len() != 3 {
		t.Fatalf("Len %d", l.Len())
	}
	if ok, _ := l.Allow(keyN(9), at(999)); ok {
		t.Fatal("new key admitted before any key replenished")
	}
	if ok, _ := l.Allow(keyN(9), at(1000)); !ok {
		t.Fatal("new key refused although key 0 has replenished")
	}
	if l.Len() != 3 {
		t.Fatalf("Len %d after eviction", l.Len())
	}
	// Key 1's newest admission is at 500 ms now, so key 2 (200 ms) is next.
	if ok, retry := l.Allow(keyN(10), at(1000)); ok || retry != 200*time.Millisecond {
		t.Fatalf("second new key: %v %v; want refused, 200ms", ok, retry)
	}
}

// TestEvictionNeverResetsThrottled: no amount of new keys, Sweep or time
// short of the window frees a throttled key's state.
func TestEvictionNeverResetsThrottled(t *testing.T) {
	l := mustNew(t, Options{Limit: 3, Window: time.Second, MaxKeys: 4})
	base := time.Now()
	victim := keyN(0)
	for range 3 {
		l.Allow(victim, base)
	}
	for i := 1; i < 5000; i++ {
		at := base.Add(time.Duration(i) * 150 * time.Microsecond) // up to 750 ms
		l.Allow(keyN(i), at)
		if i%1000 == 0 {
			if l.Sweep(at) != 0 && l.Len() == 0 {
				t.Fatal("sweep emptied the table")
			}
		}
	}
	late := base.Add(999 * time.Millisecond)
	l.Sweep(late)
	if ok, retry := l.Allow(victim, late); ok || retry != time.Millisecond {
		t.Fatalf("throttled key after flood: %v %v; want refused, 1ms", ok, retry)
	}
	if ok, _ := l.Allow(victim, base.Add(time.Second)); !ok {
		t.Fatal("victim refused after the window")
	}
}

func TestSweep(t *testing.T) {
	l := mustNew(t, Options{Limit: 2, Window: time.Second})
	base := time.Now()
	for i := range 1000 {
		l.Allow(keyN(i), base.Add(time.Duration(i)*time.Millisecond))
	}
	if l.Len() != 1000 {
		t.Fatalf("Len %d", l.Len())
	}
	// At 1.5 s, keys admitted at or before 0.5 s are replenished: 0..500.
	if n := l.Sweep(base.Add(1500 * time.Millisecond)); n != 501 {
		t.Errorf("Sweep evicted %d; want 501", n)
	}
	if l.Len() != 499 {
		t.Errorf("Len %d after sweep; want 499", l.Len())
	}
	if n := l.Sweep(base.Add(time.Hour)); n != 499 || l.Len() != 0 {
		t.Errorf("final sweep %d, Len %d", n, l.Len())
	}
}

// TestOpportunisticEviction: idle keys do not pile up without Sweep.
func TestOpportunisticEviction(t *testing.T) {
	l := mustNew(t, Options{Limit: 1, Window: 10 * time.Millisecond})
	base := time.Now()
	for i := range 100_000 {
		// One new key per millisecond: about 10 are live at any time.
		l.Allow(keyN(i), base.Add(time.Duration(i)*time.Millisecond))
	}
	// Eviction is per shard, so a shard that saw no traffic lately keeps
	// its replenished keys until it does; bounded by a few per shard.
	if n := l.Len(); n > 10+2*len(l.shards) {
		t.Errorf("%d keys tracked; want about 10", n)
	}
}

// TestClockClamp: a caller with a stale clock reading is decided as of the
// newest time the shard has seen, and its retryAfter is from its own reading.
func TestClockClamp(t *testing.T) {
	l := mustNew(t, Options{Limit: 1, Window: time.Second, MaxKeys: 10})
	base := time.Now()
	l.Allow(keyN(1), base.Add(2*time.Second))
	ok, retry := l.Allow(keyN(1), base.Add(1500*time.Millisecond))
	if ok || retry != 1500*time.Millisecond {
		t.Errorf("stale caller: %v %v; want refused, 1.5s", ok, retry)
	}
	// A stale admission is recorded at the clamped time, so it keeps counting
	// for a whole window from then.
	l.Allow(keyN(2), base.Add(time.Second))
	if ok, _ := l.Allow(keyN(2), base.Add(2999*time.Millisecond)); ok {
		t.Error("admission recorded at the stale time")
	}
}

// TestConcurrentExact: many goroutines at one instant, several keys: exactly
// Limit admitted per key. Run with -race.
func TestConcurrentExact(t *testing.T) {
	const limit, keys, workers, per = 7, 50, 16, 200
	l := mustNew(t, Options{Limit: limit, Window: time.Minute})
	now := time.Now()
	var admitted [keys]atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				k := (w*per + i) % keys
				if ok, _ := l.Allow(keyN(k), now); ok {
					admitted[k].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for k := range admitted {
		if n := admitted[k].Load(); n != limit {
			t.Errorf("key %d: %d admitted; want %d", k, n, limit)
		}
	}
	if l.Len() != keys {
		t.Errorf("Len %d; want %d", l.Len(), keys)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{
		-time.Second: 1, 0: 1, 1: 1, 999 * time.Millisecond: 1, time.Second: 1,
		time.Second + 1: 2, 1500 * time.Millisecond: 2, 2 * time.Second: 2, 59*time.Second + 1: 60,
	} {
		if got := RetryAfterSeconds(d); got != want {
			t.Errorf("RetryAfterSeconds(%v) = %d; want %d", d, got, want)
		}
	}
}

func TestAllowAllocs(t *testing.T) {
	l := mustNew(t, Options{Limit: 5, Window: time.Second})
	now := time.Now()
	k := keyN(1)
	if n := testing.AllocsPerRun(1000, func() {
		now = now.Add(200 * time.Millisecond) // always admitted: ring turns
		l.Allow(k, now)
	}); n != 0 {
		t.Errorf("admitted path: %v allocs", n)
	}
	if n := testing.AllocsPerRun(1000, func() { l.Allow(k, now) }); n != 0 {
		t.Errorf("refused path: %v allocs", n)
	}
}

// TestMillionKeys floods the limiter with one million distinct clients (the
// default MaxKeys) and checks memory stays bounded and a client throttled
// before the flood is still throttled after it.
func TestMillionKeys(t *testing.T) {
	const (
		flood = 1_000_000
		bound = 200 << 20 // documented bound; measured ~20 MB (see report)
	)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapInuse

	l := mustNew(t, Options{Limit: 5, Window: time.Second})
	base := time.Now()
	victim := clientid.Of(clientid.ByIP, netipAP("192.0.2.1:1"))
	for range 5 {
		l.Allow(victim, base)
	}
	admitted := 0
	for i := range flood {
		// All inside the victim's window: 0.9 s for the lot.
		if ok, _ := l.Allow(keyN(i), base.Add(time.Duration(i)*900*time.Nanosecond)); ok {
			admitted++
		}
	}
	if n := l.Len(); n > DefaultMaxKeys {
		t.Errorf("tracking %d keys, cap %d", n, DefaultMaxKeys)
	}
	if admitted >= DefaultMaxKeys || admitted < DefaultMaxKeys*8/10 {
		t.Errorf("%d flood keys admitted; want just under %d", admitted, DefaultMaxKeys)
	}
	if ok, _ := l.Allow(victim, base.Add(950*time.Millisecond)); ok {
		t.Error("victim un-throttled by the flood")
	}

	// A second flood after the window: the first flood's keys are replaced.
	base2 := base.Add(5 * time.Second)
	for range 5 {
		l.Allow(victim, base2)
	}
	admitted = 0
	for i := range flood {
		if ok, _ := l.Allow(keyN(flood+i), base2.Add(time.Duration(i)*900*time.Nanosecond)); ok {
			admitted++
		}
	}
	if admitted < DefaultMaxKeys*8/10 {
		t.Errorf("second flood: %d admitted; replenished keys were not recycled", admitted)
	}
	if ok, _ := l.Allow(victim, base2.Add(950*time.Millisecond)); ok {
		t.Error("victim un-throttled by the second flood")
	}

	runtime.GC()
	runtime.ReadMemStats(&ms)
	used := int64(ms.HeapInuse) - int64(before)
	t.Logf("heap in use for %d keys (limit 5): %.1f MB; %d tracked", l.Len(), float64(used)/(1<<20), l.Len())
	if used > bound {
		t.Errorf("heap grew by %d MB; bound %d MB", used>>20, bound>>20)
	}
	runtime.KeepAlive(l)
}
