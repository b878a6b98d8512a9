// Package hits counts successful responses per path, in two ways: "locked",
// which is exact, and "naive", which is deliberately wrong in the classic way
// so the lab can show lost updates.
//
// Both keep a map from path to a counter behind a sync.RWMutex. The map is
// only written when a path is seen for the first time; every later Inc takes
// the read lock and touches the counter alone, so requests for different (or
// the same) paths do not serialise on a writer lock, and no allocation
// happens. A new path is copied before it is stored, because callers may pass
// a string that aliases a reused request buffer.
//
// locked increments with one atomic add: exact under any concurrency.
//
// naive does what unsynchronised code does, a read-modify-write in three
// steps: load the value, yield the processor (runtime.Gosched), store
// value+1. Two goroutines that both load 41 both store 42, and one hit is
// lost. The yield widens the window between load and store from nanoseconds
// to a scheduling quantum so the loss shows up in a lab run rather than once
// a month. The load and the store are each atomic, so the Go memory model is
// respected and the race detector stays quiet: the bug is a logical race
// (lost update), not a data race, and it cannot crash or corrupt the map.
package hits

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// Counter counts hits per path. Implementations are safe for concurrent use.
type Counter interface {
	Inc(path string)
	Get(path string) uint64
	Snapshot() map[string]uint64
}

// Mode names accepted by New.
const (
	Locked = "locked"
	Naive  = "naive"
)

// New returns the counter for mode: "locked" or "naive".
func New(mode string) (Counter, error) {
	switch mode {
	case Locked:
		return &locked{table: newTable()}, nil
	case Naive:
		return &naive{table: newTable()}, nil
	}
	return nil, fmt.Errorf("unknown counter mode %q: valid values are %s, %s", mode, Locked, Naive)
}

// table maps a path to its counter; counters are created once and never
// removed, so a pointer read under the read lock stays valid after it.
type table struct {
	mu sync.RWMutex
	m  map[string]*atomic.Uint64
}

func newTable() table { return table{m: make(map[string]*atomic.Uint64)} }

func (t *table) counter(path string) *atomic.Uint64 {
	t.mu.RLock()
	c := t.m[path]
	t.mu.RUnlock()
	if c != nil {
		return c
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c = t.m[path]; c == nil { // another goroutine may have added it meanwhile
		c = new(atomic.Uint64)
		t.m[strings.Clone(path)] = c
	}
	return c
}

func (t *table) Get(path string) uint64 {
	t.mu.RLock()
	c := t.m[path]
	t.mu.RUnlock()
	if c == nil {
		return 0
	}
	return c.Load()
}

func (t *table) Snapshot() map[string]uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := make(map[string]uint64, len(t.m))
	for p, c := range t.m {
		s[p] = c.Load()
	}
	return s
}

type locked struct{ table }

func (l *locked) Inc(path string) { l.counter(path).Add(1) }

type naive struct{ table }

func (n *naive) Inc(path string) {
	c := n.counter(path)
	v := c.Load()
	runtime.Gosched() // let other goroutines load the same v
	c.Store(v + 1)
}
