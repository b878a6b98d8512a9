package reliability

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/admin"
	"httplab/httplab-server/internal/config"
	"httplab/httplab-server/internal/server"
	"httplab/httplab-server/internal/servertest"
)

// secretMark begins every secret planted around the served root. No
// response may ever contain it; no served file or file name does.
const secretMark = "S3CRET-"

var secrets = []string{
	secretMark + "OUTSIDE-5b1e9d", // a file beside the root, reachable only by escaping it
	secretMark + "DOTFILE-a7c4f2", // root/.env
	secretMark + "DOTDIR-e02b77",  // root/.private/key.txt
	secretMark + "GITDIR-19fa3c",  // root/docs/.git/config
}

// bigSize is the size of big.bin: larger than any socket buffer, so a client
// that stops reading holds the server mid-response.
const bigSize = 8 << 20

// midSize is the size of mid.bin: above the handler's 32 KiB one-write
// limit, so head and body go out separately (sendfile, or one writev once
// the file cache holds it), and cheap enough to fetch often.
const midSize = 256 << 10

var tmpDir string // removed after the tests; holds the built binary

func TestMain(m *testing.M) {
	var err error
	if tmpDir, err = os.MkdirTemp("", "reliability-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmpDir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// serverBinary builds the server once per test run, on first use, so that
// fuzz workers and runs of unrelated tests do not pay for it.
func serverBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(tmpDir, "server")
		cmd := exec.Command("go", "build", "-o", binPath, "httplab/httplab-server")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build httplab/httplab-server: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// fixture writes the served tree and, beside it, the secrets a hostile
// request would try to reach: a file outside the root, dotfiles and dot
// folders inside it, and symlinks pointing at all of them. It returns the
// root.
func fixture(t testing.TB) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	files := map[string]string{
		"outside/secret.txt":        secrets[0],
		"root/.env":                 secrets[1],
		"root/.private/key.txt":     secrets[2],
		"root/docs/.git/config":     secrets[3],
		"root/index.html":           "<h1>home</h1>",
		"root/a.html":               "<p>a</p>",
		"root/style.css":            "body{}",
		"root/books/index.html":     "<h1>books</h1>",
		"root/docs/read me.txt":     "spaces",
		"root/docs/notes/note.txt":  "note",
		"root/%2e%2e":               "a file literally named %2e%2e",
		"root/docs/unicode-é.txt":   "accent",
		"root/docs/percent%20.html": "literal percent",
	}
	for name, body := range files {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, size := range map[string]int{"big.bin": bigSize, "mid.bin": midSize} {
		if err := os.WriteFile(filepath.Join(root, name), bytes.Repeat([]byte(bigPattern), size/len(bigPattern)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"escape":          "../outside/secret.txt",
		"escape-abs":      filepath.Join(base, "outside", "secret.txt"),
		"outdir":          "../outside",
		"outdir-abs":      filepath.Join(base, "outside"),
		"docs/up":         "../../outside/secret.txt",
		"hidden-link":     ".private/key.txt",
		"hidden-dir-link": ".private",
		"env-link":        ".env",
		"git-link":        "docs/.git",
		"loop":            "loop",
		"books-link":      "books", // a legitimate link inside the root
	}
	for name, dest := range links {
		if err := os.Symlink(dest, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// testConfig is the server configuration the in-process tests start from:
// caps and rate limit off unless a test sets them, short read timeout.
func testConfig(root string) config.Config {
	return config.Config{Root: root, MaxPerClient: 0, MaxTotal: 0, ClientKey: "ip", RateLimit: 0,
		RateWindow: time.Second, Mode: "concurrent", Counter: "locked", ReadTimeout: time.Second,
		WriteTimeout: 5 * time.Second, ShutdownGrace: 5 * time.Second, LogLevel: "info", LogFormat: "json"}
}

// inproc is a server running in the test process on 127.0.0.1.
type inproc struct {
	*server.Server
	addr string
	root string
}

// startServer runs a server over a fresh fixture with the test configuration
// changed by mutate, and stops it when the test ends. before runs after New
// and before Serve, to set test hooks without racing the accept loop.
func startServer(t testing.TB, mutate func(*config.Config), before func(*server.Server)) *inproc {
	t.Helper()
	return startServerLog(t, zerolog.Nop(), mutate, before)
}

// startServerLog is startServer with the server logging to log.
func startServerLog(t testing.TB, log zerolog.Logger, mutate func(*config.Config), before func(*server.Server)) *inproc {
	t.Helper()
	root := fixture(t)
	cfg := testConfig(root)
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := server.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(s)
	}
	served := servertest.Run(t, s.Serve, func() { s.Close() }, 20*time.Second)
	return &inproc{Server: s, addr: served.Addr, root: root}
}

// statsURL serves the server's admin handler on loopback, as the binary
// does, and returns its /stats URL.
func (r *inproc) statsURL(t testing.TB) string {
	t.Helper()
	ts := httptest.NewServer(admin.Handler(r.Stats))
	t.Cleanup(ts.Close)
	return ts.URL + "/stats"
}

// adminClient is for the admin listeners. Without keep-alives it leaves no
// idle connection behind, which would hold a goroutine and a descriptor in
// the server and blur the baselines the tests compare against.
var adminClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// fetchStats reads a /stats document over HTTP.
func fetchStats(t testing.TB, url string) admin.Stats {
	t.Helper()
	resp, err := adminClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var s admin.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
	return s
}

// dialFrom connects to addr from 127.0.0.<from> (servertest.DialFrom).
func dialFrom(addr string, from byte) (*net.TCPConn, error) { return servertest.DialFrom(addr, from) }

func mustDial(t testing.TB, addr string, from byte) *net.TCPConn {
	t.Helper()
	c, err := dialFrom(addr, from)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readAll reads until EOF, an error or the deadline, and says which.
func readAll(c net.Conn, deadline time.Time) (got []byte, err error) {
	_ = c.SetReadDeadline(deadline)
	var buf bytes.Buffer
	_, err = io.Copy(&buf, c)
	return buf.Bytes(), err
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// reply is one parsed response.
type reply struct {
	status     int
	statusLine string
	header     http.Header
	body       []byte
	rest       []byte // bytes after the response: must be none
}

// parseReply parses raw as one complete response to a request of method
// (HEAD responses have no body), with the body sized by Content-Length.
func parseReply(raw []byte, method string) (reply, error) {
	br := bufio.NewReader(bytes.NewReader(raw))
	line, _, _ := bytes.Cut(raw, []byte("\r\n"))
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return reply{}, fmt.Errorf("unparseable response %q: %v", clip(raw), err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("body of %q: %v", line, err)
	}
	rest, _ := io.ReadAll(br)
	return reply{status: resp.StatusCode, statusLine: string(line), header: resp.Header, body: body, rest: rest}, nil
}

// contractProblems lists how rp breaks the contract every response keeps:
// HTTP/1.0 status line, Date, Server, Content-Type, Content-Length that
// matches the body (HEAD aside), Connection: close, nothing after it.
func contractProblems(rp reply, method string) []string {
	var p []string
	if !strings.HasPrefix(rp.statusLine, "HTTP/1.0 ") {
		p = append(p, fmt.Sprintf("status line %q is not HTTP/1.0", rp.statusLine))
	}
	for _, h := range []string{"Date", "Server", "Content-Type", "Content-Length"} {
		if len(rp.header.Values(h)) != 1 {
			p = append(p, fmt.Sprintf("%s header %q, want exactly one", h, rp.header.Values(h)))
		}
	}
	if rp.header.Get("Connection") != "close" {
		p = append(p, fmt.Sprintf("Connection %q", rp.header.Get("Connection")))
	}
	if cl, err := strconv.Atoi(rp.header.Get("Content-Length")); err != nil {
		p = append(p, fmt.Sprintf("Content-Length %q", rp.header.Get("Content-Length")))
	} else if method != http.MethodHead && cl != len(rp.body) {
		p = append(p, fmt.Sprintf("Content-Length %d but %d body bytes", cl, len(rp.body)))
	}
	if len(rp.rest) > 0 {
		p = append(p, fmt.Sprintf("%d bytes after the response: %q", len(rp.rest), clip(rp.rest)))
	}
	if rp.status >= 500 && rp.status != http.StatusServiceUnavailable {
		p = append(p, fmt.Sprintf("server error %d", rp.status))
	}
	return p
}

// leaks reports the secret a response contains, if any.
func leaks(raw []byte) string {
	if i := bytes.Index(raw, []byte(secretMark)); i >= 0 {
		return string(raw[i:min(len(raw), i+32)])
	}
	return ""
}

func clip(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	servertest.Eventually(t, what, cond)
}

// fdCount counts the open descriptors of process pid ("self" for this one).
func fdCount(t testing.TB, pid string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// get sends a plain GET from 127.0.0.<from> and returns the parsed reply.
func get(t testing.TB, addr string, from byte, target string) reply {
	t.Helper()
	c := mustDial(t, addr, from)
	defer c.Close()
	if _, err := io.WriteString(c, "GET "+target+" HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	raw, err := readAll(c, time.Now().Add(10*time.Second))
	if err != nil {
		t.Fatalf("GET %s: %v after %d bytes", target, err, len(raw))
	}
	rp, err := parseReply(raw, http.MethodGet)
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

// raiseNoFile lifts this process's soft descriptor limit to its hard limit
// (tests that open thousands of sockets) and returns the new soft limit.
func raiseNoFile(t testing.TB) uint64 {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < lim.Max {
		old := lim.Cur
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			lim.Cur = old
			_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		})
	}
	return lim.Cur
}

// bigPattern is big.bin's content, repeated.
const bigPattern = "0123456789abcdef"

// readBig reads a response to GET /big.bin without holding its 8 MiB (a
// race-instrumented test buffering hundreds of megabytes would measure its
// own allocator): the head is parsed, the body checked byte by byte against
// big.bin's pattern as it streams, and the server must close right after.
func readBig(c net.Conn, deadline time.Time) (status int, body int64, err error) {
	_ = c.SetReadDeadline(deadline)
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, 0, err
	}
	pw := &patternWriter{}
	body, err = io.Copy(pw, resp.Body)
	if err != nil {
		return resp.StatusCode, body, err
	}
	if pw.bad >= 0 {
		return resp.StatusCode, body, fmt.Errorf("body differs from big.bin in the chunk at byte %d", pw.bad)
	}
	if resp.ContentLength != body {
		return resp.StatusCode, body, fmt.Errorf("Content-Length %d, body %d", resp.ContentLength, body)
	}
	if n, err := br.Read(make([]byte, 1)); n > 0 || err != io.EOF {
		return resp.StatusCode, body, fmt.Errorf("after the body: %d bytes, %v", n, err)
	}
	return resp.StatusCode, body, nil
}

type patternWriter struct {
	off int64
	bad int64 // offset of the first 64 KiB chunk that differs, -1 for none
}

// patternBlock is bigPattern repeated past 64 KiB, so any chunk of up to
// 64 KiB at any phase of the pattern is one slice of it.
var patternBlock = bytes.Repeat([]byte(bigPattern), (64<<10)/len(bigPattern)+1)

func (w *patternWriter) Write(p []byte) (int, error) {
	if w.off == 0 {
		w.bad = -1
	}
	for rest := p; len(rest) > 0 && w.bad < 0; {
		n := min(len(rest), 64<<10)
		phase := int((w.off + int64(len(p)-len(rest))) % int64(len(bigPattern)))
		if !bytes.Equal(rest[:n], patternBlock[phase:phase+n]) {
			w.bad = w.off + int64(len(p)-len(rest))
		}
		rest = rest[n:]
	}
	w.off += int64(len(p))
	return len(p), nil
}
