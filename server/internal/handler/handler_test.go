package handler_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/handler"
	"httplab/httplab-server/internal/hits"
	"httplab/httplab-server/internal/ratelimit"
	"httplab/httplab-server/internal/static"
	"httplab/httplab-server/internal/tally"
)

// The handler's own tests: one connection at a time over net.Pipe, so a
// broken status, header or limit fails here, in this package, in seconds.
// The server-level and reliability suites drive the same rules through
// real sockets.

var key = clientid.Of(clientid.ByIP, netip.MustParseAddrPort("192.0.2.1:40000"))

// testSite is the served tree. Its files are dated an hour ago, so a
// conditional GET can ask for newer and older copies.
func testSite(t *testing.T) (*static.Site, time.Time) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"index.html":       "<h1>home</h1>",
		"a.html":           "<p>a</p>",
		"style.css":        "body{}",
		"books/index.html": "<h1>books</h1>",
		"big.bin":          strings.Repeat("0123456789abcdef", 4096), // 64 KiB: head and body in two writes
		".secret":          "hidden",
	}
	mod := time.Now().Add(-time.Hour).Truncate(time.Second)
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	site, err := static.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { site.Close() })
	return site, mod
}

// logBuf collects log lines written from the handler's goroutine.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// last is the last log line, decoded.
func (l *logBuf) last(t *testing.T) map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(l.b.String()), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("log line %q: %v", lines[len(lines)-1], err)
	}
	return m
}

type fixture struct {
	h     *handler.Handler
	hits  hits.Counter
	tally *tally.Requests
	log   *logBuf
}

func newFixture(t *testing.T, site *static.Site, mutate func(*handler.Options)) *fixture {
	t.Helper()
	counter, err := hits.New(hits.Locked)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{hits: counter, tally: &tally.Requests{}, log: &logBuf{}}
	o := handler.Options{Site: site, Hits: counter, Tally: f.tally,
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		Log: zerolog.New(f.log), RefusalLog: zerolog.New(f.log)}
	if mutate != nil {
		mutate(&o)
	}
	f.h = handler.New(o)
	return f
}

// exchange sends raw over a pipe to the handler, reads everything it
// answers until it closes, and parses that as one response to method.
func (f *fixture) exchange(t *testing.T, method, raw string) (*http.Response, []byte) {
	t.Helper()
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.h.Serve(server, key, nil)
	}()
	go func() {
		_, _ = io.WriteString(client, raw)
	}()
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(client)
	client.Close()
	<-done
	if err != nil {
		t.Fatalf("%q: read %q, then %v", raw, got, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(got)), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%q: unparseable answer %q: %v", raw, got, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%q: body: %v", raw, err)
	}
	if !strings.HasPrefix(string(got), "HTTP/1.0 ") {
		t.Errorf("%q: status line %q", raw, got[:min(len(got), 20)])
	}
	for _, h := range []string{"Date", "Server", "Content-Type", "Content-Length"} {
		if len(resp.Header.Values(h)) != 1 {
			t.Errorf("%q: %s header %q, want exactly one", raw, h, resp.Header.Values(h))
		}
	}
	if resp.Header.Get("Connection") != "close" {
		t.Errorf("%q: Connection %q", raw, resp.Header.Get("Connection"))
	}
	return resp, body
}

