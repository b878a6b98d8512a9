//go:build linux

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
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"httplab/httplab-server/internal/admin"
	"httplab/httplab-server/internal/admit"
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
	buildOnce.Do(func() { binPath, buildErr = servertest.BuildServer(tmpDir) })
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

// testOptions are the options the in-process tests start from: the
// harness's, with both caps off and a 1 s read timeout unless a test sets
// them.
func testOptions(root string) server.Options {
	o := servertest.Options(root)
	o.MaxTotal, o.MaxPerClient = 0, 0
	o.ReadTimeout = time.Second
	return o
}

// inproc is a server running in the test process on 127.0.0.1.
type inproc struct {
	*server.Server
	addr string
	root string
}

// startServer runs a server over a fresh fixture with the test options
// changed by mutate, and stops it when the test ends. decided, if not nil,
// sees every admission decision (servertest.StartWatched).
func startServer(t testing.TB, mutate func(*server.Options), decided func(server.ConnState, admit.Snapshot)) *inproc {
	t.Helper()
	root := fixture(t)
	o := testOptions(root)
	if mutate != nil {
		mutate(&o)
	}
	r := servertest.StartWatched(t, o, decided)
	return &inproc{Server: r.Server, addr: r.Addr, root: root}
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

// reply is one parsed response (servertest.Reply).
type reply = servertest.Reply

func parseReply(raw []byte, method string) (reply, error) { return servertest.ParseReply(raw, method) }

func contractProblems(rp reply, method string) []string {
	return servertest.ContractProblems(rp, method)
}

// leaks reports the secret a response contains, if any.
func leaks(raw []byte) string {
	if i := bytes.Index(raw, []byte(secretMark)); i >= 0 {
		return string(raw[i:min(len(raw), i+32)])
	}
	return ""
}

func clip(b []byte) string { return servertest.Clip(b) }

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	servertest.Eventually(t, what, cond)
}

// fdCount counts the open descriptors of process pid ("self" for this one),
// except those the file cache holds by design: on Linux a cached file of
// 32-256 KiB keeps one descriptor open for sendfile. One descriptor per such
// file is left out, so a second descriptor on the same file (a leak per
// request) still counts.
func fdCount(t testing.TB, pid string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := len(ents)
	held := map[string]bool{}
	for _, e := range ents {
		dest, err := os.Readlink("/proc/" + pid + "/fd/" + e.Name())
		if err != nil || held[dest] {
			continue
		}
		if fi, err := os.Stat(dest); err == nil && fi.Mode().IsRegular() && fi.Size() > 32<<10 && fi.Size() <= 256<<10 {
			held[dest] = true
			n--
		}
	}
	return n
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
