package ratelimit

import (
	"slices"
	"testing"
	"time"
)

func TestWindowsOff(t *testing.T) {
	l := mustNew(t, Options{})
	if active, top := l.Windows(time.Now(), 10); active != 0 || top != nil {
		t.Errorf("limiter off: %d, %v", active, top)
	}
}

// Windows reports what Allow would see: admissions in the window, and for a
// full window the exact wait Allow would return, and never changes a thing.
func TestWindows(t *testing.T) {
	l := mustNew(t, Options{Limit: 5, Window: time.Second})
	t0 := l.epoch.Add(time.Hour)
	a, b, c := keyN(1), keyN(2), keyN(3)
	l.Allow(c, t0) // c: one admission, long gone by t0+2s
	at := t0.Add(2 * time.Second)
	for i := range 7 { // a: 5 admitted 10 ms apart, then 2 refused (not charged)
		l.Allow(a, at.Add(time.Duration(i)*10*time.Millisecond))
	}
	l.Allow(b, at.Add(100*time.Millisecond))
	l.Allow(b, at.Add(200*time.Millisecond))
	now := at.Add(300 * time.Millisecond)

	keys := l.Len()
	active, top := l.Windows(now, 10)
	if active != 2 || len(top) != 2 {
		t.Fatalf("active %d, top %+v; want a and b", active, top)
	}
	if top[0].Key != a || top[0].Admitted != 5 || top[1].Key != b || top[1].Admitted != 2 {
		t.Fatalf("top %+v; want a with 5, then b with 2", top)
	}
	// a's oldest admission (at) leaves the window at at+1s: 700 ms after now.
	if top[0].Wait != 700*time.Millisecond || top[1].Wait != 0 {
		t.Errorf("waits %v and %v; want 700ms and 0", top[0].Wait, top[1].Wait)
	}
	if top[0].Since != 260*time.Millisecond || top[1].Since != 100*time.Millisecond {
		t.Errorf("since %v and %v; want 260ms and 100ms", top[0].Since, top[1].Since)
	}
	if ok, wait := l.Allow(a, now); ok || wait != top[0].Wait {
		t.Errorf("Allow(a) at the same instant: %v %v; Windows said wait %v", ok, wait, top[0].Wait)
	}
	if RetryAfterSeconds(top[0].Wait) != 1 {
		t.Errorf("Retry-After for 700ms: %d", RetryAfterSeconds(top[0].Wait))
	}
	if l.Len() != keys {
		t.Errorf("Windows changed the keys tracked: %d, then %d", keys, l.Len())
	}

	// n bounds the list, not the count; the fullest come first.
	if active, top := l.Windows(now, 1); active != 2 || len(top) != 1 || top[0].Key != a {
		t.Errorf("n=1: %d %+v", active, top)
	}
	if active, top := l.Windows(now, 0); active != 2 || len(top) != 0 {
		t.Errorf("n=0: %d %+v", active, top)
	}
	// a's first three admissions have left the window at at+1.025s; b's have not. Two each: the
	// more recently admitted (b) first.
	active, top = l.Windows(at.Add(time.Second+25*time.Millisecond), 10)
	if active != 2 || top[0].Key != b || top[1].Key != a || top[1].Admitted != 2 || top[1].Wait != 0 || top[0].Admitted != 2 {
		t.Errorf("later: %d %+v; want b with 2, then a with 2 (its newer two)", active, top)
	}
	// An admission exactly one window old is out, as in Allow: at at+1.02s, a's at at+20ms is.
	if _, top := l.Windows(at.Add(time.Second+20*time.Millisecond), 10); top[1].Key != a || top[1].Admitted != 2 {
		t.Errorf("at the edge of a's third: %+v; want a with 2", top)
	}
	if active, _ := l.Windows(at.Add(1200*time.Millisecond), 10); active != 0 {
		t.Errorf("at the edge of b's newest: %d active, want 0", active)
	}
}

// Across shards, the n fullest are the n fullest of all.
func TestWindowsTopAcrossShards(t *testing.T) {
	l := mustNew(t, Options{Limit: 8, Window: time.Minute})
	if len(l.shards) < 2 {
		t.Fatalf("want several shards, got %d", len(l.shards))
	}
	at := l.epoch.Add(time.Second)
	want := map[int]int{}
	for i := range 300 {
		n := 1 + (i*7)%8
		for j := range n {
			l.Allow(keyN(i), at.Add(time.Duration(i*8+j)*time.Microsecond))
		}
		want[i] = n
	}
	active, top := l.Windows(at.Add(time.Second), 20)
	if active != 300 || len(top) != 20 {
		t.Fatalf("active %d, %d in top", active, len(top))
	}
	var all []Window
	for i, n := range want {
		all = append(all, Window{Key: keyN(i), Admitted: n, Since: at.Add(time.Second).Sub(at.Add(time.Duration(i*8+n-1) * time.Microsecond))})
	}
	slices.SortFunc(all, fuller)
	for i := range top {
		if top[i].Key != all[i].Key || top[i].Admitted != all[i].Admitted {
			t.Fatalf("top[%d] = %+v, want %+v", i, top[i], all[i])
		}
	}
}
