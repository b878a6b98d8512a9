package admit

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"httplab/httplab-server/internal/clientid"
)

// peer records that shedding woke it.
type peer struct{ woken atomic.Int32 }

func (p *peer) SetDeadline(d time.Time) error {
	if !d.After(time.Unix(2, 0)) {
		p.woken.Add(1)
	}
	return nil
}

var t0 = time.Unix(1_700_000_000, 0)

func shedding(total, perClient int) *Admitter {
	a := New(total, perClient)
	a.SetShedding(Shedding{On: true, HeadGrace: 2 * time.Second, Penalty: 10 * time.Second})
	return a
}

// admitN admits n pending connections for k at now and returns them.
func admitN(t *testing.T, a *Admitter, k clientid.Key, n int, now time.Time) ([]*Conn, []*peer) {
	t.Helper()
	var cs []*Conn
	var ps []*peer
	for range n {
		p := &peer{}
		c, v, s := a.AdmitConn(k, p, now)
		if v != Admitted || s.Peer != nil {
			t.Fatalf("AdmitConn(%v) = %v, shed %+v; want admitted, nothing shed", k, v, s)
		}
		cs, ps = append(cs, c), append(ps, p)
	}
	return cs, ps
}

func checkCounts(t *testing.T, a *Admitter) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	n, idle, listed := 0, 0, 0
	for _, c := range a.perClient {
		n += c.n
		idle += c.idle
		if c.idle > c.n || c.n <= 0 || c.idle < 0 {
			t.Fatalf("client counts %+v", c)
		}
	}
	for c := a.idleHead; c != nil; c = c.next {
		listed++
		if st := c.state.Load(); st != statePending && st != stateStalled {
			t.Fatalf("a connection in state %d is on the idle list", st)
		}
	}
	if n != a.active || idle != a.idle || listed != a.idle {
		t.Fatalf("active %d = sum %d? idle %d = sum %d = listed %d?", a.active, n, a.idle, idle, listed)
	}
	if a.maxTotal > 0 && a.active > a.maxTotal {
		t.Fatalf("active %d over the cap %d", a.active, a.maxTotal)
	}
}

// Five addresses hold every slot with connections that never send a head;
// a sixth address still gets in, by taking the slot of the oldest idle
// connection of a client that holds more idle connections than it.
func TestShedsTheLargestIdleHolder(t *testing.T) {
	a := shedding(10, 4)
	x, y, z := key(1), key(2), key(3)
	xs, xp := admitN(t, a, x, 4, t0)
	admitN(t, a, y, 4, t0.Add(time.Millisecond))
	admitN(t, a, z, 2, t0.Add(2*time.Millisecond))
	checkCounts(t, a)

	polite := key(9)
	now := t0.Add(10 * time.Millisecond) // no connection is old: fairness alone decides
	c, v, s := a.AdmitConn(polite, &peer{}, now)
	if v != Admitted || s.Peer != xp[0] || s.Key != x || s.Reason != "pending" || s.Idle != 10*time.Millisecond {
		t.Fatalf("got %v, shed %+v; want admitted, x's oldest shed", v, s)
	}
	if xp[0].woken.Load() != 1 || !xs[0].Shed() {
		t.Fatal("the shed connection was not woken or not marked")
	}
	checkCounts(t, a)
	// The shed connection's own release and head change nothing.
	if xs[0].HeadDone() {
		t.Error("HeadDone on a shed connection said it may go on")
	}
	xs[0].Release()
	xs[0].Release()
	checkCounts(t, a)
	if sn := a.Snapshot(); sn.Active != 10 || sn.ShedPending != 1 || sn.Spurious != 0 || sn.Clients["10.0.0.1"] != 3 {
		t.Fatalf("snapshot %+v", sn)
	}
	c.Release()
	checkCounts(t, a)
}

// Clients of equal idle share cannot shed each other: an attacker whose
// connection was shed and who reconnects gets a 503, so shedding cannot
// turn into churn through the whole table.
func TestNoChurnBetweenEqualShares(t *testing.T) {
	a := shedding(8, 4)
	x, y := key(1), key(2)
	admitN(t, a, x, 4, t0)
	admitN(t, a, y, 4, t0)
	now := t0.Add(time.Hour) // everything is old
	// x, holding 4 idle connections, arrives again: y holds 4 too.
	if _, v, s := a.AdmitConn(x, &peer{}, now); v != RefusedTotal || s.Peer != nil {
		t.Fatalf("x at its own cap, total full: %v, shed %+v", v, s)
	}
	a2 := shedding(8, 8)
	admitN(t, a2, x, 4, t0)
	admitN(t, a2, y, 4, t0)
	if _, v, s := a2.AdmitConn(x, &peer{}, now); v != RefusedTotal || s.Peer != nil {
		t.Fatalf("x (4 idle) against y (4 idle): %v, shed %+v; want refused, nothing shed", v, s)
	}
}

