package ratelimit

import (
	"cmp"
	"slices"
	"time"

	"httplab/httplab-server/internal/clientid"
)

// Window is one client's sliding window at an instant, for display.
type Window struct {
	Key clientid.Key
	// Admitted is how many of the key's admissions fall in the window
	// ending at the instant asked about: at most the limit.
	Admitted int
	// Wait is how long a request arriving at that instant would wait to
	// be admitted: 0 while Admitted < limit; otherwise the time until the
	// oldest admission leaves the window. A request refused then carries
	// Retry-After: RetryAfterSeconds(Wait).
	Wait time.Duration
	// Since is the time since the key's newest admission.
	Since time.Duration
}

// Windows reports the clients with at least one admission in the window
// ending at now: how many there are, and the n fullest (most admissions,
// then most recently admitted first). It only reads: no key is evicted and
// no clock is advanced, so watching cannot change what the limiter decides.
//
// The cost is proportional to the clients active in the window, not to all
// keys tracked: each shard's list is ordered by newest admission, so the walk
// from its tail stops at the first key with nothing left in the window. Each
// shard's lock is held only for its own walk.
func (l *Limiter) Windows(now time.Time, n int) (active int, top []Window) {
	if l.limit == 0 || n < 0 {
		return 0, nil
	}
	tc := int64(now.Sub(l.epoch))
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		t := max(tc, s.latest) // as Allow would see the instant
		cutoff := cutoffAt(t, l.window)
		for j := s.tail; j != none && s.slots[j].newest > cutoff; j = s.slots[j].prev {
			active++
			e := &s.slots[j]
			w := Window{Key: e.key, Admitted: e.inWindow(cutoff), Since: time.Duration(t - e.newest)}
			if w.Admitted >= l.limit {
				w.Wait = time.Duration(e.times[e.start] - cutoff + (t - tc))
			}
			top = keepTop(top, w, n)
		}
		s.mu.Unlock()
	}
	slices.SortFunc(top, fuller)
	return active, top
}

// inWindow counts the admissions after cutoff. The ring is in time order,
// oldest first, so a binary search finds the first one inside.
func (e *slot) inWindow(cutoff int64) int {
	n := len(e.times)
	at := func(k int) int64 { return e.times[(e.start+k)%n] }
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if at(mid) > cutoff {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return n - lo
}

// fuller orders windows for display: most admissions first, then the most
// recently admitted, then by key so that the order is stable.
func fuller(a, b Window) int {
	if c := cmp.Compare(b.Admitted, a.Admitted); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Since, b.Since); c != 0 {
		return c
	}
	return a.Key.Addr.Compare(b.Key.Addr)
}

// keepTop adds w to top, keeping at most n of the fullest. n is small (a
// page's worth), so replacing the least full by a scan is cheap enough.
func keepTop(top []Window, w Window, n int) []Window {
	if len(top) < n {
		return append(top, w)
	}
	if n == 0 {
		return top
	}
	least := 0
	for i := 1; i < len(top); i++ {
		if fuller(top[i], top[least]) > 0 {
			least = i
		}
	}
	if fuller(w, top[least]) < 0 {
		top[least] = w
	}
	return top
}
