package ratelimit

import (
	"net/netip"
	"testing"
	"time"

	"httplab/httplab-server/internal/clientid"
)

// Full says what Allow would say, and changes nothing.
func TestFull(t *testing.T) {
	l, err := New(Options{Limit: 2, Window: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	k := clientid.Of(clientid.ByIP, netip.MustParseAddrPort("192.0.2.9:1"))
	t0 := time.Now()
	if l.Full(k, t0) {
		t.Fatal("an unknown key is full")
	}
	for i := range 2 {
		if l.Full(k, t0) {
			t.Fatalf("full after %d of 2", i)
		}
		if ok, _ := l.Allow(k, t0); !ok {
			t.Fatal("Allow refused within the limit")
		}
	}
	for range 3 { // asking does not charge
		if !l.Full(k, t0.Add(999*time.Millisecond)) {
			t.Fatal("not full at the limit")
		}
	}
	if ok, _ := l.Allow(k, t0.Add(999*time.Millisecond)); ok {
		t.Fatal("Allow admitted past the limit")
	}
	if l.Full(k, t0.Add(time.Second)) {
		t.Fatal("still full once the first left the window")
	}
	off, _ := New(Options{})
	if off.Full(k, t0) {
		t.Fatal("a limiter that is off is full")
	}
}
