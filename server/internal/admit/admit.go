// Package admit decides, at accept time, whether a new connection may be
// served: a cap on connections in all and a cap per client.
//
// Both caps are checked and taken under one mutex, in one step. Checking them
// separately (or with two atomics) lets two accepts both see room for the
// last slot, so the cap is exceeded; taking the first and then failing the
// second must roll the first back. One lock makes both trivially exact and
// costs tens of nanoseconds per connection, far below a TCP handshake.
//
// The per-client entry is deleted when its count reaches zero, so the map
// holds only clients with live connections and cannot grow with the number
// of clients ever seen. A Release that matches no admission is ignored and
// counted (Spurious) rather than allowed to drive a count negative, which
// would silently raise that client's cap for ever after; callers should
// release exactly once (as x/net's LimitListener does with sync.Once), and
// the counter makes a bug there visible in /stats.
package admit

import (
	"strconv"
	"sync"
	"time"

	"httplab/httplab-server/internal/clientid"
)

// Verdict is the outcome of Admit.
type Verdict uint8

const (
	// Admitted: both caps had room; the caller must Release the key once.
	Admitted Verdict = iota
	// RefusedTotal: the total cap is reached (checked first).
	RefusedTotal
	// RefusedClient: this client already holds its maximum.
	RefusedClient
)

// String returns the spelling used in logs and metrics labels.
func (v Verdict) String() string {
	switch v {
	case Admitted:
		return "admitted"
	case RefusedTotal:
		return "total_cap"
	case RefusedClient:
		return "client_cap"
	}
	return "Verdict(" + strconv.Itoa(int(v)) + ")"
}

// Admitter counts live connections against the two caps. It is safe for
// concurrent use. The zero value is not usable; call New.
type Admitter struct {
	maxTotal, maxPerClient int

	mu            sync.Mutex
	active        int
	perClient     map[clientid.Key]counts
	peak          int
	peakPerClient int
	accepted      uint64
	rejTotal      uint64
	rejClient     uint64
	spurious      uint64

	// Shedding (shed.go): the idle connections, oldest first, and the
	// clients that recently lost one.
	shedding    Shedding
	idleHead    *Conn
	idleTail    *Conn
	idle        int
	shedAt      map[clientid.Key]time.Time
	shedPending uint64
	shedStalled uint64

	// onChange, when set (by tests in this package), runs under the lock
	// after every change with the totals just produced, so a test can check
	// the caps at every instant rather than only at the end.
	onChange func(active, client int)
}

// New returns an Admitter with the given caps; 0 (or less) means unlimited.
func New(maxTotal, maxPerClient int) *Admitter {
	return &Admitter{
		maxTotal:     max(maxTotal, 0),
		maxPerClient: max(maxPerClient, 0),
		perClient:    make(map[clientid.Key]counts),
	}
}

// counts is one client's share: connections holding a slot, and how many
// of those are idle (waiting for their head, or stalled; see shed.go).
type counts struct{ n, idle int }

// Admit takes one slot for client k if both caps allow it. When the total cap
// refuses, the per-client cap is not consulted and RefusedTotal is reported.
func (a *Admitter) Admit(k clientid.Key) Verdict {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.admitLocked(k)
}

func (a *Admitter) admitLocked(k clientid.Key) Verdict {
	if a.maxTotal > 0 && a.active >= a.maxTotal {
		a.rejTotal++
		return RefusedTotal
	}
	c := a.perClient[k]
	if a.maxPerClient > 0 && c.n >= a.maxPerClient {
		a.rejClient++
		return RefusedClient
	}
	c.n++
	a.perClient[k] = c
	a.active++
	a.accepted++
	a.peak = max(a.peak, a.active)
	a.peakPerClient = max(a.peakPerClient, c.n)
	if a.onChange != nil {
		a.onChange(a.active, c.n)
	}
	return Admitted
}

// Release returns the slot taken by an Admitted Admit(k). A Release for a key
// that holds no slot changes nothing but the Spurious counter.
func (a *Admitter) Release(k clientid.Key) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.releaseLocked(k)
}

func (a *Admitter) releaseLocked(k clientid.Key) {
	c, ok := a.perClient[k]
	if !ok {
		a.spurious++
		return
	}
	c.n--
	if c.n == 0 {
		delete(a.perClient, k)
	} else {
		a.perClient[k] = c
	}
	a.active--
	if a.onChange != nil {
		a.onChange(a.active, c.n)
	}
}

// Snapshot is a consistent copy of the Admitter's state at one instant.
type Snapshot struct {
	Active        int // connections holding a slot now
	Peak          int // highest Active ever
	PeakPerClient int // highest count any single client ever held

	Accepted       uint64 // Admit calls that returned Admitted
	RejectedTotal  uint64 // Admit calls that returned RefusedTotal
	RejectedClient uint64 // Admit calls that returned RefusedClient

	Clients map[string]int // current connections per clientid.Key.String()

	Spurious uint64 // Release calls that matched no admission

	Idle        int    // admitted connections now waiting for their head or stalled
	ShedPending uint64 // connections shed while waiting for their head
	ShedStalled uint64 // connections shed while their response was stalled
}

// Snapshot copies the counters and the per-client table under the lock. It
// allocates (the Clients map and its keys); it is meant for /stats, not for
// the accept path.
func (a *Admitter) Snapshot() Snapshot {
	a.mu.Lock()
	s := Snapshot{
		Active:         a.active,
		Peak:           a.peak,
		PeakPerClient:  a.peakPerClient,
		Accepted:       a.accepted,
		RejectedTotal:  a.rejTotal,
		RejectedClient: a.rejClient,
		Spurious:       a.spurious,
		Idle:           a.idle,
		ShedPending:    a.shedPending,
		ShedStalled:    a.shedStalled,
	}
	keys := make([]clientid.Key, 0, len(a.perClient))
	ns := make([]int, 0, len(a.perClient))
	for k, c := range a.perClient {
		keys = append(keys, k)
		ns = append(ns, c.n)
	}
	a.mu.Unlock()
	// Formatting the keys happens outside the lock so /stats does not hold
	// up accepts for the time it takes to render many addresses.
	s.Clients = make(map[string]int, len(keys))
	for i, k := range keys {
		s.Clients[k.String()] += ns[i]
	}
	return s
}

// Limits returns the caps the Admitter was made with (0 = unlimited).
func (a *Admitter) Limits() (maxTotal, maxPerClient int) {
	return a.maxTotal, a.maxPerClient
}
