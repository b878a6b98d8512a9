//go:build linux

package reliability

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// soakCI is the soak's size in CI: enough connections to show a leak of one
// goroutine or descriptor per few thousand requests, quick under -race.
const soakCI = 6_000

// soakRSSSlackKiB is how far the resident set may end above its baseline.
// Go keeps freed heap for reuse and returns it to the system gradually, so
// RSS settles near the peak working set rather than back at the baseline;
// a leak of even 100 bytes per request would pass this by the end of the
// 200 000-request soak (20 MB).
const soakRSSSlackKiB = 16 << 10

// soakStep is one request of the soak's cycle and what it must get.
type soakStep struct {
	raw    string
	method string
	status int // 0: the client resets the connection mid-head; no response
	size   int // body length
}

var soakCycle = []soakStep{
	{"GET /a.html HTTP/1.0\r\n\r\n", "GET", 200, 8},
	{"GET / HTTP/1.0\r\n\r\n", "GET", 200, 13},
	{"GET /a.html HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 200, 8},
	{"GET /docs/ HTTP/1.0\r\n\r\n", "GET", 200, -1},
	{"GET /a.html HTTP/1.0\r\n\r\n", "GET", 200, 8},
	{"GET /books HTTP/1.0\r\n\r\n", "GET", 301, -1},
	{"GET /nope.html HTTP/1.0\r\n\r\n", "GET", 404, -1},
	{"GET /a.html HTTP/1.0\r\n\r\n", "GET", 200, 8},
	{"GET /.env HTTP/1.0\r\n\r\n", "GET", 404, -1},
	{"HEAD /mid.bin HTTP/1.0\r\n\r\n", "HEAD", 200, 0},
	{"GET /mid.bin HTTP/1.0\r\n\r\n", "GET", 200, midSize},
	{"GET /a.html HTTP/1.0\r\n\r\n", "GET", 200, 8},
	{"POST /a.html HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", "POST", 405, -1},
	{"\x16\x03\x01garbage\r\n\r\n", "GET", 400, -1},
	{"GET /docs/read%20me.txt HTTP/1.0\r\n\r\n", "GET", 200, 6},
	{"GET /a.html HTTP/1.0\r\nUser-Agent: ab", "GET", 0, 0},
	{"GET /style.css HTTP/1.0\r\n\r\n", "GET", 200, 6},
	{"GET /a.html HTTP/1.0\r\n\r\n", "GET", 200, 8},
	{"GET /%2e%2e/outside/secret.txt HTTP/1.0\r\n\r\n", "GET", 404, -1},
	{"GET /books/ HTTP/1.0\r\n\r\n", "GET", 200, 14},
}

// TestSoak drives the server binary with a cycle of requests (files small
// and sendfile-sized, HEAD, listings, redirects, 404s, 405s, 400s and
// clients that reset mid-head), one connection each, from 24 workers on 8
// source addresses under the default caps, and checks that every answer is
// the expected one and that the process's goroutines (/metrics
// go_goroutines), descriptors (/proc/PID/fd) and resident set
// (/proc/PID/status VmRSS) come back to their baseline afterwards.
//
// CI runs 6 000 requests. The full soak: RELIABILITY_SOAK=200000 go test
// -run TestSoak -v ./server/reliability (skipped under -short).
func TestSoak(t *testing.T) {
	n := soakCI
	if v := os.Getenv("RELIABILITY_SOAK"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("RELIABILITY_SOAK=%q: want a positive number of requests", v)
		}
		if testing.Short() && n > soakCI {
			t.Skipf("the %d-request soak is skipped under -short", n)
		}
	}
	raiseNoFile(t)
	// -rate 0: the soak is about leaks, not the limiter; the caps stay at
	// their defaults (12 per client, 60 in all) and are never reached by
	// 3 workers per address.
	p := startProcess(t, nil, []string{"-rate", "0"})

	const sources, perSource = 8, 3
	run := func(count int) (wrong []string, elapsed time.Duration) {
		var next atomic.Int64
		var mu sync.Mutex
		var wg sync.WaitGroup
		begin := time.Now()
		for w := range sources * perSource {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= count {
						return
					}
					if err := soakRequest(p.Addr, byte(2+w%sources), soakCycle[i%len(soakCycle)]); err != nil {
						mu.Lock()
						if wrong = append(wrong, fmt.Sprintf("request %d: %v", i, err)); len(wrong) > 20 {
							mu.Unlock()
							next.Store(int64(count)) // stop early: something is badly wrong
							return
						}
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		return wrong, time.Since(begin)
	}

	// Warm up (pools, caches, the runtime's own structures), then measure.
	warm := 2 * len(soakCycle) * sources * perSource
	if wrong, _ := run(warm); len(wrong) > 0 {
		t.Fatalf("warm-up: %v", wrong)
	}
	p.awaitActive(t, "connections released", 0)
	gr0, fd0, rss0 := p.quiet(t)

	peak := rss0
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
				if kib, err := readRSS(p.PID); err == nil && kib > peak {
					peak = kib
				}
			}
		}
	}()
	wrong, elapsed := run(n)
	close(stopSampling)
	<-sampled
	for _, w := range wrong {
		t.Error(w)
	}
	p.awaitActive(t, "connections released", 0)

	// Goroutines and descriptors must come all the way back; RSS within
	// the slack. Each is polled for a while, since the last handlers and
	// lingering closes finish just after the last client is answered.
	var gr1, fd1, rss1 int
	deadline := time.Now().Add(10 * time.Second)
	for {
		gr1, fd1, rss1 = p.quiet(t)
		if (gr1 <= gr0 && fd1 <= fd0 && rss1 <= rss0+soakRSSSlackKiB) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	st := fetchStats(t, p.Admin+"/stats")
	t.Logf("%d requests in %v (%.0f req/s) from %d workers on %d addresses",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), sources*perSource, sources)
	t.Logf("goroutines %d → %d; descriptors %d → %d; RSS %.1f MiB → %.1f MiB (peak %.1f MiB)",
		gr0, gr1, fd0, fd1, float64(rss0)/1024, float64(rss1)/1024, float64(peak)/1024)
	t.Logf("stats: accepted %d, refused %d, statuses %v", st.Connections.Accepted,
		st.Connections.RejectedClientCap+st.Connections.RejectedTotalCap, st.Requests.Status)
	if gr1 > gr0 {
		t.Errorf("goroutines %d after the soak, %d before", gr1, gr0)
	}
	if fd1 > fd0 {
		t.Errorf("descriptors %d after the soak, %d before", fd1, fd0)
		t.Logf("open descriptors: %v", fdTargets(p.PID))
	}
	if rss1 > rss0+soakRSSSlackKiB {
		t.Errorf("RSS %d KiB after the soak, %d KiB before (slack %d KiB)", rss1, rss0, soakRSSSlackKiB)
	}

	// The server's own accounting agrees with what was sent.
	total := warm + n
	want := map[int]uint64{}
	for i := range total {
		s := soakCycle[i%len(soakCycle)]
		if s.status == 0 {
			want[400]++ // a head cut by a reset: tallied, unanswerable
		} else {
			want[s.status]++
		}
	}
	for code, c := range want {
		if got := st.Requests.Status[strconv.Itoa(code)]; got != c {
			t.Errorf("server tallied %d × %d, want %d", got, code, c)
		}
	}
	if st.Connections.Accepted != uint64(total) || st.Connections.RejectedClientCap+st.Connections.RejectedTotalCap != 0 {
		t.Errorf("connections %+v, want %d accepted and none refused", st.Connections, total)
	}
}

