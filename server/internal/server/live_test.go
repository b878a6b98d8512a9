package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"httplab/httplab-server/internal/admin"
	"httplab/httplab-server/internal/server"
	"httplab/httplab-server/internal/servertest"
)

// dashboard serves r's admin handler, live (Run going), on loopback until
// the test ends, as the command does.
func dashboard(t *testing.T, r *running, interval time.Duration) (*admin.Admin, string) {
	t.Helper()
	a := admin.New(admin.Options{Stats: r.Stats, RateWindows: r.RateWindows, Interval: interval})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { _ = a.Run(ctx); close(ran) }()
	ts := httptest.NewServer(a)
	t.Cleanup(func() { cancel(); <-ran; ts.Close() })
	return a, ts.URL
}

func adminStats(t *testing.T, url string) admin.Stats {
	t.Helper()
	resp, err := http.Get(url + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s admin.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// liveStream is one open GET /live, its frames read in the background; the
// newest is kept.
type liveStream struct {
	mu     sync.Mutex
	last   admin.Frame
	n      int
	err    error
	cancel context.CancelFunc
}

func openLive(t *testing.T, url string) *liveStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/live", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		cancel()
		t.Fatalf("GET /live: %v %v", err, resp)
	}
	s := &liveStream{cancel: cancel}
	go func() {
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				return
			}
			if d, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "data: "); ok {
				var f admin.Frame
				err := json.Unmarshal([]byte(d), &f)
				s.mu.Lock()
				s.last, s.n = f, s.n+1
				if err != nil {
					s.err = err
				}
				s.mu.Unlock()
			}
		}
	}()
	t.Cleanup(cancel)
	return s
}

func (s *liveStream) frame() (admin.Frame, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.n
}

// hold sends a GET from 127.0.0.<from> and reads the reply in the
// background; the server's delay keeps the admitted ones open meanwhile.
func hold(t *testing.T, r *running, from int, n int) (statuses chan int) {
	t.Helper()
	statuses = make(chan int, n)
	for range n {
		c := r.dial(t, from)
		if _, err := io.WriteString(c, "GET /a.html HTTP/1.0\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		go func() {
			defer c.Close()
			rp, err := servertest.ReadReply(c, http.MethodGet)
			if err != nil {
				statuses <- 0
				return
			}
			statuses <- rp.Status
		}()
	}
	return statuses
}

