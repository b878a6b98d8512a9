package admit

import (
	"sync/atomic"
	"time"

	"httplab/httplab-server/internal/clientid"
)

// Shedding: who keeps a slot when the server is full.
//
// Both caps are still checked at accept and never exceeded. What shedding
// changes is who holds the slots when the total cap is full. A connection
// that has not delivered its request head is not doing work yet, and
// neither is one whose client has stopped reading its response: both are
// idle. Web servers shed idle keep-alive connections first when they are
// full; here a newcomer may take the slot of an idle connection, which is
// woken (its deadlines set in the past) and ends with a 408 or a cut-off
// response. Without this, a few addresses that open connections and send
// nothing hold every slot (nginx's limit_conn avoids that by counting a
// connection only once its head is read; an accept-time cap cannot).
//
// Which idle connection loses its slot, and to whom:
//
//  1. Fairness: the oldest idle connection of a client that holds at least
//     two more idle connections than the newcomer's client. (A pending
//     connection must be idle at least MinIdle: under load, a head that
//     has arrived may not have been read yet.) An attacker
//     holding many idle slots loses them to anyone holding fewer; two
//     attackers of equal share cannot shed each other, so their
//     reconnections cannot churn.
//  2. Age: if the newcomer's client holds no idle connection, the oldest
//     idle connection that has been idle long enough: a pending one for
//     HeadGrace (an honest client whose head arrives in pieces within it is
//     never shed), a stalled one at once (it was marked stalled only after
//     the handler's stall timeout).
//  3. Penalty: a client that lost a connection to shedding within the last
//     Penalty may not shed anyone. An attacker whose connection was shed
//     and who reconnects at once gets a 503, instead of shedding the next
//     idle connection, and so on round the whole table.
//  4. Nor may a client the rate limiter would refuse now: its request would
//     only get a 429, so it does not deserve another's slot.
//
// And a reserve: the last few slots of the total cap go only to clients
// holding no idle connection and not penalized (Reserve).
//
// A connection that is working (its head arrived, its response is being
// made or is moving) is never shed.

// Shedding configures shedding; the zero value turns it off.
type Shedding struct {
	On        bool
	HeadGrace time.Duration // a client's only pending connection is safe this long
	Penalty   time.Duration // a client that lost a connection cannot shed others this long
	// Reserve: the last Reserve slots of the total cap go only to clients
	// that hold no idle connection and are not penalized. Attackers holding
	// idle connections, or just shed, cannot take the slots that free up as
	// the last of them, so a polite client finds one free without shedding,
	// and turnover cannot hand every slot back to them.
	Reserve int
	// MinIdle: no pending connection younger than this is shed, whatever its
	// client holds: a head that has arrived may simply not have been read
	// yet by a busy server.
	MinIdle time.Duration
	// RateFull, when set, says whether the rate limiter would refuse the
	// client's next request now: such a newcomer sheds nobody, since its
	// request would only be answered 429. Without it a connection flood
	// from a few addresses would churn through every idle slot.
	RateFull func(clientid.Key, time.Time) bool
}

// maxPenalized bounds the table of recently shed clients. Past it, expired
// entries are dropped; if none has expired the new one is not recorded and
// that client escapes its penalty: under an attack from that many
// addresses the penalty matters little.
const maxPenalized = 1 << 16

// Waker is the part of a connection shedding needs: setting its deadlines
// in the past wakes whatever read or write it waits in.
type Waker interface{ SetDeadline(time.Time) error }

// The states of a Conn. Changed only under the Admitter's lock; read
// without it through Conn.Shed.
const (
	statePending  uint32 = iota // admitted, head not yet complete: idle
	stateWorking                // head complete
	stateStalled                // response writes made no progress: idle
	stateShed                   // lost its slot to a newcomer
	stateReleased               // gave its slot back
)

// Conn is one admitted connection's slot, for an Admitter with shedding.
// Its methods are safe for concurrent use.
type Conn struct {
	a          *Admitter
	key        clientid.Key
	peer       Waker
	state      atomic.Uint32
	since      time.Time // when it became idle
	prev, next *Conn     // in the idle list
}

// Shed describes a connection that lost its slot to a newcomer.
type Shed struct {
	Peer   Waker
	Key    clientid.Key
	Reason string        // "pending" (no head yet) or "stalled" (response not moving)
	Idle   time.Duration // how long it had been idle
}

// SetShedding turns shedding on or off; call it before the first AdmitConn.
func (a *Admitter) SetShedding(s Shedding) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.shedding = s
	if s.On && a.shedAt == nil {
		a.shedAt = make(map[clientid.Key]time.Time)
	}
}

