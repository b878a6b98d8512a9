//go:build linux

package main

import (
	"encoding/json"
	"maps"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// holdTarget is a server for hold: a full head (a stalled client) is
// answered with status and then, for a 200, a body written until the client
// stops taking it; half a head (a silent client) is closed once nothing more
// arrives for 50 ms. It notes what each source address sent, and the most
// body bytes one connection took.
type holdTarget struct {
	addr       string
	mu         sync.Mutex
	full, half map[string]int // by source address
	maxBody    int
}

func startHoldTarget(t *testing.T, status int) *holdTarget {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	h := &holdTarget{addr: ln.Addr().String(), full: map[string]int{}, half: map[string]int{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go h.serve(c.(*net.TCPConn), status)
		}
	}()
	return h
}

func (h *holdTarget) serve(c *net.TCPConn, status int) {
	defer c.Close()
	from := c.RemoteAddr().(*net.TCPAddr).IP.String()
	var got []byte
	buf := make([]byte, 512)
	for !strings.HasSuffix(string(got), "\r\n\r\n") {
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			h.mu.Lock()
			h.half[from]++
			h.mu.Unlock()
			return
		}
	}
	h.mu.Lock()
	h.full[from]++
	h.mu.Unlock()
	_ = c.SetWriteBuffer(4096)
	if _, err := c.Write([]byte("HTTP/1.0 " + strconv.Itoa(status) + " X\r\n\r\n")); err != nil || status != 200 {
		return
	}
	chunk := make([]byte, 1024)
	sent := 0
	for {
		_ = c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Write(chunk)
		sent += n
		h.mu.Lock()
		h.maxBody = max(h.maxBody, sent)
		h.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// seen returns copies: connections still open after hold returns go on
// counting while the test reads.
func (h *holdTarget) seen() (full, half map[string]int, maxBody int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.full), maps.Clone(h.half), h.maxBody
}

func runHold(t *testing.T, args ...string) holdReport {
	t.Helper()
	out, err := captureStdout(t, func() error { return hold(args) })
	if err != nil {
		t.Fatalf("hold %q: %v", args, err)
	}
	var rep holdReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("hold output %q: %v", out, err)
	}
	return rep
}

// Silent connections send half a head from each address, and notice the
// server closing them.
func TestHoldSilent(t *testing.T) {
	h := startHoldTarget(t, 200)
	rep := runHold(t, "-url", "http://"+h.addr+"/big", "-from", "127.0.1.1", "-addrs", "2", "-per", "1", "-d", "600ms")
	full, half, _ := h.seen()
	if len(full) != 0 || half["127.0.1.1"] == 0 || half["127.0.1.2"] == 0 || len(half) != 2 {
		t.Errorf("silent: full heads from %v, half heads from %v; want half heads from 127.0.1.1 and .2 only", full, half)
	}
	if rep.Addresses != 2 || rep.PerAddr != 1 || rep.Seconds != 0.6 || rep.Opened < 2 || rep.Closed == 0 || rep.Closed > rep.Opened {
		t.Errorf("report %+v", rep)
	}
}

// Stalled connections ask for the whole file through a small window and
// take almost none of it; a refusal makes them reconnect at once.
func TestHoldStalled(t *testing.T) {
	h := startHoldTarget(t, 200)
	rep := runHold(t, "-url", "http://"+h.addr+"/big", "-from", "127.0.1.3", "-addrs", "1", "-per", "1", "-kind", "stalled", "-d", "600ms")
	full, half, maxBody := h.seen()
	if full["127.0.1.3"] != 1 || len(half) != 0 || rep.Opened != 1 || rep.Closed != 0 {
		t.Errorf("stalled, answered 200: full heads %v, half heads %v, report %+v; want one connection held to the end", full, half, rep)
	}
	// A 1 KiB receive window and a byte read every 200 ms: the body barely moves.
	t.Logf("max body taken: %d", maxBody)
	if maxBody > 64<<10 {
		t.Errorf("a stalled client took %d bytes of the body", maxBody)
	}

	refusing := startHoldTarget(t, 503)
	rep = runHold(t, "-url", "http://"+refusing.addr+"/big", "-from", "127.0.1.4", "-addrs", "1", "-per", "1", "-kind", "stalled", "-d", "300ms")
	if full, _, _ := refusing.seen(); full["127.0.1.4"] < 2 || rep.Opened < 2 || rep.Closed < rep.Opened-1 {
		t.Errorf("stalled, answered 503: full heads %v, report %+v; want reconnections, each closed", full, rep)
	}
}