// The live stream reports what /stats reports, from a real server loaded
// from several addresses: per-client slots filling to their cap, refusals at
// accept, the limiter's windows, statuses and hits; and after the load, the
// same numbers exactly, in every open stream, with per-second series that
// add up to the totals.
func TestLiveDashboardMatchesStats(t *testing.T) {
	r := start(t, func(o *server.Options) {
		o.MaxPerClient, o.MaxTotal = 3, 10
		o.RateLimit, o.RateWindow = 5, 20*time.Second // 8 requests, one after another, in one window
		o.Delay = 600 * time.Millisecond
	})
	a, url := dashboard(t, r, 50*time.Millisecond)
	streams := []*liveStream{openLive(t, url), openLive(t, url), openLive(t, url)}
	servertest.Eventually(t, "three dashboards open", func() bool { return a.Watchers() == 3 })

	// 127.0.0.2 opens 5 at once: 3 slots, 2 refused at accept. 127.0.0.3 opens 2 beside it.
	st2, st3 := hold(t, r, 2, 5), hold(t, r, 3, 2)
	servertest.Eventually(t, "a frame with 127.0.0.2 at its cap and 127.0.0.3 beside it", func() bool {
		f, _ := streams[0].frame()
		c := f.Stats.Clients
		return c["127.0.0.2"] == 3 && c["127.0.0.3"] == 2 && f.Stats.Connections.Active == 5 &&
			f.Stats.Connections.RejectedClientCap == 2 &&
			strings.Contains(f.HTML["conns"], `data-client="127.0.0.2"`) && strings.Contains(f.HTML["conns"], `data-n="3"`)
	})
	if s := adminStats(t, url); s.Clients["127.0.0.2"] != 3 || s.Connections.Active != 5 || s.Connections.RejectedClientCap != 2 {
		t.Errorf("/stats while held: %+v", s.Connections)
	}
	for range 5 {
		<-st2
	}
	for range 2 {
		<-st3
	}

	// 127.0.0.4 sends 8, one after another, within the window: 5 admitted, 3 refused.
	got := map[int]int{}
	for range 8 {
		got[r.get(t, 4, "/a.html").Status]++
	}
	if got[200] != 5 || got[429] != 3 {
		t.Fatalf("8 from 127.0.0.4 at rate 5 per 20 s: %v", got)
	}
	var lim admin.RateClient
	servertest.Eventually(t, "the limiter's window of 127.0.0.4 full in a frame", func() bool {
		f, _ := streams[1].frame()
		if f.Limiter == nil {
			return false
		}
		for _, c := range f.Limiter.Clients {
			if c.Client == "127.0.0.4" {
				lim = c
				return c.Admitted == 5
			}
		}
		return false
	})
	// Its oldest admission is at most the 8 requests' time old (5 served in 600 ms each).
	if lim.RetryAfterS < 10 || lim.RetryAfterS > 20 || lim.WaitMS <= 0 {
		t.Errorf("127.0.0.4's window: %+v; want Retry-After between 10 and 20 s", lim)
	}

	// Quiet (a reply reaches its client before the server counts it): every stream converges on
	// /stats, and the series on the totals.
	var want admin.Stats
	servertest.Eventually(t, "every response counted", func() bool {
		want = adminStats(t, url)
		return want.Connections.Active == 0 && want.Requests.Total == want.Connections.Accepted
	})
	for i, s := range streams {
		var f admin.Frame
		defer func() {
			if t.Failed() {
				t.Logf("stream %d's last frame: %+v %+v series %+v; /stats %+v %+v", i, f.Stats.Connections, f.Stats.Requests, f.Series, want.Connections, want.Requests)
			}
		}()
		servertest.Eventually(t, fmt.Sprintf("stream %d to match /stats", i), func() bool {
			f, _ = s.frame()
			var admitted, refused, ok, limited uint64
			for _, x := range f.Series {
				admitted += x.Admitted
				refused += x.RefusedClient + x.RefusedTotal
				ok += x.S200
				limited += x.S429
			}
			c, w := f.Stats.Connections, want.Connections
			return c.Accepted == w.Accepted && c.RejectedClientCap == w.RejectedClientCap && c.Active == 0 &&
				c.Peak == w.Peak && f.Stats.Requests.Total == want.Requests.Total &&
				fmt.Sprint(f.Stats.Requests.Status) == fmt.Sprint(want.Requests.Status) &&
				f.Stats.Hits["/a.html"] == want.Hits["/a.html"] && f.HitsSum == want.Hits["/a.html"] && f.LostUpdates == 0 &&
				admitted == w.Accepted && refused == w.RejectedClientCap+w.RejectedTotalCap &&
				ok == want.Requests.Status["200"] && limited == want.Requests.Status["429"]
		})
	}
	if want.Connections.Accepted != 13 || want.Requests.Status["200"] != 10 || want.Requests.Status["429"] != 3 {
		t.Errorf("/stats after the load: %+v %+v", want.Connections, want.Requests)
	}
	f, _ := streams[2].frame()
	if f.Watchers != 3 || !strings.Contains(f.HTML["chart"], `data-status="429">3<`) || !strings.Contains(f.HTML["hits"], `data-hits="/a.html">10<`) {
		t.Errorf("last frame: watchers %d\n%s\n%s", f.Watchers, f.HTML["chart"], f.HTML["hits"])
	}
	for _, s := range streams {
		s.cancel()
	}
	servertest.Eventually(t, "no dashboard left open", func() bool { return a.Watchers() == 0 })
}

// With the naive counter the page shows the updates it lost, as 200s minus
// hits counted.
func TestLiveDashboardShowsLostUpdates(t *testing.T) {
	r := start(t, func(o *server.Options) {
		o.Counter = "naive"
		o.MaxPerClient, o.MaxTotal = 0, 0
		o.Delay = 50 * time.Millisecond
	})
	_, url := dashboard(t, r, 50*time.Millisecond)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := servertest.DialFrom(r.Addr, byte(2+i%4))
			if err != nil {
				return
			}
			defer c.Close()
			_, _ = io.WriteString(c, "GET /a.html HTTP/1.0\r\n\r\n")
			_, _ = servertest.ReadReply(c, http.MethodGet)
		}()
	}
	wg.Wait()
	var s admin.Stats
	servertest.Eventually(t, "every response counted", func() bool {
		s = adminStats(t, url)
		return s.Connections.Active == 0 && s.Requests.Total == s.Connections.Accepted
	})
	lost := s.Requests.Status["200"] - s.Hits["/a.html"]
	if lost == 0 {
		t.Skipf("the naive counter lost nothing in this run (%d 200s); nothing to show", s.Requests.Status["200"])
	}
	live := openLive(t, url)
	servertest.Eventually(t, "the lost updates in a frame", func() bool {
		f, _ := live.frame()
		return f.LostUpdates == lost && strings.Contains(f.HTML["hits"], fmt.Sprintf(`class="lost" data-v="lost">%d<`, lost))
	})
}

