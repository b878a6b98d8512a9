//go:build linux

package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// tree returns pid and all its descendants (nginx: master and workers).
func tree(pid int) []int {
	parent := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		f := statFields(p)
		if len(f) < 2 {
			continue
		}
		child, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		ppid, _ := strconv.Atoi(f[1])
		parent[ppid] = append(parent[ppid], child)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, parent[out[i]]...)
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after the command name
// (which may hold spaces): index 0 is the state, 1 the ppid, 11 utime and
// 12 stime.
func statFields(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// cpuTicks is utime+stime of pid and its descendants, in clock ticks.
func cpuTicks(pid int) (int64, error) {
	var sum int64
	for _, p := range tree(pid) {
		f := statFields(fmt.Sprintf("/proc/%d/stat", p))
		if len(f) < 13 {
			if p == pid {
				return 0, fmt.Errorf("no process %d", pid)
			}
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		sum += u + s
	}
	return sum, nil
}

// rssKB is VmRSS of pid and its descendants, in KiB.
func rssKB(pid int) (int64, error) {
	var sum int64
	for _, p := range tree(pid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			if p == pid {
				return 0, err
			}
			continue
		}
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += n
			}
		}
	}
	return sum, nil
}

// cpu prints the CPU time of a process tree in microseconds. Clock ticks are
// 100 per second on Linux builds for every architecture Go supports.
func cpu(args []string) error {
	fs := flag.NewFlagSet("cpu", flag.ContinueOnError)
	pid := fs.Int("pid", 0, "process `id` (its children are included)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := cpuTicks(*pid)
	if err != nil {
		return err
	}
	fmt.Println(t * 10000)
	return nil
}
