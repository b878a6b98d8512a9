// Package stats turns the results of a run into the numbers a report shows:
// counts by status and error, latency and lateness percentiles from HDR
// histograms, latency split by outcome, a latency histogram, outcomes per
// second and the peak number of requests in flight.
package stats

import (
	"math"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"httplab/httplab-requester/internal/load"
)

// Class groups outcomes the way a person reading a rate-limited or capped
// server needs them apart: a fast 429 or 503 must not flatter the latency
// of the requests that were served.
type Class int

// The outcome classes, in report order.
const (
	OK          Class = iota // status 200
	TooMany                  // status 429 (rate limited)
	Unavailable              // status 503 (connection cap)
	OtherStatus              // any other status
	Failed                   // no response: an error category
	numClasses
)

// Classes lists every class in report order.
var Classes = []Class{OK, TooMany, Unavailable, OtherStatus, Failed}

// String is the class's short name, used as a column title and JSON key.
func (c Class) String() string {
	return [...]string{"200", "429", "503", "other", "errors"}[c]
}

// ClassOf says which class a result belongs to.
func ClassOf(r load.Result) Class {
	// An if chain, not a switch: gremlins counts a case's condition as never
	// covered, so its mutants would go unmeasured.
	if r.Err != load.NoError {
		return Failed
	} else if r.Status == 200 {
		return OK
	} else if r.Status == 429 {
		return TooMany
	} else if r.Status == 503 {
		return Unavailable
	}
	return OtherStatus
}

// Counts holds one number per class.
type Counts [numClasses]int

// Percentiles summarises a set of durations. Min, Mean and Max are exact;
// the percentiles come from an HDR histogram (3 significant digits) and are
// clamped to [Min, Max].
type Percentiles struct {
	Count                         int
	Min, Mean, P50, P90, P99, Max time.Duration
}

// Bucket is one bar of the latency histogram: requests whose latency is in
// [From, To), or [From, To] for the last bucket.
type Bucket struct {
	From, To time.Duration
	Counts   Counts
}

// Total is the number of requests in the bucket.
func (b Bucket) Total() int { return sum(b.Counts) }

// Second is one second of a run, counted by the time requests were sent.
type Second struct {
	Second int
	Counts Counts
}

// Sent is the number of requests sent during the second.
func (s Second) Sent() int { return sum(s.Counts) }

// Summary is everything computed from one run.
type Summary struct {
	Sent       int
	Status     map[int]int
	Errors     map[load.ErrorKind]int
	Bytes      int64
	Throughput float64 // requests per second of wall time

	Latency Percentiles // every request, failed ones included
	// The phases, from each request's own start, over the requests that
	// reached them: the connection established, the first response byte.
	Connect   Percentiles
	FirstByte Percentiles
	ByClass   [numClasses]Percentiles // Count 0 when the class is empty
	Lateness  Percentiles             // actual send minus planned send

	Histogram    []Bucket
	PerSecond    []Second
	PeakInFlight int
}

// HistogramBuckets is the number of bars in the latency histogram.
const HistogramBuckets = 12

// Summarize computes the summary of a run.
func Summarize(run load.Run) Summary {
	s := Summary{
		Sent:   len(run.Results),
		Status: map[int]int{},
		Errors: map[load.ErrorKind]int{},
	}
	for _, k := range load.ErrorKinds {
		s.Errors[k] = 0
	}
	latency := newRecorder()
	lateness := newRecorder()
	connect, firstByte := newRecorder(), newRecorder()
	var byClass [numClasses]*recorder
	for _, r := range run.Results {
		if r.Err != load.NoError {
			s.Errors[r.Err]++
		} else {
			s.Status[r.Status]++
		}
		s.Bytes += r.Bytes
		latency.add(r.Latency())
		lateness.add(r.Lateness())
		if r.Connect > 0 {
			connect.add(r.Connect)
		}
		if r.FirstByte > 0 {
			firstByte.add(r.FirstByte)
		}
		c := ClassOf(r)
		if byClass[c] == nil {
			byClass[c] = newRecorder()
		}
		byClass[c].add(r.Latency())
	}
	s.Latency = latency.percentiles()
	s.Lateness = lateness.percentiles()
	s.Connect = connect.percentiles()
	s.FirstByte = firstByte.percentiles()
	for c, rec := range byClass {
		if rec != nil {
			s.ByClass[c] = rec.percentiles()
		}
	}
	if run.Wall > 0 {
		s.Throughput = float64(s.Sent) / run.Wall.Seconds()
	}
	s.Histogram = histogram(run.Results, s.Latency.Min, s.Latency.Max, HistogramBuckets)
	s.PerSecond = perSecond(run.Results)
	s.PeakInFlight = peakInFlight(run.Results)
	return s
}

