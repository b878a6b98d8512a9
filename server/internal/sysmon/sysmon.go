// Package sysmon keeps the Go runtime's system monitor out of its deep
// sleep, which on a server like this one costs more CPU than it saves.
//
// sysmon is the runtime's background thread. When every P is idle it goes
// into a deep sleep, and the next system call that any goroutine makes
// wakes it (a futex wake, and a thread switch on the server's core); once
// woken by a system call it polls every 20 µs for at least a millisecond
// before it backs off. A server under load with one or two Ps idles
// between bursts of connections thousands of times a second, so it pays
// for this cycle again and again: on the 2-core VM of docs/performance.md,
// about one futex wake and 0.7 nanosleeps per flood answer, and a quarter
// of the CPU of a 100 KiB response.
//
// The runtime skips the deep sleep when GODEBUG's schedtrace is set. Ensure
// sets it, with the longest period the runtime accepts (about 24.8 days),
// and replaces the process image with itself so the runtime reads it at
// start (the only time it reads schedtrace). sysmon then stays awake and,
// with nothing to do, backs off to one wake-up every 10 ms. The trace line
// schedtrace asks for is printed to standard error once the machine's
// monotonic clock passes the period: on a host up for more than 24.8 days,
// one "SCHED" line at start and then every 24.8 days.
//
// This relies on how sysmon decides to sleep (Go 1.26's runtime/proc.go),
// not on a promise: scripts/bench measures it. GODEBUG=schedtrace=0 in the
// environment turns it off: Ensure leaves any schedtrace setting alone.
package sysmon

import (
	"iter"
	"os"
	"strconv"
	"strings"
)

// Period is the schedtrace period Ensure sets, in milliseconds: the largest
// value the runtime parses (an int32).
const Period = 1<<31 - 1

const key = "schedtrace"

// Env returns env with schedtrace=Period added to GODEBUG and true, or env
// itself and false when GODEBUG already sets schedtrace. Only the first
// GODEBUG entry counts, as for the runtime.
func Env(env []string) ([]string, bool) {
	setting := key + "=" + strconv.Itoa(Period)
	for i, kv := range env {
		v, ok := strings.CutPrefix(kv, "GODEBUG=")
		if !ok {
			continue
		}
		if has(v) {
			return env, false
		}
		out := append([]string(nil), env...)
		if v == "" {
			out[i] = "GODEBUG=" + setting
		} else {
			out[i] = kv + "," + setting
		}
		return out, true
	}
	return append(append([]string(nil), env...), "GODEBUG="+setting), true
}

// values yields the values a GODEBUG value gives schedtrace, left to
// right, as the runtime reads them at start.
func values(godebug string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for f := range strings.SplitSeq(godebug, ",") {
			if k, v, ok := strings.Cut(f, "="); ok && k == key && !yield(v) {
				return
			}
		}
	}
}

// has reports whether a GODEBUG value sets schedtrace, to any value.
func has(godebug string) bool {
	for range values(godebug) {
		return true
	}
	return false
}

// Awake reports whether this process runs with schedtrace set above zero,
// i.e. with sysmon kept out of its deep sleep.
func Awake() bool { return awake(os.Getenv("GODEBUG")) }

// awake reads a GODEBUG value as the runtime does at start: left to right,
// the last schedtrace wins, and one that does not parse is ignored.
func awake(godebug string) bool {
	n := int64(0)
	for v := range values(godebug) {
		if m, err := strconv.ParseInt(v, 10, 32); err == nil {
			n = m
		}
	}
	return n > 0
}

// Ensure replaces the running program with itself, same process id,
// arguments and environment but for GODEBUG, unless GODEBUG sets schedtrace
// already. Call it first thing in main, before any goroutine or descriptor
// that should not outlive the exec. It returns nil without doing anything
// where a process cannot replace itself (Windows); an error means the exec
// failed and the program goes on as it is.
func Ensure() error {
	env, changed := Env(os.Environ())
	if !changed {
		return nil
	}
	return reexec(env)
}
