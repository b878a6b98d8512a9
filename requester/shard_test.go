package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"httplab/httplab-requester/internal/config"
)

type mergedJSON struct {
	Runs []struct {
		Requests  int            `json:"requests"`
		Sent      int            `json:"sent"`
		Status    map[string]int `json:"status"`
		LatencyMs struct {
			Count int     `json:"count"`
			P50   float64 `json:"p50"`
		} `json:"latency_ms"`
		Shard *struct {
			Index, Count int
			RunRequests  int    `json:"run_requests"`
			StartAt      string `json:"start_at"`
		} `json:"shard"`
		Results []struct {
			Seq         int     `json:"seq"`
			ScheduledMs float64 `json:"scheduled_ms"`
			URL         string  `json:"url"`
		} `json:"results"`
		PerSecond []struct {
			Second, Sent int
		} `json:"per_second"`
		Clients []struct {
			Addr     string         `json:"addr"`
			Requests int            `json:"requests"`
			Status   map[string]int `json:"status"`
		} `json:"clients"`
	} `json:"runs"`
}

// Three shards of one run, each from its own address and anchored at one
// instant, then merged: the merge is the run -r 12 -t 1.2 describes, with
// one client per address.
func TestShardsThenMerge(t *testing.T) {
	clearEnv(t)
	target := fileServer(t, nil)
	dir := t.TempDir()
	start := time.Now().Add(700 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	// The shards run at once, as on three machines.
	type result struct {
		code        int
		out, errOut string
	}
	results := make([]result, 3)
	var wg sync.WaitGroup
	for k := range 3 {
		wg.Go(func() {
			var stdout, stderr bytes.Buffer
			code := run([]string{"-url", "http://" + target + "/a,http://" + target + "/b", "-r", "12", "-t", "1.2",
				"-shard", strconv.Itoa(k) + "/3", "-start-at", start, "-bind", "127.0.0." + strconv.Itoa(2+k), "-json"},
				&stdout, &stderr, false)
			results[k] = result{code, stdout.String(), stderr.String()}
		})
	}
	wg.Wait()
	var files []string
	for k := range 3 {
		file := filepath.Join(dir, "shard"+strconv.Itoa(k)+".json")
		code, out, errOut := results[k].code, results[k].out, results[k].errOut
		if code != 0 {
			t.Fatalf("shard %d: exit %d: %s", k, code, errOut)
		}
		var rep mergedJSON
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		r := rep.Runs[0]
		if r.Requests != 4 || len(r.Results) != 4 || r.Shard == nil || r.Shard.Index != k || r.Shard.Count != 3 ||
			r.Shard.RunRequests != 12 || r.Shard.StartAt != start {
			t.Fatalf("shard %d report: requests %d, shard %+v (start %s)", k, r.Requests, r.Shard, start)
		}
		for j, res := range r.Results {
			if res.Seq != k+3*j || res.ScheduledMs != float64(100*res.Seq) || !strings.HasSuffix(res.URL, []string{"/a", "/b"}[res.Seq%2]) {
				t.Errorf("shard %d result %d: %+v", k, j, res)
			}
		}
		if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}
	code, out, errOut := runMain(t, append([]string{"merge", "-json", "-o", filepath.Join(dir, "all.html")}, files...)...)
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errOut)
	}
	var rep mergedJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("merge -json: %v\n%s", err, out)
	}
	r := rep.Runs[0]
	if r.Requests != 12 || r.Sent != 12 || r.Status["200"] != 12 || r.LatencyMs.Count != 12 || len(r.Results) != 12 {
		t.Errorf("merged: requests %d sent %d status %v latency count %d", r.Requests, r.Sent, r.Status, r.LatencyMs.Count)
	}
	for i, res := range r.Results {
		if res.Seq != i || res.ScheduledMs != float64(100*i) {
			t.Errorf("merged result %d: %+v", i, res)
		}
	}
	// Per second on the shared clock: 10 due in second 0, 2 in second 1
	// (a late send on a loaded machine may slip over the edge).
	sum := 0
	for _, s := range r.PerSecond {
		sum += s.Sent
	}
	if sum != 12 || len(r.PerSecond) < 2 || r.PerSecond[0].Sent < 8 {
		t.Errorf("per second %+v", r.PerSecond)
	}
	if len(r.Clients) != 3 {
		t.Fatalf("clients %+v", r.Clients)
	}
	for k, c := range r.Clients {
		if c.Addr != "127.0.0."+strconv.Itoa(2+k) || c.Requests != 4 || c.Status["200"] != 4 {
			t.Errorf("client %d: %+v", k, c)
		}
	}
	if !strings.Contains(errOut, "wrote the HTML report to") {
		t.Errorf("merge -o: stderr %q", errOut)
	}
	// A shard's file may be its container's log: stderr lines, then the JSON.
	logged := filepath.Join(dir, "logged.json")
	data, _ := os.ReadFile(files[1])
	_ = os.WriteFile(logged, append([]byte("requester: -start-at was 1.5 s ago: ...\n"), data...), 0o600)
	if code, _, errOut := runMain(t, "merge", files[0], logged, files[2]); code != 0 {
		t.Errorf("merge with a log line before a report: exit %d: %s", code, errOut)
	}
	// The tables, with the clients.
	code, out, _ = runMain(t, append([]string{"merge"}, files...)...)
	if code != 0 || !strings.Contains(out, "Clients (latency and lateness in ms)") || !strings.Contains(out, "127.0.0.4") {
		t.Errorf("merge text: exit %d\n%s", code, out)
	}

	// Refused: a shard of another run (another start instant), a file that
	// is not a report, no file at all. Exit 2, one clear line.
	code, other, errOut := runMain(t, "-url", "http://"+target+"/a,http://"+target+"/b", "-r", "12", "-t", "1.2",
		"-shard", "2/3", "-start-at", time.Now().Add(200*time.Millisecond).UTC().Format(time.RFC3339Nano), "-bind", "127.0.0.4", "-json")
	if code != 0 {
		t.Fatalf("another shard: exit %d: %s", code, errOut)
	}
	otherFile := filepath.Join(dir, "other.json")
	_ = os.WriteFile(otherFile, []byte(other), 0o600)
	notJSON := filepath.Join(dir, "x.json")
	_ = os.WriteFile(notJSON, []byte("Target http://x\n"), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{files[0], files[1], otherFile}, "not shards of one run: http://" + target + " concurrent: " + files[0] + " started at " + start},
		{[]string{files[0], files[1], files[1]}, "are both shard 1/3"},
		{[]string{files[0], notJSON}, notJSON + ": not a requester JSON report"},
		{[]string{files[0], filepath.Join(dir, "missing.json")}, "missing.json: open"},
		{nil, "no report to merge"},
	} {
		code, out, errOut := runMain(t, append([]string{"merge"}, c.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("merge %v: exit %d, stdout %q, stderr %q, want exit 2 and %q", c.args, code, out, errOut, c.want)
		}
	}
	// A missing shard: merged without it, and said.
	code, _, errOut = runMain(t, "merge", files[0], files[2])
	if code != 0 || !strings.Contains(errOut, "no report for shard(s) [1] of 3") {
		t.Errorf("missing shard: exit %d: %s", code, errOut)
	}
}

