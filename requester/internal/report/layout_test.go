package report

import (
	"bytes"
	"strings"
	"testing"
)

// plainRun is a report run of n requests of 1 ms to target, all 200.
func plainRun(target, mode string, n int) Run {
	return Run{Target: target, Address: strings.TrimPrefix(target, "http://"), Mode: mode, Requests: n, Sent: n,
		Status: map[string]int{"200": n}, Results: steady(n)}
}

// The text report lists each request of runs up to RequestLines long.
func TestTextRequestLinesLimit(t *testing.T) {
	for _, c := range []struct {
		n    int
		want bool
	}{{RequestLines, true}, {RequestLines + 1, false}} {
		var buf bytes.Buffer
		rep := Report{Runs: []Run{plainRun("http://h:1", "concurrent", c.n)}}
		if err := WriteText(&buf, rep, TextOptions{Requests: true}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "Requests (ms from the run's start)"); got != c.want {
			t.Errorf("%d requests: listed %v, want %v", c.n, got, c.want)
		}
	}
}

// Runs of several targets in one mode are headed by their host and port,
// and the title names the mode.
func TestSideBySideOneModeSeveralTargets(t *testing.T) {
	runs := []Run{plainRun("http://a:1", "concurrent", 2), plainRun("http://b:2", "concurrent", 2)}
	tables := sideBySide("Summary", runs, summaryRows, nil, Width)
	if len(tables) != 1 {
		t.Fatalf("%d tables", len(tables))
	}
	tb := tables[0]
	if tb.Title != "Summary (concurrent)" || strings.Join(tb.Header, "|") != "|a:1|b:2" {
		t.Errorf("title %q, header %q", tb.Title, tb.Header)
	}
	runs[1].Mode = "sequential"
	tb = sideBySide("Summary", runs, summaryRows, nil, Width)[0]
	if tb.Title != "Summary" || strings.Join(tb.Header, "|") != "|a:1 concurrent|b:2 sequential" {
		t.Errorf("two modes: title %q, header %q", tb.Title, tb.Header)
	}
}

// A table exactly as wide as the width fits; one column more does not.
func TestSideBySideExactWidth(t *testing.T) {
	runs := []Run{plainRun("http://a:1", "concurrent", 2), plainRun("http://b:2", "concurrent", 2)}
	whole := sideBySide("Summary", runs, summaryRows, nil, 0)
	w := widest(renderTable(whole[0]))
	if got := sideBySide("Summary", runs, summaryRows, nil, w); len(got) != 1 {
		t.Errorf("width %d, the table's own: %d tables", w, len(got))
	}
	if got := sideBySide("Summary", runs, summaryRows, nil, w-1); len(got) != 2 {
		t.Errorf("width %d, one less than the table: %d tables", w-1, len(got))
	}
}

// The requests table keeps its sent column when it fits exactly, and drops
// it when one column short.
func TestRequestsTableExactWidth(t *testing.T) {
	r := plainRun("http://h:1", "concurrent", 3)
	w := widest(renderTable(requestsVariant(r, true, 24)))
	if tb := requestsTable(r, w); !strings.Contains(strings.Join(tb.Header, " "), "sent") {
		t.Errorf("width %d, the full table's own: header %q", w, tb.Header)
	}
	if tb := requestsTable(r, w-1); strings.Contains(strings.Join(tb.Header, " "), "sent") {
		t.Errorf("width %d: header %q", w-1, tb.Header)
	}
}

// A concurrent run that sent one request did not "never overlap": the
// note is for runs that could have.
func TestNeverOverlappedNote(t *testing.T) {
	run := plainRun("http://h:1", "concurrent", 1)
	run.PeakInFlight = 1
	if notes := summaryNotes([]Run{run}); len(notes) != 2 {
		t.Errorf("one request: %q", notes)
	}
	run.Sent = 2
	if notes := summaryNotes([]Run{run}); len(notes) != 3 || !strings.Contains(notes[2], "never overlapped") {
		t.Errorf("two requests: %q", notes)
	}
}

// A detail shared by requests names up to 8 of them, then how many.
func TestRequestDetailNotes(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{
		{8, "seq 0, 1, 2, 3, 4, 5, 6, 7: connect: connection refused"},
		{9, "seq 0, 1, 2, 3, 4, 5, 6, 7, … (9 requests): connect: connection refused"},
	} {
		r := plainRun("http://h:1", "concurrent", c.n)
		for i := range r.Results {
			r.Results[i].Status, r.Results[i].Error, r.Results[i].Detail = 0, "refused", "connect: connection refused"
		}
		tb := requestsVariant(r, true, 24)
		if len(tb.Notes) != 1 || tb.Notes[0] != c.want {
			t.Errorf("%d requests: notes %q, want %q", c.n, tb.Notes, c.want)
		}
	}
}

