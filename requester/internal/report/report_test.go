package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"httplab/httplab-requester/internal/hits"
	"httplab/httplab-requester/internal/load"
)

const msec = time.Millisecond

// sampleRuns is a sequential and a concurrent run of the same target: the
// sequential one a staircase of 20 ms requests, the concurrent one all at
// once, with a 429, a 503 and a reset among them.
func sampleRuns() []load.Run {
	target := "http://127.0.0.1:8080"
	var seq, conc []load.Result
	for i := range 10 {
		start := time.Duration(i) * 20 * msec
		seq = append(seq, load.Result{
			Seq: i, URL: target + "/", LocalAddr: netip.MustParseAddrPort("127.0.0.1:40000"),
			Scheduled: 0, Start: start, End: start + 20*msec, Status: 200, Bytes: 100,
			Connect: msec / 10, FirstByte: 15 * msec,
		})
		r := load.Result{
			Seq: i, URL: target + "/", LocalAddr: netip.MustParseAddrPort("127.0.0.1:41000"),
			Scheduled: 0, Start: time.Duration(i) * 10 * time.Microsecond, Status: 200, Bytes: 100,
		}
		r.End = r.Start + 20*msec
		r.Connect, r.FirstByte = time.Duration(i+1)*100*time.Microsecond, 19*msec
		switch i {
		case 7:
			r.Status, r.End, r.FirstByte = 429, r.Start+msec, msec
		case 8:
			r.Status, r.End, r.FirstByte = 503, r.Start+msec, msec
		case 9:
			r.Status, r.Bytes, r.Err, r.Detail = 0, 0, load.Reset, "read status line: connection reset by peer"
			r.FirstByte = 0 // connected, no byte
		}
		conc = append(conc, r)
	}
	began := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return []load.Run{
		{Target: target, Address: "127.0.0.1:8080", Mode: load.Sequential, Requests: 10, Concurrency: 1, Began: began, Wall: 200 * msec, Results: seq},
		{Target: target, Address: "127.0.0.1:8080", Mode: load.Concurrent, Requests: 10, Concurrency: 0, Began: began, Wall: 25 * msec, Results: conc},
	}
}

func sampleReport() Report {
	return Build(sampleRuns(), &hits.Check{URL: "http://127.0.0.1:9090/stats", Sent: 17, Counted: 15, Lost: 2})
}

func TestSpeedupArithmetic(t *testing.T) {
	rep := sampleReport()
	if len(rep.Speedup) != 1 {
		t.Fatalf("%d speedup rows", len(rep.Speedup))
	}
	sp := rep.Speedup[0]
	want := Speedup{Target: "http://127.0.0.1:8080", SequentialS: 0.2, ConcurrentS: 0.025, Speedup: 8, Workers: 10, Efficiency: 0.8}
	if sp != want {
		t.Errorf("got %+v, want %+v", sp, want)
	}
	// A capped concurrent run has as many workers as its cap.
	runs := sampleRuns()
	runs[1].Concurrency = 4
	if sp := Build(runs, nil).Speedup[0]; sp.Workers != 4 || sp.Efficiency != 2 {
		t.Errorf("capped: %+v", sp)
	}
	// An efficiency above 1 is explained where it is printed.
	var buf bytes.Buffer
	_ = WriteText(&buf, Build(runs, nil), TextOptions{})
	if !strings.Contains(buf.String(), "Efficiency above 1: the concurrent run did less work") {
		t.Errorf("no note on an efficiency of 2:\n%s", buf.String())
	}
	// No pair, no speedup row.
	if sp := Build(runs[1:], nil).Speedup; len(sp) != 0 || sp == nil {
		t.Errorf("single run: speedup %#v, want an empty list", sp)
	}
}

func TestBuildCounts(t *testing.T) {
	run := sampleReport().Runs[1]
	if run.Status["200"] != 7 || run.Status["429"] != 1 || run.Status["503"] != 1 || run.Errors.Reset != 1 || run.Errors.Total() != 1 {
		t.Errorf("status %v errors %+v", run.Status, run.Errors)
	}
	if run.WallS != 0.025 || run.ThroughputRPS != 400 || run.Sent != 10 || run.PeakInFlight != 10 {
		t.Errorf("wall %v throughput %v sent %d peak %d", run.WallS, run.ThroughputRPS, run.Sent, run.PeakInFlight)
	}
	for _, k := range []string{"200", "429", "503", "errors"} {
		if _, ok := run.LatencyByOutcome[k]; !ok {
			t.Errorf("no latency for outcome %s: %v", k, run.LatencyByOutcome)
		}
	}
	if _, ok := run.LatencyByOutcome["other"]; ok {
		t.Error("latency listed for an outcome that did not happen")
	}
	if r := run.Results[9]; r.Error != "reset" || r.Status != 0 || r.Outcome() != "reset" || r.Detail == "" {
		t.Errorf("reset result %+v", r)
	}
	if r := run.Results[1]; r.StartMs != 0.01 || r.LatencyMs != 20 || r.LocalAddr != "127.0.0.1:41000" {
		t.Errorf("result 1 %+v", r)
	}
}

