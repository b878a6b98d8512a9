package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer is a Stats source whose counters the test moves.
type fakeServer struct {
	accepted, rejClient, ok, limited, notFound atomic.Uint64
	active                                     atomic.Int64
	mu                                         sync.Mutex
	hits                                       map[string]uint64
	counter                                    string
}

func (f *fakeServer) Stats() Stats {
	f.mu.Lock()
	hits := make(map[string]uint64, len(f.hits))
	for k, v := range f.hits {
		hits[k] = v
	}
	counter := f.counter
	f.mu.Unlock()
	ok, lim, nf := f.ok.Load(), f.limited.Load(), f.notFound.Load()
	return Stats{
		Mode:        "concurrent",
		Connections: Connections{Active: int(f.active.Load()), Peak: 12, Accepted: f.accepted.Load(), RejectedClientCap: f.rejClient.Load()},
		Clients:     map[string]int{"127.0.0.2": int(f.active.Load())},
		Requests:    Requests{Total: ok + lim + nf, RateLimited: lim, Status: map[string]uint64{"200": ok, "429": lim, "404": nf}},
		Hits:        hits,
		Limits:      Limits{MaxTotal: 60, MaxPerClient: 12, ClientKey: "ip", Rate: 5, WindowS: 1},
		Counter:     counter,
	}
}

func (f *fakeServer) windows(n int) RateWindows {
	return RateWindows{Limit: 5, WindowS: 1, Active: 3, Clients: []RateClient{
		{Client: "127.0.0.2", Admitted: 5, RetryAfterS: 1, WaitMS: 400}, {Client: "127.0.0.3", Admitted: 2},
	}[:min(n, 2)]}
}

func newFake() *fakeServer { return &fakeServer{hits: map[string]uint64{}, counter: "locked"} }

// startLive runs a live Admin over f behind a real HTTP server until the test ends.
func startLive(t *testing.T, f *fakeServer, o Options) (*Admin, *httptest.Server, context.CancelFunc) {
	t.Helper()
	o.Stats, o.RateWindows = f.Stats, f.windows
	if o.Interval == 0 {
		o.Interval = 20 * time.Millisecond
	}
	a := New(o)
	a.step = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	ts := httptest.NewServer(a)
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
		ts.Close()
	})
	waitFor(t, "Run to start", a.isRunning)
	return a, ts, cancel
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stream is one open GET /live.
type stream struct {
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
}

func openStream(t *testing.T, url string) (*stream, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/live", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		cancel()
		resp.Body.Close()
		return nil, resp
	}
	s := &stream{resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(s.close)
	return s, resp
}

func (s *stream) close() { s.cancel(); s.resp.Body.Close() }

// next reads the next event's frame.
func (s *stream) next(t *testing.T) Frame {
	t.Helper()
	var data string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		if line == "" && data != "" {
			break
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			data = d
		}
	}
	var f Frame
	if err := json.Unmarshal([]byte(data), &f); err != nil {
		t.Fatalf("frame is not JSON: %v\n%s", err, data)
	}
	return f
}

func TestLiveOffWithoutRun(t *testing.T) {
	ts := httptest.NewServer(Handler(sample))
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/live")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("/live without Run: %s", resp.Status)
	}
	_, body := get(t, Handler(sample), "/")
	if strings.Contains(body, "<script") || !strings.Contains(body, "live updates are off") {
		t.Errorf("page without Run must be static and say so:\n%s", body)
	}
}

// The stream's frames carry what Stats says, and the series add up to what
// happened since Run began.
func TestLiveFramesFollowStats(t *testing.T) {
	f := newFake()
	_, ts, _ := startLive(t, f, Options{})
	s, resp := openStream(t, ts.URL)
	if s == nil {
		t.Fatalf("/live: %s", resp.Status)
	}
	if ct := s.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	first := s.next(t)
	if first.Watchers != 1 || first.Stats.Connections.Accepted != 0 || first.Limiter == nil || first.Limiter.Clients[0].Admitted != 5 {
		t.Fatalf("first frame %+v", first)
	}
	for _, sec := range sectionNames {
		if first.HTML[sec] == "" {
			t.Errorf("first frame has no %s section", sec)
		}
	}
	f.accepted.Add(30)
	f.rejClient.Add(4)
	f.ok.Add(20)
	f.limited.Add(7)
	f.notFound.Add(3)
	f.active.Store(9)
	var last Frame
	waitFor(t, "a frame with the new counters, whose series add up to them", func() bool {
		last = s.next(t)
		var sum Second
		for _, x := range last.Series {
			sum.Admitted += x.Admitted
			sum.RefusedClient += x.RefusedClient
			sum.S200 += x.S200
			sum.S429 += x.S429
			sum.S4xx += x.S4xx
		}
		return last.Stats.Connections.Accepted == 30 && sum == Second{Admitted: 30, RefusedClient: 4, S200: 20, S429: 7, S4xx: 3}
	})
	if last.Seq <= first.Seq || last.Stats.Connections.Active != 9 || last.Stats.Requests.Status["429"] != 7 {
		t.Errorf("frame %+v", last)
	}
	if !strings.Contains(last.HTML["conns"], `data-v="active">9<`) || !strings.Contains(last.HTML["chart"], `data-status="429">7<`) {
		t.Errorf("sections do not show the numbers:\n%s\n%s", last.HTML["conns"], last.HTML["chart"])
	}
}

