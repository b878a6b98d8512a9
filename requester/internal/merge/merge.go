// Package merge makes one report from the JSON reports of one run's
// shards (requester -shard k/n -start-at T): every result on the run's
// clock, counts summed and percentiles recomputed from every result, never
// averaged, and a table by client address.
package merge

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"httplab/httplab-requester/internal/load"
	"httplab/httplab-requester/internal/report"
)

// ErrDifferentRuns is wrapped by every refusal to merge reports that are
// not shards of one run.
var ErrDifferentRuns = errors.New("not shards of one run")

// Input is one report and the name it is known by in messages.
type Input struct {
	Name   string
	Report report.Report
}

// shardOf is what a run of a report says of its slice: a whole run is
// shard 0 of 1, and an unanchored run's instant is when it started.
type shardOf struct {
	index, count, runRequests int
	start                     time.Time
	anchored                  bool
}

func describe(r report.Run) (shardOf, error) {
	s := shardOf{count: 1, runRequests: r.Requests}
	var at string
	if r.Shard != nil {
		s.index, s.count, s.runRequests, at = r.Shard.Index, r.Shard.Count, r.Shard.RunRequests, r.Shard.StartAt
	}
	s.anchored = at != ""
	if at == "" {
		at = r.Started
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return s, fmt.Errorf("start instant %q: %v", at, err)
	}
	s.start = t
	if s.count < 1 || s.index < 0 || s.index >= s.count || s.runRequests < 1 {
		return s, fmt.Errorf("shard %d/%d of %d requests makes no sense", s.index, s.count, s.runRequests)
	}
	return s, nil
}

// Reports merges in into one report. It refuses, with an error wrapping
// ErrDifferentRuns, reports of different runs: different targets or modes,
// schedules (-r, -t, number of shards), start instants; the same shard
// twice; a result that is not of the shard its report claims. Missing
// shards are merged without, and named in each run's merged.missing.
func Reports(in []Input) (report.Report, error) {
	if len(in) == 0 {
		return report.Report{}, errors.New("no report to merge")
	}
	refuse := func(format string, args ...any) (report.Report, error) {
		return report.Report{}, fmt.Errorf("%w: "+format, append([]any{ErrDifferentRuns}, args...)...)
	}
	first := in[0]
	if len(first.Report.Runs) == 0 {
		return refuse("%s has no run", first.Name)
	}
	// One key per run of the first report; every other report must have
	// the same runs, in the same order.
	var ref []shardOf
	for _, r := range first.Report.Runs {
		s, err := describe(r)
		if err != nil {
			return refuse("%s, run %s: %v", first.Name, r.Label(), err)
		}
		ref = append(ref, s)
	}
	seen := map[int]string{}
	for _, x := range in {
		runs := x.Report.Runs
		if len(runs) != len(first.Report.Runs) {
			return refuse("%s has %d run(s) (%s), %s has %d (%s)", first.Name, len(first.Report.Runs),
				labels(first.Report.Runs), x.Name, len(runs), labels(runs))
		}
		var idx int
		for k, r := range runs {
			a := first.Report.Runs[k]
			if r.Target != a.Target || r.Mode != a.Mode {
				return refuse("%s ran %s, %s ran %s", first.Name, a.Label(), x.Name, r.Label())
			}
			s, err := describe(r)
			if err != nil {
				return refuse("%s, run %s: %v", x.Name, r.Label(), err)
			}
			if r.SpreadS != a.SpreadS || s.runRequests != ref[k].runRequests || s.count != ref[k].count {
				return refuse("%s: %s is -r %d -t %g in %d shard(s), %s is -r %d -t %g in %d shard(s)",
					r.Label(), first.Name, ref[k].runRequests, a.SpreadS, ref[k].count, x.Name, s.runRequests, r.SpreadS, s.count)
			}
			if !s.start.Equal(ref[k].start) {
				hint := ""
				if !s.anchored || !ref[k].anchored {
					hint = " (shards share a clock only when each is given the same -start-at)"
				}
				return refuse("%s: %s started at %s, %s at %s%s", r.Label(), first.Name, ref[k].start.Format(time.RFC3339Nano),
					x.Name, s.start.Format(time.RFC3339Nano), hint)
			}
			if k > 0 && s.index != idx {
				return refuse("%s holds shard %d for one run and %d for another", x.Name, idx, s.index)
			}
			idx = s.index
			for _, res := range r.Results {
				if res.Seq < 0 || res.Seq >= s.runRequests || res.Seq%s.count != s.index {
					return refuse("%s says it is shard %d/%d but holds request %d", x.Name, s.index, s.count, res.Seq)
				}
			}
		}
		if other, dup := seen[idx]; dup {
			return refuse("%s and %s are both shard %d/%d", other, x.Name, idx, ref[0].count)
		}
		seen[idx] = x.Name
	}

	var runs []load.Run
	for k, a := range first.Report.Runs {
		run := load.Run{
			Target:      a.Target,
			Mode:        load.Mode(a.Mode),
			Requests:    ref[k].runRequests,
			Spread:      fromMs(a.SpreadS * 1000),
			Concurrency: a.Concurrency,
			Began:       ref[k].start,
			Shards:      1,
			RunRequests: ref[k].runRequests,
			// The merged run is the whole run, anchored where its shards were.
			Anchored: ref[k].anchored,
		}
		run.LastDue = load.Schedule{N: run.Requests, Spread: run.Spread}.Due(run.Requests - 1)
		var addrs []string
		for _, x := range in {
			r := x.Report.Runs[k]
			if r.Address != "" && !slices.Contains(addrs, r.Address) {
				addrs = append(addrs, r.Address)
			}
			run.Interrupted = run.Interrupted || r.Interrupted
			for _, res := range r.Results {
				run.Results = append(run.Results, toLoad(res))
			}
		}
		run.Address = strings.Join(addrs, ", ")
		slices.SortFunc(run.Results, func(a, b load.Result) int { return a.Seq - b.Seq })
		for i := 1; i < len(run.Results); i++ {
			if run.Results[i].Seq == run.Results[i-1].Seq {
				return refuse("%s: request %d is in two reports", a.Label(), run.Results[i].Seq)
			}
		}
		for _, res := range run.Results {
			run.Wall = max(run.Wall, res.End)
		}
		runs = append(runs, run)
	}
	out := report.Build(runs, nil)
	var indexes, missing []int
	for i := range ref[0].count {
		if _, ok := seen[i]; ok {
			indexes = append(indexes, i)
		} else {
			missing = append(missing, i)
		}
	}
	for k := range out.Runs {
		r := &out.Runs[k]
		r.Merged = &report.Merged{Shards: ref[k].count, Indexes: indexes, Missing: missing}
		if r.Merged.Missing == nil {
			r.Merged.Missing = []int{}
		}
		r.Clients = report.ClientsOf(runs[k], clientAddr(in, k))
	}
	return out, nil
}

