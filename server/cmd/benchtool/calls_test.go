//go:build linux

package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// perfOut is perf stat -x, output as perf 6.1 writes it: a comment line, a
// blank line, then count,unit,event,run time,percentage,,.
const perfOut = `# started on Wed Dec  2 17:49:17 2026

0,,syscalls:sys_enter_rt_sigreturn,2081299187,100.00,,
6,,syscalls:sys_enter_rt_sigprocmask,2081299187,100.00,,
18730,,syscalls:sys_enter_close,2081549461,100.00,,
34507,,syscalls:sys_enter_read,2078715833,100.00,,
<not counted>,,syscalls:sys_enter_write,0,0.00,,
<not supported>,,syscalls:sys_enter_bogus,0,0.00,,
17287,,syscalls:sys_enter_writev,2078715833,100.00,,
1900,,context-switches,2078715833,100.00,,
`

func TestPerfCounts(t *testing.T) {
	got, err := perfCounts([]byte(perfOut))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"syscalls:sys_enter_rt_sigreturn": 0, "syscalls:sys_enter_rt_sigprocmask": 6,
		"syscalls:sys_enter_close": 18730, "syscalls:sys_enter_read": 34507,
		"syscalls:sys_enter_writev": 17287, "context-switches": 1900,
	}
	if len(got) != len(want) {
		t.Errorf("got %d events %v, want %d", len(got), got, len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	// The fields after the event's name are optional; fewer than three
	// fields is no count.
	got, err = perfCounts([]byte("5,,syscalls:sys_enter_read\n7,syscalls:sys_enter_write\n"))
	if err != nil || got["syscalls:sys_enter_read"] != 5 || len(got) != 1 {
		t.Errorf("count, unit and event only: %v, %v; want read 5 and nothing else", got, err)
	}
	// The same event twice (perf -p with per-process output) adds up.
	got, err = perfCounts([]byte("3,,syscalls:sys_enter_read,1,100.00,,\n4,,syscalls:sys_enter_read,1,100.00,,\n"))
	if err != nil || got["syscalls:sys_enter_read"] != 7 {
		t.Errorf("two lines of one event: %v, %v; want 7", got, err)
	}
	for _, bad := range []string{"", "# started on ...\n\n", "<not counted>,,syscalls:sys_enter_read,0,0.00,,\n", "Running 2s test @ x\n"} {
		if got, err := perfCounts([]byte(bad)); err == nil {
			t.Errorf("perfCounts(%q) = %v, want an error", bad, got)
		}
	}
}

func TestFillCalls(t *testing.T) {
	counts := map[string]float64{
		"syscalls:sys_enter_read":    20000,
		"syscalls:sys_enter_accept4": 15500,
		"syscalls:sys_enter_futex":   99, // 0.0099 per request: left out, but counted in all
		"syscalls:sys_enter_madvise": 100,
		"context-switches":           2500,
		"cpu-clock":                  123456, // not a system call
	}
	r := Record{Requests: 10000}
	if err := fillCalls(&r, counts); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"read": 2, "accept4": 1.55, "madvise": 0.01}
	if len(r.Calls) != len(want) {
		t.Errorf("calls %v, want %v", r.Calls, want)
	}
	for k, v := range want {
		if r.Calls[k] != v {
			t.Errorf("%s: %v per request, want %v", k, r.Calls[k], v)
		}
	}
	if r.CallsPerReq != 3.57 { // (20000+15500+99+100)/10000 = 3.5699
		t.Errorf("all calls %v per request, want 3.57", r.CallsPerReq)
	}
	if r.SwitchesPerReq != 0.25 {
		t.Errorf("switches %v per request, want 0.25", r.SwitchesPerReq)
	}
	if err := fillCalls(&Record{}, counts); err == nil {
		t.Error("no request answered: want an error, not a division by zero")
	}

	// With raw_syscalls:sys_enter counted, it is the total, and what it
	// counted beyond the named calls is "(other)", shown from 0.01 up.
	counts["raw_syscalls:sys_enter"] = 40000
	r = Record{Requests: 10000}
	if err := fillCalls(&r, counts); err != nil {
		t.Fatal(err)
	}
	if r.CallsPerReq != 4 || r.Calls["(other)"] != 0.43 { // (40000-35699)/10000
		t.Errorf("all %v, other %v per request; want 4 and 0.43", r.CallsPerReq, r.Calls["(other)"])
	}
	counts["raw_syscalls:sys_enter"] = 35699 + 100 // other: exactly 0.01
	r = Record{Requests: 10000}
	_ = fillCalls(&r, counts)
	if r.Calls["(other)"] != 0.01 {
		t.Errorf("other at 0.01 per request: %v, want it shown", r.Calls)
	}
	counts["raw_syscalls:sys_enter"] = 35699 + 99
	r = Record{Requests: 10000}
	_ = fillCalls(&r, counts)
	if _, ok := r.Calls["(other)"]; ok || r.CallsPerReq != 3.58 {
		t.Errorf("other under 0.01 per request: %v (all %v), want it left out of the rows only", r.Calls, r.CallsPerReq)
	}
}

func TestRound2(t *testing.T) {
	for v, want := range map[float64]float64{0: 0, 1.234: 1.23, 1.235: 1.24, 9.999: 10} {
		if got := round2(v); got != want {
			t.Errorf("round2(%v) = %v, want %v", v, got, want)
		}
	}
}