func TestStatusesAndHeaders(t *testing.T) {
	site, mod := testSite(t)
	lastMod := mod.UTC().Format(http.TimeFormat)
	older := mod.Add(-time.Minute).UTC().Format(http.TimeFormat)
	cases := []struct {
		name, method, raw string
		status            int
		header            map[string]string // exact values expected
		body              string            // exact body expected, if not empty
		hitPath           string            // the hit counted, if any
	}{
		{"file", "GET", "GET /a.html HTTP/1.0\r\n\r\n", 200,
			map[string]string{"Content-Type": "text/html; charset=utf-8", "Content-Length": "8", "Last-Modified": lastMod}, "<p>a</p>", "/a.html"},
		{"css", "GET", "GET /style.css HTTP/1.0\r\n\r\n", 200, map[string]string{"Content-Type": "text/css; charset=utf-8"}, "body{}", "/style.css"},
		{"large file", "GET", "GET /big.bin HTTP/1.0\r\n\r\n", 200, map[string]string{"Content-Length": "65536"}, strings.Repeat("0123456789abcdef", 4096), "/big.bin"},
		{"head", "HEAD", "HEAD /a.html HTTP/1.0\r\n\r\n", 200, map[string]string{"Content-Length": "8"}, "", "/a.html"},
		{"folder index", "GET", "GET /books/ HTTP/1.0\r\n\r\n", 200, nil, "<h1>books</h1>", "/books/"},
		{"http/1.1 with Host", "GET", "GET /a.html HTTP/1.1\r\nHost: x\r\n\r\n", 200, nil, "<p>a</p>", "/a.html"},
		{"http/1.1 without Host", "GET", "GET /a.html HTTP/1.1\r\n\r\n", 400, nil, "", ""},
		{"folder without slash", "GET", "GET /books HTTP/1.0\r\n\r\n", 301, map[string]string{"Location": "/books/"}, "", ""},
		{"redirect keeps the query", "GET", "GET /books?page=2&x=%20 HTTP/1.0\r\n\r\n", 301, map[string]string{"Location": "/books/?page=2&x=%20"}, "", ""},
		{"missing", "GET", "GET /nope.html HTTP/1.0\r\n\r\n", 404, nil, "", ""},
		{"hidden", "GET", "GET /.secret HTTP/1.0\r\n\r\n", 404, nil, "", ""},
		{"traversal", "GET", "GET /%2e%2e/etc/passwd HTTP/1.0\r\n\r\n", 404, nil, "", ""},
		{"head of missing has no body", "HEAD", "HEAD /nope.html HTTP/1.0\r\n\r\n", 404, nil, "", ""},
		{"post", "GET", "POST /a.html HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", 405, map[string]string{"Allow": "GET, HEAD"}, "", ""},
		{"delete", "GET", "DELETE /a.html HTTP/1.0\r\n\r\n", 405, map[string]string{"Allow": "GET, HEAD"}, "", ""},
		{"garbage", "GET", "\x16\x03\x01\x02\x00\r\n\r\n", 400, nil, "", ""},
		{"http/2 preface", "GET", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, nil, "", ""},
		{"head over 16 KiB", "GET", "GET / HTTP/1.0\r\nX: " + strings.Repeat("a", handler.MaxHeadBytes) + "\r\n\r\n", 400, nil, "", ""},
		{"head just under 16 KiB", "GET", "GET /a.html HTTP/1.0\r\nX: " + strings.Repeat("a", handler.MaxHeadBytes-40) + "\r\n\r\n", 200, nil, "<p>a</p>", "/a.html"},
		{"not modified since", "GET", "GET /a.html HTTP/1.0\r\nIf-Modified-Since: " + lastMod + "\r\n\r\n", 304,
			map[string]string{"Last-Modified": lastMod, "Content-Length": "8"}, "", ""},
		{"HEAD not modified", "HEAD", "HEAD /a.html HTTP/1.0\r\nIf-Modified-Since: " + lastMod + "\r\n\r\n", 304, nil, "", ""},
		{"modified since", "GET", "GET /a.html HTTP/1.0\r\nIf-Modified-Since: " + older + "\r\n\r\n", 200, nil, "<p>a</p>", "/a.html"},
		{"If-Modified-Since unparseable", "GET", "GET /a.html HTTP/1.0\r\nIf-Modified-Since: yesterday\r\n\r\n", 200, nil, "<p>a</p>", "/a.html"},
		{"If-Modified-Since in the future", "GET", "GET /a.html HTTP/1.0\r\nIf-Modified-Since: " +
			time.Now().Add(48*time.Hour).UTC().Format(http.TimeFormat) + "\r\n\r\n", 200, nil, "<p>a</p>", "/a.html"},
		{"If-Modified-Since on a listing-free folder index", "GET", "GET /books/ HTTP/1.0\r\nIf-Modified-Since: " + lastMod + "\r\n\r\n", 304, nil, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, site, nil)
			resp, body := f.exchange(t, tc.method, tc.raw)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tc.status, body)
			}
			for k, v := range tc.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tc.body != "" && string(body) != tc.body {
				t.Errorf("body %q, want %q", clip(body), clip([]byte(tc.body)))
			}
			if tc.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD answered with %d body bytes", len(body))
			}
			if st := f.tally.Snapshot(); st.Total != 1 || st.Status[strconv.Itoa(tc.status)] != 1 {
				t.Errorf("tally %+v, want one %d", st, tc.status)
			}
			wantHits := map[string]uint64{}
			if tc.hitPath != "" {
				wantHits[tc.hitPath] = 1
			}
			if got := f.hits.Snapshot(); !equalHits(got, wantHits) {
				t.Errorf("hits %v, want %v", got, wantHits)
			}
			// The access log counts the body bytes actually sent, for every
			// response (none for HEAD and 304).
			line := f.log.last(t)
			if line["status"] != float64(tc.status) || line["bytes"] != float64(len(body)) {
				t.Errorf("log line %v, want status %d and %d bytes", line, tc.status, len(body))
			}
		})
	}
}

