package merge

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"httplab/httplab-requester/internal/load"
	"httplab/httplab-requester/internal/report"
)

const us = time.Microsecond

var start = time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)

// undivided is one run of 40 requests over 2 s, as four clients would
// send it: request i from client i mod 4, times in whole microseconds (the
// precision a report keeps). Client 3 is slow (its latencies are ten times
// the others') and late, so averaging the shards' percentiles would give
// something else than the percentiles of all results.
func undivided() load.Run {
	const n, shards = 40, 4
	sched := load.Schedule{N: n, Spread: 2 * time.Second}
	run := load.Run{Target: "http://server:8080", Address: "10.0.1.2:8080", Mode: load.Concurrent, Requests: n,
		Spread: 2 * time.Second, Began: start, Anchored: true, Shards: 1, RunRequests: n}
	run.LastDue = sched.Due(n - 1)
	for i := range n {
		k := i % shards
		lat := time.Duration(1000+37*i) * us
		late := time.Duration(20+i) * us
		if k == 3 {
			lat, late = lat*10, 3*time.Millisecond
		}
		r := load.Result{
			Seq: i, URL: run.Target + "/", Scheduled: sched.Due(i),
			LocalAddr: netip.AddrPortFrom(netip.MustParseAddr("10.0.1."+strconv.Itoa(10+k)), uint16(40000+i)),
			Status:    200, Bytes: 100, Connect: 50 * us, FirstByte: lat - 10*us,
		}
		r.Start = r.Scheduled + late
		r.End = r.Start + lat
		switch i % 10 {
		case 5:
			r.Status = 429
		case 7:
			r.Status = 503
		case 9:
			r.Status, r.Bytes, r.Err, r.Detail, r.FirstByte = 0, 0, load.Reset, "read status line: connection reset by peer", 0
		}
		run.Results = append(run.Results, r)
		run.Wall = max(run.Wall, r.End)
	}
	return run
}

// shardReports splits the undivided run as requester -shard k/n
// -start-at would have run it, and writes each shard's JSON report.
func shardReports(t *testing.T, whole load.Run, shards int, edit func(k int, r *load.Run)) []Input {
	t.Helper()
	var out []Input
	for k := range shards {
		s := whole
		s.Shard, s.Shards, s.RunRequests = k, shards, whole.Requests
		s.Results = nil
		s.Wall = 0
		for _, r := range whole.Results {
			if r.Seq%shards == k {
				s.Results = append(s.Results, r)
				s.Wall = max(s.Wall, r.End)
			}
		}
		s.Requests = len(s.Results)
		s.LastDue = s.Results[len(s.Results)-1].Scheduled
		if edit != nil {
			edit(k, &s)
		}
		out = append(out, Input{Name: "shard" + strconv.Itoa(k) + ".json", Report: roundTrip(t, report.Build([]load.Run{s}, nil))})
	}
	return out
}

