//go:build linux

package reliability

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"httplab/httplab-server/internal/admit"
	"httplab/httplab-server/internal/config"
	"httplab/httplab-server/internal/server"
)

// Attacks from many addresses that hold every slot without doing work, with
// the server's default limits (12 per address, 60 in all, 5 requests per
// second per address, 10 s read timeout, shedding on). A polite client on
// another address asks for a page every 0.4 s; it must get at least 98 %
// 200s with a p99 under 100 ms (attackBounds: wider in the ordinary run). The caps are checked after every admission
// decision and by sampling /stats; honest slow clients (a head in pieces
// over 1.5 s, a reader at 16 KB/s, a request in a 2 s delay) must get their
// whole 200 in the middle of it; and afterwards every counter, goroutine
// and descriptor is back at its baseline.
//
// The polite client measures for RELIABILITY_ATTACK_SECONDS (default 4; the
// issue's figure is 20), once the attack holds every slot: for stalled
// readers that is after the stall timeout, when their connections become
// idle and so sheddable.

// attackScenario says which attackers run from which addresses
// (127.0.0.<n>).
type attackScenario struct {
	name    string
	silent  []byte // each opens perAddr connections that send half a head, for ever
	stalled []byte // each opens perAddr connections that ask for big.bin and never read
	flood   []byte // each runs one connection after another, asking and closing as fast as it can
	perAddr int
	honest  bool // also run the honest slow clients
	noShed  bool // the server without shedding: the polite client must be denied (the attack is real)
}

func addrs(from, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(from + i)
	}
	return out
}

const politeAddr = 250

// attackBounds are what the polite client must get: the figures (at
// least 98 % 200s, p99 under 100 ms) when RELIABILITY_ATTACK_SECONDS asks
// for a measurement; in the ordinary test run, on a machine busy with other
// packages' tests under the race detector, margins that still tell a server
// that sheds (10 of 10) from one that does not (0 to 3 of 10), and a p99
// that allows one SYN retransmission.
func attackBounds() (minShare float64, maxP99 time.Duration) {
	if os.Getenv("RELIABILITY_ATTACK_SECONDS") != "" {
		return 0.98, 100 * time.Millisecond
	}
	return 0.8, 2 * time.Second
}

func attackSeconds(t *testing.T) time.Duration {
	t.Helper()
	if v := os.Getenv("RELIABILITY_ATTACK_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("RELIABILITY_ATTACK_SECONDS=%q: want a whole number of seconds", v)
		}
		return time.Duration(n) * time.Second
	}
	if testing.Short() {
		return 2 * time.Second
	}
	return 4 * time.Second
}

func TestAttackFromManyAddresses(t *testing.T) {
	raiseNoFile(t)
	measure := attackSeconds(t)
	for _, sc := range []attackScenario{
		{name: "silent heads, 5 addresses, no shedding", silent: addrs(10, 5), perAddr: 12, noShed: true},
		{name: "silent heads, 5 addresses", silent: addrs(10, 5), perAddr: 12},
		{name: "stalled readers, 5 addresses", stalled: addrs(20, 5), perAddr: 12},
		{name: "mixed, 5 addresses", silent: addrs(30, 3), stalled: addrs(33, 2), flood: addrs(30, 5), perAddr: 12, honest: true},
		{name: "mixed, 50 addresses", silent: addrs(100, 20), stalled: addrs(120, 20), flood: addrs(140, 10), perAddr: 3},
	} {
		t.Run(sc.name, func(t *testing.T) { runAttack(t, sc, measure) })
	}
}