// AdmitConn is Admit for a connection that can report its progress. When
// the total cap is full and shedding is on, an idle connection may lose its
// slot to this one (see above); it is woken before AdmitConn returns and
// described in shed (shed.Peer is nil when nothing was shed). The caller
// must Release the returned Conn once, when the connection ends, whatever
// happened to it.
func (a *Admitter) AdmitConn(k clientid.Key, peer Waker, now time.Time) (c *Conn, v Verdict, shed Shed) {
	a.mu.Lock()
	if a.shedding.On && a.maxTotal > 0 && a.active < a.maxTotal && a.active >= a.maxTotal-a.shedding.Reserve &&
		(a.perClient[k].idle > 0 || a.penalizedLocked(k, now)) {
		a.rejTotal++
		a.mu.Unlock()
		return nil, RefusedTotal, Shed{}
	}
	if a.shedding.On && a.maxTotal > 0 && a.active >= a.maxTotal &&
		(a.maxPerClient == 0 || a.perClient[k].n < a.maxPerClient) {
		if victim := a.victimLocked(k, now); victim != nil {
			shed = a.shedLocked(victim, now)
		}
	}
	v = a.admitLocked(k)
	if v == Admitted {
		c = &Conn{a: a, key: k, peer: peer, since: now}
		c.state.Store(statePending)
		a.idleAppendLocked(c)
	}
	a.mu.Unlock()
	if shed.Peer != nil {
		_ = shed.Peer.SetDeadline(time.Unix(1, 0))
	}
	return c, v, shed
}

// penalizedLocked reports whether k lost a connection to shedding within
// the last Penalty.
func (a *Admitter) penalizedLocked(k clientid.Key, now time.Time) bool {
	at, ok := a.shedAt[k]
	if !ok {
		return false
	}
	if now.Sub(at) < a.shedding.Penalty {
		return true
	}
	delete(a.shedAt, k)
	return false
}

func (a *Admitter) victimLocked(k clientid.Key, now time.Time) *Conn {
	if a.penalizedLocked(k, now) {
		return nil
	}
	if a.shedding.RateFull != nil && a.shedding.RateFull(k, now) {
		return nil
	}
	mine := a.perClient[k].idle
	// The list is oldest first, stalled connections by when they stalled.
	for c := a.idleHead; c != nil; c = c.next {
		stalled := c.state.Load() == stateStalled
		if !stalled && now.Sub(c.since) < a.shedding.MinIdle {
			continue
		}
		if a.perClient[c.key].idle >= mine+2 {
			return c
		}
	}
	if mine > 0 {
		return nil
	}
	for c := a.idleHead; c != nil; c = c.next {
		if c.state.Load() == stateStalled || now.Sub(c.since) >= max(a.shedding.HeadGrace, a.shedding.MinIdle) {
			return c
		}
	}
	return nil
}

func (a *Admitter) shedLocked(c *Conn, now time.Time) Shed {
	s := Shed{Peer: c.peer, Key: c.key, Reason: "pending", Idle: now.Sub(c.since)}
	if c.state.Load() == stateStalled {
		s.Reason = "stalled"
		a.shedStalled++
	} else {
		a.shedPending++
	}
	a.idleRemoveLocked(c)
	c.state.Store(stateShed)
	a.releaseLocked(c.key)
	if len(a.shedAt) >= maxPenalized {
		for k, at := range a.shedAt {
			if now.Sub(at) >= a.shedding.Penalty {
				delete(a.shedAt, k)
			}
		}
	}
	if len(a.shedAt) < maxPenalized {
		a.shedAt[c.key] = now
	}
	return s
}

func (a *Admitter) idleAppendLocked(c *Conn) {
	c.prev, c.next = a.idleTail, nil
	if a.idleTail != nil {
		a.idleTail.next = c
	} else {
		a.idleHead = c
	}
	a.idleTail = c
	a.idle++
	cl := a.perClient[c.key]
	cl.idle++
	a.perClient[c.key] = cl
}

func (a *Admitter) idleRemoveLocked(c *Conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		a.idleHead = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		a.idleTail = c.prev
	}
	c.prev, c.next = nil, nil
	a.idle--
	if cl, ok := a.perClient[c.key]; ok {
		cl.idle--
		a.perClient[c.key] = cl
	}
}

// HeadDone reports the request head complete: the connection is working and
// can no longer be shed as pending. It returns false if the connection was
// shed meanwhile: it holds no slot and must end.
func (c *Conn) HeadDone() bool {
	a := c.a
	a.mu.Lock()
	defer a.mu.Unlock()
	switch c.state.Load() {
	case statePending:
		a.idleRemoveLocked(c)
		c.state.Store(stateWorking)
	case stateShed, stateReleased:
		return false
	}
	return true
}

// Stalled marks the response as making no progress (true), which makes the
// connection idle and sheddable, or as moving again (false). It returns
// false if the connection was shed: it holds no slot and must end.
func (c *Conn) Stalled(stalled bool, now time.Time) bool {
	a := c.a
	a.mu.Lock()
	defer a.mu.Unlock()
	st := c.state.Load()
	if st == stateShed || st == stateReleased {
		return false
	}
	if stalled && st == stateWorking {
		c.state.Store(stateStalled)
		c.since = now
		a.idleAppendLocked(c)
	} else if !stalled && st == stateStalled {
		a.idleRemoveLocked(c)
		c.state.Store(stateWorking)
	}
	return true
}

// Shed reports whether the connection lost its slot to a newcomer.
func (c *Conn) Shed() bool { return c.state.Load() == stateShed }

// Release gives the slot back. It is safe to call more than once, and after
// the connection was shed (its slot was released then).
func (c *Conn) Release() {
	a := c.a
	a.mu.Lock()
	defer a.mu.Unlock()
	switch c.state.Load() {
	case statePending, stateStalled:
		a.idleRemoveLocked(c)
	case stateShed, stateReleased:
		return
	}
	c.state.Store(stateReleased)
	a.releaseLocked(c.key)
}
