//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// scripted serves on 127.0.0.1 until the test ends: each connection's
// request head is read, then answer(n) (n counts connections from 0) is
// written, then the connection is closed.
func scripted(t *testing.T, answer func(n int64, c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(i int64) {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						break
					}
				}
				answer(i, c)
			}(n.Add(1) - 1)
		}
	}()
	return ln.Addr().String()
}

func status(code int) func(int64, net.Conn) {
	return func(_ int64, c net.Conn) { fmt.Fprintf(c, "HTTP/1.0 %d X\r\nContent-Length: 2\r\n\r\nok", code) }
}

// Half the answers are 200, a quarter 503, a quarter 429.
func mixed(n int64, c net.Conn) {
	status(map[int64]int{0: 200, 1: 200, 2: 503, 3: 429}[n%4])(n, c)
}

func runFlood(t *testing.T, args ...string) floodReport {
	t.Helper()
	out, err := captureStdout(t, func() error { return flood(args) })
	if err != nil {
		t.Fatalf("flood %q: %v", args, err)
	}
	var rep floodReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("flood output %q: %v", out, err)
	}
	return rep
}

func TestFloodCountsWhatComesBack(t *testing.T) {
	addr := scripted(t, mixed)
	url := "http://" + addr + "/x"
	rep := runFlood(t, "-url", url, "-bind", "127.0.0.2", "-c", "2", "-d", "2s", "-timeout", "1s")
	ok, refused := rep.Status["200"], rep.Status["503"]+rep.Status["429"]
	if rep.URL != url || rep.Bind != "127.0.0.2" || rep.Workers != 2 || rep.Seconds != 2 || len(rep.Status) != 3 ||
		ok == 0 || rep.Status["503"] == 0 || rep.Status["429"] == 0 {
		t.Fatalf("report %+v", rep)
	}
	if rep.ServedPS != float64(ok)/2 || rep.RefusedPS != float64(refused)/2 {
		t.Errorf("served %v/s, refused %v/s; want %v and %v (counts over 2 s)", rep.ServedPS, rep.RefusedPS, float64(ok)/2, float64(refused)/2)
	}
	var errs int
	for _, k := range []string{"refused", "reset", "timeout", "other"} {
		n, found := rep.Errors[k]
		if !found {
			t.Errorf("errors lack %s", k)
		}
		errs += n
	}
	if errs != 0 || rep.FirstErrs != nil {
		t.Errorf("errors %v, first %v from a server that answers everything", rep.Errors, rep.FirstErrs)
	}
	// Attempts cut off by the end are counted as attempts only.
	if answered := uint64(ok + refused); rep.Attempts < answered || rep.Attempts > answered+2 || answered < 10 {
		t.Errorf("%d attempts for %d answers from 2 workers", rep.Attempts, answered)
	}
	// Refusals per second: one entry a second, never more than were counted.
	var sum uint64
	for _, n := range rep.RefusedPSs {
		sum += n
	}
	if len(rep.RefusedPSs) != 2 || sum > uint64(refused) || sum == 0 {
		t.Errorf("refused each second %v (sum %d), of %d refused", rep.RefusedPSs, sum, refused)
	}
}

func TestFloodErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	rep := runFlood(t, "-url", "http://"+closed+"/", "-c", "1", "-d", "1s")
	if rep.Errors["refused"] == 0 || !strings.Contains(rep.FirstErrs["refused"], "refused") || len(rep.FirstErrs) != 1 || len(rep.Status) != 0 {
		t.Errorf("against a closed port: errors %v, first %v, status %v", rep.Errors, rep.FirstErrs, rep.Status)
	}
	if rep.ServedPS != 0 || rep.RefusedPS != 0 || len(rep.RefusedPSs) != 1 || rep.RefusedPSs[0] != 0 {
		t.Errorf("report %+v", rep)
	}
}

func TestFloodRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-bogus"},
		{"-url", ""},
		{"-url", "https://127.0.0.1/"},
		{"-url", "http:///path"},
		{"-url", "://x"},
		{"-url", "http://127.0.0.1:1/", "-bind", "[::1"},
	} {
		if _, err := captureStderr(t, func() error { return flood(args) }); err == nil {
			t.Errorf("flood %q: no error", args)
		}
	}
}

