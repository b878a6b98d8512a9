package load

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// fullBacklog listens with a backlog of 0 and never accepts: once its
// accept queue is full, the kernel drops further SYNs and connects hang.
func fullBacklog(t *testing.T) Target {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return Target{Host: "127.0.0.1", Port: sa.(*syscall.SockaddrInet4).Port, Paths: []string{"/"}}
}

func TestConnectTimeout(t *testing.T) {
	engines(t, func(t *testing.T) {
		run := execute(t, fullBacklog(t), Options{Requests: 5, Timeout: 300 * time.Millisecond, Mode: Concurrent})
		connecting := 0
		for _, r := range run.Results {
			if r.Err != Timeout {
				t.Errorf("request %d: %q %q, want timeout", r.Seq, r.Err, r.Detail)
			}
			if strings.HasPrefix(r.Detail, "connect") {
				connecting++
			}
			if l := r.Latency(); l < 250*time.Millisecond || l > 3*time.Second {
				t.Errorf("request %d timed out after %v", r.Seq, l)
			}
		}
		if connecting == 0 {
			t.Error("no request timed out while connecting, though the backlog was full")
		}
	})
}
