//go:build linux

package reliability

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/admit"
	"httplab/httplab-server/internal/server"
)

// floodOutcome is what one flooding client saw.
type floodOutcome int

const (
	gotOK         floodOutcome = iota // a complete 200
	got503                            // a complete 503 with Retry-After, then a close
	got503Reset                       // a complete 503, then a reset
	gotNothing                        // no complete response (dial error, reset, timeout)
	gotOther                          // any other status
	floodOutcomes                     // count
)

// TestConnectionFlood opens thousands of connections at once from eight
// source addresses against the default caps. The admitter is checked after
// every single decision (servertest.StartWatched) and through /stats afterwards:
// neither cap is exceeded at any instant. Every attempt is decided exactly
// once, every admitted client gets its 200, every refused client reads a
// complete 503. A refused socket whose whole request head was already read
// closes at once with a FIN; otherwise it lingers, but at most 256 at once:
// past that it is closed at once and counted (RefusalsUnlingered). Its 503
// still arrives whole on loopback, but input the client sends after can
// make that close a reset following the 503, so resets are counted and may
// not exceed Stats().Connections.RefusalsUnlingered.
// Afterwards the counters, the per-client table, this process's
// descriptors and its goroutines are back where they started.
func TestConnectionFlood(t *testing.T) {
	const maxTotal, maxPerClient, sources = 60, 12, 8
	limit := raiseNoFile(t)
	n := 4000
	// Each attempt costs two descriptors here (client and server side).
	if fit := (int(limit) - 500) / 2; fit < n {
		n = fit
	}
	if n < 1000 {
		t.Skipf("RLIMIT_NOFILE %d leaves room for only %d connections", limit, n)
	}

	var violations atomic.Int64
	var firstViolation atomic.Value
	var logged lineCounter
	r := startServer(t, func(c *server.Options) {
		c.Log = zerolog.New(&logged)
		c.MaxTotal, c.MaxPerClient = maxTotal, maxPerClient
		c.Delay = 20 * time.Millisecond // admitted connections hold their slot a while
		c.ReadTimeout = 10 * time.Second
	}, func(st server.ConnState, snap admit.Snapshot) {
		bad := snap.Active > maxTotal
		for _, k := range snap.Clients {
			bad = bad || k > maxPerClient
		}
		if bad {
			violations.Add(1)
			firstViolation.CompareAndSwap(nil, fmt.Sprintf("after %v: active %d, clients %v", st, snap.Active, snap.Clients))
		}
	})
	statsURL := r.statsURL(t)
	_ = fetchStats(t, statsURL) // the admin server's own descriptors belong to the baseline
	runtime.GC()
	fdBase, grBase := fdCount(t, "self"), runtime.NumGoroutine()

	var counts [floodOutcomes]atomic.Int64
	var firstOdd atomic.Value
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			o, why := floodClient(r.addr, byte(2+i%sources))
			counts[o].Add(1)
			if o == gotNothing || o == gotOther {
				firstOdd.CompareAndSwap(nil, why)
			}
		}()
	}
	begin := time.Now()
	close(gate)
	wg.Wait()
	elapsed := time.Since(begin)

	var c [floodOutcomes]int64
	for i := range c {
		c[i] = counts[i].Load()
	}
	eventually(t, "connections released", func() bool { return r.Stats().Connections.Active == 0 })
	st := fetchStats(t, statsURL)
	cn := st.Connections
	t.Logf("%d connections from %d addresses in %v: 200 %d, 503 %d (+%d followed by a reset), nothing %d, other %d",
		n, sources, elapsed.Round(time.Millisecond), c[gotOK], c[got503], c[got503Reset], c[gotNothing], c[gotOther])
	t.Logf("stats: accepted %d, refused total cap %d, client cap %d, peak %d, peak per client %d, unlingered %d, accept errors %d",
		cn.Accepted, cn.RejectedTotalCap, cn.RejectedClientCap, cn.Peak, cn.PeakPerClient, cn.RefusalsUnlingered, cn.AcceptErrors)

	if v := violations.Load(); v > 0 {
		t.Errorf("caps exceeded at %d admission decisions; first %v", v, firstViolation.Load())
	}
	if cn.Peak > maxTotal || cn.PeakPerClient > maxPerClient {
		t.Errorf("/stats peaks %d total, %d per client; caps %d, %d", cn.Peak, cn.PeakPerClient, maxTotal, maxPerClient)
	}
	if cn.Peak != maxTotal || cn.RejectedTotalCap == 0 {
		t.Errorf("the flood never filled the total cap (peak %d, %d refused): the test did not test", cn.Peak, cn.RejectedTotalCap)
	}
	if c[gotNothing] != 0 || c[gotOther] != 0 {
		t.Errorf("%d clients got no response, %d an unexpected one; first: %v", c[gotNothing], c[gotOther], firstOdd.Load())
	}
	if decided := cn.Accepted + cn.RejectedTotalCap + cn.RejectedClientCap; decided != uint64(n) {
		t.Errorf("server decided %d connections, %d were made", decided, n)
	}
	if cn.Accepted != uint64(c[gotOK]) {
		t.Errorf("server admitted %d, clients got %d × 200", cn.Accepted, c[gotOK])
	}
	if refused := cn.RejectedTotalCap + cn.RejectedClientCap; refused != uint64(c[got503]+c[got503Reset]) {
		t.Errorf("server refused %d, clients read %d × 503", refused, c[got503]+c[got503Reset])
	}
	if uint64(c[got503Reset]) > cn.RefusalsUnlingered {
		t.Errorf("%d refusals ended in a reset, but only %d were closed without lingering", c[got503Reset], cn.RefusalsUnlingered)
	}
	if st.Requests.Status["200"] != uint64(c[gotOK]) || st.Requests.Total != uint64(c[gotOK]) {
		t.Errorf("requests %+v, clients got %d × 200", st.Requests, c[gotOK])
	}
	if len(st.Clients) != 0 {
		t.Errorf("per-client table not empty: %v", st.Clients)
	}
	// Refusals are logged in bursts of 20 a second, then one in 1000, so a
	// flood cannot flood the log; the counters above stay exact.
	refused := cn.RejectedTotalCap + cn.RejectedClientCap
	seconds := uint64(elapsed/time.Second) + 2
	if n := logged.count("connection refused"); n == 0 || n > 20*seconds+refused/1000+1 {
		t.Errorf("%d refusal log lines for %d refusals in %v; sampling allows at most %d",
			n, refused, elapsed, 20*seconds+refused/1000+1)
	} else {
		t.Logf("%d refusal log lines for %d refusals", n, refused)
	}
	// Lingering refusals end within their 500 ms bound; then every
	// descriptor and goroutine of the flood is gone.
	eventually(t, "descriptors back to baseline", func() bool { return fdCount(t, "self") <= fdBase })
	eventually(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= grBase })
	t.Logf("descriptors %d → %d, goroutines %d → %d", fdBase, fdCount(t, "self"), grBase, runtime.NumGoroutine())
}

