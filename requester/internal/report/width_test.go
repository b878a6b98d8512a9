package report

import (
	"bytes"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"httplab/httplab-requester/internal/hits"
	"httplab/httplab-requester/internal/load"
)

// wideRuns is a representative comparison at its widest: three servers
// with long names, sequential and concurrent against each, 20 requests
// over 4.1 s on several paths from several source addresses, times in
// the thousands of milliseconds, every error category with its longest
// detail, and one run interrupted.
func wideRuns() []load.Run {
	long := strings.Repeat("read body of HTTP 200 after 1048576 bytes: timeout: no complete response ", 4)[:256]
	var runs []load.Run
	for _, host := range []string{"server", "server-seq", "host.docker.internal"} {
		target := "http://" + host + ":8080"
		for _, mode := range []load.Mode{load.Sequential, load.Concurrent} {
			run := load.Run{Target: target, Address: "172.18.0.2:8080", Mode: mode, Requests: 20, Spread: 4100 * msec,
				LastDue: 3895 * msec, Began: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			for i := range 20 {
				start := time.Duration(i) * 205 * msec
				res := load.Result{
					Seq: i, URL: target + []string{"/", "/books/a-rather-long-file-name.html", "/style.css"}[i%3],
					LocalAddr: netip.AddrPortFrom(netip.MustParseAddr("172.18.0."+strconv.Itoa(100+i%3)), 40000+uint16(i)),
					Scheduled: start, Start: start + 1234*msec, End: start + 1234*msec + 10003*msec,
					Connect: msec, FirstByte: 2 * msec, Status: 200, Bytes: 1048576,
				}
				switch i % 7 {
				case 1:
					res.Status, res.Err, res.Detail = 0, load.Timeout, long
				case 2:
					res.Status, res.Err, res.Detail = 0, load.Reset, "read status line: connection reset by peer"
				case 3:
					res.Status, res.Err, res.Detail = 0, load.Refused, "connect: connection refused"
				case 4:
					res.Status, res.Err, res.Detail = 0, load.Other, `read response: protocol error: malformed status line "SSH-2.0-OpenSSH_9.6\r\n"`
				case 5:
					res.Status = 429
				case 6:
					res.Status = 503
				}
				run.Results = append(run.Results, res)
				run.Wall = max(run.Wall, res.End)
			}
			runs = append(runs, run)
		}
	}
	runs[5].Interrupted = true
	return runs
}

func wideReport() Report {
	return Build(wideRuns(), &hits.Check{URL: "http://host.docker.internal:9090/stats", Sent: 17,
		Err: strings.Repeat("GET /stats: 502 Bad Gateway from a proxy in the way; ", 6)})
}

// Every line of every table of the text report fits a 100-column
// terminal: the comparison at its widest, with and without the detail,
// and each of its runs alone.
func TestTextFits100Columns(t *testing.T) {
	rep := wideReport()
	check := func(name string, rep Report, opts TextOptions) string {
		t.Helper()
		var buf bytes.Buffer
		if err := WriteText(&buf, rep, opts); err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(buf.String(), "\n") {
			if n := utf8.RuneCountInString(line); n > Width {
				t.Errorf("%s: line %d is %d runes:\n%s", name, i+1, n, line)
			}
		}
		return buf.String()
	}
	full := check("comparison with -v", rep, TextOptions{Requests: true, Detail: true})
	for _, want := range []string{"Requests (ms", "Latency histogram", "Outcomes per second", "Phases (ms)",
		"Latency by outcome", "Send lateness", "Speedup", "Hits check", "error: GET /stats", "/boo…"} {
		if !strings.Contains(full, want) {
			t.Errorf("the detailed report lacks %q", want)
		}
	}
	// Each run of the comparison has its own per-request table, and each
	// distinct detail is said once, with the requests that had it.
	if n := strings.Count(full, "Requests (ms from the run's start): "); n != 6 {
		t.Errorf("%d per-request tables, want 6", n)
	}
	if !strings.Contains(full, "seq 2, 9, 16: read status line: connection reset by peer") {
		t.Error("the reset detail is not listed under its requests")
	}
	check("comparison", rep, TextOptions{Requests: true})
	for i := range rep.Runs {
		one := Report{Runs: rep.Runs[i : i+1], Speedup: []Speedup{}, Hits: rep.Hits}
		check("run "+rep.Runs[i].Label(), one, TextOptions{Requests: true})
	}
	// The sample report of the golden files, too.
	check("sample", sampleReport(), TextOptions{Requests: true, Detail: true})
}

// A comparison leads with its answer: the speedup table, then one summary
// per server; the detail waits for -v, and the report says so.
func TestComparisonLeadsWithItsAnswer(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, wideReport(), TextOptions{Requests: true}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	sp, sum := strings.Index(out, "\nSpeedup"), strings.Index(out, "\nSummary")
	if sp < 0 || sum < 0 || sp > sum {
		t.Errorf("speedup at %d, summary at %d: the speedup must come first", sp, sum)
	}
	for _, host := range []string{"server", "server-seq", "host.docker.internal"} {
		if !strings.Contains(out, "Summary: http://"+host+":8080\n") {
			t.Errorf("no summary of its own for %s", host)
		}
	}
	for _, absent := range []string{"Requests (ms", "Latency histogram", "Outcomes per second", "Phases (ms)"} {
		if strings.Contains(out, absent) {
			t.Errorf("compact comparison has %q", absent)
		}
	}
	if !strings.Contains(out, "Add -v") {
		t.Error("the compact report does not say how to get the detail")
	}
	if strings.Contains(out, "Efficiency above 1") {
		t.Error("the note on an efficiency above 1 without one")
	}
	if lines := strings.Count(out, "\n"); lines > 150 {
		t.Errorf("compact comparison of 6 runs is %d lines", lines)
	}
	// One run: the detail is there without -v.
	buf.Reset()
	_ = WriteText(&buf, Build(sampleRuns()[1:], nil), TextOptions{Requests: true})
	if !strings.Contains(buf.String(), "Requests (ms") || !strings.Contains(buf.String(), "Latency histogram") {
		t.Error("a one-run report lacks its detail")
	}
}

// The summary says what its figures mean where they are printed: the last
// request is due at (r−1)·t/r, not at t; peak in flight against the cap.
func TestSummaryExplainsItsFigures(t *testing.T) {
	runs := sampleRuns()[1:]
	runs[0].Spread, runs[0].LastDue = 4100*msec, 3895*msec
	for i := range runs[0].Results { // one at a time: each ends before the next is due
		r := &runs[0].Results[i]
		r.Scheduled = time.Duration(i) * 205 * msec
		r.Start, r.End = r.Scheduled, r.Scheduled+msec
	}
	var buf bytes.Buffer
	_ = WriteText(&buf, Build(runs, nil), TextOptions{})
	out := buf.String()
	for _, re := range []string{`last due \(s\)\s+│\s+3\.895 │`, `-t spread \(s\)\s+│\s+4\.100 │`, `\(r−1\)·t/r`,
		`concurrent run with a peak of 1 never overlapped`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("summary lacks %q:\n%s", re, out)
		}
	}
	if rep := Build(runs, nil); rep.Runs[0].LastDueS != 3.895 {
		t.Errorf("last_due_s %v", rep.Runs[0].LastDueS)
	}
}