// chromium finds a headless Chromium or skips the test, saying so.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on PATH (chromium, chromium-browser, google-chrome): the dashboard's browser test is skipped")
	return ""
}

// cdp talks to a headless Chromium over --remote-debugging-pipe: JSON
// messages separated by NUL bytes on descriptors 3 (to it) and 4 (from it).
type cdp struct {
	t       *testing.T
	to      io.Writer
	from    *bufio.Reader
	id      int
	session string
}

func startChromium(t *testing.T, bin string) *cdp {
	t.Helper()
	toR, toW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromR, fromW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: Chromium's helper processes may still write to their profile for a moment
	// after the browser exits, which would fail the test's own cleanup.
	profile, err := os.MkdirTemp("", "httplab-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-extensions", "--remote-debugging-pipe", "--user-data-dir="+profile, "about:blank")
	cmd.ExtraFiles = []*os.File{toR, fromW}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(profile)
		t.Skipf("Chromium (%s) does not start: %v", bin, err)
	}
	toR.Close()
	fromW.Close()
	c := &cdp{t: t, to: toW, from: bufio.NewReader(fromR)}
	t.Cleanup(func() {
		// Browser.close ends it and its helpers; the pipe's end does too, if that failed.
		msg, _ := json.Marshal(map[string]any{"id": 1 << 30, "method": "Browser.close"})
		_, _ = toW.Write(append(msg, 0))
		toW.Close()
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		fromR.Close()
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return c
}

// call sends one command and waits for its answer, skipping events.
func (c *cdp) call(method string, params any, result any) {
	c.t.Helper()
	c.id++
	msg := map[string]any{"id": c.id, "method": method, "params": params}
	if c.session != "" {
		msg["sessionId"] = c.session
	}
	b, _ := json.Marshal(msg)
	if _, err := c.to.Write(append(b, 0)); err != nil {
		c.t.Fatalf("to Chromium: %v", err)
	}
	for {
		raw, err := c.from.ReadBytes(0)
		if err != nil {
			c.t.Fatalf("from Chromium: %v", err)
		}
		var resp struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(raw[:len(raw)-1], &resp); err != nil {
			c.t.Fatalf("from Chromium: %v", err)
		}
		if resp.ID != c.id {
			continue
		}
		if resp.Error != nil {
			c.t.Fatalf("%s: %s", method, resp.Error.Message)
		}
		if result != nil {
			if err := json.Unmarshal(resp.Result, result); err != nil {
				c.t.Fatalf("%s: %v", method, err)
			}
		}
		return
	}
}

// open opens url in a new tab and attaches to it.
func (c *cdp) open(url string) {
	c.t.Helper()
	var target struct {
		TargetID string `json:"targetId"`
	}
	c.call("Target.createTarget", map[string]any{"url": url}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	c.call("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	c.session = att.SessionID
}

// openNoScript opens url in a new tab that runs no JavaScript of its own.
func (c *cdp) openNoScript(url string) {
	c.t.Helper()
	c.session = ""
	c.open("about:blank")
	c.call("Emulation.setScriptExecutionDisabled", map[string]any{"value": true}, nil)
	c.call("Page.navigate", map[string]any{"url": url}, nil)
}

// eval evaluates a JavaScript expression whose value is a JSON string; it
// reports false while the page is not there yet (the expression throws).
func (c *cdp) eval(expr string, v any) bool {
	c.t.Helper()
	var res struct {
		Result struct {
			Value string `json:"value"`
		} `json:"result"`
	}
	c.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	return json.Unmarshal([]byte(res.Result.Value), v) == nil
}

// rendered is what the page shows, read from its DOM.
type rendered struct {
	Frames    int            `json:"frames"`
	Active    int            `json:"active"`
	Accepted  uint64         `json:"accepted"`
	Requests  uint64         `json:"requests"`
	S200      uint64         `json:"s200"`
	S429      uint64         `json:"s429"`
	HitsSum   uint64         `json:"hits_sum"`
	Limiter   map[string]int `json:"limiter"`
	Watchers  int            `json:"watchers"`
	LiveState string         `json:"live"`
}

const readPage = `(function () {
  var n = function (sel) { var e = document.querySelector(sel); return e ? Number(e.textContent) : -1; };
  var lim = {};
  document.querySelectorAll("#s-limiter [data-client]").forEach(function (row) {
    lim[row.dataset.client] = Number(row.querySelector("[data-admitted]").textContent);
  });
  var live = document.getElementById("live");
  return JSON.stringify({frames: Number(live.dataset.frames), live: live.className,
    active: n('[data-v="active"]'), accepted: n('[data-v="accepted"]'), requests: n('[data-v="requests"]'),
    s200: n('[data-status="200"]'), s429: n('[data-status="429"]'), hits_sum: n('[data-v="hits_sum"]'),
    watchers: n('[data-v="watchers"]'), limiter: lim});
})()`

// A headless Chromium loads the dashboard during a run from three addresses:
// the numbers it renders move while the load goes on, always lie between
// /stats read just before and just after, and equal /stats once it stops.
func TestDashboardInChromium(t *testing.T) {
	bin := chromium(t)
	r := start(t, func(o *server.Options) {
		o.RateLimit, o.RateWindow = 5, time.Second
	})
	_, url := dashboard(t, r, 100*time.Millisecond)

	// Three clients at 20 requests/s each: 5 a second admitted, the rest 429.
	ctx, stopLoad := context.WithCancel(context.Background())
	var load sync.WaitGroup
	for from := 2; from <= 4; from++ {
		load.Add(1)
		go func() {
			defer load.Done()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				c, err := servertest.DialFrom(r.Addr, byte(from))
				if err != nil {
					continue
				}
				_, _ = io.WriteString(c, "GET /a.html HTTP/1.0\r\n\r\n")
				_, _ = servertest.ReadReply(c, http.MethodGet)
				c.Close()
			}
		}()
	}
	defer func() { stopLoad(); load.Wait() }()

	br := startChromium(t, bin)
	br.open(url + "/")
	var p rendered
	servertest.Eventually(t, "the page to render two frames", func() bool {
		return br.eval(readPage, &p) && p.Frames >= 2
	})
	if p.LiveState != "ok" || p.Watchers != 1 {
		t.Errorf("page after two frames: %+v; want live and 1 dashboard open", p)
	}

	sampleAt := func() rendered {
		before := adminStats(t, url)
		time.Sleep(300 * time.Millisecond) // a frame or more
		var p rendered
		if !br.eval(readPage, &p) {
			t.Fatal("the page went away")
		}
		after := adminStats(t, url)
		between := func(what string, got, lo, hi uint64) {
			if got < lo || got > hi {
				t.Errorf("rendered %s %d, not between /stats before (%d) and after (%d)", what, got, lo, hi)
			}
		}
		between("admitted", p.Accepted, before.Connections.Accepted, after.Connections.Accepted)
		between("requests", p.Requests, before.Requests.Total, after.Requests.Total)
		between("200s", p.S200, before.Requests.Status["200"], after.Requests.Status["200"])
		between("429s", p.S429, before.Requests.Status["429"], after.Requests.Status["429"])
		for c, n := range p.Limiter {
			if n < 1 || n > 5 {
				t.Errorf("limiter row %s: %d admitted in the window, want 1 to 5", c, n)
			}
		}
		return p
	}
	first := sampleAt()
	time.Sleep(time.Second)
	second := sampleAt()
	if second.Accepted <= first.Accepted || second.S429 <= first.S429 || second.Frames <= first.Frames {
		t.Errorf("rendered numbers did not move in a second of load: %+v, then %+v", first, second)
	}
	if len(second.Limiter) != 3 {
		t.Errorf("limiter rows %v, want the three loading addresses", second.Limiter)
	}

	stopLoad()
	load.Wait()
	var want admin.Stats
	servertest.Eventually(t, "every response counted", func() bool {
		want = adminStats(t, url)
		return want.Connections.Active == 0 && want.Requests.Total == want.Connections.Accepted
	})
	servertest.Eventually(t, "the page to show /stats after the load", func() bool {
		return br.eval(readPage, &p) && p.Accepted == want.Connections.Accepted && p.Requests == want.Requests.Total &&
			p.S200 == want.Requests.Status["200"] && p.S429 == want.Requests.Status["429"] &&
			p.HitsSum == want.Hits["/a.html"] && p.Active == 0
	})
	t.Logf("after the load the page shows %d admitted, %d × 200, %d × 429 in %d frames, as /stats does", p.Accepted, p.S200, p.S429, p.Frames)

	// Without JavaScript it is a readable page with the same numbers, rendered by the server.
	br.openNoScript(url + "/")
	var text string
	servertest.Eventually(t, "the page without JavaScript", func() bool {
		return br.eval(readPage, &p) && br.eval(`JSON.stringify(document.body.innerText)`, &text) &&
			p.Accepted == want.Connections.Accepted
	})
	if p.Frames != 0 || p.S200 != want.Requests.Status["200"] || p.S429 != want.Requests.Status["429"] ||
		!strings.Contains(text, "Without JavaScript the page does not update itself") {
		t.Errorf("without JavaScript: %+v\n%s", p, text)
	}
}
