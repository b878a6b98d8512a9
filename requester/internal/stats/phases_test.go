package stats

import (
	"testing"
	"time"

	"httplab/httplab-requester/internal/load"
)

// The phase percentiles count only the requests that reached the phase: a
// request refused before connecting has no connect time, one that got no
// byte back has no first-byte time.
func TestPhasesOnlyReached(t *testing.T) {
	results := []load.Result{
		{Seq: 0, Start: 0, End: 10 * ms, Status: 200, Connect: 1 * ms, FirstByte: 4 * ms},
		{Seq: 1, Start: 0, End: 20 * ms, Status: 200, Connect: 3 * ms, FirstByte: 8 * ms},
		{Seq: 2, Start: 0, End: 30 * ms, Err: load.Timeout, Connect: 2 * ms},
		{Seq: 3, Start: 0, End: 1 * ms, Err: load.Refused},
	}
	s := Summarize(load.Run{Wall: time.Second, Results: results})
	if c := s.Connect; c.Count != 3 || c.Min != 1*ms || c.Max != 3*ms || c.Mean != 2*ms {
		t.Errorf("connect %+v; want 3 requests, 1-3 ms, mean 2 ms", c)
	}
	if f := s.FirstByte; f.Count != 2 || f.Min != 4*ms || f.Max != 8*ms || f.Mean != 6*ms {
		t.Errorf("first byte %+v; want 2 requests, 4-8 ms, mean 6 ms", f)
	}
}

// Every request is counted in the bucket whose range holds its latency,
// the middle of the scale included.
func TestHistogramBucketHoldsLatency(t *testing.T) {
	var results []load.Result
	for i, d := range []time.Duration{100 * time.Microsecond, 300 * time.Microsecond, time.Millisecond,
		3162 * time.Microsecond, 10 * ms, 31 * ms, 100 * ms} {
		results = append(results, res(i, 0, d, 200, ""))
	}
	s := Summarize(load.Run{Wall: time.Second, Results: results})
	if len(s.Histogram) != HistogramBuckets {
		t.Fatalf("%d buckets", len(s.Histogram))
	}
	for _, r := range results {
		found := false
		for i, b := range s.Histogram {
			last := i == len(s.Histogram)-1
			if r.Latency() >= b.From && (r.Latency() < b.To || last && r.Latency() == b.To) {
				found = true
				if b.Total() == 0 {
					t.Errorf("latency %v: its bucket [%v, %v) is empty", r.Latency(), b.From, b.To)
				}
			}
		}
		if !found {
			t.Errorf("latency %v in no bucket", r.Latency())
		}
	}
	// A spread of exactly 1 % still gets the full histogram.
	s = Summarize(load.Run{Wall: time.Second, Results: []load.Result{
		res(0, 0, 100*time.Microsecond, 200, ""), res(1, 0, 101*time.Microsecond, 200, "")}})
	if len(s.Histogram) != HistogramBuckets || s.Histogram[0].Total() != 1 || s.Histogram[HistogramBuckets-1].Total() != 1 {
		t.Errorf("100 µs and 101 µs: %+v", s.Histogram)
	}
}

// A request that ends as another starts does not overlap it, whatever
// order the results come in.
func TestPeakInFlightBackToBack(t *testing.T) {
	results := []load.Result{
		res(2, 20*ms, 30*ms, 200, ""),
		res(1, 10*ms, 20*ms, 200, ""),
		res(0, 0, 10*ms, 200, ""),
	}
	if s := Summarize(load.Run{Wall: time.Second, Results: results}); s.PeakInFlight != 1 {
		t.Errorf("back-to-back requests: peak in flight %d, want 1", s.PeakInFlight)
	}
}
