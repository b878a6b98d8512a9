//go:build unix

package server

import (
	"net"
	"testing"
)

// setBacklog on a listener whose descriptor is gone says so.
func TestSetBacklogOnAClosedListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if err := setBacklog(ln, 8); err == nil {
		t.Error("setBacklog on a closed listener: no error")
	}
}
