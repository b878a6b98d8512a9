package server

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"httplab/httplab-server/internal/config"
)

func TestCompleteHead(t *testing.T) {
	for _, tc := range []struct {
		head string
		want bool
	}{
		{"GET / HTTP/1.0\r\n\r\n", true},
		{"GET /a.html HTTP/1.1\r\nHost: x\r\nUser-Agent: y\r\n\r\n", true},
		{"GET / HTTP/1.0\r\n", false},                                      // half a head
		{"GET / HTTP/1.0\r\nHost: x\r\n", false},                           // half a head
		{"", false},                                                        // nothing yet
		{"POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\n", false},            // a body follows
		{"POST / HTTP/1.0\r\ncontent-length:0\r\n\r\n", false},             // any length: linger, to be safe
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", false},   // a body follows
		{"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n", false},            // more than one head
		{"POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", false},       // head and body
		{"GET / HTTP/1.0\r\nX-Content-Length-Note: 5\r\n\r\n", true},       // only the exact names count
		{"GET / HTTP/1.0\r\n  Transfer-Encoding : chunked\r\n\r\n", false}, // spaced name: still refused a fast close
	} {
		if got := completeHead([]byte(tc.head)); got != tc.want {
			t.Errorf("completeHead(%q) = %v, want %v", tc.head, got, tc.want)
		}
	}
}

// A refused client reads its whole 503 and then a clean end of stream, not
// a reset, however its request arrives: at once (the socket is closed
// without lingering), in two parts around the refusal, or with a body
// (both of which linger).
func TestRefusalWithoutReset(t *testing.T) {
	r := start(t, func(c *config.Config) { c.MaxPerClient = 1 })
	held := r.hold(t, 2)
	defer held.Close()
	for _, tc := range []struct {
		name          string
		before, after string // sent before the refusal, and after the 503 was read
	}{
		{"whole request first", "GET /a.html HTTP/1.0\r\nHost: x\r\n\r\n", ""},
		{"nothing sent", "", "GET /a.html HTTP/1.0\r\n\r\n"},
		{"head in two parts", "GET /a.html HTTP/1.0\r\n", "Host: x\r\n\r\n"},
		{"with a body", "POST /a.html HTTP/1.0\r\nContent-Length: 20000\r\n\r\n" + strings.Repeat("b", 10000), strings.Repeat("b", 10000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
			c, err := d.Dial("tcp", r.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if tc.before != "" {
				if _, err := io.WriteString(c, tc.before); err != nil {
					t.Fatal(err)
				}
			}
			rp := readReply(t, c)
			if rp.status != 503 || rp.header.Get("Retry-After") == "" {
				t.Fatalf("got %d %v, want a 503 with Retry-After", rp.status, rp.header)
			}
			if tc.after != "" {
				// The server may have closed already; only what it reads matters.
				_, _ = io.WriteString(c, tc.after)
			}
			var b [1]byte
			if n, err := c.Read(b[:]); n != 0 || err != io.EOF {
				t.Fatalf("after the 503: read %d, %v; want a clean EOF", n, err)
			}
		})
	}
}

// TestRefusalWriteIgnoresDeadlines: CI once saw a refused client read an
// empty reply, because the accept goroutine was descheduled past the 50 ms
// write deadline it had just set, and net.Conn.Write then gave up before
// writing. The refusal is now one non-blocking write through the raw
// descriptor, so even a connection whose write deadline has long expired
// gets its bytes.
func TestRefusalWriteIgnoresDeadlines(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	_ = server.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := server.Write([]byte("x")); err == nil {
		t.Fatal("net.Conn.Write wrote past its deadline: this test no longer shows the hazard")
	}
	msg := []byte("HTTP/1.0 503 Service Unavailable\r\n\r\n")
	if !writeNow(server, msg) {
		t.Fatal("writeNow did not write the refusal")
	}
	_ = server.Close()
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(client)
	if err != nil || string(got) != string(msg) {
		t.Fatalf("client read %q, %v; want %q", got, err, msg)
	}
}