// A client whose connection was shed cannot shed anyone for the penalty;
// after it, it can again.
func TestPenalty(t *testing.T) {
	a := shedding(4, 4)
	x, y, z := key(1), key(2), key(3)
	admitN(t, a, x, 3, t0)
	ys, _ := admitN(t, a, y, 1, t0)
	now := t0.Add(3 * time.Second)
	// z (no idle connection) sheds x's oldest by fairness (x: 3 idle).
	if _, v, s := a.AdmitConn(z, &peer{}, now); v != Admitted || s.Key != x {
		t.Fatalf("z: %v, shed %+v", v, s)
	}
	// x reconnects at once: it has 2 idle, y 1, z 1: no fairness victim, and
	// x holds idle connections, so no age victim either. Make x's idle
	// connections work so that x holds none, then x is still penalized.
	a.mu.Lock()
	for c := a.idleHead; c != nil; {
		next := c.next
		if c.key == x {
			a.idleRemoveLocked(c)
			c.state.Store(stateWorking)
		}
		c = next
	}
	a.mu.Unlock()
	if _, v, s := a.AdmitConn(x, &peer{}, now.Add(time.Second)); v != RefusedTotal || s.Peer != nil {
		t.Fatalf("x within its penalty: %v, shed %+v", v, s)
	}
	// Past the penalty, x (no idle connection) may shed y's old pending one.
	if _, v, s := a.AdmitConn(x, &peer{}, now.Add(11*time.Second)); v != Admitted || s.Key != y {
		t.Fatalf("x after its penalty: %v, shed %+v", v, s)
	}
	if !ys[0].Shed() {
		t.Fatal("y's connection not marked shed")
	}
	checkCounts(t, a)
}

// A client's only pending connection is safe for HeadGrace: an honest
// client whose head arrives in pieces within it is never shed. After the
// grace a client with no idle connection may take it.
func TestHeadGrace(t *testing.T) {
	a := shedding(2, 2)
	slow, other, polite := key(1), key(2), key(3)
	admitN(t, a, slow, 1, t0)
	admitN(t, a, other, 1, t0.Add(500*time.Millisecond))
	if _, v, s := a.AdmitConn(polite, &peer{}, t0.Add(1999*time.Millisecond)); v != RefusedTotal || s.Peer != nil {
		t.Fatalf("within the grace: %v, shed %+v", v, s)
	}
	if _, v, s := a.AdmitConn(polite, &peer{}, t0.Add(2*time.Second)); v != Admitted || s.Key != slow {
		t.Fatalf("at the grace: %v, shed %+v; want the oldest, slow's", v, s)
	}
}

// Working connections are never shed, however long they take; a stalled
// one may be, at once; one that moves again is safe again.
func TestWorkingAndStalled(t *testing.T) {
	a := shedding(2, 2)
	x, y, polite := key(1), key(2), key(3)
	xs, _ := admitN(t, a, x, 1, t0)
	ys, yp := admitN(t, a, y, 1, t0)
	if !xs[0].HeadDone() || !ys[0].HeadDone() {
		t.Fatal("HeadDone refused")
	}
	later := t0.Add(time.Hour)
	if _, v, s := a.AdmitConn(polite, &peer{}, later); v != RefusedTotal || s.Peer != nil {
		t.Fatalf("two working connections: %v, shed %+v", v, s)
	}
	if !ys[0].Stalled(true, later) {
		t.Fatal("Stalled refused")
	}
	if !ys[0].Stalled(false, later) { // moving again: working, not sheddable
		t.Fatal("Stalled refused")
	}
	checkCounts(t, a)
	if _, v, s := a.AdmitConn(polite, &peer{}, later); v != RefusedTotal || s.Peer != nil {
		t.Fatalf("y moving again: %v, shed %+v", v, s)
	}
	if !ys[0].Stalled(true, later) { // stalled again
		t.Fatal("Stalled refused")
	}
	checkCounts(t, a)
	c, v, s := a.AdmitConn(polite, &peer{}, later)
	if v != Admitted || s.Peer != yp[0] || s.Reason != "stalled" {
		t.Fatalf("stalled y: %v, shed %+v", v, s)
	}
	if ys[0].Stalled(false, later) || ys[0].HeadDone() {
		t.Error("a shed connection was told to go on")
	}
	if sn := a.Snapshot(); sn.ShedStalled != 1 || sn.ShedPending != 0 || sn.Idle != 1 {
		t.Errorf("snapshot %+v", sn)
	}
	c.Release()
	xs[0].Release()
	ys[0].Release()
	checkCounts(t, a)
	if sn := a.Snapshot(); sn.Active != 0 || len(sn.Clients) != 0 || sn.Idle != 0 || sn.Spurious != 0 {
		t.Errorf("not back to zero: %+v", sn)
	}
}

