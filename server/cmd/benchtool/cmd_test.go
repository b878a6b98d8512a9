//go:build linux

package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Every command documents its flags' defaults in -h.
func TestUsageShowsTheDefaults(t *testing.T) {
	for cmd, wants := range map[string][]string{
		"bare":      {`-addr address`, `(default "127.0.0.1:8090")`, `(default "text/html; charset=utf-8")`},
		"busy":      {`-t duration`, `(default 500ms)`},
		"serial":    {`-addr address`, `(default "127.0.0.1:8091")`, `(default "serve")`},
		"flood":     {`(default "127.0.0.2")`, `(default 256)`, `(default 10s)`, `(default 5s)`},
		"hold":      {`(default "127.0.1.1")`, `-addrs int`, `(default 5)`, `(default 12)`, `(default "silent")`, `(default 10s)`},
		"idle":      {`(default "127.0.0.1:8080")`, `(default 10000)`, `(default "127.0.0.4")`, `(default 2s)`, `(default 20s)`},
		"cpu":       {`-pid id`},
		"record":    {`-want-status int`, `(default 200)`},
		"summarize": {`-records file`},
	} {
		usage, err := captureStderr(t, func() error { return commands[cmd]([]string{"-h"}) })
		if err == nil {
			t.Errorf("%s -h: no error", cmd)
		}
		for _, want := range wants {
			if !strings.Contains(usage, want) {
				t.Errorf("%s -h does not show %s:\n%s", cmd, want, usage)
			}
		}
	}
}

