//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Record is one measurement of the benchmark suite: one JSON object a line
// in the records file that `benchtool record` appends to and `benchtool
// summarize` reads. It is the only description of the suite's data; fields
// a part does not use stay zero and are left out of the JSON.
type Record struct {
	Part   string `json:"part"`            // throughput, attack, many, refusal, memory, syscalls
	Server string `json:"server"`          // the suite's id: ours-on, ours-off, stock, nginx, python, bare, ours, refuse-serve, refuse-cap, refuse-floor, refuse-serial-*, refuse-nginx-*
	Tool   string `json:"tool,omitempty"`  // wrk or requester (the load generator)
	File   string `json:"file,omitempty"`  // small or 100k
	Pinned bool   `json:"pinned"`          // server on CPU 1, load on CPU 0
	Round  int    `json:"round,omitempty"` // 1..runs
	Cond   string `json:"cond,omitempty"`  // attack: alone or flood; many: silent, stalled or mixed
	Busy   int    `json:"busy_pct"`        // how busy the machine was before the measurement, % of all CPUs

	// Requests: answered or failed. OK: answered with WantStatus. Errors:
	// failed or answered otherwise (wrk: socket errors plus non-2xx).
	Requests   int            `json:"requests"`
	WantStatus int            `json:"want_status,omitempty"`
	OK         int            `json:"ok"`
	Errors     int            `json:"errors"`
	Status     map[string]int `json:"status,omitempty"`
	ErrorKinds map[string]int `json:"error_kinds,omitempty"` // requester: refused, reset, timeout, other
	// WantBytes: the body length every wanted answer must have (requester
	// only); WrongBytes: wanted answers whose body length differed.
	WantBytes  int `json:"want_bytes,omitempty"`
	WrongBytes int `json:"wrong_bytes,omitempty"`

	RPS       float64 `json:"req_per_s,omitempty"`
	P50ms     float64 `json:"p50_ms,omitempty"`
	P99ms     float64 `json:"p99_ms,omitempty"`
	CPUus     int64   `json:"cpu_us,omitempty"`         // the server's CPU time over the measurement
	CPUPerReq float64 `json:"cpu_us_per_req,omitempty"` // CPUus over every response the server gave

	// The flooder beside the polite client (attack, flood).
	FloodServedPS  float64 `json:"flood_served_per_s,omitempty"`
	FloodRefusedPS float64 `json:"flood_refused_per_s,omitempty"`
	FloodErrors    int     `json:"flood_errors,omitempty"`
	FloodSeconds   float64 `json:"flood_s,omitempty"`

	// Idle connections (memory).
	Wanted    int   `json:"wanted,omitempty"`
	Open      int   `json:"open,omitempty"`
	RSSBaseKB int64 `json:"rss_base_kb,omitempty"`
	RSSHeldKB int64 `json:"rss_held_kb,omitempty"`

	// System calls per request answered (syscalls), by name and in all,
	// and context switches per request, from perf stat.
	Calls          map[string]float64 `json:"calls_per_req,omitempty"`
	CallsPerReq    float64            `json:"all_calls_per_req,omitempty"`
	SwitchesPerReq float64            `json:"switches_per_req,omitempty"`
}

// Parts of the suite.
const (
	partThroughput = "throughput"
	partAttack     = "attack"
	partRefusal    = "refusal"
	partMemory     = "memory"
	partMany       = "many"
	partSyscalls   = "syscalls"
)