// quiet samples the process's goroutines, descriptors and RSS five times
// over half a second and keeps the least of each, so that a connection the
// admin listener is just closing does not count as part of a baseline.
func (p *proc) quiet(t testing.TB) (goroutines, fds, rssKiB int) {
	t.Helper()
	goroutines, fds, rssKiB = math.MaxInt, math.MaxInt, math.MaxInt
	for i := range 5 {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		goroutines = min(goroutines, int(p.metric(t, "go_goroutines")))
		fds = min(fds, fdCount(t, p.PID))
		rssKiB = min(rssKiB, p.rssKiB(t))
	}
	return goroutines, fds, rssKiB
}

// fdTargets lists what a process's descriptors point at, for a failure
// message.
func fdTargets(pid string) []string {
	ents, _ := os.ReadDir("/proc/" + pid + "/fd")
	var out []string
	for _, e := range ents {
		dest, _ := os.Readlink("/proc/" + pid + "/fd/" + e.Name())
		out = append(out, e.Name()+"→"+dest)
	}
	return out
}

// soakRequest makes one connection and checks its answer.
func soakRequest(addr string, from byte, s soakStep) error {
	c, err := dialFrom(addr, from)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, s.raw); err != nil {
		return err
	}
	if s.status == 0 {
		return c.SetLinger(0) // the deferred close resets
	}
	raw, err := readAll(c, time.Now().Add(20*time.Second))
	if err != nil {
		return fmt.Errorf("%q: %v after %d bytes", s.raw, err, len(raw))
	}
	rp, err := parseReply(raw, s.method)
	if err != nil {
		return err
	}
	if p := contractProblems(rp, s.method); len(p) > 0 {
		return fmt.Errorf("%q: %v", s.raw, p)
	}
	if rp.Status != s.status || (s.size >= 0 && len(rp.Body) != s.size) {
		return fmt.Errorf("%q: %d with %d bytes, want %d with %d", s.raw, rp.Status, len(rp.Body), s.status, s.size)
	}
	if s.method == http.MethodGet && s.size == midSize && string(rp.Body[:len(bigPattern)]) != bigPattern {
		return fmt.Errorf("mid.bin body starts %q", rp.Body[:len(bigPattern)])
	}
	return nil
}