// A cached file answers conditional GETs the same way.
func TestNotModifiedFromTheCache(t *testing.T) {
	site, mod := testSite(t)
	f := newFixture(t, site, nil)
	for range 3 { // the first fills the cache, the rest are served from it
		if resp, _ := f.exchange(t, "GET", "GET /a.html HTTP/1.0\r\n\r\n"); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	since := mod.UTC().Format(http.TimeFormat)
	resp, body := f.exchange(t, "GET", "GET /a.html HTTP/1.0\r\nIf-Modified-Since: "+since+"\r\n\r\n")
	if resp.StatusCode != 304 || len(body) != 0 || resp.Header.Get("Last-Modified") != since {
		t.Fatalf("cached: %d %q Last-Modified %q", resp.StatusCode, body, resp.Header.Get("Last-Modified"))
	}
	if got := f.hits.Get("/a.html"); got != 3 {
		t.Errorf("hits %d: a 304 is not a hit", got)
	}
}

// The rate limit: refused requests get a 429 whose Retry-After is the
// whole seconds until a request would be admitted, rounded up, and are not
// charged; the window slides.
func TestRateLimit(t *testing.T) {
	site, _ := testSite(t)
	base := time.Now()
	var mu sync.Mutex
	now := base
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	lim, err := ratelimit.New(ratelimit.Options{Limit: 2, Window: 2500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, site, func(o *handler.Options) { o.Limiter = lim; o.Now = clock })
	get := func() *http.Response {
		resp, _ := f.exchange(t, "GET", "GET /a.html HTTP/1.0\r\n\r\n")
		return resp
	}
	if r := get(); r.StatusCode != 200 {
		t.Fatalf("first: %d", r.StatusCode)
	}
	advance(100 * time.Millisecond)
	if r := get(); r.StatusCode != 200 {
		t.Fatalf("second: %d", r.StatusCode)
	}
	advance(100 * time.Millisecond)
	// The first admission leaves the window 2.5 s after it: 2.3 s from now.
	r := get()
	if r.StatusCode != 429 || r.Header.Get("Retry-After") != "3" {
		t.Fatalf("third: %d Retry-After %q, want 429 and 3", r.StatusCode, r.Header.Get("Retry-After"))
	}
	advance(1500 * time.Millisecond) // 0.8 s to go: still refused, Retry-After at least 1
	if r := get(); r.StatusCode != 429 || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("fourth: %d Retry-After %q, want 429 and 1", r.StatusCode, r.Header.Get("Retry-After"))
	}
	advance(800 * time.Millisecond) // exactly when the first leaves the window
	if r := get(); r.StatusCode != 200 {
		t.Fatalf("once the first left the window: %d (refused requests must not be charged)", r.StatusCode)
	}
	if st := f.tally.Snapshot(); st.RateLimited != 2 || st.Status["429"] != 2 {
		t.Errorf("tally %+v", st)
	}
}

// The read deadline: a head that does not arrive in time gets a 408, and
// the handler returns instead of waiting for ever. Cut off inside a header
// line, the head reaches net/http as a malformed line ("X-Slo", no colon),
// and is still a 408: the connection's deadline error says so.
func TestReadDeadline(t *testing.T) {
	site, _ := testSite(t)
	f := newFixture(t, site, func(o *handler.Options) { o.ReadTimeout = 200 * time.Millisecond })
	for _, head := range []string{"GET /a.html HTTP/1.0\r\n", "GET /a.html HTTP/1.0\r\nX-Slo"} {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			f.h.Serve(server, key, nil)
		}()
		if _, err := io.WriteString(client, head); err != nil {
			t.Fatal(err)
		}
		_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, _ := io.ReadAll(client)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after its read deadline")
		}
		if !strings.HasPrefix(string(got), "HTTP/1.0 408 ") {
			t.Fatalf("%q: got %q, want a 408", head, clip(got))
		}
	}
}

