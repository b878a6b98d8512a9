package handler

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestAckedBytes: on a TCP connection the kernel reports what the peer
// acknowledged; other connections report nothing.
func TestAckedBytes(t *testing.T) {
	c, peer := tcpPair(t, net.Dialer{})
	if _, err := c.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(peer, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, ok := ackedBytes(c)
		if !ok {
			t.Fatal("no TCP_INFO on a TCP connection")
		}
		if n >= 1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes acknowledged, want 1000", n)
		}
		time.Sleep(time.Millisecond)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, ok := ackedBytes(a); ok {
		t.Error("a pipe reported acknowledged bytes")
	}
}