// keys returns the keys of a JSON object.
func keys(t *testing.T, v any) []string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v is not an object", v)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func hasKeys(t *testing.T, what string, v any, want ...string) {
	t.Helper()
	got := keys(t, v)
	for _, k := range want {
		if !slices.Contains(got, k) {
			t.Errorf("%s has no %q (has %v)", what, k, got)
		}
	}
}

// The JSON shape is the contract that scripts rely on.
func TestJSONShape(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	hasKeys(t, "report", doc, "runs", "speedup", "hits")
	runs := doc["runs"].([]any)
	if len(runs) != 2 {
		t.Fatalf("%d runs", len(runs))
	}
	run := runs[1]
	hasKeys(t, "run", run, "target", "mode", "requests", "spread_s", "wall_s", "throughput_rps", "status", "errors", "latency_ms", "results")
	r := run.(map[string]any)
	if r["target"] != "http://127.0.0.1:8080" || r["mode"] != "concurrent" || r["requests"] != 10.0 {
		t.Errorf("run header %v %v %v", r["target"], r["mode"], r["requests"])
	}
	if st := r["status"].(map[string]any); st["200"] != 7.0 || st["429"] != 1.0 {
		t.Errorf("status %v", st)
	}
	hasKeys(t, "errors", r["errors"], "refused", "reset", "timeout", "other")
	hasKeys(t, "latency_ms", r["latency_ms"], "min", "mean", "p50", "p90", "p99", "max")
	results := r["results"].([]any)
	if len(results) != 10 {
		t.Fatalf("%d results", len(results))
	}
	hasKeys(t, "result", results[0], "seq", "url", "local_addr", "scheduled_ms", "start_ms", "end_ms", "status", "bytes", "error")
	if e := results[9].(map[string]any)["error"]; e != "reset" {
		t.Errorf("error of the reset request %v", e)
	}
	if e := results[0].(map[string]any)["error"]; e != "" {
		t.Errorf("error of a served request %q, want empty", e)
	}
	// Phases: connect <= first byte <= latency for every result, a phase
	// not reached taking the value of the one before it.
	for _, x := range results {
		res := x.(map[string]any)
		c, f, l := res["connect_ms"].(float64), res["first_byte_ms"].(float64), res["latency_ms"].(float64)
		if !(c <= f && f <= l) {
			t.Errorf("result %v: connect %v first byte %v latency %v", res["seq"], c, f, l)
		}
	}
	if res := results[9].(map[string]any); res["connect_ms"] != 1.0 || res["first_byte_ms"] != 1.0 {
		t.Errorf("reset after connecting: connect %v first byte %v, want 1 and 1", res["connect_ms"], res["first_byte_ms"])
	}
	hasKeys(t, "connect_ms_stats", r["connect_ms_stats"], "count", "min", "mean", "p50", "p90", "p99", "max")
	hasKeys(t, "first_byte_ms_stats", r["first_byte_ms_stats"], "count", "min", "mean", "p50", "p90", "p99", "max")
	if c := r["connect_ms_stats"].(map[string]any); c["count"] != 10.0 || c["min"] != 0.1 || c["max"] != 1.0 {
		t.Errorf("connect_ms_stats %v", c)
	}
	if f := r["first_byte_ms_stats"].(map[string]any); f["count"] != 9.0 || f["min"] != 1.0 || f["max"] != 19.0 {
		t.Errorf("first_byte_ms_stats %v (the reset got no byte: 9 of 10)", f)
	}
	sp := doc["speedup"].([]any)
	hasKeys(t, "speedup", sp[0], "target", "sequential_s", "concurrent_s", "speedup", "efficiency")
	hasKeys(t, "hits", doc["hits"], "url", "sent", "counted", "lost")
	if h := doc["hits"].(map[string]any); h["lost"] != 2.0 || h["sent"] != 17.0 {
		t.Errorf("hits %v", h)
	}

	// Without -stats, no hits object; speedup is still a list.
	buf.Reset()
	_ = WriteJSON(&buf, Build(sampleRuns()[1:], nil))
	doc = nil
	_ = json.Unmarshal(buf.Bytes(), &doc)
	if _, ok := doc["hits"]; ok {
		t.Error("hits present without a check")
	}
	if sp, ok := doc["speedup"].([]any); !ok || len(sp) != 0 {
		t.Errorf("speedup %v, want []", doc["speedup"])
	}
}