func runAttack(t *testing.T, sc attackScenario, measure time.Duration) {
	defaults := config.Default()
	var violations atomic.Int64
	var firstViolation atomic.Value
	check := func(what string, active int, clients map[string]int) {
		bad := active > defaults.MaxTotal
		for _, n := range clients {
			bad = bad || n > defaults.MaxPerClient
		}
		if bad {
			violations.Add(1)
			firstViolation.CompareAndSwap(nil, fmt.Sprintf("%s: active %d, clients %v", what, active, clients))
		}
	}
	r := startServer(t, func(o *server.Options) {
		root := o.Root
		*o = defaults.Options(o.Log)
		o.Root = root
		o.Shed = !sc.noShed
	}, func(st server.ConnState, snap admit.Snapshot) { check("after "+st.String(), snap.Active, snap.Clients) })
	get(t, r.addr, politeAddr, "/index.html") // warm pools and caches into the baseline
	time.Sleep(time.Second)                   // and let that request leave the rate window
	runtime.GC()
	fdBase, grBase := fdCount(t, "self"), runtime.NumGoroutine()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	attackStart := time.Now()
	for _, a := range sc.silent {
		for range sc.perAddr {
			wg.Go(func() { silentAttacker(r.addr, a, stop) })
		}
	}
	for _, a := range sc.stalled {
		for range sc.perAddr {
			wg.Go(func() { stalledAttacker(r.addr, a, stop) })
		}
	}
	for _, a := range sc.flood {
		wg.Go(func() { floodAttacker(r.addr, a, stop) })
	}
	stopped := false
	halt := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer halt()

	// Measure in the attack's steady state: it holds most slots with idle
	// connections, and has run long enough for them to be sheddable (a
	// pending connection after the head grace, a stalled reader after the
	// stall timeout). Before that, a newcomer can find every slot held by
	// connections the server cannot yet tell from honest ones.
	waitFor(t, "the attack holding the slots idle", 30*time.Second, func() bool {
		c := r.Stats().Connections
		return c.Idle >= defaults.MaxTotal*8/10 || (sc.noShed && c.Active == defaults.MaxTotal)
	})
	time.Sleep(time.Until(attackStart.Add(defaults.HeadGrace + defaults.StallTimeout + time.Second)))
	held := r.Stats().Connections

	sampling := make(chan struct{})
	var samplerDone sync.WaitGroup
	samplerDone.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-sampling:
				return
			case <-tick.C:
				st := r.Stats()
				check("sampled /stats", st.Connections.Active, st.Clients)
			}
		}
	})

	var honest sync.WaitGroup
	honestErrs := make(chan string, 3)
	if sc.honest {
		honest.Go(func() { honestErrs <- honestPiecesHead(r.addr, 200) })
		honest.Go(func() { honestSlowReader(r.addr, 201, honestErrs) })
	}

	// The polite client, on an address of its own, every 0.4 s.
	var lat []time.Duration
	statuses := map[int]int{}
	var bad []string
	for end := time.Now().Add(measure); time.Now().Before(end); {
		next := time.Now().Add(400 * time.Millisecond)
		begin := time.Now()
		status := politeGet(r.addr, politeAddr)
		d := time.Since(begin)
		lat = append(lat, d)
		statuses[status]++
		if status != http.StatusOK || d > 100*time.Millisecond {
			c := r.Stats().Connections
			bad = append(bad, fmt.Sprintf("%d in %v (active %d, idle %d)", status, d.Round(time.Millisecond), c.Active, c.Idle))
		}
		time.Sleep(time.Until(next))
	}
	if len(bad) > 0 {
		t.Logf("polite requests that failed or were slow: %v", bad)
	}
	honest.Wait()
	close(honestErrs)
	for e := range honestErrs {
		if e != "" {
			t.Error(e)
		}
	}
	close(sampling)
	samplerDone.Wait()
	during := r.Stats().Connections
	halt()

	slices.Sort(lat)
	n := len(lat)
	p99 := lat[min(n-1, n*99/100)]
	ok := statuses[http.StatusOK]
	t.Logf("%s: attack held %d slots (idle %d); polite client %d/%d × 200 (%v), p50 %v, p99 %v; shed %d pending, %d stalled; refused at accept %d",
		sc.name, held.Active, held.Idle, ok, n, statuses, lat[n/2].Round(time.Microsecond), p99.Round(time.Microsecond),
		during.ShedPending, during.ShedStalled, during.RejectedTotalCap+during.RejectedClientCap)
	minShare, maxP99 := attackBounds()
	if sc.noShed {
		// What the lab showed before shedding: the attack shuts the server.
		if float64(ok) > 0.5*float64(n) {
			t.Errorf("without shedding the polite client got %d of %d: the attack is not holding the slots", ok, n)
		}
	} else if float64(ok) < minShare*float64(n) {
		t.Errorf("polite client: %d of %d answered 200 (%v), want at least %.0f %%", ok, n, statuses, 100*minShare)
	}
	if p99 > maxP99 {
		t.Errorf("polite client: p99 %v, want under %v", p99, maxP99)
	}
	if v := violations.Load(); v != 0 {
		t.Errorf("caps exceeded %d times; first: %v", v, firstViolation.Load())
	}

	eventually(t, "every slot back", func() bool {
		st := r.Stats()
		return st.Connections.Active == 0 && len(st.Clients) == 0 && st.Connections.Idle == 0
	})
	eventually(t, "goroutines and descriptors back to baseline", func() bool {
		return fdCount(t, "self") <= fdBase && runtime.NumGoroutine() <= grBase
	})
	if snap := r.Admission(); snap.Spurious != 0 {
		t.Errorf("%d spurious releases", snap.Spurious)
	}
}

