package ratelimit

import (
	"math"
	"net/netip"
	"time"

	"httplab/httplab-server/internal/clientid"
)

// model is the brute-force reference: it keeps every admitted time and
// recounts on each request. A request at t from k is admitted iff fewer than
// limit admissions of k lie in (t-window, t]; refused requests are not kept.
// When k has none in the window it would be a new key to the limiter, so the
// model also applies the key cap: refused if the keys of k's shard that do
// have admissions in the window already fill the shard, and then retryAfter
// is the time until the first of them runs dry.
//
// Times must be non-decreasing (the limiter clamps otherwise; the model
// does not).
type model struct {
	limit    int
	window   int64
	admitted map[clientid.Key][]int64
	shardOf  func(clientid.Key) uint64
	shardCap func(uint64) int
}

func newModel(l *Limiter) *model {
	return &model{
		limit:    l.limit,
		window:   l.window,
		admitted: map[clientid.Key][]int64{},
		shardOf:  l.shardOf,
		shardCap: func(i uint64) int { return l.shards[i].cap },
	}
}

// inWindow returns k's admissions in (t-window, t], oldest first.
func (m *model) inWindow(k clientid.Key, t int64) []int64 {
	all := m.admitted[k]
	i := len(all)
	for i > 0 && all[i-1] > t-m.window {
		i--
	}
	return all[i:]
}

func (m *model) allow(k clientid.Key, t int64) (bool, time.Duration) {
	w := m.inWindow(k, t)
	if len(w) >= m.limit {
		// The admission that must leave the window first: the limit-th most recent.
		return false, time.Duration(w[len(w)-m.limit] + m.window - t)
	}
	if len(w) == 0 {
		sh := m.shardOf(k)
		live, soonest := 0, int64(math.MaxInt64)
		for other := range m.admitted {
			if other == k || m.shardOf(other) != sh {
				continue
			}
			if ow := m.inWindow(other, t); len(ow) > 0 {
				live++
				soonest = min(soonest, ow[len(ow)-1]+m.window-t)
			}
		}
		if live >= m.shardCap(sh) {
			return false, time.Duration(soonest)
		}
	}
	m.admitted[k] = append(m.admitted[k], t)
	return true, 0
}

func keyN(i int) clientid.Key {
	return clientid.Of(clientid.ByIP, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000))
}

func netipAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
