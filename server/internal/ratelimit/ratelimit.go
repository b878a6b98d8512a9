package ratelimit

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"
	"time"

	"httplab/httplab-server/internal/clientid"
)

// DefaultMaxKeys is the key cap used when Options.MaxKeys is 0.
const DefaultMaxKeys = 100_000

const (
	maxShards       = 64  // enough that two cores never wait on each other's keys
	minKeysPerShard = 256 // below this, shard imbalance would refuse new keys early
	evictPerCall    = 2   // > 1 so eviction outpaces creation (at most one per call)
	initialRing     = 16  // ring capacity of a new key; grows to Limit on demand
	none            = -1  // nil slot index
)

// Options configures a Limiter.
type Options struct {
	Limit   int           // requests admitted per key per Window; 0 = limiter off
	Window  time.Duration // length of the sliding window
	MaxKeys int           // cap on tracked keys; 0 = DefaultMaxKeys
}

// Limiter is an exact sliding-window limiter keyed by client. It is safe for
// concurrent use.
type Limiter struct {
	limit   int
	window  int64
	maxKeys int
	epoch   time.Time
	seed    [3]uint64
	mask    uint64 // len(shards)-1; len(shards) is a power of two
	shards  []shard
}

type shard struct {
	mu     sync.Mutex
	latest int64 // newest time seen; times in this shard never go below it
	cap    int   // most keys this shard may hold
	idx    map[clientid.Key]int32
	slots  []slot
	free   int32 // free-list head, linked through slot.next
	head   int32 // key whose newest admission is oldest: replenishes first
	tail   int32 // key admitted most recently
	_      [64]byte
}

// slot is one tracked key. Its admissions, oldest first, are
// times[start:] followed by times[:start]; until len(times) reaches Limit,
// start is 0 and times simply grows.
type slot struct {
	key        clientid.Key
	times      []int64
	start      int
	newest     int64
	prev, next int32
}

// New validates o and returns a Limiter.
func New(o Options) (*Limiter, error) {
	if o.Limit < 0 {
		return nil, fmt.Errorf("rate limit %d: must be 0 (off) or more", o.Limit)
	}
	if o.Limit > 0 && o.Window <= 0 {
		return nil, fmt.Errorf("rate window %v: must be positive", o.Window)
	}
	if o.MaxKeys < 0 {
		return nil, fmt.Errorf("rate limiter max keys %d: must be 0 (default %d) or more", o.MaxKeys, DefaultMaxKeys)
	}
	if o.MaxKeys == 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	l := &Limiter{
		limit:   o.Limit,
		window:  int64(o.Window),
		maxKeys: o.MaxKeys,
		epoch:   time.Now(),
		seed:    [3]uint64{rand.Uint64() | 1, rand.Uint64() | 1, rand.Uint64() | 1},
	}
	if o.Limit == 0 {
		return l, nil
	}
	n := 1
	for n < maxShards && n*2*minKeysPerShard <= o.MaxKeys {
		n *= 2
	}
	l.mask = uint64(n - 1)
	l.shards = make([]shard, n)
	for i := range l.shards {
		s := &l.shards[i]
		// Spread MaxKeys exactly: the caps sum to MaxKeys.
		s.cap = o.MaxKeys / n
		if i < o.MaxKeys%n {
			s.cap++
		}
		s.idx = make(map[clientid.Key]int32)
		s.free, s.head, s.tail = none, none, none
		s.latest = math.MinInt64
	}
	return l, nil
}

// Options returns the effective options (MaxKeys with its default filled in).
func (l *Limiter) Options() Options {
	return Options{Limit: l.limit, Window: time.Duration(l.window), MaxKeys: l.maxKeys}
}

// Allow decides a request from k arriving at now, and records it if
// admitted. When refused, retryAfter is the time from now until a request
// from k would be admitted (for a key refused because the table is full:
// until a slot frees), assuming no other traffic changes that meanwhile.
func (l *Limiter) Allow(k clientid.Key, now time.Time) (ok bool, retryAfter time.Duration) {
	if l.limit == 0 {
		return true, 0
	}
	tc := int64(now.Sub(l.epoch))
	s := &l.shards[l.shardOf(k)]
	s.mu.Lock()
	t := tc
	if t < s.latest {
		t = s.latest
	} else {
		s.latest = t
	}
	cutoff := cutoffAt(t, l.window)
	s.evict(cutoff, evictPerCall)

	i, found := s.idx[k]
	if !found {
		if len(s.idx) >= s.cap && s.evict(cutoff, 1) == 0 {
			// The front key replenishes first; until then nothing frees.
			wait := s.slots[s.head].newest - cutoff + (t - tc)
			s.mu.Unlock()
			return false, time.Duration(wait)
		}
		i = s.alloc(k, l.limit)
	}
	e := &s.slots[i]
	if len(e.times) < l.limit {
		if len(e.times) == cap(e.times) {
			grown := make([]int64, len(e.times), min(l.limit, 2*cap(e.times)))
			copy(grown, e.times)
			e.times = grown
		}
		e.times = append(e.times, t)
	} else {
		oldest := e.times[e.start]
		if oldest > cutoff {
			s.mu.Unlock()
			return false, time.Duration(oldest - cutoff + (t - tc))
		}
		e.times[e.start] = t
		e.start++
		if e.start == len(e.times) {
			e.start = 0
		}
	}
	e.newest = t
	s.toTail(i)
	s.mu.Unlock()
	return true, 0
}

