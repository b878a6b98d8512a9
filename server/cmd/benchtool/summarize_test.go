//go:build linux

package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/summary.golden")

// fixture is a small run that breaks nothing: every part, pinned, two
// rounds of throughput with wrk and one with the requester.
func fixture() []Record {
	var recs []Record
	tput := func(tool, file, server string, round int, rps, cpu float64) {
		recs = append(recs, Record{Part: partThroughput, Server: server, Tool: tool, File: file, Pinned: true,
			Round: round, Requests: 20000, WantStatus: 200, OK: 20000, RPS: rps, CPUPerReq: cpu})
	}
	for round := 1; round <= 2; round++ {
		d := float64(round) // a little spread between rounds
		tput(toolWrk, fileSmall, idOursOn, round, 16000+d, 50)
		tput(toolWrk, fileSmall, idOursOff, round, 16200+d, 49)
		tput(toolWrk, fileSmall, idNginx, round, 16000-d, 40)
		tput(toolWrk, fileSmall, idBare, round, 16400+d, 25)
		tput(toolWrk, file100k, idOursOn, round, 9500+d, 95)
		tput(toolWrk, file100k, idNginx, round, 10000+d, 80)
	}
	tput(toolRequest, fileSmall, idOursOn, 1, 21000, 52)
	tput(toolRequest, fileSmall, idNginx, 1, 22000, 41)
	recs = append(recs,
		Record{Part: partAttack, Server: idOurs, Cond: condAlone, Tool: toolRequest, File: fileSmall, Pinned: true,
			Requests: 1000, WantStatus: 200, OK: 1000, P50ms: 0.4, P99ms: 2.0, Status: map[string]int{"200": 1000}},
		Record{Part: partAttack, Server: idOurs, Cond: condFlood, Tool: toolRequest, File: fileSmall, Pinned: true,
			Requests: 1000, WantStatus: 200, OK: 1000, P50ms: 0.5, P99ms: 3.0, Status: map[string]int{"200": 1000},
			FloodServedPS: 100, FloodRefusedPS: 9000, CPUPerReq: 40},
		Record{Part: partAttack, Server: idNginx, Cond: condFlood, Tool: toolRequest, File: fileSmall, Pinned: true,
			Requests: 1000, WantStatus: 200, OK: 990, P50ms: 0.5, P99ms: 4.0, Status: map[string]int{"200": 990, "503": 10},
			FloodServedPS: 110, FloodRefusedPS: 8000, CPUPerReq: 35},
		Record{Part: partRefusal, Server: idRefServe, Round: 1, Pinned: true, Requests: 2000, WantStatus: 200, OK: 2000, CPUPerReq: 50},
		Record{Part: partRefusal, Server: idRefCap, Round: 1, Pinned: true, Requests: 2000, WantStatus: 503, OK: 2000, CPUPerReq: 45},
		Record{Part: partRefusal, Server: idRefFloor, Round: 1, Pinned: true, Requests: 2000, WantStatus: 0, OK: 0, CPUPerReq: 35,
			ErrorKinds: map[string]int{"reset": 2000}},
		Record{Part: partRefusal, Server: idRefSerialServe, Round: 1, Pinned: true, Requests: 2000, WantStatus: 200, OK: 2000, CPUPerReq: 32},
		Record{Part: partRefusal, Server: idRefSerial503, Round: 1, Pinned: true, Requests: 2000, WantStatus: 503, OK: 2000, CPUPerReq: 24},
		Record{Part: partRefusal, Server: idRefSerialClose, Round: 1, Pinned: true, Requests: 2000, WantStatus: 0, OK: 0, CPUPerReq: 18,
			ErrorKinds: map[string]int{"reset": 2000}},
		Record{Part: partRefusal, Server: idRefNginxServe, Round: 1, Pinned: true, Requests: 2000, WantStatus: 200, OK: 2000, CPUPerReq: 44},
		Record{Part: partRefusal, Server: idRefNginx503, Round: 1, Pinned: true, Requests: 2000, WantStatus: 503, OK: 2000, CPUPerReq: 33},
		Record{Part: partMemory, Server: idOurs, Wanted: 10000, Open: 10000, RSSBaseKB: 10 * 1024, RSSHeldKB: 54 * 1024},
		Record{Part: partMemory, Server: idNginx, Wanted: 10000, Open: 9000, RSSBaseKB: 30 * 1024, RSSHeldKB: 35 * 1024},
	)
	return recs
}

