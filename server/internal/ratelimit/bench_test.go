package ratelimit

import (
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAllow measures the steady state of an existing key. Times are
// precomputed (a fake clock) except in the "time.Now" cases, which include
// the clock read a caller pays for.
func BenchmarkAllow(b *testing.B) {
	opts := Options{Limit: 5, Window: time.Second}
	b.Run("admitted", func(b *testing.B) {
		l := mustNew(b, opts)
		k, now := keyN(1), l.epoch
		b.ReportAllocs()
		for b.Loop() {
			now = now.Add(opts.Window / time.Duration(opts.Limit)) // every request admitted: the ring turns
			if ok, _ := l.Allow(k, now); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("refused", func(b *testing.B) {
		l := mustNew(b, opts)
		k, now := keyN(1), l.epoch
		for range opts.Limit {
			l.Allow(k, now)
		}
		b.ReportAllocs()
		for b.Loop() {
			if ok, _ := l.Allow(k, now); ok {
				b.Fatal("admitted")
			}
		}
	})
	b.Run("time.Now", func(b *testing.B) {
		l := mustNew(b, opts)
		k := keyN(1)
		b.ReportAllocs()
		for b.Loop() {
			l.Allow(k, time.Now())
		}
	})
	b.Run("10k-keys-round-robin", func(b *testing.B) {
		// Keys spread over all shards, each with a full ring: cache misses
		// rather than the single hot line of the cases above.
		l := mustNew(b, opts)
		const n = 10_000
		now := l.epoch
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			if i%n == 0 {
				now = now.Add(opts.Window / time.Duration(opts.Limit))
			}
			l.Allow(keyN(i%n), now)
			i++
		}
	})
	b.Run("new-key-churn", func(b *testing.B) {
		// Every request a client never seen, while old ones replenish and are
		// evicted: the flood path (slot and ring reuse, map insert/delete).
		l := mustNew(b, Options{Limit: 5, Window: time.Millisecond})
		now := l.epoch
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			now = now.Add(100 * time.Nanosecond) // ~10k live keys
			l.Allow(keyN(i&0xffffff), now)
			i++
		}
	})
	b.Run("parallel/admitted", func(b *testing.B) {
		l := mustNew(b, opts)
		var id atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			k, now := keyN(int(id.Add(1))), l.epoch
			for pb.Next() {
				now = now.Add(opts.Window / time.Duration(opts.Limit))
				l.Allow(k, now)
			}
		})
	})
	b.Run("parallel/time.Now", func(b *testing.B) {
		l := mustNew(b, opts)
		var id atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			k := keyN(int(id.Add(1)))
			for pb.Next() {
				l.Allow(k, time.Now())
			}
		})
	})
	b.Run("parallel/one-key", func(b *testing.B) {
		// Worst case: every goroutine on one key (one shard lock).
		l := mustNew(b, opts)
		k := keyN(1)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Allow(k, time.Now())
			}
		})
	})
}