// A malformed head that arrived whole is the client's fault, a 400, even
// when the server got to it only after the read deadline had passed (a
// loaded machine): the 408 is for heads the deadline cut off.
func TestMalformedHeadParsedLate(t *testing.T) {
	site, _ := testSite(t)
	var calls atomic.Int32
	late := func() time.Time {
		if calls.Add(1) == 1 {
			return time.Now()
		}
		return time.Now().Add(time.Hour)
	}
	f := newFixture(t, site, func(o *handler.Options) { o.ReadTimeout = 10 * time.Second; o.Now = late })
	resp, _ := f.exchange(t, http.MethodGet, "GET /a.html HTTP/1.0\r\nContent-Length: 99999999999999999999\r\n\r\n")
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
}

// A client that connects and leaves without a byte gets nothing, and is
// neither counted nor logged as a request.
func TestSilentClose(t *testing.T) {
	site, _ := testSite(t)
	f := newFixture(t, site, nil)
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.h.Serve(server, key, nil)
	}()
	client.Close()
	<-done
	if st := f.tally.Snapshot(); st.Total != 0 {
		t.Errorf("tally %+v after a silent close", st)
	}
}

// The simulated delay holds the response back, and Stop cuts it short.
func TestDelayAndStop(t *testing.T) {
	site, _ := testSite(t)
	stop := make(chan struct{})
	f := newFixture(t, site, func(o *handler.Options) { o.Delay = time.Hour; o.Stop = stop })
	time.AfterFunc(100*time.Millisecond, func() { close(stop) })
	begin := time.Now()
	resp, _ := f.exchange(t, "GET", "GET /a.html HTTP/1.0\r\n\r\n")
	if resp.StatusCode != 200 || time.Since(begin) > 30*time.Second {
		t.Fatalf("status %d after %v", resp.StatusCode, time.Since(begin))
	}

	f = newFixture(t, site, func(o *handler.Options) { o.Delay = 300 * time.Millisecond })
	begin = time.Now()
	f.exchange(t, "GET", "GET /a.html HTTP/1.0\r\n\r\n")
	if d := time.Since(begin); d < 300*time.Millisecond {
		t.Fatalf("answered after %v, before the 300 ms delay", d)
	}
}

func equalHits(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func clip(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}

// slotLog is a Slot that records what the handler reports.
type slotLog struct {
	mu       sync.Mutex
	heads    int
	stalls   []bool
	shedHead bool // HeadDone answers that the connection was shed
	shedNow  bool // the next Stalled(true) finds the connection shed
	shed     bool
}

func (l *slotLog) HeadDone() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.heads++
	if l.shedHead {
		l.shed = true
	}
	return !l.shedHead
}

func (l *slotLog) Stalled(stalled bool, _ time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stalls = append(l.stalls, stalled)
	if stalled && l.shedNow {
		l.shed = true
	}
	return !l.shed
}

func (l *slotLog) Shed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.shed
}

// serveWith serves one connection over a pipe with slot, sending raw; the
// caller reads from the returned client end.
func serveWith(f *fixture, slot handler.Slot, raw string) (client net.Conn, done chan struct{}) {
	client, server := net.Pipe()
	done = make(chan struct{})
	go func() {
		defer close(done)
		f.h.Serve(server, key, slot)
	}()
	go func() { _, _ = io.WriteString(client, raw) }()
	return client, done
}