// roundTrip writes a report as JSON and reads it back, as merge gets it.
func roundTrip(t *testing.T, rep report.Report) report.Report {
	t.Helper()
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	back, err := report.ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The merge of the shards is the undivided run: the same results, counts,
// percentiles recomputed from all of them, outcomes per second on the one
// clock, histogram, peak in flight, wall time.
func TestMergeEqualsTheUndividedRun(t *testing.T) {
	whole := undivided()
	want := report.Build([]load.Run{whole}, nil).Runs[0]
	for _, shards := range []int{1, 3, 4} {
		in := shardReports(t, whole, shards, nil)
		// The reports come in any order.
		in[0], in[len(in)-1] = in[len(in)-1], in[0]
		rep, err := Reports(in)
		if err != nil {
			t.Fatalf("%d shards: %v", shards, err)
		}
		if len(rep.Runs) != 1 {
			t.Fatalf("%d runs", len(rep.Runs))
		}
		got := rep.Runs[0]
		for name, pair := range map[string][2]any{
			"requests":            {got.Requests, want.Requests},
			"sent":                {got.Sent, want.Sent},
			"status":              {got.Status, want.Status},
			"errors":              {got.Errors, want.Errors},
			"latency_ms":          {got.LatencyMs, want.LatencyMs},
			"lateness_ms":         {got.LatenessMs, want.LatenessMs},
			"connect_ms_stats":    {got.ConnectMsStats, want.ConnectMsStats},
			"first_byte_ms_stats": {got.FirstByteMsStats, want.FirstByteMsStats},
			"latency_by_outcome":  {got.LatencyByOutcome, want.LatencyByOutcome},
			"histogram":           {got.Histogram, want.Histogram},
			"per_second":          {got.PerSecond, want.PerSecond},
			"peak_in_flight":      {got.PeakInFlight, want.PeakInFlight},
			"wall_s":              {got.WallS, want.WallS},
			"throughput_rps":      {got.ThroughputRPS, want.ThroughputRPS},
			"last_due_s":          {got.LastDueS, want.LastDueS},
			"started":             {got.Started, want.Started},
			"shard":               {got.Shard, want.Shard},
			"results":             {got.Results, want.Results},
		} {
			if g, w := asJSON(t, pair[0]), asJSON(t, pair[1]); g != w {
				t.Errorf("%d shards: %s\n got %s\nwant %s", shards, name, g, w)
			}
		}
		if m := got.Merged; m == nil || m.Shards != shards || len(m.Indexes) != shards || len(m.Missing) != 0 {
			t.Errorf("%d shards: merged %+v", shards, m)
		}
	}
	// Not an average: the shards' p99s averaged are far from the p99 of
	// every result, which the merge has.
	in := shardReports(t, whole, 4, nil)
	mean := 0.0
	for _, x := range in {
		mean += x.Report.Runs[0].LatencyMs.P99 / 4
	}
	if rep, _ := Reports(in); rep.Runs[0].LatencyMs.P99 != want.LatencyMs.P99 || mean == want.LatencyMs.P99 {
		t.Errorf("p99 merged %v, undivided %v, mean of the shards' %v", rep.Runs[0].LatencyMs.P99, want.LatencyMs.P99, mean)
	}
}

// One entry per client address: what it sent and got, and its own
// percentiles; the slow, late client shows as such.
func TestMergeClients(t *testing.T) {
	whole := undivided()
	rep, err := Reports(shardReports(t, whole, 4, nil))
	if err != nil {
		t.Fatal(err)
	}
	clients := rep.Runs[0].Clients
	if len(clients) != 4 {
		t.Fatalf("%d clients: %+v", len(clients), clients)
	}
	for k, c := range clients {
		sub := whole
		sub.Results = nil
		for _, r := range whole.Results {
			if r.Seq%4 == k {
				sub.Results = append(sub.Results, r)
			}
		}
		own := report.Build([]load.Run{sub}, nil).Runs[0]
		if c.Addr != "10.0.1."+strconv.Itoa(10+k) || c.Requests != 10 || asJSON(t, c.Status) != asJSON(t, own.Status) ||
			c.Errors != own.Errors || c.LatencyMs != own.LatencyMs || c.LatenessMs != own.LatenessMs {
			t.Errorf("client %d: %+v, want %s with %+v and latency %+v", k, c, "10.0.1."+strconv.Itoa(10+k), own.Status, own.LatencyMs)
		}
	}
	if clients[3].LatenessMs.P99 < 2.9 || clients[0].LatenessMs.P99 > 0.1 {
		t.Errorf("the late client does not show: %+v, %+v", clients[3].LatenessMs, clients[0].LatenessMs)
	}
	// A request that never connected counts for its report's one address.
	in := shardReports(t, whole, 4, func(k int, r *load.Run) {
		if k == 1 {
			r.Results[0].LocalAddr, r.Results[0].Err, r.Results[0].Status = netip.AddrPort{}, load.Refused, 0
		}
	})
	rep, err = Reports(in)
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Runs[0].Clients[1]; c.Addr != "10.0.1.11" || c.Requests != 10 || c.Errors.Refused != 1 {
		t.Errorf("client 1 with a refused request: %+v", c)
	}
	// From a report of two addresses, such a request has no client to
	// count for but its own.
	in = shardReports(t, whole, 4, func(k int, r *load.Run) {
		if k == 2 {
			r.Results[1].LocalAddr = netip.MustParseAddrPort("10.0.2.1:40000")
			r.Results[0].LocalAddr, r.Results[0].Err, r.Results[0].Status = netip.AddrPort{}, load.Refused, 0
		}
	})
	rep, err = Reports(in)
	if err != nil {
		t.Fatal(err)
	}
	var lone *report.Client
	for i, c := range rep.Runs[0].Clients {
		if c.Addr == "(not connected)" {
			lone = &rep.Runs[0].Clients[i]
		}
	}
	if lone == nil || lone.Requests != 1 || lone.Errors.Refused != 1 || len(rep.Runs[0].Clients) != 6 {
		t.Errorf("clients %+v", rep.Runs[0].Clients)
	}
}

// Reports of different runs are refused, saying how they differ.
func TestMergeRefusesDifferentRuns(t *testing.T) {
	whole := undivided()
	for _, c := range []struct {
		name string
		edit func(k int, r *load.Run)
		want string
	}{
		{"target", func(k int, r *load.Run) {
			if k == 2 {
				r.Target = "http://other:8080"
			}
		}, "ran http://server:8080 concurrent, shard2.json ran http://other:8080 concurrent"},
		{"mode", func(k int, r *load.Run) {
			if k == 1 {
				r.Mode = load.Sequential
			}
		}, "ran http://server:8080 sequential"},
		{"requests", func(k int, r *load.Run) {
			if k == 3 {
				r.RunRequests = 80
			}
		}, "-r 40 -t 2 in 4 shard(s), shard3.json is -r 80"},
		{"spread", func(k int, r *load.Run) {
			if k == 3 {
				r.Spread = 3 * time.Second
			}
		}, "-t 3"},
		{"start instant", func(k int, r *load.Run) {
			if k == 1 {
				r.Began = start.Add(time.Second)
			}
		}, "started at 2026-12-01T06:00:00Z, shard1.json at 2026-12-01T06:00:01Z"},
		{"not anchored", func(k int, r *load.Run) {
			r.Anchored = false
			r.Began = start.Add(time.Duration(k) * time.Millisecond)
		}, "only when each is given the same -start-at"},
		{"shard count", func(k int, r *load.Run) {
			if k == 2 {
				r.Shards = 5
			}
		}, "in 5 shard(s)"},
	} {
		_, err := Reports(shardReports(t, whole, 4, c.edit))
		if !errors.Is(err, ErrDifferentRuns) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a refusal saying %q", c.name, err, c.want)
		}
	}
	// The same shard twice, under two names.
	in := shardReports(t, whole, 4, nil)
	in[2] = Input{Name: "copy.json", Report: in[1].Report}
	if _, err := Reports(in); !errors.Is(err, ErrDifferentRuns) || !strings.Contains(err.Error(), "shard1.json and copy.json are both shard 1/4") {
		t.Errorf("same shard twice: %v", err)
	}
	// A report whose results are not of the shard it claims.
	in = shardReports(t, whole, 4, nil)
	in[1].Report.Runs[0].Results[0].Seq = 2
	if _, err := Reports(in); !errors.Is(err, ErrDifferentRuns) || !strings.Contains(err.Error(), "holds request 2") {
		t.Errorf("foreign result: %v", err)
	}
	// Different numbers of runs (a -mode both report among concurrent ones).
	in = shardReports(t, whole, 2, nil)
	both := in[1].Report
	both.Runs = append(both.Runs, both.Runs[0])
	in[1].Report = both
	if _, err := Reports(in); !errors.Is(err, ErrDifferentRuns) || !strings.Contains(err.Error(), "shard1.json has 2 (") {
		t.Errorf("different run lists: %v", err)
	}
}