// Shedding off (the zero Shedding), or a client at its own cap: nothing is
// shed, whatever is idle.
func TestNoSheddingWhenOffOrAtOwnCap(t *testing.T) {
	a := New(2, 2)
	x, polite := key(1), key(2)
	admitN(t, a, x, 2, t0)
	if _, v, s := a.AdmitConn(polite, &peer{}, t0.Add(time.Hour)); v != RefusedTotal || s.Peer != nil {
		t.Fatalf("shedding off: %v, shed %+v", v, s)
	}
	b := shedding(3, 1)
	admitN(t, b, x, 1, t0)
	admitN(t, b, key(3), 1, t0)
	admitN(t, b, polite, 1, t0)
	if _, v, s := b.AdmitConn(polite, &peer{}, t0.Add(time.Hour)); v != RefusedTotal || s.Peer != nil {
		t.Fatalf("polite at its own cap: %v, shed %+v", v, s)
	}
}

// The penalty table stays bounded under shedding from many addresses.
func TestPenaltyTableBounded(t *testing.T) {
	a := shedding(1, 1)
	now := t0
	admitN(t, a, key(0), 1, now)
	for i := 1; i <= maxPenalized+100; i++ {
		now = now.Add(3 * time.Second) // past the grace: the one pending connection is shed
		if _, v, _ := a.AdmitConn(key(i), &peer{}, now); v != Admitted {
			t.Fatalf("step %d: %v", i, v)
		}
	}
	if n := len(a.shedAt); n > maxPenalized {
		t.Fatalf("%d penalized clients tracked, bound %d", n, maxPenalized)
	}
	checkCounts(t, a)
}

// Many goroutines admitting, finishing heads, stalling and releasing while
// newcomers shed: the caps hold at every change, every connection's slot is
// given back exactly once, and everything returns to zero.
func TestShedHammer(t *testing.T) {
	// Caps small enough that one worker alone fills them (it holds up to five
	// connections between releases), so shedding happens however the
	// workers are scheduled: coverage runs and -cpu 1 included.
	const total, perClient, workers, iters = 3, 2, 16, 1500
	a := shedding(total, perClient)
	var violations atomic.Int64
	a.onChange = func(active, client int) {
		if active > total || client > perClient || active < 0 || client < 0 {
			violations.Add(1)
		}
	}
	var clock atomic.Int64
	now := func() time.Time { return t0.Add(time.Duration(clock.Add(int64(time.Millisecond)))) }
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var held []*Conn
			for i := range iters {
				c, v, _ := a.AdmitConn(key((w+i)%7), &peer{}, now())
				if v == Admitted {
					held = append(held, c)
				}
				switch i % 5 {
				case 0:
					if len(held) > 0 {
						held[0].HeadDone()
					}
				case 1:
					if len(held) > 1 {
						held[1].HeadDone()
						held[1].Stalled(true, now())
					}
				case 2:
					for _, h := range held {
						h.Release()
					}
					held = held[:0]
				}
			}
			for _, h := range held {
				h.Release()
				h.Release()
			}
		})
	}
	wg.Wait()
	if v := violations.Load(); v != 0 {
		t.Fatalf("%d cap violations", v)
	}
	checkCounts(t, a)
	s := a.Snapshot()
	if s.Active != 0 || len(s.Clients) != 0 || s.Idle != 0 || s.Spurious != 0 || a.idleHead != nil {
		t.Fatalf("not back to zero: %+v", s)
	}
	if s.ShedPending+s.ShedStalled == 0 {
		t.Fatalf("nothing shed, the test proves nothing: %+v", s)
	}
}

