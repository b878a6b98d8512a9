//go:build linux

// Command benchtool holds the small programs the benchmark suite
// (scripts/bench) needs beside wrk and the requester:
//
//	bare       the ceiling: a bare Go accept-read-write-close loop serving one file
//	           (-close: accept and close unanswered, the floor under any answer)
//	serial     the least any server can do: one connection at a time, blocking system
//	           calls, no poller (-mode serve, refuse or close), the yardstick for a refusal
//	busy       how busy the machine is (percent of all CPUs), to wait for quiet
//	flood      one source address opening connections as fast as it can
//	hold       many source addresses holding connections that do no work
//	idle       hold many idle connections open and report the server's RSS
//	cpu        CPU time used so far by a process and its children
//	record     read one measurement's outputs and append it, as a named JSON record, to the records file
//	summarize  read the records, judge every threshold, and write the results' markdown
//
// scripts/bench starts and pins the processes; the records (type Record,
// one JSON object a line) are the suite's only data, and summarize owns
// every pass/fail threshold: it exits 3 when one is broken.
//
// It is a tool for this repository's benchmarks, not part of the server.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"httplab/httplab-server/internal/sysmon"
)

var commands = map[string]func(args []string) error{
	"bare":      bare,
	"busy":      busy,
	"serial":    serial,
	"flood":     flood,
	"hold":      hold,
	"idle":      idle,
	"cpu":       cpu,
	"record":    record,
	"summarize": summarize,
}

func main() {
	// The bare and serial loops are Go's floors for the server, so they run
	// with the server's runtime setting (see package sysmon).
	if len(os.Args) > 1 && (os.Args[1] == "bare" || os.Args[1] == "serial") {
		if err := sysmon.Ensure(); err != nil {
			fmt.Fprintf(os.Stderr, "benchtool %s: keeping sysmon awake: %v\n", os.Args[1], err)
		}
	}
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run runs the command named by args[0] and returns the exit code: 2 for a
// bad command line, 3 when summarize finds broken behaviour, 1 for other
// errors.
func run(args []string, stderr io.Writer) int {
	if len(args) < 1 || commands[args[0]] == nil {
		fmt.Fprintln(stderr, "usage: benchtool bare|serial|busy|flood|hold|idle|cpu|record|summarize [flags]")
		return 2
	}
	if err := commands[args[0]](args[1:]); err != nil {
		fmt.Fprintf(stderr, "benchtool %s: %v\n", args[0], err)
		var broken errBroken
		if errors.As(err, &broken) {
			return 3
		}
		return 1
	}
	return 0
}