// waitFor is eventually with a longer bound, for set-ups that take seconds.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// politeGet asks for /index.html and returns the status, or -1.
func politeGet(addr string, from byte) int {
	c, err := dialFrom(addr, from)
	if err != nil {
		return -1
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /index.html HTTP/1.0\r\n\r\n"); err != nil {
		return -1
	}
	raw, err := readAll(c, time.Now().Add(10*time.Second))
	if err != nil {
		return -1
	}
	rp, err := parseReply(raw, http.MethodGet)
	if err != nil || (rp.Status == http.StatusOK && string(rp.Body) != "<h1>home</h1>") {
		return -1
	}
	return rp.Status
}

// reconnecting runs one attacker connection after another until stop: dial
// opens it, hold does what the attacker does with it until the server
// closes it.
func reconnecting(stop <-chan struct{}, dial func() (*net.TCPConn, error), hold func(*net.TCPConn)) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		c, err := dial()
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		hold(c)
		c.Close()
	}
}

// silentAttacker holds a connection that sends half a head and nothing
// more, and opens another as soon as the server closes it.
func silentAttacker(addr string, from byte, stop <-chan struct{}) {
	reconnecting(stop, func() (*net.TCPConn, error) { return dialFrom(addr, from) }, func(c *net.TCPConn) {
		_, _ = io.WriteString(c, "GET / HTTP/1.0\r\n")
		waitClosed(c, stop, 0)
	})
}

// stalledAttacker asks for an 8 MiB file with a tiny receive window. It
// reads the status line: a 429 or 503 makes it reconnect at once; a 200 it
// then reads a byte now and then (to see the server close: then it
// reconnects), far too little for the response to move.
func stalledAttacker(addr string, from byte, stop <-chan struct{}) {
	reconnecting(stop, func() (*net.TCPConn, error) { return dialWith(addr, from, 1024) }, func(c *net.TCPConn) {
		_, _ = io.WriteString(c, "GET /big.bin HTTP/1.0\r\n\r\n")
		var status [12]byte
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.ReadFull(c, status[:]); err == nil && string(status[9:12]) == "200" {
			waitClosed(c, stop, 200*time.Millisecond)
		}
	})
}

// waitClosed waits until the server closes c or stop, reading one byte
// every every (0: as fast as it comes).
func waitClosed(c net.Conn, stop <-chan struct{}, every time.Duration) {
	var b [1]byte
	for {
		select {
		case <-stop:
			return
		default:
		}
		if every > 0 {
			time.Sleep(every)
		}
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(b[:]); err != nil && !isTimeout(err) {
			return
		}
	}
}

// floodAttacker opens connections as fast as it can, asks, reads, closes.
func floodAttacker(addr string, from byte, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		c, err := dialFrom(addr, from)
		if err != nil {
			continue
		}
		_, _ = io.WriteString(c, "GET /a.html HTTP/1.0\r\n\r\n")
		_, _ = readAll(c, time.Now().Add(5*time.Second))
		c.Close()
	}
}

// dialWith is dialFrom with the receive buffer set before the handshake, so
// the window the server sees is small from the start.
func dialWith(addr string, from byte, rcvbuf int) (*net.TCPConn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, from)}, Timeout: 10 * time.Second,
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
				if serr == nil && rcvbuf > 0 {
					serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
				}
			})
			if err != nil {
				return err
			}
			return serr
		}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// honestPiecesHead sends its head in three pieces over 1.5 s and must get
