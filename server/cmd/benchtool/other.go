//go:build !linux

// Command benchtool is the benchmark suite's helper (see main.go). It reads
// /proc and binds many loopback source addresses, so it runs on Linux only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "benchtool: the benchmark suite runs on Linux only (it reads /proc)")
	os.Exit(2)
}