func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.jsonl")
	if err := appendRecord(broken, Record{Part: partRefusal, Server: idRefCap, Requests: 2, OK: 1}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage: benchtool "},
		{[]string{"nonsense"}, 2, "usage: benchtool "},
		{[]string{"summarize"}, 1, "benchtool summarize: -records is required\n"},
		{[]string{"summarize", "-records", broken}, 3, "benchtool summarize: 1 problem(s): broken behaviour\n"},
		{[]string{"summarize", "-records", filepath.Join(dir, "none.jsonl")}, 0, ""},
	} {
		var stderr bytes.Buffer
		var code int
		_, _ = captureStdout(t, func() error { code = run(c.args, &stderr); return nil })
		if code != c.code || !strings.Contains(stderr.String(), c.want) || (c.want == "") != (stderr.Len() == 0) {
			t.Errorf("run %q: exit %d, stderr %q; want %d, %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}

func TestBusyPercent(t *testing.T) {
	for _, c := range []struct {
		b0, t0, b1, t1 uint64
		want           string
	}{
		{10, 100, 10, 100, "0"}, {10, 100, 35, 200, "25"}, {0, 0, 3, 4, "75"}, {5, 10, 5, 20, "0"}, {0, 100, 100, 200, "100"},
	} {
		if got := busyPercent(c.b0, c.t0, c.b1, c.t1); got != c.want {
			t.Errorf("busyPercent(%d, %d, %d, %d) = %s, want %s", c.b0, c.t0, c.b1, c.t1, got, c.want)
		}
	}
}

func TestParseCPUTimes(t *testing.T) {
	// user nice system idle iowait irq softirq steal: idle and iowait are not busy.
	b, total, err := parseCPUTimes("cpu  1 2 4 8 16 32 64 128\ncpu0 1 1 1 1 1\n")
	if err != nil || b != 1+2+4+32+64+128 || total != 255 {
		t.Errorf("busy %d, total %d, %v; want 231, 255", b, total, err)
	}
	b, total, err = parseCPUTimes("cpu 1 2 3 4")
	if err != nil || b != 6 || total != 10 {
		t.Errorf("the shortest line: busy %d, total %d, %v; want 6, 10", b, total, err)
	}
	for _, bad := range []string{"cpu 1 2 3", "cpu0 1 2 3 4 5", "", "intr 1 2 3 4 5"} {
		if _, _, err := parseCPUTimes(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	// The real file parses, and busy prints a whole percentage.
	if b, total, err := cpuTimes(); err != nil || total == 0 || b > total {
		t.Fatalf("/proc/stat: busy %d of %d jiffies, %v", b, total, err)
	}
	out, err := captureStdout(t, func() error { return busy([]string{"-t", "20ms"}) })
	if n, perr := strconv.Atoi(strings.TrimSpace(out)); err != nil || perr != nil || n < 0 || n > 100 {
		t.Errorf("busy printed %q, %v", out, err)
	}
}

func TestReadHead(t *testing.T) {
	for _, c := range []struct {
		name   string
		pieces []string
		buf    int
		want   bool
	}{
		{"one piece", []string{"GET / HTTP/1.0\r\n\r\n"}, 64, true},
		{"end split across reads", []string{"GET / HTTP/1.0\r\n\r", "\n"}, 64, true},
		{"end split after CR LF", []string{"GET / HTTP/1.0\r\n", "\r\n"}, 64, true},
		{"end split after CR", []string{"GET / HTTP/1.0\r", "\n\r\n"}, 64, true},
		{"end in the last byte of buf", []string{"GET / HTTP/1.0\r\n\r\n"}, 18, true},
		{"longer than buf", []string{"GET / HTTP/1.0\r\nX: 12345678901234567890\r\n\r\n"}, 16, false},
		{"client leaves", []string{"GET / HTTP/1.0\r\n"}, 64, false},
	} {
		server, client := net.Pipe()
		go func() {
			for _, p := range c.pieces {
				if _, err := io.WriteString(client, p); err != nil {
					return
				}
			}
			client.Close()
		}()
		got := make(chan bool, 1)
		go func() { got <- readHead(server, make([]byte, c.buf)) }()
		select {
		case g := <-got:
			if g != c.want {
				t.Errorf("%s: readHead = %v, want %v", c.name, g, c.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: readHead did not return", c.name)
		}
		server.Close()
	}
}

// bare answers every request with the one prepared response, and stops on SIGTERM.
func TestBare(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "page.html", "<p>bare</p>")
	addr, done := startBare(t, "-file", file, "-type", "text/plain")

	var raw []byte
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.WriteString(c, "GET /anything HTTP/1.0\r\nHost: x\r\n\r\n")
			raw, err = io.ReadAll(c)
			c.Close()
			if err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bare did not answer: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	head, body, _ := strings.Cut(string(raw), "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	if len(lines) != 6 || lines[0] != "HTTP/1.0 200 OK" || !strings.HasPrefix(lines[1], "Date: ") ||
		lines[2] != "Server: bare" || lines[3] != "Content-Type: text/plain" || lines[4] != "Content-Length: 11" ||
		lines[5] != "Connection: close" || body != "<p>bare</p>" {
		t.Errorf("response:\n%s", raw)
	}
	if _, err := http.ParseTime(strings.TrimPrefix(lines[1], "Date: ")); err != nil {
		t.Errorf("Date: %v", err)
	}
	stopBare(t, done, deadline)
}

// startBare runs bare with args on a free loopback port in this process.
func startBare(t *testing.T, args ...string) (string, <-chan error) {
	t.Helper()
	return startInProcess(t, bare, args...)
}

// startInProcess runs a command that serves until SIGTERM (bare, serial)
// with -addr set to a free loopback port, in this process, which keeps
// SIGTERM for itself until the test ends, so that stopBare's signal can
// never end the test binary.
func startInProcess(t *testing.T, cmd func([]string) error, args ...string) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGTERM)
	t.Cleanup(func() { signal.Stop(sigs) })
	done := make(chan error, 1)
	go func() { done <- cmd(append([]string{"-addr", addr}, args...)) }()
	return addr, done
}

// stopBare sends SIGTERM until the command startInProcess ran returns.
func stopBare(t *testing.T, done <-chan error, deadline time.Time) {
	t.Helper()
	for {
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("after SIGTERM: %v", err)
			}
			return
		case <-time.After(100 * time.Millisecond): // bare may not have asked for the signal yet
		}
		if time.Now().After(deadline) {
			t.Fatal("the command did not stop on SIGTERM")
		}
	}
}

// bare -close accepts every connection and closes it without a byte, reading
// no file; it goes on accepting after each.
func TestBareClose(t *testing.T) {
	addr, done := startBare(t, "-close", "-file", "/nonexistent/never/read")

	deadline := time.Now().Add(15 * time.Second)
	closed := 0
	for closed < 3 {
		select {
		case err := <-done:
			t.Fatalf("bare -close returned: %v", err)
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			raw, rerr := io.ReadAll(c) // EOF or a reset: either ends with nothing read
			c.Close()
			if len(raw) > 0 {
				t.Fatalf("bare -close sent %q", raw)
			}
			var ne net.Error
			if errors.As(rerr, &ne) && ne.Timeout() {
				t.Fatal("bare -close left the connection open")
			}
			closed++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("bare -close did not accept: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopBare(t, done, deadline)
}

func TestBareRefuses(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "f", "x")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, args := range [][]string{
		{"-bogus"},
		{"-file", filepath.Join(dir, "missing")},
		{"-file", file, "-addr", busy.Addr().String()},
	} {
		if err := bare(args); err == nil {
			t.Errorf("bare %q: no error", args)
		}
	}
}