func callRecords() []Record {
	return []Record{
		{Part: partSyscalls, Server: idNginx, Tool: toolWrk, File: fileSmall, Requests: 30000,
			Calls: map[string]float64{"accept4": 1, "recvfrom": 1, "close": 2}, CallsPerReq: 9.9, SwitchesPerReq: 0.02},
		{Part: partSyscalls, Server: idOursOn, Tool: toolWrk, File: fileSmall, Requests: 25000,
			Calls: map[string]float64{"accept4": 1.5, "read": 1.25, "close": 1}, CallsPerReq: 9.55, SwitchesPerReq: 0.11},
		{Part: partSyscalls, Server: idOursOn, Tool: toolWrk, File: file100k, Requests: 18000,
			Calls: map[string]float64{"writev": 0.95}, CallsPerReq: 11.6, SwitchesPerReq: 0.64},
	}
}

func TestWriteCalls(t *testing.T) {
	var b bytes.Buffer
	writeCalls(&b, nil)
	if b.Len() != 0 {
		t.Errorf("no records: want nothing, got\n%s", b.String())
	}
	writeCalls(&b, callRecords())
	got := b.String()
	// Columns in callServers' order (this server before nginx, whatever the
	// records' order); rows by their sum over the servers (close 3, accept4
	// 2.5, read 1.25, recvfrom 1); "–" where a server made no such call.
	small := "\n**small file, wrk**\n\n" +
		"| call | this server, limits on (not tripping) | nginx |\n" +
		"|---|---:|---:|\n" +
		"| close | 1.00 | 2.00 |\n" +
		"| accept4 | 1.50 | 1.00 |\n" +
		"| read | 1.25 | – |\n" +
		"| recvfrom | – | 1.00 |\n" +
		"| **all** | **9.55** | **9.90** |\n" +
		"| context switches | 0.11 | 0.02 |\n" +
		"| requests counted | 25000 | 30000 |\n"
	if !strings.Contains(got, small) {
		t.Errorf("small-file table missing; got\n%s\nwant it to contain\n%s", got, small)
	}
	big := "\n**100 KiB file, wrk**\n\n| call | this server, limits on (not tripping) |\n|---|---:|\n| writev | 0.95 |\n| **all** | **11.60** |\n"
	if !strings.Contains(got, big) {
		t.Errorf("100 KiB table missing; got\n%s\nwant it to contain\n%s", got, big)
	}
	if !strings.HasPrefix(got, "\n## System calls per request\n") || strings.Index(got, "small file") > strings.Index(got, "100 KiB") {
		t.Errorf("want the heading, then the small file before the 100 KiB file:\n%s", got)
	}

	// Equal sums are ordered by name.
	b.Reset()
	writeCalls(&b, []Record{{Part: partSyscalls, Server: idBare, Tool: toolWrk, File: fileSmall, Requests: 1,
		Calls: map[string]float64{"write": 1, "close": 1, "read": 2}}})
	if want := "| read | 2.00 |\n| close | 1.00 |\n| write | 1.00 |\n"; !strings.Contains(b.String(), want) {
		t.Errorf("ties not by name:\n%s", b.String())
	}
	// Servers the table does not compare are left out.
	b.Reset()
	writeCalls(&b, []Record{{Part: partSyscalls, Server: "python", Tool: toolWrk, File: fileSmall, Requests: 1}})
	if strings.Contains(b.String(), "| call |") {
		t.Errorf("a table for a server it does not compare:\n%s", b.String())
	}
}

// record -part syscalls reads the load's output and perf's, keeps the
// figures per request and judges this server's answers like a throughput run.
func TestRecordSyscalls(t *testing.T) {
	dir := t.TempDir()
	to := filepath.Join(dir, "records.jsonl")
	wrk := writeFile(t, dir, "wrk.txt", wrkOut)
	perf := writeFile(t, dir, "perf.csv", perfOut)
	// wrkOut: 33070 requests, 12 of them failed.
	recs := recordAndRead(t, to,
		"  [syscalls wrk small] ours-on: 2.13 system calls and 0.06 context switches per request over 33070 requests\n"+
			"bench: BROKEN: ours-on small (wrk): 12 of 33070 requests failed or were not 200\n",
		"-part", partSyscalls, "-server", idOursOn, "-tool", toolWrk, "-file", fileSmall, "-pinned", "-out", wrk, "-perf", perf)
	if len(recs) != 1 {
		t.Fatalf("records %v", recs)
	}
	r := recs[0]
	if r.Calls["read"] != 1.04 || r.Calls["close"] != 0.57 || r.Calls["writev"] != 0.52 || len(r.Calls) != 3 {
		t.Errorf("calls per request %v, want read 1.04, close 0.57, writev 0.52", r.Calls)
	}

	// A perf output with nothing counted is an error naming the file.
	bad := writeFile(t, dir, "bad.csv", "# started on ...\n")
	_, err := captureStderr(t, func() error {
		return record([]string{"-to", to, "-part", partSyscalls, "-server", idOursOn, "-tool", toolWrk, "-out", wrk, "-perf", bad})
	})
	if err == nil || !strings.Contains(err.Error(), "bad.csv") {
		t.Errorf("perf output with no count: err %v, want one naming bad.csv", err)
	}
	_, err = captureStderr(t, func() error {
		return record([]string{"-to", to, "-part", partSyscalls, "-server", idOursOn, "-tool", toolWrk, "-out", wrk, "-perf", filepath.Join(dir, "missing.csv")})
	})
	if err == nil {
		t.Error("missing perf output: want an error")
	}
}