// A missing shard is merged without, and said.
func TestMergeMissingShard(t *testing.T) {
	in := shardReports(t, undivided(), 4, nil)
	rep, err := Reports(append(in[:2:2], in[3]))
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Runs[0]
	if r.Sent != 30 || r.Requests != 40 || r.Merged == nil || asJSON(t, r.Merged.Missing) != "[2]" || len(r.Clients) != 3 {
		t.Errorf("sent %d of %d, merged %+v, %d clients", r.Sent, r.Requests, r.Merged, len(r.Clients))
	}
	var buf bytes.Buffer
	_ = report.WriteText(&buf, rep, report.TextOptions{})
	if !strings.Contains(buf.String(), "no report for shard(s) [2]") {
		t.Errorf("the text does not say a shard is missing:\n%s", buf.String())
	}
}

// A merged report is a report like any: every format writes it, the text
// with its clients table, within 100 columns; the JSON has the contract's
// clients entries.
func TestMergedReportFormats(t *testing.T) {
	rep, err := Reports(shardReports(t, undivided(), 4, nil))
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := report.WriteText(&text, rep, report.TextOptions{Requests: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Clients (latency and lateness in ms): http://server:8080 concurrent", "10.0.1.13", "Merged from 4 of 4 shards"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q", want)
		}
	}
	for i, line := range strings.Split(text.String(), "\n") {
		if utf8.RuneCountInString(line) > report.Width {
			t.Errorf("line %d too wide: %s", i+1, line)
		}
	}
	for _, f := range []report.Format{report.JSON, report.CSV, report.HTML} {
		var buf bytes.Buffer
		if err := report.Encode(&buf, f, rep); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if f == report.HTML && !strings.Contains(buf.String(), "<h4>Clients") {
			t.Error("the page has no clients table")
		}
		if f == report.CSV && strings.Count(buf.String(), "\n") != 41 {
			t.Errorf("csv: %d lines", strings.Count(buf.String(), "\n"))
		}
		if f == report.JSON {
			var doc struct {
				Runs []struct {
					Clients []map[string]any `json:"clients"`
				} `json:"runs"`
			}
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			c := doc.Runs[0].Clients[0]
			for _, k := range []string{"addr", "requests", "status", "errors", "latency_ms"} {
				if _, ok := c[k]; !ok {
					t.Errorf("client entry lacks %q: %v", k, c)
				}
			}
			if lat, _ := c["latency_ms"].(map[string]any); lat["p50"] == nil || lat["p99"] == nil {
				t.Errorf("client latency %v", c["latency_ms"])
			}
		}
	}
}