// clientAddr names the client of a result: the address part of its local
// address. A request that never connected has none; it is counted for its
// report's client when that report has one address only.
func clientAddr(in []Input, k int) func(load.Result) string {
	bySeq := map[int]string{}
	for _, x := range in {
		var only string
		many := false
		r := x.Report.Runs[k]
		for _, res := range r.Results {
			if a := addrOf(res.LocalAddr); a != "" {
				if only != "" && a != only {
					many = true
				}
				only = a
			}
		}
		if many || only == "" {
			only = "(not connected)"
		}
		for _, res := range r.Results {
			if a := addrOf(res.LocalAddr); a != "" {
				bySeq[res.Seq] = a
			} else {
				bySeq[res.Seq] = only
			}
		}
	}
	return func(r load.Result) string { return bySeq[r.Seq] }
}

func addrOf(local string) string {
	ap, err := netip.ParseAddrPort(local)
	if err != nil {
		return ""
	}
	return ap.Addr().Unmap().String()
}

func labels(runs []report.Run) string {
	var l []string
	for _, r := range runs {
		l = append(l, r.Label())
	}
	return strings.Join(l, ", ")
}

// fromMs is milliseconds, as the reports write them, as a duration.
func fromMs(ms float64) time.Duration { return time.Duration(math.Round(ms * 1e6)) }

// toLoad is a result of a report back as the load package's: the same
// times (to the microsecond the report keeps), phases not reached back to
// 0 (the report gives them the value of the phase before).
func toLoad(r report.Result) load.Result {
	out := load.Result{
		Seq:       r.Seq,
		URL:       r.URL,
		Scheduled: fromMs(r.ScheduledMs),
		Start:     fromMs(r.StartMs),
		End:       fromMs(r.EndMs),
		Connect:   fromMs(r.ConnectMs),
		FirstByte: fromMs(r.FirstByteMs),
		Status:    r.Status,
		Bytes:     r.Bytes,
		Err:       load.ErrorKind(r.Error),
		Detail:    r.Detail,
	}
	if ap, err := netip.ParseAddrPort(r.LocalAddr); err == nil {
		out.LocalAddr = ap
	}
	if r.FirstByteMs == r.ConnectMs {
		out.FirstByte = 0 // no byte came: the report repeats the connect time
	}
	return out
}
