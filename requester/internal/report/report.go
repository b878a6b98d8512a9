// Package report builds the report of one or more runs and encodes it as
// text tables, JSON, CSV or a self-contained HTML page.
//
// Build turns runs into a Report, the one model every encoder reads; the
// JSON encoder writes it as it is, which makes the JSON the reference for
// what every other format shows.
package report

import (
	"math"
	"strconv"
	"time"

	"httplab/httplab-requester/internal/escape"
	"httplab/httplab-requester/internal/hits"
	"httplab/httplab-requester/internal/load"
	"httplab/httplab-requester/internal/stats"
)

// Report is the whole report. The JSON names of its fields are part of the
// project's contract.
type Report struct {
	Runs    []Run     `json:"runs"`
	Speedup []Speedup `json:"speedup"`
	Hits    *Hits     `json:"hits,omitempty"`
}

// Run is one run against one target in one mode.
type Run struct {
	Target        string         `json:"target"`
	Address       string         `json:"address"` // the IP:port the host resolved to, once, before the run
	Mode          string         `json:"mode"`
	Requests      int            `json:"requests"`
	SpreadS       float64        `json:"spread_s"`
	WallS         float64        `json:"wall_s"`
	ThroughputRPS float64        `json:"throughput_rps"`
	Status        map[string]int `json:"status"`
	Errors        Errors         `json:"errors"`
	LatencyMs     Latency        `json:"latency_ms"`
	Results       []Result       `json:"results"`
	// The phases' percentiles, over the requests that reached each.
	ConnectMsStats   Latency `json:"connect_ms_stats"`
	FirstByteMsStats Latency `json:"first_byte_ms_stats"`

	// Beyond the contract.
	Sent             int                `json:"sent"`        // requests actually sent (= requests unless interrupted)
	Interrupted      bool               `json:"interrupted"` // stopped by a signal before every request was sent
	Concurrency      int                `json:"concurrency"` // in-flight cap; 0 = none
	PeakInFlight     int                `json:"peak_in_flight"`
	Bytes            int64              `json:"bytes"`
	Started          string             `json:"started"`     // wall clock, RFC 3339
	LastDueS         float64            `json:"last_due_s"`  // when the last request was due: (r−1)·t/r
	LatenessMs       Latency            `json:"lateness_ms"` // actual send minus planned send
	LatencyByOutcome map[string]Latency `json:"latency_by_outcome"`
	Histogram        []Bucket           `json:"histogram"`
	PerSecond        []Second           `json:"per_second"`

	// Shard says which slice of a larger run this is (-shard, -start-at);
	// requester merge reads it to check that reports are of one run and to
	// put their results on its clock. Absent for a whole, unanchored run.
	Shard *Shard `json:"shard,omitempty"`
	// Merged and Clients are set by requester merge.
	Merged  *Merged  `json:"merged,omitempty"`
	Clients []Client `json:"clients,omitempty"`
}

// Shard describes the slice of one run a report holds: the requests i of
// a run_requests-long schedule with i mod count = index, each result's seq
// being its i. StartAt is the schedule's zero shared by every shard
// (RFC 3339, nanoseconds), "" when the run was not anchored with -start-at.
type Shard struct {
	Index       int    `json:"index"`
	Count       int    `json:"count"`
	RunRequests int    `json:"run_requests"`
	StartAt     string `json:"start_at"`
}

// Merged says which shards a merged run was made of.
type Merged struct {
	Shards  int   `json:"shards"`  // the run's number of shards
	Indexes []int `json:"indexes"` // the shards merged, in order
	Missing []int `json:"missing"` // the shards no report was given for
}

// Client is what one client address sent and got in a merged run.
type Client struct {
	Addr       string         `json:"addr"`
	Requests   int            `json:"requests"`
	Status     map[string]int `json:"status"`
	Errors     Errors         `json:"errors"`
	LatencyMs  Latency        `json:"latency_ms"`
	LatenessMs Latency        `json:"lateness_ms"` // a client whose machine or clock lags shows here
}

// Errors counts requests that got no response, by category.
type Errors struct {
	Refused int `json:"refused"`
	Reset   int `json:"reset"`
	Timeout int `json:"timeout"`
	Other   int `json:"other"`
}

// Total is the number of failed requests.
func (e Errors) Total() int { return e.Refused + e.Reset + e.Timeout + e.Other }