// The HTML summary is HTML tables, not text in a <pre>, and keeps every
// run and column.
func TestHTMLSummaryIsTables(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, wideReport()); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "<pre") || strings.Contains(page, "┌") {
		t.Error("the page still has text tables")
	}
	for _, want := range []string{"<h4>Summary</h4>", "<h4>Speedup: ", "<th>server:8080 sequential</th>",
		"<h4>Latency by outcome (ms): http://server-seq:8080 concurrent</h4>", "<td class=\"l\">last due (s)</td>",
		"<th>first byte ms</th>", "<th>end ms</th>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(page, "<table>"); n < 10 {
		t.Errorf("%d tables", n)
	}
}

var (
	rectRe = regexp.MustCompile(`<rect x="([0-9.]+)" y="([0-9.]+)" width="([0-9.]+)" height="([0-9.]+)" fill=`)
	textRe = regexp.MustCompile(`<text x="([0-9.]+)" y="[0-9.]+" text-anchor="middle" class="tick">`)
)

func atof(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Charts keep room at their edges: no bar reaches the top of its frame,
// and nothing (bars, planned-time marks, tick labels) sits on its left or
// right side.
func TestChartsKeepMargins(t *testing.T) {
	left, right := float64(marginL), float64(marginL+plotW)
	for _, rep := range []Report{sampleReport(), wideReport()} {
		for _, run := range rep.Runs {
			for name, svg := range map[string]string{"histogram": string(histogramChart(run)), "per second": string(perSecondChart(run))} {
				bars := rectRe.FindAllStringSubmatch(svg, -1)
				if len(bars) == 0 {
					t.Fatalf("%s: no bars", name)
				}
				for _, m := range bars {
					x, y, w := atof(t, m[1]), atof(t, m[2]), atof(t, m[3])
					if y < marginT+barChart*headroom-0.01 {
						t.Errorf("%s of %s: a bar reaches y=%.2f, the frame's top is %d", name, run.Label(), y, marginT)
					}
					if x < left+padX-0.01 || x+w > right-padX+0.01 {
						t.Errorf("%s: bar from %.2f to %.2f, frame %.0f to %.0f", name, x, x+w, left, right)
					}
				}
			}
			svg := string(timeline(run))
			for _, m := range rectRe.FindAllStringSubmatch(svg, -1) {
				if x, w := atof(t, m[1]), atof(t, m[3]); x < left+padX-0.01 || x+w > right-padX+0.01 {
					t.Errorf("timeline of %s: bar from %.2f to %.2f, frame %.0f to %.0f", run.Label(), x, x+w, left, right)
				}
			}
			for _, m := range regexp.MustCompile(`x1="([0-9.]+)" x2="[0-9.]+" y1="[0-9.]+" y2="[0-9.]+" class="planned"`).FindAllStringSubmatch(svg, -1) {
				if x := atof(t, m[1]); x < left+padX-0.01 || x > right-padX+0.01 {
					t.Errorf("timeline of %s: planned mark at %.2f, frame %.0f to %.0f", run.Label(), x, left, right)
				}
			}
			for _, m := range textRe.FindAllStringSubmatch(svg, -1) {
				if x := atof(t, m[1]); x <= left || x >= right {
					t.Errorf("timeline of %s: tick label at x=%.2f, on or past the frame (%.0f to %.0f)", run.Label(), x, left, right)
				}
			}
		}
	}
}

// Histogram labels close together on the log scale still differ.
func TestHistogramLabelsDiffer(t *testing.T) {
	buckets := []Bucket{{FromMs: 100.695}, {FromMs: 101.4}, {FromMs: 101.9}, {FromMs: 102.6}, {FromMs: 110}}
	labels := edgeLabels(buckets)
	for i := 1; i < len(labels); i++ {
		if labels[i] == labels[i-1] {
			t.Errorf("labels %v repeat", labels)
		}
	}
	if got := edgeLabels([]Bucket{{FromMs: 1}, {FromMs: 10}, {FromMs: 100}}); got[0] != "1.00" || got[2] != "100" {
		t.Errorf("well apart: %v", got)
	}
}
