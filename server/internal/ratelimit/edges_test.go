package ratelimit

import (
	"testing"
	"time"
)

// Shards are as many as possible (a power of two, at most maxShards) while
// each still holds minKeysPerShard keys: fewer would serialise cores on one
// lock, smaller ones would refuse new keys early through imbalance.
func TestShardCount(t *testing.T) {
	for mk, want := range map[int]int{
		1: 1, 2*minKeysPerShard - 1: 1, 2 * minKeysPerShard: 2, 4*minKeysPerShard - 1: 2,
		4 * minKeysPerShard: 4, maxShards * minKeysPerShard: maxShards, DefaultMaxKeys: maxShards,
	} {
		l := mustNew(t, Options{Limit: 1, Window: time.Second, MaxKeys: mk})
		if len(l.shards) != want {
			t.Errorf("MaxKeys %d: %d shards, want %d", mk, len(l.shards), want)
		}
	}
}

// A caller whose clock reading is behind the shard's newest, refused
// because the table is full, is told the wait from its own reading.
func TestClockClampFullTable(t *testing.T) {
	l := mustNew(t, Options{Limit: 1, Window: time.Second, MaxKeys: 1})
	base := l.epoch.Add(time.Hour)
	if ok, _ := l.Allow(keyN(1), base.Add(2*time.Second)); !ok {
		t.Fatal("first key refused")
	}
	// Key 1 replenishes at base+3s; the stale caller reads base+1.5s.
	ok, retry := l.Allow(keyN(2), base.Add(1500*time.Millisecond))
	if ok || retry != 1500*time.Millisecond {
		t.Fatalf("stale caller on a full table: %v %v; want refused, 1.5s", ok, retry)
	}
	if ok, _ := l.Allow(keyN(2), base.Add(1500*time.Millisecond).Add(retry)); !ok {
		t.Fatal("refused at the retry time")
	}
}

// Windows, asked with a reading behind the shard's newest, gives the same
// wait Allow gives that reading.
func TestWindowsStaleReading(t *testing.T) {
	l := mustNew(t, Options{Limit: 1, Window: time.Second, MaxKeys: 10})
	base := l.epoch.Add(time.Hour)
	l.Allow(keyN(1), base.Add(2*time.Second))
	stale := base.Add(1500 * time.Millisecond)
	_, top := l.Windows(stale, 10)
	if len(top) != 1 || top[0].Wait != 1500*time.Millisecond {
		t.Fatalf("Windows at a stale reading: %+v; want one key waiting 1.5s", top)
	}
	if ok, retry := l.Allow(keyN(1), stale); ok || retry != top[0].Wait {
		t.Fatalf("Allow at the same reading: %v %v; Windows said %v", ok, retry, top[0].Wait)
	}
}

// Each Allow evicts at most evictPerCall replenished keys, so its work is
// bounded however many keys went idle; Sweep takes the rest.
func TestEvictionPerCallBounded(t *testing.T) {
	l := mustNew(t, Options{Limit: 1, Window: time.Second, MaxKeys: 100})
	if len(l.shards) != 1 {
		t.Fatalf("want one shard, got %d", len(l.shards))
	}
	base := l.epoch.Add(time.Hour)
	for i := range 10 {
		l.Allow(keyN(i), base.Add(time.Duration(i)*time.Millisecond))
	}
	l.Allow(keyN(100), base.Add(time.Minute))
	if n := l.Len(); n != 10-evictPerCall+1 {
		t.Fatalf("after one call, %d keys tracked; want %d", n, 10-evictPerCall+1)
	}
	if n := l.Sweep(base.Add(time.Minute)); n != 10-evictPerCall {
		t.Fatalf("Sweep evicted %d; want %d", n, 10-evictPerCall)
	}
}

// Memory stays within the limits: a key's ring never holds more than Limit
// times, and a shard's slab never more slots than its cap.
func TestMemoryBounds(t *testing.T) {
	const limit = initialRing + 4
	l := mustNew(t, Options{Limit: limit, Window: time.Second, MaxKeys: 300})
	base := l.epoch.Add(time.Hour)
	k := keyN(1)
	for i := range 3 * limit {
		l.Allow(k, base.Add(time.Duration(i)*time.Millisecond))
	}
	s := &l.shards[l.shardOf(k)]
	if e := s.slots[s.idx[k]]; len(e.times) != limit || cap(e.times) > limit {
		t.Fatalf("ring of %d with capacity %d; want %d, at most %d", len(e.times), cap(e.times), limit, limit)
	}
	for i := range 300 {
		if ok, _ := l.Allow(keyN(1000+i), base.Add(time.Second)); !ok && i < 299 {
			t.Fatalf("key %d refused with room", i)
		}
	}
	if len(l.shards) != 1 || cap(l.shards[0].slots) > l.shards[0].cap {
		t.Fatalf("%d shards; slab capacity %d for a cap of %d", len(l.shards), cap(l.shards[0].slots), l.shards[0].cap)
	}
}
