//go:build linux

package main

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The syscalls part counts what each server asks of the kernel per request:
// `perf stat -x,` on the raw_syscalls:sys_enter tracepoint (every call), on
// syscalls:sys_enter_NAME for the calls a web server makes, and on the
// context-switches event, for the server's process tree over one load run.
// Counts do not drift with a busy neighbour the way CPU time does, so they
// say why one server costs more than another where CPU figures only say
// that it does. Tracing slows every call, so no CPU figure comes from it.

// perfCounts reads perf stat's CSV output (-x,): one line per event,
// "count,unit,event,...". Events perf could not count ("<not counted>",
// "<not supported>") and comment lines are skipped; an output with no
// counted event at all is an error.
func perfCounts(b []byte) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		n, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue // <not counted>, <not supported>
		}
		out[f[2]] += n
	}
	if len(out) == 0 {
		return nil, errors.New("no event counted: not perf stat -x, output, or perf could not count")
	}
	return out, nil
}

const (
	syscallPrefix = "syscalls:sys_enter_"
	eventAllCalls = "raw_syscalls:sys_enter"
	eventSwitches = "context-switches"
	// The row for the calls counted in all but not by name.
	otherCalls = "(other)"
	// A call made less often than this per request is left out of the
	// table (it still counts in the total): the idle server's own calls.
	minCallsPerReq = 0.01
)

// fillCalls turns perf's counts over a run into figures per request
// answered: each system call by name, all of them, context switches. The
// total is raw_syscalls:sys_enter where perf counted it, and what that
// counted beyond the named calls is the row "(other)".
func fillCalls(r *Record, counts map[string]float64) error {
	if r.Requests == 0 {
		return errors.New("no request answered: nothing to count system calls per")
	}
	n := float64(r.Requests)
	r.Calls = map[string]float64{}
	var named float64
	for ev, c := range counts {
		if name, ok := strings.CutPrefix(ev, syscallPrefix); ok {
			named += c
			if c/n >= minCallsPerReq {
				r.Calls[name] = round2(c / n)
			}
		}
	}
	all, ok := counts[eventAllCalls]
	if !ok {
		all = named
	}
	if other := (all - named) / n; other >= minCallsPerReq {
		r.Calls[otherCalls] = round2(other)
	}
	r.CallsPerReq = round2(all / n)
	r.SwitchesPerReq = round2(counts[eventSwitches] / n)
	return nil
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// callServers is the order of the columns: this server first, then Go's
// floor, then nginx.
var callServers = []string{idOursOn, idBare, idNginx}

func writeCalls(w io.Writer, recs []Record) {
	if len(recs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## System calls per request\n\n")
	fmt.Fprintf(w, "Counted with `perf stat` on the system call tracepoints of each server's process tree over one load run (pinned), divided by the requests answered: raw_syscalls:sys_enter for all calls, syscalls:sys_enter_NAME for the calls a web server makes, \"%s\" for the rest; calls made less than %.2f times per request are left out of the rows but not of the total. Tracing slows every call, so these runs give no CPU figure.\n", otherCalls, minCallsPerReq)
	for _, file := range []string{fileSmall, file100k} {
		by := map[string]Record{}
		for _, r := range recs {
			if r.File == file {
				by[r.Server] = r
			}
		}
		var cols []string
		for _, id := range callServers {
			if _, ok := by[id]; ok {
				cols = append(cols, id)
			}
		}
		if len(cols) == 0 {
			continue
		}
		label := "small file"
		if file == file100k {
			label = "100 KiB file"
		}
		fmt.Fprintf(w, "\n**%s, %s**\n\n| call |", label, by[cols[0]].Tool)
		for _, id := range cols {
			fmt.Fprintf(w, " %s |", name(id))
		}
		fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---:|", len(cols)))
		// Rows: the calls any server makes, most frequent (summed over the
		// servers) first, ties by name.
		sum := map[string]float64{}
		for _, id := range cols {
			for c, v := range by[id].Calls {
				sum[c] += v
			}
		}
		calls := slices.SortedFunc(maps.Keys(sum), func(a, b string) int {
			return cmp.Or(cmp.Compare(sum[b], sum[a]), strings.Compare(a, b))
		})
		row := func(label string, cell func(Record) string) {
			fmt.Fprintf(w, "| %s |", label)
			for _, id := range cols {
				fmt.Fprintf(w, " %s |", cell(by[id]))
			}
			fmt.Fprintln(w)
		}
		for _, c := range calls {
			row(c, func(r Record) string {
				if v, ok := r.Calls[c]; ok {
					return fmt.Sprintf("%.2f", v)
				}
				return "–"
			})
		}
		row("**all**", func(r Record) string { return fmt.Sprintf("**%.2f**", r.CallsPerReq) })
		row("context switches", func(r Record) string { return fmt.Sprintf("%.2f", r.SwitchesPerReq) })
		row("requests counted", func(r Record) string { return strconv.Itoa(r.Requests) })
	}
}