// Latency is a set of percentiles in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Result is one request. Times are milliseconds from the run's start.
type Result struct {
	Seq         int     `json:"seq"`
	URL         string  `json:"url"`
	LocalAddr   string  `json:"local_addr"`
	ScheduledMs float64 `json:"scheduled_ms"`
	StartMs     float64 `json:"start_ms"`
	EndMs       float64 `json:"end_ms"`
	Status      int     `json:"status"`
	Bytes       int64   `json:"bytes"`
	Error       string  `json:"error"` // "", refused, reset, timeout or other
	// Phases from the request's own start: connect_ms <= first_byte_ms <=
	// latency_ms always. A phase not reached takes the value of the one
	// before it (connect_ms 0 when the connection was never established;
	// first_byte_ms = connect_ms when no response byte came).
	ConnectMs   float64 `json:"connect_ms"`
	FirstByteMs float64 `json:"first_byte_ms"`

	LatencyMs  float64 `json:"latency_ms"`
	LatenessMs float64 `json:"lateness_ms"`
	Detail     string  `json:"detail,omitempty"` // the underlying error
}

// Outcome is the status code, or the error category when there is none.
func (r Result) Outcome() string {
	if r.Error != "" {
		return r.Error
	}
	return strconv.Itoa(r.Status)
}

// Bucket is one bar of the latency histogram, with its requests counted by
// outcome class.
type Bucket struct {
	FromMs float64 `json:"from_ms"`
	ToMs   float64 `json:"to_ms"`
	Count  int     `json:"count"`
	OK     int     `json:"200"`
	S429   int     `json:"429"`
	S503   int     `json:"503"`
	Other  int     `json:"other"`
	Errors int     `json:"errors"`
}

// Second counts the requests sent during one second of the run by outcome.
type Second struct {
	Second int `json:"second"`
	Sent   int `json:"sent"`
	OK     int `json:"200"`
	S429   int `json:"429"`
	S503   int `json:"503"`
	Other  int `json:"other"`
	Errors int `json:"errors"`
}

// Speedup compares the sequential and the concurrent run of one target.
type Speedup struct {
	Target      string  `json:"target"`
	SequentialS float64 `json:"sequential_s"`
	ConcurrentS float64 `json:"concurrent_s"`
	Speedup     float64 `json:"speedup"`
	// Workers is the concurrency the concurrent run allowed: -c, or the
	// number of requests when uncapped. Efficiency is Speedup / Workers:
	// 1 means every extra request in flight turned into time saved.
	Workers    int     `json:"workers"`
	Efficiency float64 `json:"efficiency"`
}

// Hits is the server's hit count checked against the 200s received.
type Hits struct {
	URL     string `json:"url"`
	Sent    int    `json:"sent"`
	Counted int64  `json:"counted"`
	Lost    int64  `json:"lost"`
	Error   string `json:"error,omitempty"`
}

// Build makes the report of runs, in the order given. check may be nil.
func Build(runs []load.Run, check *hits.Check) Report {
	rep := Report{Runs: make([]Run, 0, len(runs)), Speedup: speedups(runs)}
	for _, r := range runs {
		rep.Runs = append(rep.Runs, buildRun(r))
	}
	if check != nil {
		rep.Hits = &Hits{URL: check.URL, Sent: check.Sent, Counted: check.Counted, Lost: check.Lost, Error: escape.Detail(check.Err)}
	}
	return rep
}

func buildRun(r load.Run) Run {
	s := stats.Summarize(r)
	out := Run{
		Target:           r.Target,
		Address:          r.Address,
		Mode:             string(r.Mode),
		Requests:         r.Requests,
		SpreadS:          seconds(r.Spread),
		WallS:            seconds(r.Wall),
		ThroughputRPS:    round(s.Throughput, 2),
		Status:           map[string]int{},
		LatencyMs:        latency(s.Latency),
		ConnectMsStats:   latency(s.Connect),
		FirstByteMsStats: latency(s.FirstByte),
		Results:          make([]Result, 0, len(r.Results)),
		Sent:             s.Sent,
		Interrupted:      r.Interrupted,
		Concurrency:      r.Concurrency,
		PeakInFlight:     s.PeakInFlight,
		Bytes:            s.Bytes,
		Started:          r.Began.Format(time.RFC3339Nano),
		LastDueS:         seconds(r.LastDue),
		LatenessMs:       latency(s.Lateness),
		LatencyByOutcome: map[string]Latency{},
		Histogram:        make([]Bucket, 0, len(s.Histogram)),
		PerSecond:        make([]Second, 0, len(s.PerSecond)),
	}
	if r.Shards > 1 || r.Anchored {
		out.Shard = &Shard{Index: r.Shard, Count: max(r.Shards, 1), RunRequests: max(r.RunRequests, r.Requests)}
		if r.Anchored {
			out.Shard.StartAt = r.Began.UTC().Format(time.RFC3339Nano)
		}
	}
	out.Status, out.Errors = counts(s)
	for _, c := range stats.Classes {
		if p := s.ByClass[c]; p.Count > 0 {
			out.LatencyByOutcome[c.String()] = latency(p)
		}
	}
	for _, b := range s.Histogram {
		out.Histogram = append(out.Histogram, Bucket{
			FromMs: ms(b.From), ToMs: ms(b.To), Count: b.Total(),
			OK: b.Counts[stats.OK], S429: b.Counts[stats.TooMany], S503: b.Counts[stats.Unavailable],
			Other: b.Counts[stats.OtherStatus], Errors: b.Counts[stats.Failed],
		})
	}
	for _, sec := range s.PerSecond {
		out.PerSecond = append(out.PerSecond, Second{
			Second: sec.Second, Sent: sec.Sent(),
			OK: sec.Counts[stats.OK], S429: sec.Counts[stats.TooMany], S503: sec.Counts[stats.Unavailable],
			Other: sec.Counts[stats.OtherStatus], Errors: sec.Counts[stats.Failed],
		})
	}
	for _, res := range r.Results {
		local := ""
		if res.LocalAddr.IsValid() {
			local = res.LocalAddr.String()
		}
		connect, first := ms(res.Connect), ms(res.FirstByte)
		if res.FirstByte <= 0 {
			first = connect
		}
		out.Results = append(out.Results, Result{
			Seq:         res.Seq,
			URL:         res.URL,
			LocalAddr:   local,
			ScheduledMs: ms(res.Scheduled),
			StartMs:     ms(res.Start),
			EndMs:       ms(res.End),
			Status:      res.Status,
			Bytes:       res.Bytes,
			Error:       string(res.Err),
			ConnectMs:   connect,
			FirstByteMs: first,
			LatencyMs:   ms(res.Latency()),
			LatenessMs:  ms(res.Lateness()),
			Detail:      escape.Detail(res.Detail), // escaped already; kept so whatever the source
		})
	}
	return out
}

