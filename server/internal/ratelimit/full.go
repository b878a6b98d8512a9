package ratelimit

import (
	"time"

	"httplab/httplab-server/internal/clientid"
)

// Full reports whether a request from k arriving at now would be refused
// for its rate, without recording anything. A key the limiter does not
// track is not full (a full table aside, which Allow decides).
func (l *Limiter) Full(k clientid.Key, now time.Time) bool {
	if l.limit == 0 {
		return false
	}
	s := &l.shards[l.shardOf(k)]
	s.mu.Lock()
	defer s.mu.Unlock()
	i, found := s.idx[k]
	if !found {
		return false
	}
	e := &s.slots[i]
	if len(e.times) < l.limit {
		return false
	}
	t := max(int64(now.Sub(l.epoch)), s.latest)
	return e.times[e.start] > cutoffAt(t, l.window)
}
