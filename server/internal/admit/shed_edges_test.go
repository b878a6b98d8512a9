package admit

import (
	"testing"
	"time"
)

// With the total cap full and no reserve, a newcomer that itself holds an
// idle connection still sheds by fairness: the reserve refusal is only for
// slots below the cap.
func TestFullNewcomerWithIdleShedsByFairness(t *testing.T) {
	a := shedding(4, 4)
	x, y := key(1), key(2)
	admitN(t, a, x, 1, t0)
	admitN(t, a, y, 3, t0)
	if _, v, s := a.AdmitConn(x, &peer{}, t0.Add(time.Millisecond)); v != Admitted || s.Key != y {
		t.Fatalf("x (1 idle) against y (3 idle): %v, shed %+v; want admitted, y's oldest shed", v, s)
	}
	checkCounts(t, a)
}

// A victim client holding exactly two more idle connections than the
// newcomer's is shed by fairness, before any connection is old.
func TestFairnessAtExactlyTwoMore(t *testing.T) {
	a := shedding(3, 3)
	x, y, polite := key(1), key(2), key(3)
	admitN(t, a, x, 2, t0)
	admitN(t, a, y, 1, t0)
	if _, v, s := a.AdmitConn(polite, &peer{}, t0.Add(10*time.Millisecond)); v != Admitted || s.Key != x {
		t.Fatalf("x holds 2 idle, polite 0: %v, shed %+v; want x's oldest shed", v, s)
	}
}

// No total cap: nothing is ever shed, however old the idle connections.
// No per-client cap: a newcomer sheds when the total cap is full.
func TestSheddingWithUnlimitedCaps(t *testing.T) {
	a := shedding(0, 0)
	admitN(t, a, key(1), 3, t0)
	if _, v, s := a.AdmitConn(key(2), &peer{}, t0.Add(time.Hour)); v != Admitted || s.Peer != nil {
		t.Fatalf("no total cap: %v, shed %+v; want admitted, nothing shed", v, s)
	}
	b := shedding(2, 0)
	admitN(t, b, key(1), 2, t0)
	if _, v, s := b.AdmitConn(key(2), &peer{}, t0.Add(time.Hour)); v != Admitted || s.Key != key(1) {
		t.Fatalf("no per-client cap, total full: %v, shed %+v; want key 1's oldest shed", v, s)
	}
	checkCounts(t, b)
}

// A newcomer at its own per-client cap sheds nobody, even when an old idle
// connection of another client could be taken: it would be refused anyway.
func TestAtOwnCapShedsNobody(t *testing.T) {
	a := shedding(6, 3)
	x, mine := key(1), key(2)
	xs, _ := admitN(t, a, x, 3, t0)
	ms, _ := admitN(t, a, mine, 3, t0)
	for _, c := range ms {
		c.HeadDone() // mine holds no idle connection: x's are age victims
	}
	if _, v, s := a.AdmitConn(mine, &peer{}, t0.Add(time.Hour)); v != RefusedTotal || s.Peer != nil {
		t.Fatalf("at its own cap: %v, shed %+v; want refused, nothing shed", v, s)
	}
	for _, c := range xs {
		if c.Shed() {
			t.Fatal("one of x's connections was shed for a newcomer that was refused")
		}
	}
	checkCounts(t, a)
}

// The penalty ends exactly Penalty after the shedding.
func TestPenaltyEndsExactly(t *testing.T) {
	a := shedding(2, 2)
	x, y := key(1), key(2)
	admitN(t, a, y, 2, t0)
	a.mu.Lock()
	a.shedAt[x] = t0
	a.mu.Unlock()
	if _, v, s := a.AdmitConn(x, &peer{}, t0.Add(10*time.Second-time.Nanosecond)); v != RefusedTotal || s.Peer != nil {
		t.Fatalf("just within the penalty: %v, shed %+v", v, s)
	}
	if _, v, s := a.AdmitConn(x, &peer{}, t0.Add(10*time.Second)); v != Admitted || s.Key != y {
		t.Fatalf("at the end of the penalty: %v, shed %+v; want y's oldest shed", v, s)
	}
}

// The penalty table at its bound: entries expired (exactly Penalty old
// counts as expired) are dropped to make room, fresh ones are kept; when
// none has expired the new one is not recorded.
func TestPenaltyTableAtBound(t *testing.T) {
	const base = 100_000
	shedOne := func(a *Admitter, now time.Time) {
		t.Helper()
		x, y := key(1), key(2)
		admitN(t, a, x, 1, now.Add(-time.Hour))
		if _, v, s := a.AdmitConn(y, &peer{}, now); v != Admitted || s.Key != x {
			t.Fatalf("%v, shed %+v; want x shed", v, s)
		}
	}
	now := t0.Add(time.Hour)

	// Half exactly expired, half fresh.
	a := shedding(1, 1)
	for i := range maxPenalized {
		at := now
		if i%2 == 0 {
			at = now.Add(-10 * time.Second)
		}
		a.shedAt[key(base+i)] = at
	}
	shedOne(a, now)
	if n := len(a.shedAt); n != maxPenalized/2+1 {
		t.Fatalf("%d penalized clients after the purge; want %d", n, maxPenalized/2+1)
	}
	if _, ok := a.shedAt[key(1)]; !ok {
		t.Fatal("the client just shed is not penalized")
	}
	if _, ok := a.shedAt[key(base+1)]; !ok {
		t.Fatal("a fresh penalty was dropped")
	}
	if _, ok := a.shedAt[key(base)]; ok {
		t.Fatal("an expired penalty was kept")
	}

	// All fresh: nothing dropped, the new one not recorded.
	b := shedding(1, 1)
	for i := range maxPenalized {
		b.shedAt[key(base+i)] = now
	}
	shedOne(b, now)
	if n := len(b.shedAt); n != maxPenalized {
		t.Fatalf("%d penalized clients; want the bound %d", n, maxPenalized)
	}
	if _, ok := b.shedAt[key(1)]; ok {
		t.Fatal("a penalty was recorded past the bound")
	}
}
