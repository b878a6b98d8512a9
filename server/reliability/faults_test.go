//go:build linux

package reliability

import (
	"bufio"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"httplab/httplab-server/internal/admit"
	"httplab/httplab-server/internal/server"
)

// TestClientResets has clients abort with a TCP reset (SO_LINGER 0, then
// close) halfway through sending their head, and halfway through receiving
// an 8 MiB file, while a well-behaved client keeps asking for pages. The
// server must keep serving that client, release every slot exactly once
// (counters back to zero, per-client table empty, nothing spurious), and
// end with as many descriptors and goroutines as it started with.
func TestClientResets(t *testing.T) {
	const midRequest, midResponse, polite = 200, 40, 50
	raiseNoFile(t)
	var last atomic.Pointer[admit.Snapshot]
	r := startServer(t, func(c *server.Options) {
		c.MaxTotal, c.MaxPerClient = 400, 100
		c.ReadTimeout = 5 * time.Second
	}, func(_ server.ConnState, snap admit.Snapshot) { last.Store(&snap) })
	get(t, r.addr, 10, "/a.html") // warm pools and caches into the baseline
	runtime.GC()
	fdBase, grBase := fdCount(t, "self"), runtime.NumGoroutine()

	var wg sync.WaitGroup
	errs := make(chan string, midRequest+midResponse+polite)
	for i := range midRequest {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialFrom(r.addr, byte(2+i%8))
			if err != nil {
				errs <- "dial: " + err.Error()
				return
			}
			_, _ = io.WriteString(c, "GET /a.html HTTP/1.0\r\nUser-Agent: hal")
			time.Sleep(time.Duration(i%10) * time.Millisecond)
			_ = c.SetLinger(0)
			c.Close()
		}()
	}
	for i := range midResponse {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialFrom(r.addr, byte(2+i%8))
			if err != nil {
				errs <- "dial: " + err.Error()
				return
			}
			_, _ = io.WriteString(c, "GET /big.bin HTTP/1.0\r\n\r\n")
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.CopyN(io.Discard, bufio.NewReader(c), 256<<10); err != nil {
				errs <- "mid-response read: " + err.Error()
			}
			_ = c.SetLinger(0)
			c.Close()
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range polite {
			c, err := dialFrom(r.addr, 11)
			if err != nil {
				errs <- "polite dial: " + err.Error()
				return
			}
			_, _ = io.WriteString(c, "GET /a.html HTTP/1.0\r\n\r\n")
			raw, err := readAll(c, time.Now().Add(10*time.Second))
			c.Close()
			if rp, perr := parseReply(raw, http.MethodGet); err != nil || perr != nil || rp.Status != 200 {
				errs <- "polite client: " + clip(raw)
			}
		}
	}()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	eventually(t, "slots released", func() bool {
		s := r.Stats()
		return s.Connections.Active == 0 && len(s.Clients) == 0
	})
	st := r.Stats()
	if want := uint64(1 + midRequest + midResponse + polite); st.Connections.Accepted != want {
		t.Errorf("accepted %d, want %d", st.Connections.Accepted, want)
	}
	if st.Requests.Status["200"] < 1+polite {
		t.Errorf("statuses %v", st.Requests.Status)
	}
	eventually(t, "descriptors back to baseline", func() bool { return fdCount(t, "self") <= fdBase })
	eventually(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= grBase })
	t.Logf("statuses %v (a head cut by a reset is tallied 400, unanswerable); descriptors %d, goroutines %d, as before",
		st.Requests.Status, fdCount(t, "self"), runtime.NumGoroutine())
	if rp := get(t, r.addr, 2, "/a.html"); rp.Status != 200 {
		t.Errorf("after the resets, a client that reset before gets %d", rp.Status)
	}
	// Releases that matched no admission would show here (and a double
	// release would have driven a count below zero without it).
	if snap := last.Load(); snap == nil || snap.Spurious != 0 {
		t.Errorf("admitter after the resets: %+v", snap)
	}
}