// record reads what one measurement produced (a wrk or requester output, a
// flooder's or idle holder's JSON, the server's CPU time), makes one Record
// of it, appends it to the records file, and prints one progress line and
// any threshold it breaks on stderr.
func record(args []string) error {
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	var r Record
	to := fs.String("to", "", "records `file` to append to (JSON lines)")
	fs.StringVar(&r.Part, "part", "", "throughput, attack, many, refusal, memory or syscalls")
	fs.StringVar(&r.Server, "server", "", "server `id`")
	fs.StringVar(&r.Tool, "tool", "", "wrk or requester: how to read -out")
	fs.StringVar(&r.File, "file", "", "small or 100k")
	fs.BoolVar(&r.Pinned, "pinned", false, "server and load pinned to a CPU each")
	fs.IntVar(&r.Round, "round", 0, "round `number`")
	rounds := fs.Int("rounds", 0, "rounds in all (for the progress line only)")
	fs.StringVar(&r.Cond, "cond", "", "attack: alone or flood; many: silent, stalled or mixed")
	fs.IntVar(&r.Busy, "busy", 0, "machine busy before the run, `percent`")
	out := fs.String("out", "", "the load generator's output `file` (wrk text or requester -json)")
	floodOut := fs.String("flood", "", "the flooder's JSON `file` (attack, flood)")
	idleOut := fs.String("idle", "", "benchtool idle's JSON `file` (memory)")
	perfOut := fs.String("perf", "", "perf stat -x, output `file` (syscalls)")
	fs.Int64Var(&r.CPUus, "cpu-us", 0, "server CPU `µs` used over the measurement")
	fs.IntVar(&r.WantStatus, "want-status", 200, "the status every request should get")
	fs.IntVar(&r.WantBytes, "want-bytes", 0, "the body length every wanted answer should have; 0 = unchecked")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" || r.Part == "" || r.Server == "" {
		return errors.New("-to, -part and -server are required")
	}
	if err := fill(&r, *out, *floodOut, *idleOut, *perfOut); err != nil {
		return err
	}
	if err := appendRecord(*to, r); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, progress(r, *rounds))
	for _, p := range check(r) {
		fmt.Fprintln(os.Stderr, "bench: BROKEN: "+p)
	}
	return nil
}