// the whole page.
func honestPiecesHead(addr string, from byte) string {
	c, err := dialFrom(addr, from)
	if err != nil {
		return "honest head in pieces: dial: " + err.Error()
	}
	defer c.Close()
	for _, part := range []string{"GET /a.html HTTP/1.0\r\n", "User-Agent: slow-but-honest\r\n", "\r\n"} {
		if _, err := io.WriteString(c, part); err != nil {
			return "honest head in pieces: " + err.Error()
		}
		if part != "\r\n" {
			time.Sleep(750 * time.Millisecond)
		}
	}
	raw, err := readAll(c, time.Now().Add(10*time.Second))
	rp, perr := parseReply(raw, http.MethodGet)
	if err != nil || perr != nil || rp.Status != http.StatusOK || string(rp.Body) != "<p>a</p>" {
		return fmt.Sprintf("honest head in pieces: got %d %q (%v, %v)", rp.Status, clip(rp.Body), err, perr)
	}
	return ""
}

// honestSlowReader reads mid.bin (256 KiB) at 16 KB/s through a small
// receive buffer, and must get all of it.
func honestSlowReader(addr string, from byte, errs chan<- string) {
	c, err := dialWith(addr, from, 8192)
	if err != nil {
		errs <- "honest slow reader: dial: " + err.Error()
		return
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /mid.bin HTTP/1.0\r\n\r\n"); err != nil {
		errs <- "honest slow reader: " + err.Error()
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReaderSize(&paced{r: c, rate: 16 << 10}, 1024)
	status, body, err := readBody(br)
	if err != nil || status != http.StatusOK || body != midSize {
		errs <- fmt.Sprintf("honest slow reader at 16 KB/s: status %d, %d of %d bytes, %v", status, body, midSize, err)
		return
	}
	errs <- ""
}

// paced reads at most rate bytes a second, in tenths of a second.
type paced struct {
	r    io.Reader
	rate int
}

func (p *paced) Read(b []byte) (int, error) {
	time.Sleep(100 * time.Millisecond)
	return p.r.Read(b[:min(len(b), p.rate/10)])
}

// readBody reads one response and counts its body.
func readBody(br *bufio.Reader) (status int, body int64, err error) {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, 0, err
	}
	body, err = io.Copy(io.Discard, resp.Body)
	if err == nil && resp.ContentLength != body {
		err = fmt.Errorf("Content-Length %d, body %d", resp.ContentLength, body)
	}
	return resp.StatusCode, body, err
}

// A request waiting out a 2 s processing delay is working, not idle: under
// an attack that keeps the server full and shedding, it is never shed and
// gets its whole 200.
func TestDelayedRequestNotShedUnderAttack(t *testing.T) {
	raiseNoFile(t)
	defaults := config.Default()
	r := startServer(t, func(o *server.Options) {
		root := o.Root
		*o = defaults.Options(o.Log)
		o.Root = root
		o.Delay = 2 * time.Second
	}, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	for _, a := range addrs(10, 5) {
		for range 12 {
			wg.Go(func() { silentAttacker(r.addr, a, stop) })
		}
	}
	waitFor(t, "the attack holding the slots", 30*time.Second, func() bool {
		return r.Stats().Connections.Active >= defaults.MaxTotal*8/10
	})
	time.Sleep(1100 * time.Millisecond) // idle past the server's minimum
	done := make(chan int, 1)
	go func() { done <- politeGet(r.addr, politeAddr) }()
	// Newcomers keep arriving while it waits, each shedding an idle slot.
	deadline := time.After(20 * time.Second)
	for i := 0; ; i++ {
		select {
		case status := <-done:
			if status != http.StatusOK {
				t.Fatalf("the delayed request got %d, want 200", status)
			}
			if shed := r.Stats().Connections.ShedPending; shed < 2 {
				t.Errorf("only %d connections shed while the request waited: the test proves little", shed)
			}
			return
		case <-deadline:
			t.Fatal("the delayed request got no answer in 20 s")
		case <-time.After(200 * time.Millisecond):
			go politeGet(r.addr, byte(60+i%100))
		}
	}
}