// lineCounter is a log sink that counts lines by message.
type lineCounter struct {
	mu    sync.Mutex
	byMsg map[string]uint64
}

func (l *lineCounter) Write(p []byte) (int, error) {
	var rec struct{ Message string }
	_ = json.Unmarshal(p, &rec)
	l.mu.Lock()
	if l.byMsg == nil {
		l.byMsg = map[string]uint64{}
	}
	l.byMsg[rec.Message]++
	l.mu.Unlock()
	return len(p), nil
}

func (l *lineCounter) count(msg string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byMsg[msg]
}

// floodClient makes one connection from 127.0.0.<from>, sends a GET at once
// as a real client does, and reads whatever comes back.
func floodClient(addr string, from byte) (floodOutcome, string) {
	c, err := dialFrom(addr, from)
	if err != nil {
		return gotNothing, "dial: " + err.Error()
	}
	defer c.Close()
	_, werr := io.WriteString(c, "GET /a.html HTTP/1.0\r\n\r\n")
	if werr != nil && !isReset(werr) {
		return gotNothing, "write: " + werr.Error()
	}
	raw, rerr := readAll(c, time.Now().Add(30*time.Second))
	rp, err := parseReply(raw, http.MethodGet)
	if err != nil {
		// A reset on the write means the server's socket was gone before the
		// request left: this client was descheduled past the linger bound.
		return gotNothing, fmt.Sprintf("%v (write: %v, read: %v)", err, werr, rerr)
	}
	if p := contractProblems(rp, http.MethodGet); len(p) > 0 {
		return gotOther, fmt.Sprint(p)
	}
	switch {
	case rp.Status == http.StatusOK && rerr == nil && string(rp.Body) == "<p>a</p>":
		return gotOK, ""
	case rp.Status == http.StatusServiceUnavailable && rp.Header.Get("Retry-After") != "":
		if rerr != nil {
			if !isReset(rerr) {
				return gotNothing, "after 503: " + rerr.Error()
			}
			return got503Reset, ""
		}
		return got503, ""
	}
	return gotOther, fmt.Sprintf("status %d, read error %v", rp.Status, rerr)
}

