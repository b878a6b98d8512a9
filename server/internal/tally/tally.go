// Package tally counts responses by status code with one atomic add each, so
// the hot path never takes a lock; /stats and /metrics read it on demand.
package tally

import (
	"strconv"
	"sync/atomic"
)

// Requests counts responses by status (100..599) plus the rate-limited ones.
type Requests struct {
	status      [600]atomic.Uint64
	total       atomic.Uint64
	rateLimited atomic.Uint64
}

// Record counts one response with the given status. Codes outside 100..599 are
// counted in the total only.
func (r *Requests) Record(status int) {
	r.total.Add(1)
	if status >= 100 && status < len(r.status) {
		r.status[status].Add(1)
	}
	if status == 429 {
		r.rateLimited.Add(1)
	}
}

// Snapshot is a point-in-time copy for reporting.
type Snapshot struct {
	Total       uint64
	RateLimited uint64
	Status      map[string]uint64 // only codes seen, keyed "200"
}

// Snapshot copies the counters. Concurrent Records may land between reads, so
// Total can run ahead of the sum of Status by the requests in flight.
func (r *Requests) Snapshot() Snapshot {
	s := Snapshot{Status: map[string]uint64{}}
	for code := 100; code < len(r.status); code++ {
		if n := r.status[code].Load(); n > 0 {
			s.Status[strconv.Itoa(code)] = n
		}
	}
	s.Total = r.total.Load()
	s.RateLimited = r.rateLimited.Load()
	return s
}