// -start-at: a little past is the schedule's zero without a word; more
// than a second past, a warning; past the whole schedule, a refusal before
// anything is sent; ahead, a note that the run waits.
func TestStartAtChecks(t *testing.T) {
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		ago    time.Duration
		spread time.Duration
		ok     bool
		want   string
	}{
		{500 * time.Millisecond, 0, true, ""},
		{time.Second, 0, true, ""}, // startSlack itself is not late
		{3 * time.Second, 3 * time.Second, true, "was 3.0 s ago: the requests already due leave at once"}, // the last request is due now
		{-time.Second, 0, true, ""},
		{3 * time.Second, 10 * time.Second, true, "was 3.0 s ago: the requests already due leave at once"},
		{12 * time.Second, 10 * time.Second, false, "after the whole schedule (-t 10 s) was due"},
		{2 * time.Second, 0, false, "every request would leave at once"},
		{-5 * time.Second, 0, true, "waiting 5.0 s for -start-at 2026-12-01T06:00:05Z"},
		{-500 * time.Millisecond, 0, true, ""},
	} {
		var stderr bytes.Buffer
		cfg := config.Config{StartAt: now.Add(-c.ago), Spread: c.spread}
		ok := checkStartAt(cfg, now, &stderr, true)
		if ok != c.ok || !strings.Contains(stderr.String(), c.want) || (c.want == "" && stderr.Len() > 0) {
			t.Errorf("%v ago, -t %v: ok %v, said %q; want %v and %q", c.ago, c.spread, ok, stderr.String(), c.ok, c.want)
		}
	}
	// Waiting is said only to someone watching: a container's log may be
	// its report.
	var quiet bytes.Buffer
	if !checkStartAt(config.Config{StartAt: now.Add(time.Minute)}, now, &quiet, false) || quiet.Len() > 0 {
		t.Errorf("not chatty: said %q", quiet.String())
	}
	// Through run: refused with exit 2, nothing sent, nothing on stdout.
	clearEnv(t)
	target := fileServer(t, nil)
	code, out, errOut := runMain(t, "-url", "http://"+target+"/", "-r", "2", "-start-at", strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10))
	if code != 2 || out != "" || !strings.Contains(errOut, "give a later instant") {
		t.Errorf("start a minute ago: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