// TestSummaryGolden pins the whole summary of the fixture: tables, targets,
// CPU lines. go test -run TestSummaryGolden -update rewrites it.
func TestSummaryGolden(t *testing.T) {
	var b bytes.Buffer
	if n := writeSummary(&b, fixture()); n != 0 {
		t.Fatalf("fixture breaks %d threshold(s):\n%s", n, b.String())
	}
	golden := filepath.Join("testdata", "summary.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("summary differs from %s (go test -run TestSummaryGolden -update, then read the diff):\n%s", golden, got)
	}
}

// TestChecks breaks each threshold of the broken-behaviour checks by the
// least amount, and keeps each exactly at its limit, so that moving a
// threshold fails a case.
func TestChecks(t *testing.T) {
	cases := []struct {
		name   string
		change func(r *Record) bool // applied to every record; true marks the one changed
		want   string               // "" = no problem
	}{
		{"fixture", func(*Record) bool { return false }, ""},
		{"one failed request, this server", func(r *Record) bool {
			if r.Part == partThroughput && r.Server == idOursOn && r.Round == 1 && r.Tool == toolWrk && r.File == fileSmall {
				r.OK, r.Errors = r.OK-1, 1
				return true
			}
			return false
		}, "ours-on small (wrk): 1 of 20000 requests failed or were not 200"},
		{"failed requests, nginx: reported only", func(r *Record) bool {
			if r.Part == partThroughput && r.Server == idNginx {
				r.OK, r.Errors = r.OK-100, 100
				return true
			}
			return false
		}, ""},
		{"bare loop answered nothing", func(r *Record) bool {
			if r.Part == partThroughput && r.Server == idBare && r.Round == 2 {
				r.Requests, r.OK = 0, 0
				return true
			}
			return false
		}, "bare small (wrk): no request was answered"},
		{"wrong body length", func(r *Record) bool {
			if r.Part == partThroughput && r.Server == idOursOn && r.Tool == toolRequest {
				r.WantBytes, r.WrongBytes = 1383, 1
				return true
			}
			return false
		}, "ours-on small (requester): 1 answers' body length is not 1383 bytes"},
		{"polite at exactly 90 %", func(r *Record) bool {
			if r.Part == partAttack && r.Server == idOurs && r.Cond == condFlood {
				r.OK = 900
				return true
			}
			return false
		}, ""},
		{"polite under 90 %", func(r *Record) bool {
			if r.Part == partAttack && r.Server == idOurs && r.Cond == condFlood {
				r.OK = 899
				return true
			}
			return false
		}, "polite client got only 899 of 1000 answered 200 (flood)"},
		{"polite under 90 % alone", func(r *Record) bool {
			if r.Part == partAttack && r.Server == idOurs && r.Cond == condAlone {
				r.OK = 899
				return true
			}
			return false
		}, "polite client got only 899 of 1000 answered 200 (alone)"},
		{"polite sent nothing", func(r *Record) bool {
			if r.Part == partAttack && r.Server == idOurs && r.Cond == condAlone {
				r.Requests, r.OK = 0, 0
				return true
			}
			return false
		}, "polite client got only 0 of 0"},
		{"polite under 90 % behind nginx: reported only", func(r *Record) bool {
			if r.Part == partAttack && r.Server == idNginx {
				r.OK = 10
				return true
			}
			return false
		}, ""},
		{"flooder refused once a second", func(r *Record) bool {
			if r.Part == partAttack && r.Server == idOurs && r.Cond == condFlood {
				r.FloodRefusedPS = 1
				return true
			}
			return false
		}, ""},
		{"flooder refused less than once a second", func(r *Record) bool {
			if r.Part == partAttack && r.Server == idOurs && r.Cond == condFlood {
				r.FloodRefusedPS = 0.9
				return true
			}
			return false
		}, "the flooder was refused 0.9 times a second: limits are not working"},
		{"one idle connection dropped", func(r *Record) bool {
			if r.Part == partMemory && r.Server == idOurs {
				r.Open = r.Wanted - 1
				return true
			}
			return false
		}, "this server held 9999 of 10000 idle connections"},
		{"one 200 where a 503 was wanted", func(r *Record) bool {
			if r.Part == partRefusal && r.Server == idRefCap {
				r.OK = r.Requests - 1
				r.Status = map[string]int{"503": r.OK, "200": 1}
				return true
			}
			return false
		}, "refusal part: refuse-cap answered 1999 of 2000 requests with 503"},
		{"one failed 200 in the refusal part", func(r *Record) bool {
			if r.Part == partRefusal && r.Server == idRefServe {
				r.OK = r.Requests - 1
				return true
			}
			return false
		}, "refusal part: refuse-serve answered 1999 of 2000 requests with 200"},
		{"the floor answered one", func(r *Record) bool {
			if r.Part == partRefusal && r.Server == idRefFloor {
				r.OK = 1
				return true
			}
			return false
		}, "refusal part: the floor (accept and close) ended 2000 connections and answered 1"},
		{"the serial loop's refusal answered 200", func(r *Record) bool {
			if r.Part == partRefusal && r.Server == idRefSerial503 {
				r.OK = r.Requests - 1
				return true
			}
			return false
		}, "refusal part: refuse-serial-503 answered 1999 of 2000 requests with 503"},
		{"the serial loop's close answered one", func(r *Record) bool {
			if r.Part == partRefusal && r.Server == idRefSerialClose {
				r.OK = 1
				return true
			}
			return false
		}, "refusal part: refuse-serial-close (accept and close) ended 2000 connections and answered 1"},
		{"nginx's 503s wrong: reported only", func(r *Record) bool {
			if r.Part == partRefusal && (r.Server == idRefNginx503 || r.Server == idRefNginxServe) {
				r.OK = 0
				return true
			}
			return false
		}, ""},
		{"the floor ended nothing", func(r *Record) bool {
			if r.Part == partRefusal && r.Server == idRefFloor {
				r.Requests = 0
				return true
			}
			return false
		}, "refusal part: the floor (accept and close) ended 0 connections and answered 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs := fixture()
			changed := 0
			for i := range recs {
				if c.change(&recs[i]) {
					changed++
				}
			}
			got := problems(recs)
			var b bytes.Buffer
			n := writeSummary(&b, recs)
			if n != len(got) {
				t.Errorf("writeSummary counts %d problems, problems() %d", n, len(got))
			}
			if c.want == "" {
				if len(got) > 0 {
					t.Errorf("want no problem, got %q", got)
				}
				return
			}
			if changed == 0 {
				t.Fatal("the case changed no record")
			}
			if len(got) != 1 || !strings.Contains(got[0], c.want) {
				t.Errorf("want one problem containing %q, got %q", c.want, got)
			}
			if !strings.Contains(b.String(), "## Problems seen during the run\n\n- "+got[0]) {
				t.Errorf("summary does not list the problem:\n%s", b.String())
			}
		})
	}
}