// appendRecord appends r to the records file as one JSON line.
func appendRecord(path string, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// fill reads the measurement's outputs into r and derives its figures.
func fill(r *Record, out, floodOut, idleOut, perfOut string) error {
	if out != "" {
		b, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		switch r.Tool {
		case "wrk":
			err = parseWrk(b, r)
		case "requester":
			err = parseRequester(b, r)
		default:
			err = fmt.Errorf("-tool %q: want wrk or requester", r.Tool)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", out, err)
		}
	}
	responses := float64(r.Requests)
	if floodOut != "" {
		var f floodReport
		if err := readJSON(floodOut, &f); err != nil {
			return err
		}
		r.FloodServedPS, r.FloodRefusedPS, r.FloodSeconds = f.ServedPS, f.RefusedPS, f.Seconds
		for _, n := range f.Errors {
			r.FloodErrors += n
		}
		responses += (f.ServedPS + f.RefusedPS) * f.Seconds
	}
	if idleOut != "" {
		var m idleReport
		if err := readJSON(idleOut, &m); err != nil {
			return err
		}
		r.Wanted, r.Open, r.RSSBaseKB, r.RSSHeldKB = m.Wanted, m.Open, m.BaseKB, m.HeldKB
	}
	if perfOut != "" {
		b, err := os.ReadFile(perfOut)
		if err != nil {
			return err
		}
		counts, err := perfCounts(b)
		if err == nil {
			err = fillCalls(r, counts)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", perfOut, err)
		}
	}
	if r.CPUus > 0 && responses > 0 {
		r.CPUPerReq = round1(float64(r.CPUus) / responses)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }

var (
	wrkRPS     = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkCount   = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)
	wrkSocket  = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx  = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)`)
	wrkRunning = regexp.MustCompile(`(?m)^Running `)
)

// parseWrk reads wrk's text output: requests, req/s, socket errors and
// non-2xx answers.
func parseWrk(b []byte, r *Record) error {
	if !wrkRunning.Match(b) {
		return fmt.Errorf("not wrk output: %q", firstLine(b))
	}
	m := wrkCount.FindSubmatch(b)
	rps := wrkRPS.FindSubmatch(b)
	if m == nil || rps == nil {
		return errors.New("wrk output without a request count or Requests/sec")
	}
	r.Requests, _ = strconv.Atoi(string(m[1]))
	r.RPS, _ = strconv.ParseFloat(string(rps[1]), 64)
	non2xx := 0
	if m := wrkNon2xx.FindSubmatch(b); m != nil {
		non2xx, _ = strconv.Atoi(string(m[1]))
	}
	socket := 0
	if m := wrkSocket.FindSubmatch(b); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(string(s))
			socket += n
		}
	}
	r.OK = r.Requests - non2xx
	r.Errors = socket + non2xx
	return nil
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	if len(line) > 100 {
		line = line[:100]
	}
	return string(line)
}

// requesterReport is the part of the requester's -json report the suite reads.
type requesterReport struct {
	Runs []struct {
		Requests      int            `json:"requests"`
		ThroughputRPS float64        `json:"throughput_rps"`
		Status        map[string]int `json:"status"`
		Errors        map[string]int `json:"errors"`
		LatencyMs     struct {
			P50 float64 `json:"p50"`
			P99 float64 `json:"p99"`
		} `json:"latency_ms"`
		Results []struct {
			Status int   `json:"status"`
			Bytes  int64 `json:"bytes"`
		} `json:"results"`
	} `json:"runs"`
}

// parseRequester reads the first run of a requester -json report.
func parseRequester(b []byte, r *Record) error {
	var rep requesterReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("not a requester JSON report: %w", err)
	}
	if len(rep.Runs) == 0 {
		return errors.New("requester report without runs")
	}
	run := rep.Runs[0]
	r.Requests, r.RPS, r.Status = run.Requests, run.ThroughputRPS, run.Status
	r.P50ms, r.P99ms = run.LatencyMs.P50, run.LatencyMs.P99
	r.ErrorKinds = map[string]int{}
	for k, n := range run.Errors {
		if n > 0 {
			r.ErrorKinds[k] = n
		}
	}
	if len(r.ErrorKinds) == 0 {
		r.ErrorKinds = nil
	}
	r.OK = run.Status[strconv.Itoa(r.WantStatus)]
	r.Errors = r.Requests - r.OK
	if r.WantBytes > 0 {
		for _, x := range run.Results {
			if x.Status == r.WantStatus && x.Bytes != int64(r.WantBytes) {
				r.WrongBytes++
			}
		}
	}
	return nil
}

// progress is the line the suite prints as each measurement ends.
func progress(r Record, rounds int) string {
	of := ""
	if r.Round > 0 {
		of = strconv.Itoa(r.Round)
		if rounds > 0 {
			of += "/" + strconv.Itoa(rounds)
		}
	}
	switch r.Part {
	case partThroughput:
		return fmt.Sprintf("  [%s %s %s %s] %s: %.0f req/s, %.1f µs CPU/req, %d errors of %d (machine %d %% busy before)",
			placement(r.Pinned), r.Tool, r.File, of, r.Server, r.RPS, r.CPUPerReq, r.Errors, r.Requests, r.Busy)
	case partAttack:
		s := fmt.Sprintf("  [attack] %s %s: polite %d/%d ok, p50 %.2f ms, p99 %.2f ms", r.Server, r.Cond, r.OK, r.Requests, r.P50ms, r.P99ms)
		if r.Cond == "flood" {
			s += fmt.Sprintf("; flooder %.0f served/s, %.0f refused/s, %d errors; server %.1f µs CPU/resp",
				r.FloodServedPS, r.FloodRefusedPS, r.FloodErrors, r.CPUPerReq)
		}
		if r.OK != r.Requests {
			s += fmt.Sprintf(" (polite statuses %v, errors %v)", r.Status, r.ErrorKinds)
		}
		return s
	case partMany:
		return fmt.Sprintf("  [many] %s %s: polite %d/%d ok, p50 %.2f ms, p99 %.2f ms (statuses %v, errors %v)",
			r.Server, r.Cond, r.OK, r.Requests, r.P50ms, r.P99ms, r.Status, r.ErrorKinds)
	case partRefusal:
		if unanswered(r.Server) {
			return fmt.Sprintf("  [refusal %s] %s: %d connections accepted and closed unanswered at %.1f µs CPU each", of, r.Server, r.Requests, r.CPUPerReq)
		}
		return fmt.Sprintf("  [refusal %s] %s: %d of %d × %d at %.1f µs CPU each", of, r.Server, r.OK, r.Requests, r.WantStatus, r.CPUPerReq)
	case partMemory:
		return fmt.Sprintf("  [memory] %s: %d/%d held, RSS %.1f MB -> %.1f MB", r.Server, r.Open, r.Wanted,
			float64(r.RSSBaseKB)/1024, float64(r.RSSHeldKB)/1024)
	case partSyscalls:
		return fmt.Sprintf("  [syscalls %s %s] %s: %.2f system calls and %.2f context switches per request over %d requests",
			r.Tool, r.File, r.Server, r.CallsPerReq, r.SwitchesPerReq, r.Requests)
	}
	return fmt.Sprintf("  [%s] %s", r.Part, r.Server)
}

func placement(pinned bool) string {
	if pinned {
		return "pinned"
	}
	return "unpinned"
}

// readRecords reads a records file; a missing file is no records.
func readRecords(path string) ([]Record, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return decodeRecords(f, path)
}

// decodeRecords reads JSON lines; blank lines are skipped, anything else
// that is not a record with a part and a server is an error naming the line.
func decodeRecords(rd io.Reader, name string) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r Record
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if r.Part == "" || r.Server == "" {
			return nil, fmt.Errorf("%s:%d: a record needs a part and a server", name, n)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
