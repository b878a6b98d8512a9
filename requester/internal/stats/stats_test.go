package stats

import (
	"testing"
	"time"

	"httplab/httplab-requester/internal/load"
)

const ms = time.Millisecond

func res(seq int, start, end time.Duration, status int, err load.ErrorKind) load.Result {
	return load.Result{Seq: seq, Scheduled: start, Start: start, End: end, Status: status, Err: err}
}

func TestSummarizeCountsAndClasses(t *testing.T) {
	run := load.Run{Wall: 2 * time.Second, Results: []load.Result{
		res(0, 0, 10*ms, 200, ""),
		res(1, 100*ms, 130*ms, 200, ""),
		res(2, 200*ms, 201*ms, 429, ""),
		res(3, 1100*ms, 1101*ms, 503, ""),
		res(4, 1200*ms, 1250*ms, 404, ""),
		res(5, 1300*ms, 1300*ms, 0, load.Refused),
		res(6, 1900*ms, 2000*ms, 0, load.Timeout),
	}}
	s := Summarize(run)
	if s.Sent != 7 || s.Status[200] != 2 || s.Status[429] != 1 || s.Status[503] != 1 || s.Status[404] != 1 {
		t.Errorf("status counts %v", s.Status)
	}
	if s.Errors[load.Refused] != 1 || s.Errors[load.Timeout] != 1 || s.Errors[load.Reset] != 0 || len(s.Errors) != 4 {
		t.Errorf("error counts %v", s.Errors)
	}
	if s.Throughput != 3.5 {
		t.Errorf("throughput %v, want 7 requests / 2 s", s.Throughput)
	}
	if got := s.ByClass[OK]; got.Count != 2 || got.Min != 10*ms || got.Max != 30*ms || got.Mean != 20*ms {
		t.Errorf("200 latency %+v", got)
	}
	if got := s.ByClass[TooMany]; got.Count != 1 || got.Max != 1*ms {
		t.Errorf("429 latency %+v", got)
	}
	if got := s.ByClass[OtherStatus]; got.Count != 1 || got.Max != 50*ms {
		t.Errorf("other-status latency %+v", got)
	}
	if got := s.ByClass[Failed]; got.Count != 2 || got.Min != 0 || got.Max != 100*ms {
		t.Errorf("error latency %+v", got)
	}
	// Overall latency counts failed requests too.
	if s.Latency.Count != 7 || s.Latency.Max != 100*ms || s.Latency.Min != 0 {
		t.Errorf("overall latency %+v", s.Latency)
	}
	// Seconds by send time: 0 s holds seq 0-2, 1 s holds seq 3-6.
	if len(s.PerSecond) != 2 {
		t.Fatalf("%d seconds", len(s.PerSecond))
	}
	if c := s.PerSecond[0].Counts; c != (Counts{2, 1, 0, 0, 0}) {
		t.Errorf("second 0: %v", c)
	}
	if c := s.PerSecond[1].Counts; c != (Counts{0, 0, 1, 1, 2}) || s.PerSecond[1].Sent() != 4 {
		t.Errorf("second 1: %v", c)
	}
	total := 0
	for _, b := range s.Histogram {
		total += b.Total()
		if b.To < b.From {
			t.Errorf("bucket %v-%v", b.From, b.To)
		}
	}
	if total != 7 {
		t.Errorf("histogram holds %d requests, want 7", total)
	}
}

func TestPercentiles(t *testing.T) {
	var results []load.Result
	for i := 1; i <= 1000; i++ { // latencies 1..1000 ms
		results = append(results, res(i-1, 0, time.Duration(i)*ms, 200, ""))
	}
	p := Summarize(load.Run{Wall: time.Second, Results: results}).Latency
	near := func(name string, got, want time.Duration) {
		if d := got - want; d < -want/500 || d > want/500 { // HDR: 3 significant digits
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("p50", p.P50, 500*ms)
	near("p90", p.P90, 900*ms)
	near("p99", p.P99, 990*ms)
	if p.Min != ms || p.Max != 1000*ms || p.Mean != 500500*time.Microsecond {
		t.Errorf("min %v max %v mean %v", p.Min, p.Max, p.Mean)
	}
	if p.P99 > p.Max || p.P50 < p.Min {
		t.Errorf("percentiles outside [min, max]: %+v", p)
	}
}

func TestLatenessAndPeakInFlight(t *testing.T) {
	results := []load.Result{
		{Seq: 0, Scheduled: 0, Start: 1 * ms, End: 10 * ms, Status: 200},
		{Seq: 1, Scheduled: 2 * ms, Start: 4 * ms, End: 12 * ms, Status: 200},
		{Seq: 2, Scheduled: 3 * ms, Start: 5 * ms, End: 6 * ms, Status: 200},
		{Seq: 3, Scheduled: 12 * ms, Start: 12 * ms, End: 13 * ms, Status: 200}, // starts as seq 1 ends
	}
	s := Summarize(load.Run{Wall: 13 * ms, Results: results})
	if s.PeakInFlight != 3 {
		t.Errorf("peak in flight %d, want 3", s.PeakInFlight)
	}
	if s.Lateness.Max != 2*ms || s.Lateness.Min != 0 || s.Lateness.Count != 4 {
		t.Errorf("lateness %+v", s.Lateness)
	}
}

func TestHistogramLogBuckets(t *testing.T) {
	// A cluster of fast refusals and one of slow successes: both must show.
	var results []load.Result
	for i := range 50 {
		results = append(results, res(i, 0, 100*time.Microsecond, 429, ""))
	}
	for i := range 50 {
		results = append(results, res(50+i, 0, 100*ms, 200, ""))
	}
	s := Summarize(load.Run{Wall: time.Second, Results: results})
	first, last := s.Histogram[0], s.Histogram[len(s.Histogram)-1]
	if first.Counts[TooMany] != 50 || last.Counts[OK] != 50 {
		t.Errorf("first bucket %v, last %v", first, last)
	}
	if first.From != 100*time.Microsecond || last.To != 100*ms {
		t.Errorf("range %v-%v", first.From, last.To)
	}
	// Equal latencies: one bucket.
	one := Summarize(load.Run{Wall: time.Second, Results: results[:10]})
	if len(one.Histogram) != 1 || one.Histogram[0].Total() != 10 {
		t.Errorf("histogram of equal values: %+v", one.Histogram)
	}
}

func TestEmptyRun(t *testing.T) {
	s := Summarize(load.Run{})
	if s.Sent != 0 || s.Latency.Count != 0 || s.Histogram != nil || s.PerSecond != nil || s.Throughput != 0 {
		t.Errorf("empty run summary %+v", s)
	}
}