// Mixed: of each address's connections, the even ones are silent and the odd ones stalled.
func TestHoldMixed(t *testing.T) {
	h := startHoldTarget(t, 200)
	runHold(t, "-url", "http://"+h.addr+"/big", "-from", "127.0.1.5", "-addrs", "1", "-per", "2", "-kind", "mixed", "-d", "400ms")
	full, half, _ := h.seen()
	if full["127.0.1.5"] != 1 || half["127.0.1.5"] == 0 {
		t.Errorf("mixed: full heads %v, half heads %v; want one stalled connection and silent ones", full, half)
	}
}

func TestHoldRefusesBadFlags(t *testing.T) {
	u := "http://127.0.0.1:1/big"
	for _, args := range [][]string{
		{"-bogus"},
		{"-url", ""},
		{"-url", "ftp://x/"},
		{"-url", "http:///x"},
		{"-url", "://"},
		{"-url", u, "-from", "nonsense"},
		{"-url", u, "-from", "::1"},
		{"-url", u, "-addrs", "0"},
		{"-url", u, "-per", "0"},
		{"-url", u, "-kind", "loud"},
	} {
		if _, err := captureStderr(t, func() error { return hold(args) }); err == nil {
			t.Errorf("hold %q: no error", args)
		}
	}
}

// idle holds connections, notices those the server closes, and reports the
// memory of the process given.
func TestIdle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if i < 2 {
				c.Close() // the first two are closed at once
				continue
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	pid := strconv.Itoa(os.Getpid())
	out, err := captureStdout(t, func() error {
		return idle([]string{"-addr", ln.Addr().String(), "-n", "5", "-bind", "127.0.0.4", "-pid", pid, "-settle", "1s"})
	})
	if err != nil {
		t.Fatal(err)
	}
	var rep idleReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Target != ln.Addr().String() || rep.Wanted != 5 || rep.Opened != 5 || rep.Failed != 0 || rep.Open != 3 ||
		rep.BaseKB <= 0 || rep.HeldKB <= 0 || rep.FirstErr != "" {
		t.Errorf("report %+v; want 5 opened, 3 still open", rep)
	}
	if want := float64(rep.HeldKB-rep.BaseKB) * 1024 / 3; rep.PerConnB != want {
		t.Errorf("bytes per connection %v, want %v", rep.PerConnB, want)
	}

	// Against a closed port every dial fails, and nothing is divided by zero.
	closed := ln.Addr().String()
	ln.Close()
	out, err = captureStdout(t, func() error {
		return idle([]string{"-addr", closed, "-n", "3", "-pid", pid, "-settle", "0s"})
	})
	if err != nil {
		t.Fatal(err)
	}
	rep = idleReport{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Opened != 0 || rep.Failed != 3 || rep.Open != 0 || rep.PerConnB != 0 || !strings.Contains(rep.FirstErr, "refused") {
		t.Errorf("against a closed port: %+v", rep)
	}
}

func TestIdleRefuses(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	for _, args := range [][]string{
		{"-bogus"},
		{"-addr", "127.0.0.1:1"},
		{"-addr", "127.0.0.1:1", "-pid", pid, "-bind", "[::1"},
		{"-addr", "127.0.0.1:1", "-pid", strconv.Itoa(1 << 30)},
	} {
		if _, err := captureStderr(t, func() error { return idle(args) }); err == nil {
			t.Errorf("idle %q: no error", args)
		}
	}
}

func TestPerConnBytes(t *testing.T) {
	for _, c := range []struct {
		base, held int64
		open       int
		want       float64
	}{
		{1000, 1100, 50, 2048}, // 100 KiB over 50 connections
		{1000, 1000, 3, 0},
		{1000, 999, 1, -1024}, // the resident set can shrink: shown as it is
		{1000, 1100, 0, 0},    // nothing open: nothing to share
	} {
		if got := perConnBytes(c.base, c.held, c.open); got != c.want {
			t.Errorf("perConnBytes(%d, %d, %d) = %v, want %v", c.base, c.held, c.open, got, c.want)
		}
	}
}
