package load

import (
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// backlogTarget is a listener made with syscalls, and its socket.
type backlogTarget struct {
	Target
	fd int
}

// fullBacklog listens with a backlog of 0 and never accepts: once its
// accept queue is full, the kernel drops further SYNs and connects hang.
func fullBacklog(t *testing.T) backlogTarget {
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
	return backlogTarget{Target{Host: "127.0.0.1", Port: sa.(*syscall.SockaddrInet4).Port, Paths: []string{"/"}}, fd}
}

func TestConnectTimeout(t *testing.T) {
	engines(t, func(t *testing.T) {
		run := execute(t, fullBacklog(t).Target, Options{Requests: 5, Timeout: 300 * time.Millisecond, Mode: Concurrent})
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

// Connecting is a phase of its own: with the server's accept queue full,
// Linux drops the SYN and the client sends it again after a second, so the
// connection is established about a second after the request started, and
// connect_ms says so while the first byte comes right after.
func TestConnectPhaseWithFullAcceptQueue(t *testing.T) {
	engines(t, func(t *testing.T) {
		target := fullBacklog(t)
		// One connection fills a backlog of 0.
		filler, err := net.Dial("tcp", target.HostPort())
		if err != nil {
			t.Fatal(err)
		}
		defer filler.Close()
		fd := target.fd
		go func() {
			time.Sleep(300 * time.Millisecond)
			// Make room, then answer whatever comes.
			for range 2 {
				nfd, _, err := syscall.Accept(fd)
				if err != nil {
					return
				}
				f := os.NewFile(uintptr(nfd), "accepted")
				c, err := net.FileConn(f) // a duplicate: the file closes its own
				f.Close()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					var b [1024]byte
					_ = c.SetDeadline(time.Now().Add(5 * time.Second))
					_, _ = c.Read(b[:])
					_, _ = c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"))
				}()
			}
		}()
		run := execute(t, target.Target, Options{Requests: 1, Timeout: 5 * time.Second})
		r := run.Results[0]
		if r.Status != 200 {
			t.Fatalf("%q %q", r.Err, r.Detail)
		}
		t.Logf("connect %v, first byte %v, latency %v", r.Connect, r.FirstByte, r.Latency())
		if r.Connect < 250*time.Millisecond || r.Connect > r.FirstByte || r.FirstByte > r.Latency() {
			t.Errorf("connect %v, first byte %v, latency %v: want connect >= 250ms, in order", r.Connect, r.FirstByte, r.Latency())
		}
	})
}
