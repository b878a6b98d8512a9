package report

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"httplab/httplab-requester/internal/load"
)

// update rewrites the golden files from the current output, as vegeta's
// plot tests do:
//
//	go test ./requester/internal/report -run Golden -update
//
// Review the diff of testdata/ before committing it.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or writes it there with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		diffAt := 0
		for diffAt < min(len(got), len(want)) && got[diffAt] == want[diffAt] {
			diffAt++
		}
		lo := max(diffAt-200, 0)
		t.Errorf("%s differs from the golden file at byte %d (run with -update if the change is meant):\ngot:  %q\nwant: %q",
			name, diffAt, got[lo:min(diffAt+200, len(got))], want[lo:min(diffAt+200, len(want))])
	}
}

// Every format of one fixed report, byte for byte.
func TestGolden(t *testing.T) {
	saved := now
	now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	t.Cleanup(func() { now = saved })
	rep := sampleReport()

	var text bytes.Buffer
	if err := WriteText(&text, rep, TextOptions{Requests: true, Detail: true}); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", text.Bytes())

	for ext := range writers {
		if ext == ".htm" {
			continue // the same writer as .html
		}
		f, err := FormatOf("report" + ext)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Encode(&buf, f, rep); err != nil {
			t.Fatal(err)
		}
		golden(t, "report"+ext, buf.Bytes())
	}
}

// oneRun is a report of one concurrent run, the shape a plain
// "requester -r 12" prints: no speedup, no hits check, titles without a run
// label. Its outcomes are mostly "other" (404s), so the charts' scales
// depend on every outcome class, and two of its requests land in second 1.
func oneRun() Report {
	target := "http://127.0.0.1:8080"
	run := load.Run{Target: target, Address: "127.0.0.1:8080", Mode: load.Concurrent, Requests: 12, Spread: 1200 * msec,
		Concurrency: 4, LastDue: 1100 * msec, Began: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for i := range 12 {
		sched := time.Duration(i) * 100 * msec
		res := load.Result{
			Seq: i, URL: target + []string{"/", "/missing"}[min(i/3, 1)], LocalAddr: netip.MustParseAddrPort("127.0.0.1:42000"),
			Scheduled: sched, Start: sched + time.Duration(i)*10*time.Microsecond, Status: 200, Bytes: 100,
			Connect: 100 * time.Microsecond, FirstByte: 2 * msec,
		}
		res.End = res.Start + time.Duration(i+1)*3*msec
		switch {
		case i >= 3 && i <= 7:
			res.Status, res.Bytes = 404, 9
		case i == 8:
			res.Status, res.Bytes = 429, 0
		case i == 9:
			res.Status, res.Bytes = 503, 0
		case i == 10:
			res.Status, res.Bytes, res.Err, res.Detail, res.FirstByte = 0, 0, load.Reset, "read status line: connection reset by peer", 0
		case i == 11:
			res.Status, res.Bytes, res.Err, res.Detail, res.FirstByte = 0, 0, load.Timeout, "read status line: i/o timeout", 0
		}
		run.Results = append(run.Results, res)
		run.Wall = max(run.Wall, res.End)
	}
	return Build([]load.Run{run}, nil)
}

// A report of one run, as text and HTML, byte for byte.
func TestGoldenOneRun(t *testing.T) {
	saved := now
	now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	t.Cleanup(func() { now = saved })
	rep := oneRun()

	var text bytes.Buffer
	if err := WriteText(&text, rep, TextOptions{Requests: true}); err != nil {
		t.Fatal(err)
	}
	golden(t, "one-run.txt", text.Bytes())

	var page bytes.Buffer
	if err := WriteHTML(&page, rep); err != nil {
		t.Fatal(err)
	}
	golden(t, "one-run.html", page.Bytes())
}