// The head reported once complete; a connection shed while its head
// arrived is answered 408 and served nothing.
func TestSlotHead(t *testing.T) {
	site, _ := testSite(t)
	f := newFixture(t, site, nil)
	var l slotLog
	client, done := serveWith(f, &l, "GET /a.html HTTP/1.0\r\n\r\n")
	got, _ := io.ReadAll(client)
	<-done
	if !strings.HasPrefix(string(got), "HTTP/1.0 200 ") || l.heads != 1 {
		t.Fatalf("got %q, HeadDone called %d times", clip(got), l.heads)
	}

	shed := slotLog{shedHead: true}
	client, done = serveWith(f, &shed, "GET /a.html HTTP/1.0\r\n\r\n")
	got, _ = io.ReadAll(client)
	<-done
	if !strings.HasPrefix(string(got), "HTTP/1.0 408 ") || f.hits.Get("/a.html") != 1 {
		t.Fatalf("shed during its head: got %q, hits %d", clip(got), f.hits.Get("/a.html"))
	}
}

// tcpServe serves one connection over loopback TCP, from a client whose
// receive buffer is small, so that a reader that stops reading stalls the
// response within a few KiB; raw is sent at once.
func tcpServe(t *testing.T, f *fixture, slot handler.Slot, raw string) (client *net.TCPConn, done chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = setRcvbuf(fd, 4096) })
	}}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	done = make(chan struct{})
	go func() {
		defer close(done)
		f.h.Serve(server, key, slot)
	}()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	return c.(*net.TCPConn), done
}

// largeSite serves one 4 MiB file, far more than loopback's socket buffers
// hold for a small receive window.
func largeSite(t *testing.T) *static.Site {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "large.bin"), bytes.Repeat([]byte("0123456789abcdef"), 1<<18), 0o644); err != nil {
		t.Fatal(err)
	}
	site, err := static.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { site.Close() })
	return site
}

// A reader that takes nothing for longer than the stall timeout is
// reported stalled, then moving once it reads; the response arrives whole.
func TestSlotStalledThenMoving(t *testing.T) {
	f := newFixture(t, largeSite(t), func(o *handler.Options) { o.StallTimeout = 100 * time.Millisecond })
	var l slotLog
	client, done := tcpServe(t, f, &l, "GET /large.bin HTTP/1.0\r\n\r\n")
	time.Sleep(600 * time.Millisecond) // read nothing
	_ = client.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(client), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	<-done
	if err != nil || n != 4<<20 {
		t.Fatalf("body %d bytes, %v; want 4 MiB", n, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.stalls) < 2 || !l.stalls[0] || l.stalls[len(l.stalls)-1] {
		t.Fatalf("stall reports %v; want stalled first, moving last", l.stalls)
	}
}

// A stalled connection that was shed stops sending at once.
func TestSlotShedWhileStalled(t *testing.T) {
	f := newFixture(t, largeSite(t), func(o *handler.Options) {
		o.StallTimeout = 100 * time.Millisecond
		o.WriteTimeout = time.Minute
	})
	l := slotLog{shedNow: true}
	begin := time.Now()
	client, done := tcpServe(t, f, &l, "GET /large.bin HTTP/1.0\r\n\r\n")
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the handler kept waiting on a shed connection")
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("stopped %v after the start, with a 100 ms stall timeout", d)
	}
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.Copy(io.Discard, client)
	if got >= 4<<20 {
		t.Fatalf("a shed connection got the whole response (%d bytes)", got)
	}
}

// A head over 16 KiB is answered as too large, not as malformed, and not
// dropped as a client that left: with line ends in it or none at all
// (then the exhausted limit reads like the end of the stream).
func TestHeadOverTheLimitIsNamed(t *testing.T) {
	site, _ := testSite(t)
	for name, raw := range map[string]string{
		"long header":  "GET / HTTP/1.0\r\nX: " + strings.Repeat("a", handler.MaxHeadBytes) + "\r\n\r\n",
		"no line end":  "GET /" + strings.Repeat("a", handler.MaxHeadBytes+10),
		"many headers": "GET / HTTP/1.0\r\n" + strings.Repeat("X-Y: z\r\n", handler.MaxHeadBytes/8+1) + "\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, site, nil)
			resp, body := f.exchange(t, "GET", raw)
			if resp.StatusCode != 400 || !strings.Contains(string(body), "larger than 16 KiB") {
				t.Errorf("status %d, body %q; want 400 naming the 16 KiB limit", resp.StatusCode, clip(body))
			}
		})
	}
}
