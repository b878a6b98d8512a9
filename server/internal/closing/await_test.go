package closing

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// expectEOF reads from c and wants a clean end of input within d.
func expectEOF(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	if n, err := c.Read(b[:]); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read %d, %v; want a clean EOF", n, err)
	}
}

// returns waits at most d for done.
func returns(t *testing.T, done <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

// Linger half-closes at once (the client sees the FIN while it may still
// send) and keeps reading until the client closes, well before its timeout.
func TestLingerHalfClosesThenWaitsForTheClient(t *testing.T) {
	client, server := pair(t)
	done := make(chan struct{})
	go func() { Linger(server, time.Minute, 1<<20); close(done) }()
	expectEOF(t, client, 10*time.Second)
	// The server still reads: what the client sends now is taken, not reset.
	if _, err := io.WriteString(client, "more input after the reply"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		t.Fatal("Linger returned while the client was still connected")
	case <-time.After(50 * time.Millisecond):
	}
	_ = client.Close()
	returns(t, done, 10*time.Second, "Linger after the client closed")
}

// A bare blank line is one complete head with nothing to follow.
func TestCompleteHeadBlankLineOnly(t *testing.T) {
	if !CompleteHead([]byte("\r\n\r\n")) {
		t.Fatal(`CompleteHead("\r\n\r\n") = false`)
	}
}

func TestAwaitHeadCases(t *testing.T) {
	// Nothing had arrived before the reply; the whole head comes after it.
	t.Run("whole head after the reply", func(t *testing.T) {
		client, server := pair(t)
		done := make(chan struct{})
		go func() { AwaitHead(server, 1<<20); close(done) }()
		if _, err := io.WriteString(client, "GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		expectEOF(t, client, 10*time.Second)
		returns(t, done, 10*time.Second, "AwaitHead")
	})
	// Until the head is complete the server does not close, not even
	// half: a FIN now would tell the client its request was not read.
	t.Run("no FIN before the head is complete", func(t *testing.T) {
		client, server := pair(t)
		if _, err := io.WriteString(client, "GET / HTTP/1.0\r\n"); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { AwaitHead(server, 1<<20); close(done) }()
		_ = client.SetReadDeadline(time.Now().Add(100 * time.Millisecond)) // LingerTimeout is 500 ms
		var b [1]byte
		if n, err := client.Read(b[:]); n != 0 || !isTimeout(err) {
			t.Fatalf("before the rest of the head: read %d, %v; want a timeout", n, err)
		}
		if _, err := io.WriteString(client, "Host: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		expectEOF(t, client, 10*time.Second)
		returns(t, done, 10*time.Second, "AwaitHead")
	})
	// More than awaitHeadBytes without a complete head: the full Linger
	// (half-close, then read until the client closes).
	t.Run("head too long", func(t *testing.T) {
		client, server := pair(t)
		if _, err := client.Write(bytes.Repeat([]byte("x"), awaitHeadBytes+100)); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { AwaitHead(server, 1<<20); close(done) }()
		expectEOF(t, client, 5*time.Second)
		_ = client.Close()
		returns(t, done, 5*time.Second, "AwaitHead")
	})
}