func TestCSVRows(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+20 {
		t.Fatalf("%d rows, want a header and 20 requests", len(rows))
	}
	if !slices.Equal(rows[0], csvHeader) {
		t.Errorf("header %v", rows[0])
	}
	last := rows[20]
	if last[1] != "concurrent" || last[2] != "9" || last[10] != "" || last[12] != "reset" {
		t.Errorf("last row %v", last)
	}
	if rows[1][10] != "200" || rows[1][1] != "sequential" {
		t.Errorf("first row %v", rows[1])
	}
	col := func(name string) int { return slices.Index(csvHeader, name) }
	if c, f := rows[1][col("connect_ms")], rows[1][col("first_byte_ms")]; c != "0.100" || f != "15.000" {
		t.Errorf("phases of the first row: connect %q first byte %q", c, f)
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if n := strings.Count(page, "<svg"); n != 7 {
		t.Errorf("%d charts, want 3 per run and the speedup chart", n)
	}
	for _, want := range []string{"Timeline", "Latency histogram", "Outcomes per second", "Speedup", "sequential", "concurrent", "connection reset by peer",
		"Phases (ms)", "<td class=\"l\">first byte</td><td>9</td>", "<th>connect ms</th>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Nothing loaded from elsewhere: no script, link, image, import or URL
	// in an attribute.
	for _, re := range []string{`(?i)<script`, `(?i)<link`, `(?i)<img`, `(?i)<iframe`, `(?i)@import`, `(?i)url\(`, `(?i)(src|href)\s*=`, `(?i)=\s*"(https?:)?//`} {
		if loc := regexp.MustCompile(re).FindStringIndex(page); loc != nil {
			t.Errorf("page has %q at %d: %q", re, loc[0], page[max(loc[0]-40, 0):min(loc[1]+40, len(page))])
		}
	}
	// Ten bars per timeline, each with a planned-time tick.
	if n := strings.Count(page, `class="planned"/>`); n != 20 {
		t.Errorf("%d planned-time ticks, want 20", n)
	}
}

func TestHTMLEscapes(t *testing.T) {
	runs := sampleRuns()
	runs[0].Results[0].Detail = `<script>alert(1)</script>`
	var buf bytes.Buffer
	if err := WriteHTML(&buf, Build(runs, nil)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<script>") {
		t.Error("a detail was written unescaped")
	}
}

func TestTimelineSamplesBigRuns(t *testing.T) {
	var results []Result
	for i := range 5000 {
		results = append(results, Result{Seq: i, StartMs: float64(i), EndMs: float64(i) + 1, Status: 200})
	}
	svg := string(timeline(Run{Results: results, WallS: 5}))
	if n := strings.Count(svg, "<rect") - 1; n > timelineBars || n < timelineBars/2 {
		t.Errorf("%d bars drawn for 5000 requests", n)
	}
	if !strings.Contains(svg, "one in 3 is drawn") {
		t.Error("sampling not said")
	}
}

func TestTextTables(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, sampleReport(), TextOptions{Requests: true, Detail: true}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"Requests (ms from the run's start): http://127.0.0.1:8080 sequential", "Summary", "status 429", "error reset",
		"Latency (ms)", "Latency by outcome", "Send lateness", "Latency histogram", "Outcomes per second",
		"Speedup", "Hits check", "■", "Phases (ms)", "connect", "first byte",
		"seq 9: read status line: connection reset by peer",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q", want)
		}
	}
	if !regexp.MustCompile(`Phases \(ms\) from each request's start: http://127.0.0.1:8080 concurrent\n.*\n.*\n.*\n.*\n│ first byte │\s+9 │\s+1\.000 │`).MatchString(out) {
		t.Errorf("no first-byte row for the concurrent run:\n%s", out)
	}
	// Side by side: one summary line holds both runs.
	if !regexp.MustCompile(`requests\s+│\s+10 │\s+10 │`).MatchString(out) {
		t.Errorf("summary not side by side:\n%s", out)
	}
	buf.Reset()
	_ = WriteText(&buf, sampleReport(), TextOptions{Detail: true})
	if strings.Contains(buf.String(), "Requests (ms") {
		t.Error("per-request lines printed when not asked for")
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]Format{"a.json": JSON, "b.CSV": CSV, "dir/c.html": HTML, "d.htm": HTML} {
		if got, err := FormatOf(name); err != nil || got != want {
			t.Errorf("%s: %v %v", name, got, err)
		}
	}
	for _, bad := range []string{"a.txt", "noext", "a.json.gz"} {
		if _, err := FormatOf(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