// TestTargets moves each measured figure to just at and just past its
// target; the verdict must follow.
func TestTargets(t *testing.T) {
	set := func(recs []Record, part, server, tool, file, cond string, f func(*Record)) {
		for i := range recs {
			r := &recs[i]
			if r.Part == part && r.Server == server && r.Tool == tool && r.File == file && r.Cond == cond {
				f(r)
			}
		}
	}
	verdict := func(recs []Record, prefix string) string {
		t.Helper()
		for _, row := range targets(groupParts(recs)) {
			if strings.HasPrefix(row.target, prefix) {
				return row.verdict
			}
		}
		t.Fatalf("no target %q in %+v", prefix, targets(groupParts(recs)))
		return ""
	}
	rps := func(server, tool, file string, v float64) func([]Record) {
		return func(recs []Record) {
			set(recs, partThroughput, server, tool, file, "", func(r *Record) { r.RPS = v })
		}
	}
	both := func(a, b func([]Record)) func([]Record) {
		return func(recs []Record) { a(recs); b(recs) }
	}
	cases := []struct {
		name, target string
		change       func([]Record)
		want         string
	}{
		{"small = nginx", "small, limits on ≥ 1.0 × nginx (wrk)",
			both(rps(idOursOn, toolWrk, fileSmall, 1000), rps(idNginx, toolWrk, fileSmall, 1000)), met},
		{"small under nginx", "small, limits on ≥ 1.0 × nginx (wrk)",
			both(rps(idOursOn, toolWrk, fileSmall, 999), rps(idNginx, toolWrk, fileSmall, 1000)), missed},
		{"small = 0.95 bare", "small, limits on ≥ 0.95 × bare loop (wrk)",
			both(rps(idOursOn, toolWrk, fileSmall, 950), rps(idBare, toolWrk, fileSmall, 1000)), met},
		{"small under 0.95 bare", "small, limits on ≥ 0.95 × bare loop (wrk)",
			both(rps(idOursOn, toolWrk, fileSmall, 949), rps(idBare, toolWrk, fileSmall, 1000)), missed},
		{"100k = 0.9 nginx", "100 KB, limits on ≥ 0.9 × nginx (wrk)",
			both(rps(idOursOn, toolWrk, file100k, 900), rps(idNginx, toolWrk, file100k, 1000)), met},
		{"100k under 0.9 nginx", "100 KB, limits on ≥ 0.9 × nginx (wrk)",
			both(rps(idOursOn, toolWrk, file100k, 899), rps(idNginx, toolWrk, file100k, 1000)), missed},
		{"on = 0.97 off", "limits on ≥ 0.97 × off, small (wrk)",
			both(rps(idOursOn, toolWrk, fileSmall, 970), rps(idOursOff, toolWrk, fileSmall, 1000)), met},
		{"on under 0.97 off", "limits on ≥ 0.97 × off, small (wrk)",
			both(rps(idOursOn, toolWrk, fileSmall, 969), rps(idOursOff, toolWrk, fileSmall, 1000)), missed},
		{"requester small under nginx", "small, limits on ≥ 1.0 × nginx (requester)",
			rps(idOursOn, toolRequest, fileSmall, 21999), missed},
		{"polite all 200", "under attack: polite success 100 %", func([]Record) {}, met},
		{"polite one short", "under attack: polite success 100 %", func(recs []Record) {
			set(recs, partAttack, idOurs, toolRequest, fileSmall, condFlood, func(r *Record) { r.OK-- })
		}, missed},
		{"p99 at 2× unflooded", "under attack: polite p99 ≤ 2 × unflooded", func(recs []Record) {
			set(recs, partAttack, idOurs, toolRequest, fileSmall, condFlood, func(r *Record) { r.P99ms = 4.0 })
		}, met},
		{"p99 over 2× unflooded", "under attack: polite p99 ≤ 2 × unflooded", func(recs []Record) {
			set(recs, partAttack, idOurs, toolRequest, fileSmall, condFlood, func(r *Record) { r.P99ms = 4.01 })
		}, missed},
		{"p99 over nginx's", "under attack: polite p99 ≤ behind nginx", func(recs []Record) {
			set(recs, partAttack, idOurs, toolRequest, fileSmall, condFlood, func(r *Record) { r.P99ms = 4.01 })
		}, missed},
		{"refusal at 0.6 of serving", "a refusal ≤ 0.6 × a served request", func(recs []Record) {
			set(recs, partRefusal, idRefCap, "", "", "", func(r *Record) { r.CPUPerReq = 30 })
		}, met},
		{"refusal just over 0.6 of serving", "a refusal ≤ 0.6 × a served request", func(recs []Record) {
			set(recs, partRefusal, idRefCap, "", "", "", func(r *Record) { r.CPUPerReq = 30.01 })
		}, missed},
		{"refusal incomplete", "a refusal ≤ 0.6 × a served request", func(recs []Record) {
			set(recs, partRefusal, idRefCap, "", "", "", func(r *Record) { r.CPUPerReq = 10; r.OK-- })
		}, missed},
		{"CPU small = nginx", "CPU per request, small, limits on ≤ 1.00 × nginx (wrk)",
			both(cpuOf(set, idOursOn, toolWrk, fileSmall, 40), cpuOf(set, idNginx, toolWrk, fileSmall, 40)), met},
		{"CPU small over nginx", "CPU per request, small, limits on ≤ 1.00 × nginx (wrk)",
			both(cpuOf(set, idOursOn, toolWrk, fileSmall, 40.01), cpuOf(set, idNginx, toolWrk, fileSmall, 40)), missed},
		{"CPU small = 1.05 bare", "CPU per request, small, limits on ≤ 1.05 × bare loop (wrk)",
			both(cpuOf(set, idOursOn, toolWrk, fileSmall, 42), cpuOf(set, idBare, toolWrk, fileSmall, 40)), met},
		{"CPU small over 1.05 bare", "CPU per request, small, limits on ≤ 1.05 × bare loop (wrk)",
			both(cpuOf(set, idOursOn, toolWrk, fileSmall, 42.01), cpuOf(set, idBare, toolWrk, fileSmall, 40)), missed},
		{"CPU 100k under nginx", "CPU per request, 100k, limits on ≤ 1.00 × nginx (wrk)",
			cpuOf(set, idOursOn, toolWrk, file100k, 79), met},
		{"CPU 100k over nginx", "CPU per request, 100k, limits on ≤ 1.00 × nginx (wrk)",
			cpuOf(set, idOursOn, toolWrk, file100k, 81), missed},
		{"flood answer = nginx's", "under attack: CPU per flood answer ≤ 1.0 × nginx's", func(recs []Record) {
			set(recs, partAttack, idOurs, toolRequest, fileSmall, condFlood, func(r *Record) { r.CPUPerReq = 35 })
		}, met},
		{"flood answer dearer than nginx's", "under attack: CPU per flood answer ≤ 1.0 × nginx's", func(recs []Record) {
			set(recs, partAttack, idOurs, toolRequest, fileSmall, condFlood, func(r *Record) { r.CPUPerReq = 35.01 })
		}, missed},
		{"polite with no requests", "under attack: polite success 100 %", func(recs []Record) {
			set(recs, partAttack, idOurs, toolRequest, fileSmall, condFlood, func(r *Record) { r.Requests, r.OK = 0, 0 })
		}, missed},
		{"p99 = nginx's", "under attack: polite p99 ≤ behind nginx", func(recs []Record) {
			set(recs, partAttack, idOurs, toolRequest, fileSmall, condFlood, func(r *Record) { r.P99ms = 4.0 })
		}, met},
		{"refusal at exactly 0.6 of serving", "a refusal ≤ 0.6 × a served request", func(recs []Record) {
			set(recs, partRefusal, idRefCap, "", "", "", func(r *Record) { r.CPUPerReq = targetRefusalVsServed * 50 })
		}, met},
		{"refusal met, the floor without requests", "a refusal ≤ 0.6 × a served request", func(recs []Record) {
			set(recs, partRefusal, idRefCap, "", "", "", func(r *Record) { r.CPUPerReq = 30 })
			set(recs, partRefusal, idRefFloor, "", "", "", func(r *Record) { r.Requests = 0 })
		}, missed},
		{"refusal with no requests", "a refusal ≤ 0.6 × a served request", func(recs []Record) {
			set(recs, partRefusal, idRefCap, "", "", "", func(r *Record) { r.CPUPerReq, r.Requests, r.OK = 10, 0, 0 })
		}, missed},
		{"idle RSS just under 80 MB", "10000 idle connections < 80 MB RSS", func(recs []Record) {
			set(recs, partMemory, idOurs, "", "", "", func(r *Record) { r.RSSHeldKB = 80*1024 - 1 })
		}, met},
		{"idle RSS at 80 MB", "10000 idle connections < 80 MB RSS", func(recs []Record) {
			set(recs, partMemory, idOurs, "", "", "", func(r *Record) { r.RSSHeldKB = 80 * 1024 })
		}, missed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs := fixture()
			c.change(recs)
			if got := verdict(recs, c.target); got != c.want {
				t.Errorf("%s: verdict %q, want %q", c.target, got, c.want)
			}
		})
	}
	// No refusal part in the run: no refusal row.
	var norefusal []Record
	for _, r := range fixture() {
		if r.Part != partRefusal {
			norefusal = append(norefusal, r)
		}
	}
	for _, row := range targets(groupParts(norefusal)) {
		if strings.HasPrefix(row.target, "a refusal") {
			t.Errorf("no refusal part ran, yet: %+v", row)
		}
	}
	// No CPU figure for the flood, ours or nginx's: no ratio, so no row.
	for _, server := range []string{idOurs, idNginx} {
		recs := fixture()
		set(recs, partAttack, server, toolRequest, fileSmall, condFlood, func(r *Record) { r.CPUPerReq = 0 })
		for _, row := range targets(groupParts(recs)) {
			if strings.HasPrefix(row.target, "under attack: CPU per flood answer") {
				t.Errorf("%s measured no flood CPU, yet: %+v", server, row)
			}
		}
	}
}

