package tally

import (
	"maps"
	"sync"
	"testing"
)

func TestRecordCountsEachStatusAndTheTotal(t *testing.T) {
	var r Requests
	// 99 and 600 are just outside 100..599 and -1 is nonsense: counted in the total only.
	for _, code := range []int{200, 200, 100, 599, 429, 429, 429, 404, 99, 600, -1} {
		r.Record(code)
	}
	s := r.Snapshot()
	if s.Total != 11 {
		t.Errorf("Total = %d, want 11", s.Total)
	}
	if s.RateLimited != 3 {
		t.Errorf("RateLimited = %d, want 3 (only the 429s)", s.RateLimited)
	}
	want := map[string]uint64{"100": 1, "200": 2, "404": 1, "429": 3, "599": 1}
	if !maps.Equal(s.Status, want) {
		t.Errorf("Status = %v, want %v", s.Status, want)
	}
}

func TestSnapshotOfNothingIsEmptyNotNil(t *testing.T) {
	var r Requests
	s := r.Snapshot()
	if s.Total != 0 || s.RateLimited != 0 {
		t.Errorf("Total, RateLimited = %d, %d; want 0, 0", s.Total, s.RateLimited)
	}
	if s.Status == nil || len(s.Status) != 0 {
		t.Errorf("Status = %#v, want an empty map (it is encoded as {} in /stats)", s.Status)
	}
}

func TestSnapshotIsACopy(t *testing.T) {
	var r Requests
	r.Record(200)
	s := r.Snapshot()
	r.Record(200)
	r.Record(429)
	if s.Total != 1 || s.Status["200"] != 1 || s.RateLimited != 0 {
		t.Errorf("an earlier snapshot changed: %+v", s)
	}
}

// Record is called from every connection's goroutine: no count may be lost.
func TestRecordIsExactUnderConcurrency(t *testing.T) {
	const goroutines, each = 8, 1000
	var r Requests
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				r.Record(200)
				r.Record(429)
			}
		})
	}
	wg.Wait()
	s := r.Snapshot()
	if s.Total != 2*goroutines*each || s.Status["200"] != goroutines*each ||
		s.Status["429"] != goroutines*each || s.RateLimited != goroutines*each {
		t.Errorf("snapshot %+v, want %d of each of 200 and 429", s, goroutines*each)
	}
}
