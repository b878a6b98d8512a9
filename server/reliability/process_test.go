//go:build linux

package reliability

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"httplab/httplab-server/internal/servertest"
)

// proc is the server binary running as its own process, over a fixture.
type proc struct {
	*servertest.Process
	root string
}

// startProcess runs the built server on 127.0.0.1 over a fresh fixture
// (servertest.StartProcess).
func startProcess(t testing.TB, wrap []string, args []string, env ...string) *proc {
	t.Helper()
	root := fixture(t)
	p := servertest.StartProcess(t, wrap, serverBinary(t), append([]string{"-d", root}, args...), env...)
	return &proc{Process: p, root: root}
}

// metric reads one unlabelled sample from the process's /metrics.
func (p *proc) metric(t testing.TB, name string) float64 {
	t.Helper()
	resp, err := adminClient.Get(p.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// awaitActive waits until the process's /stats counts active connections.
func (p *proc) awaitActive(t testing.TB, what string, active int) {
	t.Helper()
	eventually(t, what, func() bool {
		return fetchStats(t, p.Admin+"/stats").Connections.Active == active
	})
}

// rssKiB is the process's resident set (VmRSS) in KiB.
func (p *proc) rssKiB(t testing.TB) int {
	t.Helper()
	kib, err := readRSS(p.PID)
	if err != nil {
		t.Fatal(err)
	}
	return kib
}

func readRSS(pid string) (int, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%s/status", pid)
}

// TestDescriptorExhaustion runs the server with 64 descriptors
// (prlimit --nofile=64:64) and holds open more connections than it can
// accept. Accept then fails with EMFILE; the accept loop must back off and
// survive, count the errors in /stats, and serve again, including the
// request that waited in the listen backlog meanwhile, once the
// connections close.
func TestDescriptorExhaustion(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) is not installed")
	}
	raiseNoFile(t)
	p := startProcess(t, []string{prlimit, "--nofile=64:64", "--"},
		[]string{"-maxclient", "0", "-maxtotal", "0", "-rate", "0"},
		"SERVER_READ_TIMEOUT=60s")
	if got := get(t, p.Addr, 2, "/a.html"); got.Status != 200 {
		t.Fatalf("before: %d", got.Status)
	}
	base := fdCount(t, p.PID)

	// Idle connections: each accepted one holds a descriptor until its
	// 60 s read timeout. 100 is more than the 64 the process may have.
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range 100 {
		held = append(held, mustDial(t, p.Addr, byte(2+i%8)))
	}
	eventually(t, "descriptors exhausted", func() bool { return fdCount(t, p.PID) >= 64 })
	// A client arriving now waits in the listen backlog.
	waiting := make(chan reply, 1)
	go func() {
		c, err := dialFrom(p.Addr, 10)
		if err != nil {
			waiting <- reply{Status: -1}
			return
		}
		defer c.Close()
		_, _ = io.WriteString(c, "GET /a.html HTTP/1.0\r\n\r\n")
		raw, _ := readAll(c, time.Now().Add(30*time.Second))
		rp, err := parseReply(raw, http.MethodGet)
		if err != nil {
			rp.Status = -1
		}
		waiting <- rp
	}()
	// Let the accept loop meet EMFILE a few times (its backoff starts at
	// 5 ms and doubles).
	time.Sleep(300 * time.Millisecond)
	select {
	case rp := <-waiting:
		t.Fatalf("a request was answered (%d) while no descriptor was free", rp.Status)
	default:
	}

	for _, c := range held {
		c.Close()
	}
	held = nil
	rp := <-waiting
	if rp.Status != http.StatusOK || string(rp.Body) != "<p>a</p>" {
		t.Fatalf("the request that waited in the backlog got %d %q", rp.Status, rp.Body)
	}
	st := fetchStats(t, p.Admin+"/stats")
	if st.Connections.AcceptErrors == 0 {
		t.Errorf("no accept errors counted: %+v", st.Connections)
	}
	if got := get(t, p.Addr, 3, "/a.html"); got.Status != 200 {
		t.Errorf("after: %d", got.Status)
	}
	p.awaitActive(t, "connections released", 0)
	eventually(t, "descriptors back to baseline", func() bool { return fdCount(t, p.PID) <= base })
	t.Logf("accept errors %d; %d connections admitted; descriptors %d at baseline, 64 at most",
		st.Connections.AcceptErrors, st.Connections.Accepted, base)
	if exited, err := p.Wait(0); exited {
		t.Fatalf("server exited: %v\n%s", err, p.Log())
	}
}

// TestSIGTERMUnderLoad sends SIGTERM while 200 requests (a fifth of them
// for an 8 MiB file) sit in a one-second processing delay. Every one must
// get its complete response, the listener must close at once (new
// connections refused), and the process must exit 0 within the grace.
func TestSIGTERMUnderLoad(t *testing.T) {
	const inflight = 200
	raiseNoFile(t)
	p := startProcess(t, nil, []string{"-maxclient", "0", "-maxtotal", "0", "-rate", "0", "-delay", "1s"},
		"SERVER_SHUTDOWN_GRACE=20s")

	type result struct {
		target string
		status int
		body   int64
		err    error
	}
	results := make(chan result, inflight)
	for i := range inflight {
		target := "/a.html"
		if i%5 == 0 {
			target = "/big.bin"
		}
		c := mustDial(t, p.Addr, byte(2+i%8))
		go func() {
			defer c.Close()
			_, _ = io.WriteString(c, "GET "+target+" HTTP/1.0\r\n\r\n")
			deadline := time.Now().Add(30 * time.Second)
			if target == "/big.bin" {
				status, n, err := readBig(c, deadline)
				results <- result{target, status, n, err}
				return
			}
			raw, err := readAll(c, deadline)
			rp, perr := parseReply(raw, http.MethodGet)
			if err == nil {
				err = perr
			}
			if err == nil && string(rp.Body) != "<p>a</p>" {
				err = fmt.Errorf("body %q", rp.Body)
			}
			results <- result{target, rp.Status, int64(len(rp.Body)), err}
		}()
	}
	p.awaitActive(t, "all requests in flight", inflight)
	sent := time.Now()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The listener closes at once, while the requests are still in flight.
	eventually(t, "listener closed", func() bool {
		c, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	refusedAfter, doneBefore := time.Since(sent), len(results)

	ok := 0
	for range inflight {
		r := <-results
		switch {
		case r.err != nil:
			t.Errorf("GET %s: %v after %d body bytes", r.target, r.err, r.body)
		case r.status != 200:
			t.Errorf("GET %s: %d", r.target, r.status)
		default:
			ok++
		}
	}
	if exited, err := p.Wait(30 * time.Second); !exited {
		t.Fatal("no exit 30 s after SIGTERM")
	} else if err != nil {
		t.Errorf("exit: %v\n%s", err, p.Log())
	}
	t.Logf("%d/%d in-flight responses complete; new connections refused %v after SIGTERM (%d responses done by then); exited %v after SIGTERM, %v",
		ok, inflight, refusedAfter.Round(time.Millisecond), doneBefore, time.Since(sent).Round(time.Millisecond), p.Cmd.ProcessState)
}
