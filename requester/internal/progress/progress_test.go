package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestDisabledDrawsNothing(t *testing.T) {
	b := New(&bytes.Buffer{}, false, 10, "x")
	if b != nil {
		t.Fatal("a disabled bar exists")
	}
	b.Add() // must not panic
	b.Finish()
}

func TestBarCounts(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, true, 3, "http://h:1 concurrent")
	for range 3 {
		b.Add()
	}
	b.Finish()
	// Throttled, the bar is drawn at its first step and cleared at the end.
	if s := out.String(); !strings.Contains(s, "http://h:1 concurrent") || !strings.Contains(s, "/3)") {
		t.Errorf("bar output %q", s)
	}
}

// The bar is redrawn at most every 100 ms, not at every request: a run of
// thousands of requests draws it a handful of times. (The bound below holds
// unless the loop takes 10 s.)
func TestBarIsThrottled(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, true, 10000, "run")
	for range 10000 {
		b.Add()
	}
	if n := strings.Count(out.String(), "/10000)"); n < 1 || n > 100 {
		t.Errorf("the bar was drawn %d times for 10000 requests", n)
	}
	b.Finish()
}
