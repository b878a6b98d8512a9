//go:build linux

package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// captureStdout runs fn with os.Stdout going to a pipe and returns what it wrote.
func captureStdout(t *testing.T, fn func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	err = fn()
	os.Stdout = old
	w.Close()
	s := <-out
	r.Close()
	return s, err
}

// burner starts a shell that burns some CPU, in user space (counting) and in
// the kernel (opening /dev/null), then sleeps in a child: a process tree of
// two whose CPU time no longer moves.
func burner(t *testing.T) (shell, child int) {
	t.Helper()
	cmd := exec.Command("sh", "-c", `i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done
i=0; while [ $i -lt 20000 ]; do : >/dev/null; i=$((i+1)); done; sleep 60; :`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	shell = cmd.Process.Pid
	deadline := time.Now().Add(30 * time.Second)
	for {
		kids, _ := os.ReadFile("/proc/" + strconv.Itoa(shell) + "/task/" + strconv.Itoa(shell) + "/children")
		if f := strings.Fields(string(kids)); len(f) == 1 {
			child, _ = strconv.Atoi(f[0])
			if st := statFields("/proc/" + f[0] + "/stat"); len(st) > 0 && st[0] == "S" {
				return shell, child
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the burner's sleep did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ticks reads utime+stime from /proc/PID/stat independently of statFields.
func ticks(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

func rss(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func TestProcessTree(t *testing.T) {
	shell, child := burner(t)
	if got := tree(shell); !slices.Equal(got, []int{shell, child}) {
		t.Errorf("tree(%d) = %v, want [%d %d]", shell, got, shell, child)
	}
	if got := tree(child); !slices.Equal(got, []int{child}) {
		t.Errorf("tree of a leaf = %v", got)
	}

	want := ticks(t, shell) + ticks(t, child)
	if want == 0 {
		t.Skip("the burner used no measurable CPU")
	}
	if f := statFields("/proc/" + strconv.Itoa(shell) + "/stat"); len(f) < 13 || f[12] == "0" {
		t.Logf("the burner used no measurable system time: user and system time are not told apart")
	}
	if got, err := cpuTicks(shell); err != nil || got != want {
		t.Errorf("cpuTicks = %d, %v; want %d", got, err, want)
	}
	out, err := captureStdout(t, func() error { return cpu([]string{"-pid", strconv.Itoa(shell)}) })
	if err != nil || out != strconv.FormatInt(want*10000, 10)+"\n" {
		t.Errorf("cpu printed %q, %v; want %d µs", out, err, want*10000)
	}

	wantRSS := rss(t, shell) + rss(t, child)
	if got, err := rssKB(shell); err != nil || got != wantRSS || got <= 0 {
		t.Errorf("rssKB = %d, %v; want %d", got, err, wantRSS)
	}
}

func TestProcessGone(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	gone := cmd.Process.Pid // reaped: no /proc entry
	if _, err := cpuTicks(gone); err == nil {
		t.Error("cpuTicks of no process: no error")
	}
	if _, err := rssKB(gone); err == nil {
		t.Error("rssKB of no process: no error")
	}
	if err := cpu([]string{"-pid", strconv.Itoa(gone)}); err == nil {
		t.Error("cpu of no process: no error")
	}
	if err := cpu([]string{"-bogus"}); err == nil {
		t.Error("cpu -bogus: no error")
	}
}

func TestStatFields(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The command name may hold spaces and parentheses: fields start after the last ')'.
	got := statFields(write("stat", "42 (a) b (c)) S 1 2 3\n"))
	if !slices.Equal(got, []string{"S", "1", "2", "3"}) {
		t.Errorf("statFields = %q", got)
	}
	if got := statFields(write("bad", "no parenthesis")); got != nil {
		t.Errorf("no ')': %q, want nil", got)
	}
	if got := statFields(filepath.Join(dir, "missing")); got != nil {
		t.Errorf("missing file: %q, want nil", got)
	}
}