// TestRefusalWorkIsBounded makes refusing expensive on purpose: with the
// only slot taken, 600 clients arrive at once, each sends half a request
// head (so the server cannot tell it is done and must linger rather than
// close at once), reads its 503 and keeps the connection open, so every
// lingering close runs to its 500 ms bound. At most 256 refused sockets may
// linger at once; past that the server closes a refused socket right after
// its 503 and counts it (refusals_unlingered), so a flood cannot pile up
// goroutines and descriptors behind refusals. Every client still reads a
// complete 503, since it is written before the close, and only those
// unlingered closes may end in a reset.
func TestRefusalWorkIsBounded(t *testing.T) {
	const clients = 600
	raiseNoFile(t)
	r := startServer(t, func(c *server.Options) { c.MaxTotal = 1; c.ReadTimeout = 30 * time.Second }, nil)
	holder := mustDial(t, r.addr, 2)
	defer holder.Close()
	eventually(t, "the slot taken", func() bool { return r.Stats().Connections.Active == 1 })
	runtime.GC()
	fdBase, grBase := fdCount(t, "self"), runtime.NumGoroutine()

	var read503, reset, other atomic.Int64
	gate := make(chan struct{})
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			c, err := dialFrom(r.addr, byte(3+i%8))
			if err != nil {
				other.Add(1)
				return
			}
			defer c.Close()
			_, _ = io.WriteString(c, "GET /a.html HTTP/1.0\r\nUser-Agent: ")
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
				other.Add(1)
				return
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				other.Add(1)
				return
			}
			read503.Add(1)
			<-release // hold the connection open: the server's linger waits
			if _, err := br.ReadByte(); isReset(err) {
				reset.Add(1)
			}
		}()
	}
	close(gate)
	eventually(t, "every client answered", func() bool { return read503.Load()+other.Load() == clients })
	time.Sleep(time.Second) // past the linger bound: the lingering ones have closed
	close(release)
	wg.Wait()

	cn := r.Stats().Connections
	t.Logf("%d clients: %d read a complete 503, %d then saw a reset, %d other; refused %d, unlingered %d",
		clients, read503.Load(), reset.Load(), other.Load(), cn.RejectedTotalCap, cn.RefusalsUnlingered)
	if read503.Load() != clients {
		t.Errorf("%d of %d refused clients read a complete 503", read503.Load(), clients)
	}
	if cn.RefusalsUnlingered == 0 || cn.RefusalsUnlingered > clients-256 {
		t.Errorf("%d refusals closed without lingering; with %d clients holding on and 256 lingering at most, want 1..%d",
			cn.RefusalsUnlingered, clients, clients-256)
	}
	if uint64(reset.Load()) > cn.RefusalsUnlingered {
		t.Errorf("%d resets, more than the %d unlingered refusals", reset.Load(), cn.RefusalsUnlingered)
	}
	holder.Close()
	eventually(t, "descriptors back to baseline", func() bool { return fdCount(t, "self") <= fdBase-1 })
	eventually(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= grBase })
}
