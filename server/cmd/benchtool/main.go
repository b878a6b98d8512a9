// Command benchtool holds the small programs the benchmark suite
// (scripts/bench) needs beside wrk and the requester:
//
//	bare       the ceiling: a bare Go accept-read-write-close loop serving one file
//	busy       how busy the machine is (percent of all CPUs), to wait for quiet
//	flood      one source address opening connections as fast as it can
//	idle       hold many idle connections open and report the server's RSS
//	cpu        CPU time used so far by a process and its children
//	json       print fields of a JSON document read on stdin
//	summarize  turn the suite's raw records into the markdown tables
//
// It is a tool for this repository's benchmarks, not part of the server.
package main

import (
	"fmt"
	"os"
)

var commands = map[string]func(args []string) error{
	"bare":      bare,
	"busy":      busy,
	"flood":     flood,
	"idle":      idle,
	"cpu":       cpu,
	"json":      jsonFields,
	"summarize": summarize,
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: benchtool bare|busy|flood|idle|cpu|json|summarize [flags]")
		os.Exit(2)
	}
	if err := commands[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "benchtool %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
