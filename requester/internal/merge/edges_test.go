package merge

import (
	"errors"
	"strings"
	"testing"

	"httplab/httplab-requester/internal/load"
	"httplab/httplab-requester/internal/report"
)

func wantRefusal(t *testing.T, what string, err error, says string) {
	t.Helper()
	if !errors.Is(err, ErrDifferentRuns) || !strings.Contains(err.Error(), says) {
		t.Errorf("%s: %v; want a refusal saying %q", what, err, says)
	}
}

// A shard index equal to the count is no shard; a result numbered the
// run's request count is past its end; one request twice in one report is
// refused.
func TestMergeRefusesBoundaries(t *testing.T) {
	whole := undivided()
	in := shardReports(t, whole, 4, nil)
	in[0].Report.Runs[0].Shard.Index = 4
	_, err := Reports(in)
	wantRefusal(t, "index = count", err, "shard 4/4 of 40 requests makes no sense")

	in = shardReports(t, whole, 4, nil)
	in[0].Report.Runs[0].Results[0].Seq = 40 // 40 mod 4 is shard 0's
	_, err = Reports(in)
	wantRefusal(t, "seq = requests", err, "holds request 40")

	in = shardReports(t, whole, 4, nil)
	rs := in[1].Report.Runs[0].Results
	rs[1] = rs[0]
	_, err = Reports(in)
	wantRefusal(t, "a request twice", err, "request 1 is in two reports")
}

// A run of one request merges; the merged run keeps the address the
// shards resolved (an empty one is not listed).
func TestMergeOneRequestAndAddress(t *testing.T) {
	whole := undivided()
	whole.Results = whole.Results[:1]
	whole.Requests, whole.RunRequests = 1, 1
	whole.Wall = whole.Results[0].End
	rep, err := Reports(shardReports(t, whole, 1, nil))
	if err != nil {
		t.Fatalf("one request: %v", err)
	}
	if r := rep.Runs[0]; r.Sent != 1 || r.Address != whole.Address {
		t.Errorf("one request: sent %d, address %q", r.Sent, r.Address)
	}

	in := shardReports(t, undivided(), 2, nil)
	in[1].Report.Runs[0].Address = ""
	rep, err = Reports(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Runs[0].Address; got != "10.0.1.2:8080" {
		t.Errorf("merged address %q; want 10.0.1.2:8080", got)
	}
}

// Reports of two runs each (-mode both) merge when each report holds the
// same shard for both runs, and are refused when one holds different
// shards for the two.
func TestMergeTwoRuns(t *testing.T) {
	whole := undivided()
	two := func(swap bool) []Input {
		var out []Input
		for k := range 2 {
			var runs []load.Run
			for m, mode := range []load.Mode{load.Concurrent, load.Sequential} {
				s := whole
				s.Mode = mode
				idx := k
				if swap && m == 1 {
					idx = 1 - k
				}
				s.Shard, s.Shards, s.RunRequests = idx, 2, whole.Requests
				s.Results, s.Wall = nil, 0
				for _, r := range whole.Results {
					if r.Seq%2 == idx {
						s.Results = append(s.Results, r)
						s.Wall = max(s.Wall, r.End)
					}
				}
				s.Requests = len(s.Results)
				s.LastDue = s.Results[len(s.Results)-1].Scheduled
				runs = append(runs, s)
			}
			out = append(out, Input{Name: "shard" + string(rune('0'+k)) + ".json", Report: roundTrip(t, report.Build(runs, nil))})
		}
		return out
	}
	rep, err := Reports(two(false))
	if err != nil {
		t.Fatalf("same shard for both runs: %v", err)
	}
	if len(rep.Runs) != 2 || rep.Runs[1].Sent != 40 {
		t.Errorf("%d runs merged", len(rep.Runs))
	}
	_, err = Reports(two(true))
	wantRefusal(t, "different shards", err, "shard0.json holds shard 0 for one run and 1 for another")
}