// A histogram with only empty buckets (a hand-made or merged JSON report
// can have one) draws no bar.
func TestHistogramTableOfEmptyBuckets(t *testing.T) {
	tb := histogramTable(Run{Target: "http://h:1", Mode: "concurrent", Histogram: []Bucket{{FromMs: 1, ToMs: 2}, {FromMs: 2, ToMs: 4}}})
	want := [][]string{{"1.000 – 2.000", "0", ""}, {"2.000 – 4.000", "0", ""}}
	if len(tb.Rows) != len(want) {
		t.Fatalf("rows %q", tb.Rows)
	}
	for i := range want {
		if strings.Join(tb.Rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d: %q, want %q", i, tb.Rows[i], want[i])
		}
	}
	// And one request among many still shows.
	tb = histogramTable(Run{Histogram: []Bucket{{Count: 1}, {Count: 100}}})
	if got := []string{tb.Rows[0][2], tb.Rows[1][2]}; got[0] != "■" || got[1] != strings.Repeat("■", barWidth) {
		t.Errorf("bars %q", got)
	}
}

// A merged run's clients: counts by outcome (every code but 200, 429 and
// 503 is "other"), percentiles, and which shards are in it.
func TestClientsTable(t *testing.T) {
	run := plainRun("http://h:1", "concurrent", 6)
	run.Clients = []Client{
		{Addr: "10.0.0.1", Requests: 4, Status: map[string]int{"200": 1, "404": 1, "301": 1},
			Errors: Errors{Reset: 1}, LatencyMs: Latency{P50: 1.5, P99: 2.25}, LatenessMs: Latency{P99: 0.125}},
		{Addr: strings.Repeat("x", 50), Requests: 2, Status: map[string]int{"429": 1, "503": 1}},
	}
	run.Merged = &Merged{Shards: 3, Indexes: []int{0, 2}, Missing: []int{1}}
	tb := clientsTable(run)
	if tb.Title != "Clients (latency and lateness in ms): http://h:1 concurrent" {
		t.Errorf("title %q", tb.Title)
	}
	want := []string{
		"10.0.0.1|4|1|0|0|2|1|1.500|2.250|0.125",
		strings.Repeat("x", 19) + "…" + strings.Repeat("x", 20) + "|2|0|1|1|0|0|0.000|0.000|0.000",
	}
	for i, w := range want {
		if got := strings.Join(tb.Rows[i], "|"); got != w {
			t.Errorf("row %d: %s, want %s", i, got, w)
		}
	}
	if len(tb.Notes) != 1 || tb.Notes[0] != "Merged from 2 of 3 shards; no report for shard(s) [1]: their requests are not counted." {
		t.Errorf("notes %q", tb.Notes)
	}
	run.Merged = &Merged{Shards: 2, Indexes: []int{0, 1}}
	if tb := clientsTable(run); len(tb.Notes) != 1 || tb.Notes[0] != "Merged from 2 of 2 shards." {
		t.Errorf("all shards: notes %q", tb.Notes)
	}
	run.Merged = nil
	if tb := clientsTable(run); len(tb.Notes) != 0 {
		t.Errorf("not merged: notes %q", tb.Notes)
	}
}

// The runs of one target that do not fit side by side are cut into tables
// of as many as fit, in order.
func TestSideBySideCutsATarget(t *testing.T) {
	var runs []Run
	for _, mode := range []string{"sequential", "concurrent", "concurrent"} {
		runs = append(runs, plainRun("http://h:1", mode, 2))
	}
	two := widest(renderTable(sideBySide("Summary", runs[:2], summaryRows, nil, 0)[0]))
	tables := sideBySide("Summary", runs, summaryRows, []string{"note"}, two)
	if len(tables) != 2 || len(tables[0].Header) != 3 || len(tables[1].Header) != 2 {
		t.Fatalf("%d tables: %+v", len(tables), tables)
	}
	if tables[0].Notes != nil || len(tables[1].Notes) != 1 {
		t.Errorf("notes go under the last table: %q, %q", tables[0].Notes, tables[1].Notes)
	}
}

// A shard row appears when some run is a shard; the others are whole.
func TestSummaryShardRow(t *testing.T) {
	a, b := plainRun("http://h:1", "concurrent", 5), plainRun("http://h:1", "concurrent", 10)
	a.Shard = &Shard{Index: 1, Count: 2, RunRequests: 10}
	rows := summaryRows([]Run{a, b})
	if got := strings.Join(rows[1], "|"); got != "shard|1/2 of 10|whole run" {
		t.Errorf("shard row %q", got)
	}
	if got := strings.Join(summaryRows([]Run{b})[1], "|"); got != "requests|10" {
		t.Errorf("no shard: second row %q", got)
	}
}

// The in-flight cap: 1 for a sequential run whatever -c says, else -c, or
// none.
func TestSummaryInFlightCap(t *testing.T) {
	seq, capped, free := plainRun("http://h:1", "sequential", 2), plainRun("http://h:1", "concurrent", 2), plainRun("http://h:1", "concurrent", 2)
	seq.Concurrency, capped.Concurrency = 4, 3
	for _, row := range summaryRows([]Run{seq, capped, free}) {
		if row[0] == "in-flight cap" {
			if got := strings.Join(row, "|"); got != "in-flight cap|1 (sequential)|3|none" {
				t.Errorf("%q", got)
			}
			return
		}
	}
	t.Error("no in-flight cap row")
}