// cutoffAt is t-window: admissions at or before it no longer count.
// It saturates rather than wrap for a t near the far past.
func cutoffAt(t, window int64) int64 {
	c := t - window
	if c > t {
		return math.MinInt64
	}
	return c
}

// RetryAfterSeconds converts a retry delay to HTTP Retry-After delay-seconds:
// rounded up, so a client that waits that long is admitted, and at least 1,
// since 0 would invite an immediate retry that is bound to be refused.
func RetryAfterSeconds(d time.Duration) int {
	if d <= time.Second {
		return 1
	}
	s := d / time.Second
	if d%time.Second != 0 {
		s++
	}
	return int(s)
}

// Len returns the number of keys tracked.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.idx)
		s.mu.Unlock()
	}
	return n
}

// Sweep drops every key that is fully replenished at now and returns how
// many it dropped. Allow already does this a little at a time; Sweep is for
// reclaiming the memory of a burst of keys once traffic stops.
func (l *Limiter) Sweep(now time.Time) int {
	if l.limit == 0 {
		return 0
	}
	cutoff := cutoffAt(int64(now.Sub(l.epoch)), l.window)
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += s.evict(cutoff, math.MaxInt)
		s.mu.Unlock()
	}
	return n
}

func (l *Limiter) shardOf(k clientid.Key) uint64 {
	if l.mask == 0 {
		return 0
	}
	a := k.Addr.As16()
	h := mix(binary.LittleEndian.Uint64(a[:8])^l.seed[0], binary.LittleEndian.Uint64(a[8:])^l.seed[1])
	h = mix(h^(uint64(k.Port)<<8|uint64(k.Bits)), l.seed[2])
	return h & l.mask
}

// mix is the wyhash folding multiply: cheap, and with secret seeds a client
// cannot choose addresses that pile onto one shard.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// evict drops up to n keys from the front of the list while they are fully
// replenished (newest admission at or before cutoff). Because the list is
// ordered by newest admission, the first key that is not replenished means
// no later one is.
func (s *shard) evict(cutoff int64, n int) int {
	done := 0
	for done < n && s.head != none && s.slots[s.head].newest <= cutoff {
		i := s.head
		e := &s.slots[i]
		s.unlink(i)
		delete(s.idx, e.key)
		e.key = clientid.Key{}
		e.times = e.times[:0] // keep the ring's memory for the next key
		e.start = 0
		e.next = s.free
		s.free = i
		done++
	}
	return done
}

// alloc gives k a slot (reusing a freed one and its ring when possible); the
// caller records its first admission and links it at the tail.
func (s *shard) alloc(k clientid.Key, limit int) int32 {
	var i int32
	if s.free != none {
		i = s.free
		s.free = s.slots[i].next
	} else {
		if len(s.slots) == cap(s.slots) {
			// Grow by doubling, but never past the shard's cap: a full
			// table would otherwise carry up to half its slab unused.
			grown := make([]slot, len(s.slots), min(s.cap, max(8, 2*cap(s.slots))))
			copy(grown, s.slots)
			s.slots = grown
		}
		s.slots = append(s.slots, slot{times: make([]int64, 0, min(limit, initialRing))})
		i = int32(len(s.slots) - 1)
	}
	e := &s.slots[i]
	e.key = k
	e.prev, e.next = none, none
	s.idx[k] = i
	return i
}

func (s *shard) unlink(i int32) {
	e := &s.slots[i]
	if e.prev != none {
		s.slots[e.prev].next = e.next
	} else if s.head == i {
		s.head = e.next
	}
	if e.next != none {
		s.slots[e.next].prev = e.prev
	} else if s.tail == i {
		s.tail = e.prev
	}
	e.prev, e.next = none, none
}

// toTail moves i (linked or freshly allocated) to the tail of the list.
func (s *shard) toTail(i int32) {
	if s.tail == i {
		return
	}
	s.unlink(i)
	e := &s.slots[i]
	e.prev = s.tail
	if s.tail != none {
		s.slots[s.tail].next = i
	} else {
		s.head = i
	}
	s.tail = i
}