func counts(s stats.Summary) (map[string]int, Errors) {
	status := map[string]int{}
	for code, n := range s.Status {
		status[strconv.Itoa(code)] = n
	}
	return status, Errors{
		Refused: s.Errors[load.Refused],
		Reset:   s.Errors[load.Reset],
		Timeout: s.Errors[load.Timeout],
		Other:   s.Errors[load.Other],
	}
}

// ClientsOf sums up a run's results by client address, as addr names
// them, in order of first appearance: counts, and latency and lateness
// percentiles from that client's own results.
func ClientsOf(run load.Run, addr func(load.Result) string) []Client {
	var order []string
	groups := map[string][]load.Result{}
	for _, r := range run.Results {
		a := addr(r)
		if _, ok := groups[a]; !ok {
			order = append(order, a)
		}
		groups[a] = append(groups[a], r)
	}
	out := make([]Client, 0, len(order))
	for _, a := range order {
		sub := run
		sub.Results = groups[a]
		s := stats.Summarize(sub)
		c := Client{Addr: a, Requests: s.Sent, LatencyMs: latency(s.Latency), LatenessMs: latency(s.Lateness)}
		c.Status, c.Errors = counts(s)
		out = append(out, c)
	}
	return out
}

// speedups pairs, for each target, its first sequential run with its first
// concurrent run (mode "both" makes exactly that pair).
func speedups(runs []load.Run) []Speedup {
	out := []Speedup{}
	type pair struct{ seq, conc *load.Run }
	pairs := map[string]*pair{}
	var order []string
	for i := range runs {
		r := &runs[i]
		p, ok := pairs[r.Target]
		if !ok {
			p = &pair{}
			pairs[r.Target] = p
			order = append(order, r.Target)
		}
		if r.Mode == load.Sequential && p.seq == nil {
			p.seq = r
		}
		if r.Mode == load.Concurrent && p.conc == nil {
			p.conc = r
		}
	}
	for _, target := range order {
		p := pairs[target]
		if p.seq == nil || p.conc == nil {
			continue
		}
		workers := p.conc.Requests
		if c := p.conc.Concurrency; c > 0 && c < workers {
			workers = c
		}
		sp := Speedup{
			Target:      target,
			SequentialS: seconds(p.seq.Wall),
			ConcurrentS: seconds(p.conc.Wall),
			Workers:     workers,
		}
		if p.conc.Wall > 0 {
			x := p.seq.Wall.Seconds() / p.conc.Wall.Seconds()
			sp.Speedup = round(x, 3)
			sp.Efficiency = round(x/float64(max(workers, 1)), 3)
		}
		out = append(out, sp)
	}
	return out
}

func latency(p stats.Percentiles) Latency {
	return Latency{
		Count: p.Count, Min: ms(p.Min), Mean: ms(p.Mean),
		P50: ms(p.P50), P90: ms(p.P90), P99: ms(p.P99), Max: ms(p.Max),
	}
}

// ms is a duration in milliseconds to the microsecond.
func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

// seconds is a duration in seconds to the 0.1 ms.
func seconds(d time.Duration) float64 { return round(d.Seconds(), 4) }

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
