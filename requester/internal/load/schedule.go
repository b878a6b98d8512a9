package load

import (
	"context"
	"math/bits"
	"runtime"
	"time"
)

// Schedule spreads n requests evenly over a duration: request i is due at
// i·spread/n after the start. Due times are computed from the start, never
// from the previous request, so lateness in one request does not push back
// the ones after it.
//
// A shard is the slice of that schedule whose indexes i have i mod Shards =
// Shard (as k6's execution segments slice one test): its request j is
// request Shard + j·Shards of the undivided schedule, due at the same time.
// The union of the Shards shards is the undivided schedule. Shards 0 or 1
// is the whole schedule.
type Schedule struct {
	N      int
	Spread time.Duration
	Shard  int
	Shards int
}

// of is the number of shards, at least 1.
func (s Schedule) of() int { return max(s.Shards, 1) }

// Count is the number of requests of the shard.
func (s Schedule) Count() int {
	if s.N <= s.Shard {
		return 0
	}
	return (s.N - s.Shard + s.of() - 1) / s.of()
}

// Seq is the index in the undivided schedule of the shard's request j.
func (s Schedule) Seq(j int) int { return s.Shard + j*s.of() }

// Due is the offset from the run's start at which the shard's request j is
// due: that of request Seq(j) of the undivided schedule, rounded down to
// the nanosecond. It is exact for any n and spread (128-bit product).
func (s Schedule) Due(j int) time.Duration {
	i := s.Seq(j)
	if s.Spread <= 0 || s.N <= 0 || i <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(i), uint64(s.Spread))
	q, _ := bits.Div64(hi, lo, uint64(s.N))
	return time.Duration(q)
}

// spinWindow is how long before a due time the pacer stops sleeping and
// starts polling the clock. Go's timers wake up to about a millisecond late
// on Linux (the netpoller waits in whole milliseconds), which alone would
// make a 1,000 req/s schedule late by half an interval on average; polling
// the last stretch, yielding the processor each time round, brings a send
// within microseconds of its due time. The window is paid in CPU only while
// requests are due more often than it, which is when precision matters.
const spinWindow = 1500 * time.Microsecond

// clock is the time source of the pacer, replaceable in tests.
type clock interface {
	Now() time.Time
	// SleepUntil returns true at t or shortly after, or false as soon as ctx
	// is done.
	SleepUntil(ctx context.Context, t time.Time) bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time) bool {
	for {
		d := time.Until(t)
		if d <= 0 {
			return true
		}
		if d <= spinWindow {
			if ctx.Err() != nil {
				return false
			}
			runtime.Gosched()
			continue
		}
		// A timer never fires early, so this branch runs once: after it,
		// what is left is within the spin window.
		timer := time.NewTimer(d - spinWindow)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return false
		}
	}
}
