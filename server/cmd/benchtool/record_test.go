//go:build linux

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// captureStderr is captureStdout for os.Stderr.
func captureStderr(t *testing.T, fn func() error) (string, error) {
	t.Helper()
	var err error
	old := os.Stdout
	out, _ := captureStdout(t, func() error {
		w := os.Stdout
		os.Stdout = old
		stderr := os.Stderr
		os.Stderr = w
		err = fn()
		os.Stderr = stderr
		return nil
	})
	return out, err
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// recordAndRead runs record with -to and args, checks that it prints want
// on stderr, and returns every record the file then holds.
func recordAndRead(t *testing.T, to, want string, args ...string) []Record {
	t.Helper()
	stderr, err := captureStderr(t, func() error { return record(append([]string{"-to", to}, args...)) })
	if err != nil {
		t.Fatal(err)
	}
	if stderr != want {
		t.Errorf("stderr:\n%q\nwant\n%q", stderr, want)
	}
	recs, err := readRecords(to)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// record appends one JSON line per measurement and prints its progress line
// and what it breaks.
func TestRecordAppendsAndReports(t *testing.T) {
	dir := t.TempDir()
	to := filepath.Join(dir, "records.jsonl")
	wrk := writeFile(t, dir, "wrk.txt", wrkOut)
	recs := recordAndRead(t, to,
		"  [pinned wrk small 2/3] ours-on: 16512 req/s, 100.0 µs CPU/req, 12 errors of 33070 (machine 12 % busy before)\n"+
			"bench: BROKEN: ours-on small (wrk): 12 of 33070 requests failed or were not 200\n",
		"-part", partThroughput, "-server", idOursOn, "-tool", toolWrk,
		"-file", fileSmall, "-pinned", "-round", "2", "-rounds", "3", "-busy", "12", "-out", wrk, "-cpu-us", "3307000")
	if len(recs) != 1 {
		t.Fatalf("records %v", recs)
	}
	r := recs[0]
	if r.Requests != 33070 || r.CPUPerReq != 100 || r.Round != 2 || !r.Pinned || r.Busy != 12 || r.WantStatus != 200 {
		t.Errorf("record %+v", r)
	}

	// A second record is appended, not written over.
	idle := writeFile(t, dir, "idle.json", `{"wanted":100,"opened":100,"open_at_measure":99,"rss_base_kb":2048,"rss_held_kb":4096}`)
	recs = recordAndRead(t, to, "  [memory] ours: 99/100 held, RSS 2.0 MB -> 4.0 MB\nbench: BROKEN: this server held 99 of 100 idle connections\n",
		"-part", partMemory, "-server", idOurs, "-idle", idle)
	if len(recs) != 2 || recs[1].Open != 99 || recs[1].RSSHeldKB != 4096 || recs[1].Wanted != 100 || recs[1].RSSBaseKB != 2048 {
		t.Errorf("records %+v", recs)
	}
}

func TestRecordRefusesIncompleteCommands(t *testing.T) {
	dir := t.TempDir()
	to := filepath.Join(dir, "r.jsonl")
	for _, args := range [][]string{
		{"-part", "x", "-server", "y"},
		{"-to", to, "-server", "y"},
		{"-to", to, "-part", "x"},
		{"-to", to, "-part", "x", "-server", "y", "-out", filepath.Join(dir, "missing")},
		{"-to", to, "-part", "x", "-server", "y", "-out", writeFile(t, dir, "o", wrkOut), "-tool", "ab"},
		{"-to", to, "-part", "x", "-server", "y", "-out", writeFile(t, dir, "w", "nonsense"), "-tool", "wrk"},
		{"-to", to, "-part", "x", "-server", "y", "-flood", filepath.Join(dir, "missing")},
		{"-to", to, "-part", "x", "-server", "y", "-idle", writeFile(t, dir, "bad.json", "{")},
		{"-to", filepath.Join(dir, "no", "such", "dir"), "-part", "x", "-server", "y"},
		{"-bogus"},
	} {
		if _, err := captureStderr(t, func() error { return record(args) }); err == nil {
			t.Errorf("record %q: no error", args)
		}
	}
	if _, err := os.Stat(to); err == nil {
		t.Error("a refused record was written")
	}
}

func TestFillCPUPerResponse(t *testing.T) {
	for _, c := range []struct {
		cpu, requests int
		want          float64
	}{
		{1000, 3, 333.3}, {2000, 3, 666.7}, {1000, 0, 0}, {0, 100, 0}, {1, 1, 1},
	} {
		r := Record{CPUus: int64(c.cpu), Requests: c.requests}
		if err := fill(&r, "", "", "", ""); err != nil || r.CPUPerReq != c.want {
			t.Errorf("%d µs over %d requests: %v (%v), want %v", c.cpu, c.requests, r.CPUPerReq, err, c.want)
		}
	}
}

func TestRound1(t *testing.T) {
	for in, want := range map[float64]float64{0: 0, 1.24: 1.2, 1.25: 1.3, 2.96: 3, 10: 10, 0.04: 0} {
		if got := round1(in); got != want {
			t.Errorf("round1(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestFirstLine(t *testing.T) {
	long := strings.Repeat("x", 101)
	for in, want := range map[string]string{
		"a\nb": "a", "": "", long[:100] + "\nz": long[:100], long: long[:100], long[:99]: long[:99],
	} {
		if got := firstLine([]byte(in)); got != want {
			t.Errorf("firstLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseWrkNeedsCounts(t *testing.T) {
	for _, out := range []string{
		"Running 2s test @ x\nRequests/sec: 5\n",
		"Running 2s test @ x\n  10 requests in 2.00s, 1MB read\n",
	} {
		var r Record
		if err := parseWrk([]byte(out), &r); err == nil {
			t.Errorf("%q: no error", out)
		}
	}
}

func TestParseRequesterEdges(t *testing.T) {
	var r Record
	for _, bad := range []string{`{"runs":[]}`, `[`} {
		if err := parseRequester([]byte(bad), &r); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	// No error of any kind: ErrorKinds is left out; WantBytes 0 checks nothing.
	r = Record{WantStatus: 200}
	clean := `{"runs":[{"requests":2,"status":{"200":2},"errors":{"reset":0},"results":[{"status":200,"bytes":1},{"status":200,"bytes":2}]}]}`
	if err := parseRequester([]byte(clean), &r); err != nil || r.ErrorKinds != nil || r.WrongBytes != 0 || r.OK != 2 || r.Errors != 0 {
		t.Errorf("clean run: %+v, %v", r, err)
	}
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), "error_kinds") {
		t.Errorf("clean record carries error_kinds: %s", b)
	}
	// With WantBytes, each answer of the wanted status and another size is
	// counted: here the third of four (a 404 of any size is not).
	r = Record{WantStatus: 200, WantBytes: 2}
	sized := `{"runs":[{"requests":4,"status":{"200":3,"404":1},"results":[{"status":200,"bytes":2},{"status":200,"bytes":2},{"status":200,"bytes":5},{"status":404,"bytes":9}]}]}`
	if err := parseRequester([]byte(sized), &r); err != nil || r.WrongBytes != 1 || r.OK != 3 || r.Errors != 1 {
		t.Errorf("a run with a wrong size: %+v, %v", r, err)
	}
}

func TestProgressLines(t *testing.T) {
	for _, c := range []struct {
		r      Record
		rounds int
		want   string
	}{
		{Record{Part: partThroughput, Server: idNginx, Tool: toolRequest, File: file100k, RPS: 999.6, CPUPerReq: 1.25, Errors: 1, Requests: 9, Busy: 3},
			0, "  [unpinned requester 100k ] nginx: 1000 req/s, 1.2 µs CPU/req, 1 errors of 9 (machine 3 % busy before)"},
		{Record{Part: partThroughput, Server: idNginx, Tool: toolWrk, File: fileSmall, Pinned: true, Round: 4},
			0, "  [pinned wrk small 4] nginx: 0 req/s, 0.0 µs CPU/req, 0 errors of 0 (machine 0 % busy before)"},
		{Record{Part: partAttack, Server: idOurs, Cond: condAlone, OK: 5, Requests: 5, P50ms: 0.5, P99ms: 1.25},
			3, "  [attack] ours alone: polite 5/5 ok, p50 0.50 ms, p99 1.25 ms"},
		{Record{Part: partAttack, Server: idOurs, Cond: condFlood, OK: 4, Requests: 5, FloodServedPS: 10, FloodRefusedPS: 90, FloodErrors: 2, CPUPerReq: 3.5,
			Status: map[string]int{"200": 4, "503": 1}},
			0, "  [attack] ours flood: polite 4/5 ok, p50 0.00 ms, p99 0.00 ms; flooder 10 served/s, 90 refused/s, 2 errors; server 3.5 µs CPU/resp (polite statuses map[200:4 503:1], errors map[])"},
		{Record{Part: partMany, Server: idOurs, Cond: "silent", OK: 1, Requests: 2, Status: map[string]int{"200": 1}},
			0, "  [many] ours silent: polite 1/2 ok, p50 0.00 ms, p99 0.00 ms (statuses map[200:1], errors map[])"},
		{Record{Part: partRefusal, Server: idRefCap, Round: 1, OK: 7, Requests: 8, WantStatus: 503, CPUPerReq: 45.25},
			2, "  [refusal 1/2] refuse-cap: 7 of 8 × 503 at 45.2 µs CPU each"},
		{Record{Part: partMemory, Server: idOurs, Open: 3, Wanted: 4, RSSBaseKB: 1536, RSSHeldKB: 3072},
			0, "  [memory] ours: 3/4 held, RSS 1.5 MB -> 3.0 MB"},
		{Record{Part: "other", Server: "x"}, 0, "  [other] x"},
	} {
		if got := progress(c.r, c.rounds); got != c.want {
			t.Errorf("progress:\n got %q\nwant %q", got, c.want)
		}
	}
}
