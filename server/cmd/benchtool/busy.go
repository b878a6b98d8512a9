//go:build linux

package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// busy prints how busy the machine is, in percent of all CPUs, over -t:
// the suite waits for a quiet machine before each measurement, since a
// compiler or a test run beside it moves req/s by tens of percent.
func busy(args []string) error {
	fs := flag.NewFlagSet("busy", flag.ContinueOnError)
	d := fs.Duration("t", 500*time.Millisecond, "interval")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b0, t0, err := cpuTimes()
	if err != nil {
		return err
	}
	time.Sleep(*d)
	b1, t1, err := cpuTimes()
	if err != nil {
		return err
	}
	fmt.Println(busyPercent(b0, t0, b1, t1))
	return nil
}

// busyPercent is the share of CPU time spent busy between two cpuTimes
// readings, in whole percent; "0" when no time passed.
func busyPercent(b0, t0, b1, t1 uint64) string {
	if t1 == t0 {
		return "0"
	}
	return fmt.Sprintf("%.0f", 100*float64(b1-b0)/float64(t1-t0))
}

// cpuTimes returns the busy and total jiffies of all CPUs from /proc/stat.
func cpuTimes() (busy, total uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	return parseCPUTimes(string(b))
}

// parseCPUTimes reads the busy and total jiffies from the first line of /proc/stat.
func parseCPUTimes(stat string) (busy, total uint64, err error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total, nil
}