// A client the rate limiter would refuse sheds nobody.
func TestRateFullShedsNobody(t *testing.T) {
	a := New(2, 2)
	full := key(9)
	a.SetShedding(Shedding{On: true, HeadGrace: 0, Penalty: time.Second,
		RateFull: func(k clientid.Key, _ time.Time) bool { return k == full }})
	admitN(t, a, key(1), 2, t0)
	if _, v, s := a.AdmitConn(full, &peer{}, t0.Add(time.Hour)); v != RefusedTotal || s.Peer != nil {
		t.Fatalf("rate-limited newcomer: %v, shed %+v", v, s)
	}
	if _, v, s := a.AdmitConn(key(8), &peer{}, t0.Add(time.Hour)); v != Admitted || s.Peer == nil {
		t.Fatalf("newcomer within its rate: %v, shed %+v", v, s)
	}
}

// No pending connection younger than MinIdle is shed, however many its
// client holds: a busy server may not have read a head that has arrived.
// A stalled one behind it in the list still may be.
func TestMinIdle(t *testing.T) {
	a := New(4, 4)
	a.SetShedding(Shedding{On: true, HeadGrace: 2 * time.Second, Penalty: time.Second, MinIdle: time.Second})
	x, y, polite := key(1), key(2), key(3)
	admitN(t, a, x, 3, t0)
	if _, v, s := a.AdmitConn(y, &peer{}, t0.Add(500*time.Millisecond)); v != Admitted || s.Peer != nil {
		t.Fatalf("y: %v, shed %+v", v, s)
	}
	if _, v, s := a.AdmitConn(polite, &peer{}, t0.Add(999*time.Millisecond)); v != RefusedTotal || s.Peer != nil {
		t.Fatalf("before MinIdle: %v, shed %+v", v, s)
	}
	if _, v, s := a.AdmitConn(polite, &peer{}, t0.Add(time.Second)); v != Admitted || s.Key != x {
		t.Fatalf("at MinIdle: %v, shed %+v", v, s)
	}

	b := New(2, 2)
	b.SetShedding(Shedding{On: true, HeadGrace: 2 * time.Second, Penalty: time.Second, MinIdle: time.Second})
	young, _ := admitN(t, b, x, 1, t0)
	old, op := admitN(t, b, y, 1, t0)
	old[0].HeadDone()
	young[0].Release()
	admitN(t, b, x, 1, t0.Add(10*time.Second)) // young again, behind nothing
	old[0].Stalled(true, t0.Add(10*time.Second))
	if _, v, s := b.AdmitConn(polite, &peer{}, t0.Add(10*time.Second)); v != Admitted || s.Peer != op[0] {
		t.Fatalf("a stalled connection behind a young pending one: %v, shed %+v", v, s)
	}
}

// The last Reserve slots go only to clients holding no idle connection and
// not penalized.
func TestReserve(t *testing.T) {
	a := New(5, 5)
	a.SetShedding(Shedding{On: true, HeadGrace: time.Hour, Penalty: time.Minute, Reserve: 2, MinIdle: time.Hour})
	x, y, polite := key(1), key(2), key(3)
	admitN(t, a, x, 3, t0) // x's first three: below the reserve
	if _, v, _ := a.AdmitConn(x, &peer{}, t0); v != RefusedTotal {
		t.Fatalf("x, holding idle connections, into the reserve: %v", v)
	}
	ys, _ := admitN(t, a, y, 1, t0) // y holds none: it may
	ys[0].HeadDone()
	if _, v, _ := a.AdmitConn(polite, &peer{}, t0); v != Admitted {
		t.Fatalf("polite into the last reserved slot: %v", v)
	}
	if sn := a.Snapshot(); sn.Active != 5 || sn.RejectedTotal != 1 {
		t.Fatalf("snapshot %+v", sn)
	}
}

// BenchmarkAdmitConn is the accept path's admission with shedding on and
// the server not full: admit, the head arrives, release.
func BenchmarkAdmitConn(b *testing.B) {
	a := New(60, 12)
	a.SetShedding(Shedding{On: true, HeadGrace: 2 * time.Second, Penalty: 10 * time.Second, Reserve: 6, MinIdle: time.Second})
	k := key(1)
	p := &peer{}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		c, _, _ := a.AdmitConn(k, p, now)
		c.HeadDone()
		c.Release()
	}
}