func TestSeriesKeepsTheLastMinute(t *testing.T) {
	f := newFake()
	a := New(Options{Stats: f.Stats})
	start := time.Unix(1_000_000, 0)
	for i := range SeriesLen + 15 {
		f.ok.Add(uint64(i))
		a.sample(start.Add(time.Duration(i) * time.Second))
	}
	s := a.seriesCopy()
	if len(s) != SeriesLen {
		t.Fatalf("%d seconds kept", len(s))
	}
	for i, x := range s {
		if want := 15 + i; x.S200 != uint64(want) || x.T != start.Unix()+int64(want) {
			t.Fatalf("second %d: %+v, want %d 200s at %d", i, x, want, start.Unix()+int64(want))
		}
	}
}

func TestLiveStreamsAreBounded(t *testing.T) {
	f := newFake()
	a, ts, _ := startLive(t, f, Options{MaxStreams: 2})
	s1, _ := openStream(t, ts.URL)
	s2, _ := openStream(t, ts.URL)
	if s1 == nil || s2 == nil {
		t.Fatal("the first two streams were refused")
	}
	s1.next(t)
	s2.next(t)
	if s3, resp := openStream(t, ts.URL); s3 != nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third stream past MaxStreams 2: %v %v", resp.Status, resp.Header)
	}
	s1.close()
	waitFor(t, "the closed stream to leave", func() bool { return a.Watchers() == 1 })
	s4, resp := openStream(t, ts.URL)
	if s4 == nil {
		t.Fatalf("a stream after one closed: %s", resp.Status)
	}
	// Its first frame may be the one built for the others a moment ago; the next ones count it.
	waitFor(t, "a frame counting two watchers", func() bool { return s4.next(t).Watchers == 2 })
}

// Browsers that go away leave nothing behind, and stopping Run ends the
// streams still open.
func TestLiveNoLeaks(t *testing.T) {
	f := newFake()
	base := runtime.NumGoroutine()
	a, ts, stop := startLive(t, f, Options{})
	var ss []*stream
	for range 6 {
		s, resp := openStream(t, ts.URL)
		if s == nil {
			t.Fatal(resp.Status)
		}
		s.next(t)
		ss = append(ss, s)
	}
	for _, s := range ss[:4] {
		s.close()
	}
	waitFor(t, "4 of 6 streams to go", func() bool { return a.Watchers() == 2 })
	stop()
	for _, s := range ss[4:] {
		if _, err := io.Copy(io.Discard, s.r); err != nil {
			t.Errorf("stream after Run stopped: %v", err)
		}
	}
	waitFor(t, "no watcher after Run stopped", func() bool { return a.Watchers() == 0 })
	ts.CloseClientConnections()
	http.DefaultClient.CloseIdleConnections()
	waitFor(t, "goroutines back to where they were", func() bool { return runtime.NumGoroutine() <= base+3 })
}

// A stream that does not take its frames never holds up the others: the
// newest frame replaces the one waiting.
func TestBroadcastNeverBlocks(t *testing.T) {
	a := New(Options{Stats: newFake().Stats})
	stuck := make(chan []byte, 1)
	a.subs[stuck] = struct{}{}
	done := make(chan struct{})
	go func() {
		for i := range 100 {
			a.broadcast([]byte{byte(i)})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("broadcast blocked on a stream that does not read")
	}
	if got := <-stuck; got[0] != 99 {
		t.Errorf("waiting frame %d, want the newest, 99", got[0])
	}
}

func TestPage(t *testing.T) {
	f := newFake()
	f.mu.Lock()
	f.hits["/index.html"] = 40
	f.hits["/<script>alert(1)</script>"] = 2
	f.counter = "naive"
	f.mu.Unlock()
	f.ok.Add(100)
	f.active.Store(12)
	_, ts, _ := startLive(t, f, Options{})
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	for _, want := range []string{
		`data-v="active">12<`, `data-v="s200">100<`, `data-v="hits_sum">42<`,
		`class="lost" data-v="lost">58<`, // naive: 100 200s, 42 hits
		`data-client="127.0.0.2"`, `data-admitted="5"`, `data-retry="1"`, `data-v="idle">0<`, `data-v="shed_pending">0<`,
		`&lt;script&gt;alert(1)&lt;/script&gt;`,
		`<noscript><meta http-equiv="refresh" content="5"></noscript>`,
		`new EventSource("live")`, `<svg`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// Self-contained: nothing loads from elsewhere.
	for _, bad := range []string{"<script src", "<link", "@import", "url(", "http://", "https://"} {
		if strings.Contains(body, bad) {
			t.Errorf("page refers outside itself: %q", bad)
		}
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("a path was not escaped")
	}
}

func TestRoundUp(t *testing.T) {
	for in, want := range map[uint64]uint64{0: 5, 5: 5, 6: 10, 10: 10, 11: 20, 21: 50, 51: 100, 101: 200, 4001: 5000} {
		if got := roundUp(in); got != want {
			t.Errorf("roundUp(%d) = %d, want %d", in, got, want)
		}
	}
}