func TestFetch(t *testing.T) {
	d := &net.Dialer{}
	buf := make([]byte, 64)
	ok := scripted(t, status(204))
	if code, err := fetch(d, ok, []byte("GET / HTTP/1.0\r\n\r\n"), buf, 5*time.Second); code != 204 || err != nil {
		t.Errorf("fetch: %d, %v; want 204", code, err)
	}
	// A long body is read to its end.
	long := scripted(t, func(_ int64, c net.Conn) {
		fmt.Fprintf(c, "HTTP/1.0 200 OK\r\n\r\n%s", strings.Repeat("x", 1000))
	})
	if code, err := fetch(d, long, []byte("GET / HTTP/1.0\r\n\r\n"), buf, 5*time.Second); code != 200 || err != nil {
		t.Errorf("fetch of a long body: %d, %v; want 200", code, err)
	}
	for _, c := range []struct {
		name, reply string
		want        string
	}{
		{"not HTTP", "SSH-2.0-OpenSSH\r\n", "not an HTTP response"},
		{"status 99", "HTTP/1.0 099 X\r\n\r\n", "bad status line"},
		{"status 600", "HTTP/1.0 600 X\r\n\r\n", "bad status line"},
		{"status not a number", "HTTP/1.0 2x0 X\r\n\r\n", "bad status line"},
	} {
		addr := scripted(t, func(_ int64, conn net.Conn) { io.WriteString(conn, c.reply) })
		code, err := fetch(d, addr, []byte("GET / HTTP/1.0\r\n\r\n"), buf, 5*time.Second)
		if code != 0 || err == nil || !strings.Contains(err.Error(), c.want) || errKind(err) != 3 {
			t.Errorf("%s: %d, %v; want an error saying %q, of kind other", c.name, code, err, c.want)
		}
	}
	// The edges of the status range are fine.
	for _, code := range []int{100, 599} {
		addr := scripted(t, status(code))
		if got, err := fetch(d, addr, []byte("GET / HTTP/1.0\r\n\r\n"), buf, 5*time.Second); got != code || err != nil {
			t.Errorf("status %d: %d, %v", code, got, err)
		}
	}
	// A reply shorter than a status line is an unexpected end.
	short := scripted(t, func(_ int64, c net.Conn) { io.WriteString(c, "HTTP/1.0 20") })
	if code, err := fetch(d, short, []byte("GET / HTTP/1.0\r\n\r\n"), buf, 5*time.Second); code != 0 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short reply: %d, %v; want io.ErrUnexpectedEOF", code, err)
	}
	// A server that never answers: a timeout.
	silent := scripted(t, func(_ int64, c net.Conn) { time.Sleep(5 * time.Second) })
	if code, err := fetch(d, silent, []byte("GET / HTTP/1.0\r\n\r\n"), buf, 100*time.Millisecond); code != 0 || errKind(err) != 2 {
		t.Errorf("silent server: %d, %v; want a timeout", code, err)
	}
	// A reset while the body is read.
	reset := scripted(t, func(_ int64, c net.Conn) {
		io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\npartial")
		time.Sleep(50 * time.Millisecond)
		_ = c.(*net.TCPConn).SetLinger(0)
	})
	if code, err := fetch(d, reset, []byte("GET / HTTP/1.0\r\n\r\n"), buf, 5*time.Second); code != 0 || errKind(err) != 1 {
		t.Errorf("reset mid-body: %d, %v; want a reset", code, err)
	}
}

func TestErrKind(t *testing.T) {
	for err, want := range map[error]int{
		&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}: 0,
		&net.OpError{Op: "read", Err: syscall.ECONNRESET}:   1,
		&net.OpError{Op: "write", Err: syscall.EPIPE}:       1,
		timeoutErr{}:            2,
		errors.New("something"): 3,
		io.EOF:                  3,
	} {
		if got := errKind(err); got != want {
			t.Errorf("errKind(%v) = %d, want %d", err, got, want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
