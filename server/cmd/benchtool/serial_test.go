//go:build linux

package main

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startSerial runs serial with args on a free loopback port in this process.
func startSerial(t *testing.T, args ...string) (string, <-chan error) {
	t.Helper()
	return startInProcess(t, serial, args...)
}

// exchange connects to addr (retrying until serial listens), waits pause,
// sends req unless it is empty, and reads to the end.
func exchange(t *testing.T, addr string, pause time.Duration, req string) ([]byte, error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			time.Sleep(pause)
			if req != "" {
				if _, err := io.WriteString(c, req); err != nil {
					return nil, err
				}
			}
			return io.ReadAll(c)
		}
		if time.Now().After(deadline) {
			t.Fatalf("serial did not listen: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSerialServes(t *testing.T) {
	file := writeFile(t, t.TempDir(), "page.html", "<p>serial</p>")
	addr, done := startSerial(t, "-mode", "serve", "-file", file)
	for i := 0; i < 3; i++ { // one after another, on the same loop
		raw, err := exchange(t, addr, 0, "GET / HTTP/1.0\r\nHost: x\r\n\r\n")
		if err != nil {
			t.Fatal(err)
		}
		head, body, _ := strings.Cut(string(raw), "\r\n\r\n")
		if !strings.HasPrefix(head, "HTTP/1.0 200 OK\r\n") || !strings.Contains(head, "\r\nContent-Length: 13\r\n") || body != "<p>serial</p>" {
			t.Fatalf("response %d:\n%s", i, raw)
		}
	}
	stopBare(t, done, time.Now().Add(15*time.Second))
}

// A refusal is what this server sends at its caps: a 503 the client can
// read, and a close after the request head, so a request that arrives late
// is not answered with a reset.
func TestSerialRefuses(t *testing.T) {
	addr, done := startSerial(t, "-mode", "refuse")
	raw, err := exchange(t, addr, 100*time.Millisecond, "GET / HTTP/1.0\r\nHost: x\r\n\r\n")
	if err != nil {
		t.Fatalf("a request sent 100 ms after the connection: %v (read %q)", err, raw)
	}
	head, body, _ := strings.Cut(string(raw), "\r\n\r\n")
	if !strings.HasPrefix(head, "HTTP/1.0 503 Service Unavailable\r\n") || !strings.Contains(head, "\r\nRetry-After: 1\r\n") ||
		!strings.Contains(head, "\r\nContent-Length: 21\r\n") || body != "too many connections\n" {
		t.Fatalf("refusal:\n%s", raw)
	}
	// The head in two pieces: the close waits for the second. And the 503 is
	// held back with MSG_MORE, to leave with the FIN as this server's does:
	// before the head is complete nothing arrives (the kernel holds it for up
	// to 200 ms; the read below gives up after 60).
	deadline := time.Now().Add(15 * time.Second)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Millisecond))
	var ne net.Error
	if n, err := c.Read(make([]byte, 64)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("the 503 arrived before the request (%d bytes, %v): not held with MSG_MORE", n, err)
	}
	_ = c.SetDeadline(deadline)
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := io.WriteString(c, "Host: x\r\n\r"); err != nil {
		t.Fatalf("the rest of the head: %v (the connection was closed after the first piece)", err)
	}
	time.Sleep(100 * time.Millisecond) // the blank line split between reads
	if _, err := io.WriteString(c, "\n"); err != nil {
		t.Fatalf("the head's last byte: %v (the connection was closed before it)", err)
	}
	if raw, err := io.ReadAll(c); err != nil || !strings.HasPrefix(string(raw), "HTTP/1.0 503 ") {
		t.Fatalf("head in two pieces: %q, %v", raw, err)
	}
	stopBare(t, done, deadline)
}

func TestSerialCloses(t *testing.T) {
	addr, done := startSerial(t, "-mode", "close", "-file", "/nonexistent/never/read")
	for i := 0; i < 3; i++ {
		raw, err := exchange(t, addr, 0, "")
		var ne net.Error
		if len(raw) > 0 || (errors.As(err, &ne) && ne.Timeout()) {
			t.Fatalf("close mode: read %q, %v", raw, err)
		}
	}
	stopBare(t, done, time.Now().Add(15*time.Second))
}

func TestSerialRefusesBadFlags(t *testing.T) {
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-mode", "maybe"}, `-mode "maybe": want serve, refuse or close`},
		{[]string{"-mode", "serve", "-file", filepath.Join(t.TempDir(), "missing")}, "no such file"},
		{[]string{"-mode", "close", "-addr", busy.Addr().String()}, "address already in use"},
		{[]string{"-mode", "close", "-addr", "[::1]:0"}, "IPv4 only"},
		{[]string{"-bogus"}, "not defined"},
	} {
		if err := serial(c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serial %q: %v, want an error with %q", c.args, err, c.want)
		}
	}
}

// A client that leaves before its head is complete, or sends a head larger
// than the loop reads, is dropped, and the next is served: nothing holds
// the loop.
func TestSerialGoesOnAfterABrokenHead(t *testing.T) {
	file := writeFile(t, t.TempDir(), "page.html", "<p>serial</p>")
	addr, done := startSerial(t, "-mode", "serve", "-file", file)
	if _, err := exchange(t, addr, 0, "GET / HTTP/1.0\r\n\r\n"); err != nil { // waits until it listens
		t.Fatal(err)
	}
	for _, req := range []string{
		"GET / HTTP/1.0\r\n", // closes before the blank line
		"GET / HTTP/1.0\r\nX: " + strings.Repeat("x", 5000) + "\r\n\r\n", // over 4 KiB
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c, req)
		if tc, ok := c.(*net.TCPConn); ok && len(req) < 100 {
			_ = tc.CloseWrite() // the client leaves: EOF before the head ends
		}
		raw, _ := io.ReadAll(c)
		c.Close()
		if len(raw) > 0 {
			t.Fatalf("a broken head (%d bytes) was answered: %q", len(req), raw)
		}
		raw, err = exchange(t, addr, 0, "GET / HTTP/1.0\r\n\r\n")
		if err != nil || !strings.HasSuffix(string(raw), "<p>serial</p>") {
			t.Fatalf("after a broken head (%d bytes): %q, %v", len(req), raw, err)
		}
	}
	stopBare(t, done, time.Now().Add(15*time.Second))
}