func groupParts(recs []Record) map[string][]Record {
	by := map[string][]Record{}
	for _, r := range recs {
		by[r.Part] = append(by[r.Part], r)
	}
	return by
}

func TestCPULines(t *testing.T) {
	got := cpuLines(groupParts(fixture())[partThroughput])
	want := []string{
		"CPU per request, small file (pinned, wrk): this server 50.0 µs = 1.25× nginx, 2.00× bare loop",
		"CPU per request, small file (pinned, requester): this server 52.0 µs = 1.27× nginx",
		"CPU per request, 100 KiB file (pinned, wrk): this server 95.0 µs = 1.19× nginx",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Nothing pinned: the unpinned runs speak.
	recs := fixture()
	for i := range recs {
		recs[i].Pinned = false
	}
	if got := cpuLines(recs); len(got) != 3 || !strings.HasPrefix(got[0], "CPU per request, small file (unpinned, wrk): this server 50.0 µs") {
		t.Errorf("unpinned: got %q", got)
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "records.jsonl")
	for _, r := range fixture() {
		if err := appendRecord(path, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := readRecords(path)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	writeSummary(&a, fixture())
	writeSummary(&b, got)
	if a.String() != b.String() {
		t.Errorf("summary of the records read back differs from the fixture's")
	}
	if recs, err := readRecords(filepath.Join(dir, "missing.jsonl")); err != nil || recs != nil {
		t.Errorf("missing file: want no records and no error, got %v, %v", recs, err)
	}
	for _, bad := range []string{
		`{"part":"throughput","server":"nginx","rps":1}`, // a misspelt field is an error, not a zero
		`{"part":"throughput"}`,
		`part throughput`,
	} {
		if _, err := decodeRecords(strings.NewReader("\n"+bad+"\n"), "x"); err == nil || !strings.HasPrefix(err.Error(), "x:2:") {
			t.Errorf("%s: want an error naming line 2, got %v", bad, err)
		}
	}
}

func TestSummarizeExit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "records.jsonl")
	recs := fixture()
	recs[0].OK, recs[0].Errors = recs[0].OK-1, 1
	for _, r := range recs {
		if err := appendRecord(path, r); err != nil {
			t.Fatal(err)
		}
	}
	stdout := os.Stdout
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout = devnull
	err = summarize([]string{"-records", path})
	os.Stdout = stdout
	devnull.Close()
	var broken errBroken
	if !errors.As(err, &broken) || broken != 1 {
		t.Errorf("want errBroken(1), got %v", err)
	}
}

const wrkOut = `Running 2s test @ http://127.0.0.1:28084/small.html
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.95ms  512.31us  12.40ms   90.12%
    Req/Sec    16.62k     1.01k   17.80k    75.00%
  33070 requests in 2.00s, 45.51MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:  16512.34
Transfer/sec:     22.72MB
`

func TestParseWrk(t *testing.T) {
	var r Record
	if err := parseWrk([]byte(wrkOut), &r); err != nil {
		t.Fatal(err)
	}
	if r.Requests != 33070 || r.RPS != 16512.34 || r.OK != 33063 || r.Errors != 12 {
		t.Errorf("got requests %d rps %v ok %d errors %d", r.Requests, r.RPS, r.OK, r.Errors)
	}
	clean := strings.NewReplacer("  Socket errors: connect 0, read 3, write 0, timeout 2\n", "", "  Non-2xx or 3xx responses: 7\n", "").Replace(wrkOut)
	r = Record{}
	if err := parseWrk([]byte(clean), &r); err != nil || r.OK != 33070 || r.Errors != 0 {
		t.Errorf("clean run: %+v, %v", r, err)
	}
	if err := parseWrk([]byte("unable to connect to 127.0.0.1:1 Connection refused\n"), &r); err == nil {
		t.Error("not wrk output: want an error")
	}
}

const requesterOut = `{"runs":[{"target":"http://127.0.0.1:1","mode":"concurrent","requests":4,"throughput_rps":1234.5,
"status":{"200":2,"503":1},"errors":{"refused":0,"reset":1,"timeout":0,"other":0},
"latency_ms":{"p50":1.5,"p99":3.25},
"results":[{"status":200,"bytes":1383},{"status":200,"bytes":100},{"status":503,"bytes":50},{"status":0,"bytes":0,"error":"reset"}]}]}`

func TestParseRequester(t *testing.T) {
	r := Record{WantStatus: 200, WantBytes: 1383}
	if err := parseRequester([]byte(requesterOut), &r); err != nil {
		t.Fatal(err)
	}
	if r.Requests != 4 || r.OK != 2 || r.Errors != 2 || r.WrongBytes != 1 || r.RPS != 1234.5 ||
		r.P50ms != 1.5 || r.P99ms != 3.25 || r.ErrorKinds["reset"] != 1 || len(r.ErrorKinds) != 1 {
		t.Errorf("got %+v", r)
	}
	r = Record{WantStatus: 503}
	if err := parseRequester([]byte(requesterOut), &r); err != nil || r.OK != 1 || r.Errors != 3 || r.WrongBytes != 0 {
		t.Errorf("want 503: %+v, %v", r, err)
	}
}

// TestFillFlood: during the flood, CPU is shared by every response the
// server gave, the flooder's and the polite client's.
func TestFillFlood(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "polite.json")
	fl := filepath.Join(dir, "flood.json")
	if err := os.WriteFile(out, []byte(requesterOut), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fl, []byte(`{"seconds":2,"served_per_s":10,"refused_per_s":88,"errors":{"refused":1,"reset":2}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := Record{Part: partAttack, Server: idOurs, Cond: condFlood, Tool: toolRequest, WantStatus: 200, CPUus: 2000}
	if err := fill(&r, out, fl, "", ""); err != nil {
		t.Fatal(err)
	}
	// 4 polite + (10 + 88) × 2 flooder responses = 200; 2000 µs / 200 = 10 µs.
	if r.CPUPerReq != 10 || r.FloodErrors != 3 || r.FloodRefusedPS != 88 || r.FloodSeconds != 2 {
		t.Errorf("got %+v", r)
	}
}

// The many-addresses part: this server's polite client under 98 % 200s is
// broken; nginx's is only reported.
func TestManyThreshold(t *testing.T) {
	r := Record{Part: partMany, Server: idOurs, Cond: "silent", Requests: 50, OK: 49}
	if p := check(r); len(p) != 0 {
		t.Errorf("49/50 (98 %%) flagged: %v", p)
	}
	r.OK = 48
	if p := check(r); len(p) != 1 {
		t.Errorf("48/50 not flagged: %v", p)
	}
	r.Requests, r.OK = 0, 0
	if p := check(r); len(p) != 1 {
		t.Errorf("no polite request not flagged: %v", p)
	}
	r.Server, r.Requests = idNginx, 50
	if p := check(r); len(p) != 0 {
		t.Errorf("nginx's result flagged as this project's breakage: %v", p)
	}
	var b strings.Builder
	writeMany(&b, []Record{{Part: partMany, Server: idOurs, Cond: "stalled", Requests: 50, OK: 50, P99ms: 1.5}})
	if !strings.Contains(b.String(), "| stalled | 100.0 % (50/50) |") {
		t.Errorf("table:\n%s", b.String())
	}
}

// cpuOf sets the CPU per request of one server's throughput runs.
func cpuOf(set func([]Record, string, string, string, string, string, func(*Record)), server, tool, file string, v float64) func([]Record) {
	return func(recs []Record) {
		set(recs, partThroughput, server, tool, file, "", func(r *Record) { r.CPUPerReq = v })
	}
}

// The edges of the summary's wording: thousands from exactly 1000, no ratio
// to a comparator that measured no CPU (nor a dangling "="), a busy run
// flagged from exactly busyPct, a flood with no CPU figure shown as "–".
func TestSummaryEdges(t *testing.T) {
	for v, want := range map[float64]string{999: "999", 1000: "1.0k", 15500: "15.5k"} {
		if got := kilo(v); got != want {
			t.Errorf("kilo(%v) = %q, want %q", v, got, want)
		}
	}

	var recs []Record
	for _, r := range groupParts(fixture())[partThroughput] {
		if r.Server == idNginx || r.Server == idBare {
			r.CPUPerReq = 0
		}
		recs = append(recs, r)
	}
	for _, line := range cpuLines(recs) {
		if strings.Contains(line, "×") || strings.Contains(line, "=") {
			t.Errorf("a ratio to no CPU figure: %q", line)
		}
	}

	recs[0].Busy = busyPct
	var b bytes.Buffer
	writeTput(&b, recs)
	if !strings.Contains(b.String(), "**Caution:** 1 of ") {
		t.Errorf("a run started at exactly %d %% busy is not flagged:\n%s", busyPct, b.String())
	}
	recs[0].Busy = busyPct - 1
	b.Reset()
	writeTput(&b, recs)
	if strings.Contains(b.String(), "Caution") {
		t.Errorf("a run below %d %% busy is flagged:\n%s", busyPct, b.String())
	}

	b.Reset()
	writeMem(&b, []Record{{Part: partMemory, Server: idOurs, Wanted: 10, RSSBaseKB: 1024, RSSHeldKB: 2048}})
	if !strings.Contains(b.String(), "| 0.0 KB |") {
		t.Errorf("no connection held: want 0.0 KB per connection:\n%s", b.String())
	}

	var flood []Record
	for _, r := range groupParts(fixture())[partAttack] {
		if r.Cond == condFlood {
			r.CPUPerReq = 0
		}
		flood = append(flood, r)
	}
	b.Reset()
	writeAttack(&b, flood)
	if strings.Contains(b.String(), "| 0.0 |") {
		t.Errorf("a flood with no CPU figure shows 0.0:\n%s", b.String())
	}

	// Records from before the floor and the yardsticks were measured: no
	// floor figure, no 0.0, no yardstick table.
	var noFloor []Record
	for _, r := range fixture() {
		if r.Server == idRefServe || r.Server == idRefCap || r.Part != partRefusal {
			noFloor = append(noFloor, r)
		}
	}
	b.Reset()
	writeRefusal(&b, groupParts(noFloor)[partRefusal])
	if !strings.Contains(b.String(), "| median | | | 50.0 | | 45.0 | – |") {
		t.Errorf("refusals without the floor: want – in its column:\n%s", b.String())
	}
	if strings.Contains(b.String(), "What a refusal can cost") {
		t.Errorf("refusals without the yardsticks: want no yardstick table:\n%s", b.String())
	}
	for _, row := range targets(groupParts(noFloor)) {
		if strings.HasPrefix(row.target, "a refusal") && row.measured != "0.90× (45.0 µs per 503 / 50.0 per 200)" {
			t.Errorf("refusal target without the floor: %q", row.measured)
		}
	}

	// Only nginx as a yardstick (no serial loop): its row alone, and the
	// target names it alone.
	var ngxOnly []Record
	for _, r := range fixture() {
		if r.Part != partRefusal || !strings.HasPrefix(r.Server, "refuse-serial-") {
			ngxOnly = append(ngxOnly, r)
		}
	}
	b.Reset()
	writeRefusal(&b, groupParts(ngxOnly)[partRefusal])
	if !strings.Contains(b.String(), "| nginx (503: `return 503` once the request is read) | 44.0 | 33.0 | 0.75× | – | – |") ||
		strings.Contains(b.String(), "benchtool serial`: one") {
		t.Errorf("yardsticks with nginx only:\n%s", b.String())
	}
	for _, row := range targets(groupParts(ngxOnly)) {
		if strings.HasPrefix(row.target, "a refusal") &&
			row.measured != "0.90× (45.0 µs per 503 / 50.0 per 200); accepting and closing unanswered: 35.0 µs, 0.70× a served request; nginx's 503: 0.75× its 200" {
			t.Errorf("refusal target with nginx's yardstick only: %q", row.measured)
		}
	}
}