// recorder collects durations for Percentiles.
type recorder struct {
	h             *hdrhistogram.Histogram
	n             int
	sum, min, max time.Duration
}

// highest is the largest duration the histograms track exactly; anything
// longer (a run can only be that long if someone asked for it) is recorded
// as this value, while Min, Mean and Max stay exact.
const highest = time.Hour

func newRecorder() *recorder {
	return &recorder{h: hdrhistogram.New(1, int64(highest), 3)}
}

func (r *recorder) add(d time.Duration) {
	d = max(d, 0)
	if r.n == 0 || d < r.min {
		r.min = d
	}
	r.max = max(r.max, d)
	r.n++
	r.sum += d
	_ = r.h.RecordValue(int64(min(d, highest))) // in range by construction
}

func (r *recorder) percentiles() Percentiles {
	if r.n == 0 {
		return Percentiles{}
	}
	at := func(q float64) time.Duration {
		return min(max(time.Duration(r.h.ValueAtQuantile(q)), r.min), r.max)
	}
	return Percentiles{
		Count: r.n,
		Min:   r.min,
		Mean:  r.sum / time.Duration(r.n),
		P50:   at(50),
		P90:   at(90),
		P99:   at(99),
		Max:   r.max,
	}
}

// histogram sorts latencies into n buckets spaced evenly on a log scale
// between lo and hi, so that a cluster of fast refusals and a cluster of
// slow successes both stay visible.
func histogram(results []load.Result, lo, hi time.Duration, n int) []Bucket {
	if len(results) == 0 {
		return nil
	}
	lo = max(lo, time.Microsecond) // a log scale needs a positive start
	hi = max(hi, lo)
	if float64(hi)/float64(lo) < 1.01 {
		n = 1
	}
	ratio := math.Log(float64(hi) / float64(lo))
	buckets := make([]Bucket, n)
	for k := range buckets {
		buckets[k].From = edge(lo, ratio, k, n)
		buckets[k].To = edge(lo, ratio, k+1, n)
	}
	buckets[0].From = lo
	buckets[n-1].To = hi
	for _, r := range results {
		k := 0
		if v := float64(max(r.Latency(), lo)); n > 1 {
			k = int(float64(n) * math.Log(v/float64(lo)) / ratio)
		}
		k = min(max(k, 0), n-1)
		buckets[k].Counts[ClassOf(r)]++
	}
	return buckets
}

func edge(lo time.Duration, ratio float64, k, n int) time.Duration {
	return time.Duration(float64(lo) * math.Exp(ratio*float64(k)/float64(n)))
}

// perSecond counts outcomes by the second in which each request was sent,
// which is how a rate limiter's windows show.
func perSecond(results []load.Result) []Second {
	var last time.Duration
	for _, r := range results {
		last = max(last, r.Start)
	}
	if len(results) == 0 {
		return nil
	}
	seconds := make([]Second, int(last/time.Second)+1)
	for i := range seconds {
		seconds[i].Second = i
	}
	for _, r := range results {
		seconds[int(max(r.Start, 0)/time.Second)].Counts[ClassOf(r)]++
	}
	return seconds
}

// peakInFlight is the largest number of requests between send and end at
// any instant. A request that ends when another starts does not overlap it.
func peakInFlight(results []load.Result) int {
	type event struct {
		at    time.Duration
		delta int
	}
	events := make([]event, 0, 2*len(results))
	for _, r := range results {
		events = append(events, event{r.Start, +1}, event{r.End, -1})
	}
	slices.SortFunc(events, func(a, b event) int {
		if a.at != b.at {
			if a.at < b.at {
				return -1
			}
			return 1
		}
		return a.delta - b.delta // ends first
	})
	peak, cur := 0, 0
	for _, e := range events {
		cur += e.delta
		peak = max(peak, cur)
	}
	return peak
}

func sum(c Counts) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}
