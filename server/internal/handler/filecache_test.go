package handler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/hits"
	"httplab/httplab-server/internal/static"
	"httplab/httplab-server/internal/tally"
)

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// testCache returns a cache over dir that caches files however fresh.
func testCache(t *testing.T, dir string) *fileCache {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	c := newFileCache(root)
	c.settle = 0
	c.recheck = 0
	return c
}

// fillFrom caches rel as if Resolve had served it for path.
func fillFrom(t *testing.T, c *fileCache, path, rel string) {
	t.Helper()
	f, err := c.root.Open(rel)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	body, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	c.fill(path, path, "text/html", "Mon, 02 Jan 2006 15:04:05 GMT", body, fi)
}

func mustHit(t *testing.T, c *fileCache, path, body string) {
	t.Helper()
	e := c.lookup(path)
	if e == nil {
		t.Fatalf("%s: not cached", path)
	}
	if string(e.body) != body {
		t.Fatalf("%s: cached %q, want %q", path, e.body, body)
	}
}

func mustMiss(t *testing.T, c *fileCache, path string) {
	t.Helper()
	if e := c.lookup(path); e != nil {
		t.Fatalf("%s: cached (%q), want a miss", path, e.body)
	}
}

func TestFileCacheDropsChangedFiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		path   string
		change func(t *testing.T, dir string)
	}{
		{"content, another size", "/a.html", func(t *testing.T, dir string) { writeFile(t, dir, "a.html", "longer content") }},
		{"modification time", "/a.html", func(t *testing.T, dir string) {
			old := time.Now().Add(-time.Hour)
			if err := os.Chtimes(filepath.Join(dir, "a.html"), old, old); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced by rename, same bytes", "/a.html", func(t *testing.T, dir string) {
			writeFile(t, dir, "new.html", "aaa")
			if err := os.Rename(filepath.Join(dir, "new.html"), filepath.Join(dir, "a.html")); err != nil {
				t.Fatal(err)
			}
		}},
		{"removed", "/a.html", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "a.html")); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced by a symlink", "/a.html", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "a.html")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(".hidden/a.html", filepath.Join(dir, "a.html")); err != nil {
				t.Fatal(err)
			}
		}},
		{"folder swapped for a symlink", "/sub/b.html", func(t *testing.T, dir string) {
			if err := os.Rename(filepath.Join(dir, "sub"), filepath.Join(dir, ".hidden", "sub")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(".hidden/sub", filepath.Join(dir, "sub")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "a.html", "aaa")
			writeFile(t, dir, "sub/b.html", "bbb")
			writeFile(t, dir, ".hidden/a.html", "aaa")
			c := testCache(t, dir)
			rel := tc.path[1:]
			fillFrom(t, c, tc.path, rel)
			want, _ := os.ReadFile(filepath.Join(dir, rel))
			mustHit(t, c, tc.path, string(want))
			tc.change(t, dir)
			mustMiss(t, c, tc.path)
			if n := len(*c.m.Load()); n != 0 || c.bytes != 0 {
				t.Errorf("after the miss: %d entries, %d bytes; want the entry dropped", n, c.bytes)
			}
		})
	}
}

// TestFileCacheRechecksAfterAnInterval: within cacheRecheck of the last
// check a hit trusts it; from then on the next hit checks the tree again,
// and a successful check starts a new interval.
func TestFileCacheRechecksAfterAnInterval(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.html", "aaa")
	writeFile(t, dir, "b.html", "bbb")
	c := testCache(t, dir)
	now := int64(1e12)
	c.clock = func() int64 { return now }
	c.recheck = 10 * time.Second
	fillFrom(t, c, "/a.html", "a.html")
	fillFrom(t, c, "/b.html", "b.html")

	now += int64(c.recheck) // a.html is checked again now, and found unchanged
	mustHit(t, c, "/a.html", "aaa")
	writeFile(t, dir, "a.html", "changed")
	writeFile(t, dir, "b.html", "changed")
	now += int64(c.recheck) - 1
	mustHit(t, c, "/a.html", "aaa") // trusted: checked less than recheck ago
	mustMiss(t, c, "/b.html")       // last checked when filled, 2×recheck-1 ago
	now++
	mustMiss(t, c, "/a.html") // exactly recheck after its check
}

func TestFileCacheKeysOnlyCanonicalPaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.html", "aaa")
	writeFile(t, dir, "sub/b.html", "bbb")
	if err := os.Symlink("a.html", filepath.Join(dir, "link.html")); err != nil {
		t.Fatal(err)
	}
	c := testCache(t, dir)
	for _, p := range []string{"/%61.html", "//a.html", "/./a.html", "/sub/../a.html", "/a.html/", "/sub//b.html", `/sub\b.html`, "/link.html"} {
		fillFrom(t, c, p, "a.html")
		mustMiss(t, c, p)
	}
	// The hit key must be the path itself.
	f, err := c.root.Open("a.html")
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	f.Close()
	c.fill("/a.html", "/other.html", "text/html", "x", []byte("aaa"), fi)
	mustMiss(t, c, "/a.html")
	// A body that is not the whole file is not cached.
	c.fill("/a.html", "/a.html", "text/html", "x", []byte("aa"), fi)
	mustMiss(t, c, "/a.html")

	fillFrom(t, c, "/sub/b.html", "sub/b.html")
	mustHit(t, c, "/sub/b.html", "bbb")
}

func TestFileCacheWaitsForFilesToSettle(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.html", "aaa")
	c := testCache(t, dir)
	c.settle = time.Hour
	fillFrom(t, c, "/a.html", "a.html")
	mustMiss(t, c, "/a.html")
}

func TestFileCacheIsBounded(t *testing.T) {
	dir := t.TempDir()
	for i := range cacheMaxEntries + 10 {
		writeFile(t, dir, fmt.Sprintf("f%d.html", i), "x")
	}
	c := testCache(t, dir)
	for i := range cacheMaxEntries + 10 {
		fillFrom(t, c, fmt.Sprintf("/f%d.html", i), fmt.Sprintf("f%d.html", i))
	}
	if n := len(*c.m.Load()); n != cacheMaxEntries {
		t.Errorf("%d entries, want the cap of %d", n, cacheMaxEntries)
	}
}

// memConn is a connection in memory: the request is read from r, the
// response collected in w.
type memConn struct {
	r bytes.Reader
	w bytes.Buffer
}

func (c *memConn) Read(p []byte) (int, error)          { return c.r.Read(p) }
func (c *memConn) Write(p []byte) (int, error)         { return c.w.Write(p) }
func (c *memConn) Close() error                        { return nil }
func (c *memConn) LocalAddr() net.Addr                 { return &net.TCPAddr{} }
func (c *memConn) RemoteAddr() net.Addr                { return &net.TCPAddr{} }
func (c *memConn) SetDeadline(time.Time) error         { return nil }
func (c *memConn) SetReadDeadline(time.Time) error     { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error    { return nil }
func (c *memConn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(&c.w, r) }

// TestCachedResponsesAreIdentical serves the same files with the cache on
// and off, several times (the first fills the cache, the later ones come
// from it), and after a change, and requires the same bytes every time.
func TestCachedResponsesAreIdentical(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.html", "<p>a</p>")
	writeFile(t, dir, "sub/b.css", "b{}")
	writeFile(t, dir, "big.txt", strings.Repeat("z", smallFile+1))     // cached, sent with writev
	writeFile(t, dir, "huge.txt", strings.Repeat("h", cacheMaxFile+1)) // never cached: sendfile
	site, err := static.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	newHandler := func(noCache bool) (*Handler, hits.Counter) {
		counter, _ := hits.New(hits.Locked)
		h := New(Options{Site: site, Hits: counter, Tally: &tally.Requests{}, ReadTimeout: time.Second,
			WriteTimeout: time.Second, Log: zerolog.Nop(), RefusalLog: zerolog.Nop(), NoFileCache: noCache,
			Now: func() time.Time { return clock }})
		if h.cache != nil {
			h.cache.settle = 0
			h.cache.recheck = 0 // the file changes below must show at once
		}
		return h, counter
	}
	cached, cachedHits := newHandler(false)
	plain, plainHits := newHandler(true)
	key := clientid.Of(clientid.ByIP, netip.MustParseAddrPort("127.0.0.1:1"))
	get := func(h *Handler, req string) string {
		var c memConn
		c.r.Reset([]byte(req))
		h.Serve(&c, key, nil)
		return c.w.String()
	}
	reqs := []string{"GET /a.html HTTP/1.0\r\n\r\n", "HEAD /a.html HTTP/1.0\r\n\r\n",
		"GET /sub/b.css HTTP/1.1\r\nHost: x\r\n\r\n", "GET /big.txt HTTP/1.0\r\n\r\n", "HEAD /big.txt HTTP/1.0\r\n\r\n",
		"GET /huge.txt HTTP/1.0\r\n\r\n", "HEAD /huge.txt HTTP/1.0\r\n\r\n", "GET /%61.html HTTP/1.0\r\n\r\n"}
	check := func() {
		t.Helper()
		for range 3 {
			for _, r := range reqs {
				if got, want := get(cached, r), get(plain, r); got != want {
					t.Fatalf("%q: cached handler answered\n%q\nwant\n%q", r, got, want)
				}
			}
		}
	}
	check()
	if n := len(*cached.cache.m.Load()); n != 3 {
		t.Errorf("%d cache entries, want 3 (/a.html, /sub/b.css, /big.txt)", n)
	}
	writeFile(t, dir, "a.html", "<p>changed</p>")
	writeFile(t, dir, "big.txt", strings.Repeat("y", smallFile+1))
	check()
	if got, want := cachedHits.Snapshot(), plainHits.Snapshot(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("hits with the cache %v, without %v", got, want)
	}
}

// TestFileCacheLimitsAreInclusive: a file of exactly cacheMaxFile bytes,
// and files that fill the cache to exactly its byte and entry bounds, are
// kept; one byte or one entry more is not.
func TestFileCacheLimitsAreInclusive(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "max.bin", strings.Repeat("m", cacheMaxFile))
	writeFile(t, dir, "a.html", "aaa")
	writeFile(t, dir, "b.html", "bbbb")
	writeFile(t, dir, "c.html", "c")

	c := testCache(t, dir)
	fillFrom(t, c, "/max.bin", "max.bin")
	mustHit(t, c, "/max.bin", strings.Repeat("m", cacheMaxFile))

	c = testCache(t, dir)
	c.maxBytes = 7
	fillFrom(t, c, "/a.html", "a.html")
	fillFrom(t, c, "/b.html", "b.html") // 3 + 4: exactly full
	fillFrom(t, c, "/c.html", "c.html") // one byte over
	mustHit(t, c, "/a.html", "aaa")
	mustHit(t, c, "/b.html", "bbbb")
	mustMiss(t, c, "/c.html")
	if c.bytes != 7 {
		t.Errorf("%d bytes held, want 7", c.bytes)
	}

	c = testCache(t, dir)
	c.maxEntries = 2
	for _, n := range []string{"a", "b", "c"} {
		fillFrom(t, c, "/"+n+".html", n+".html")
	}
	mustHit(t, c, "/a.html", "aaa")
	mustHit(t, c, "/b.html", "bbbb")
	mustMiss(t, c, "/c.html")
}

// TestFileCacheSettleBoundary: a file whose change time, or modification
// time, is exactly the settle interval old is settled; a nanosecond
// younger is not.
func TestFileCacheSettleBoundary(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.html", "aaa")
	p := filepath.Join(dir, "a.html")
	stamp := func() (mtime, ctime time.Time) {
		t.Helper()
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		_, _, ct, ok := statID(fi)
		if !ok {
			t.Skip("no change time on this platform: nothing is cached")
		}
		return fi.ModTime(), time.Unix(0, ct)
	}
	try := func(at time.Time) bool {
		t.Helper()
		c := testCache(t, dir)
		c.settle = time.Second
		c.wall = func() time.Time { return at }
		fillFrom(t, c, "/a.html", "a.html")
		return c.lookup("/a.html") != nil
	}

	// The change time is the youngest: mtime set an hour back.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	_, ctime := stamp()
	if !try(ctime.Add(time.Second)) {
		t.Error("change time exactly settle old: not cached")
	}
	if try(ctime.Add(time.Second - 1)) {
		t.Error("change time a nanosecond under settle old: cached")
	}

	// The modification time is the youngest: set an hour ahead.
	ahead := time.Now().Add(time.Hour)
	if err := os.Chtimes(p, ahead, ahead); err != nil {
		t.Fatal(err)
	}
	mtime, _ := stamp()
	if !try(mtime.Add(time.Second)) {
		t.Error("modification time exactly settle old: not cached")
	}
	if try(mtime.Add(time.Second - 1)) {
		t.Error("modification time a nanosecond under settle old: cached")
	}
}

// TestCachedResponsesLogTheirBodyBytes: the access log counts the body
// bytes sent from the cache, as for any response (none for HEAD).
func TestCachedResponsesLogTheirBodyBytes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.html", "<p>a</p>")
	writeFile(t, dir, "big.txt", strings.Repeat("z", smallFile+1))
	site, err := static.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	var log bytes.Buffer
	counter, _ := hits.New(hits.Locked)
	h := New(Options{Site: site, Hits: counter, Tally: &tally.Requests{}, ReadTimeout: time.Second,
		WriteTimeout: time.Second, Log: zerolog.New(&log), RefusalLog: zerolog.Nop()})
	h.cache.settle = 0
	key := clientid.Of(clientid.ByIP, netip.MustParseAddrPort("127.0.0.1:1"))
	for _, tc := range []struct {
		req   string
		bytes int
	}{
		{"GET /a.html HTTP/1.0\r\n\r\n", 8},
		{"GET /a.html HTTP/1.0\r\n\r\n", 8}, // from the cache
		{"HEAD /a.html HTTP/1.0\r\n\r\n", 0},
		{"GET /big.txt HTTP/1.0\r\n\r\n", smallFile + 1},
		{"GET /big.txt HTTP/1.0\r\n\r\n", smallFile + 1}, // from the cache
	} {
		log.Reset()
		var c memConn
		c.r.Reset([]byte(tc.req))
		h.Serve(&c, key, nil)
		var line struct{ Bytes int }
		if err := json.Unmarshal(log.Bytes(), &line); err != nil {
			t.Fatalf("%q: log %q: %v", tc.req, log.String(), err)
		}
		if line.Bytes != tc.bytes {
			t.Errorf("%q: logged %d bytes, want %d", tc.req, line.Bytes, tc.bytes)
		}
	}
	if n := len(*h.cache.m.Load()); n != 2 {
		t.Fatalf("%d entries cached, want 2", n)
	}
}

// statOf returns rel's FileInfo under c's root.
func statOf(t *testing.T, c *fileCache, rel string) fs.FileInfo {
	t.Helper()
	fi, err := c.root.Stat(rel)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// TestFileCacheWantsAndKeepEachCheckTheBounds: wants (asked before a large
// file is read) and keep (under the lock, against fills racing) each hold
// the entry and byte bounds on their own, inclusively: fill hides either
// one behind the other.
func TestFileCacheWantsAndKeepEachCheckTheBounds(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.html", "aaa")
	writeFile(t, dir, "b.html", "bbbb")
	writeFile(t, dir, "c.html", "c")

	// Bytes: 3 held of 7, so 4 more fit exactly and 5 would not.
	c := testCache(t, dir)
	c.maxBytes = 7
	fillFrom(t, c, "/a.html", "a.html")
	if !c.wants("/b.html", "/b.html", statOf(t, c, "b.html")) {
		t.Error("wants: 3 + 4 bytes of 7 refused")
	}
	c.maxBytes = 6
	if c.wants("/b.html", "/b.html", statOf(t, c, "b.html")) {
		t.Error("wants: 3 + 4 bytes of 6 accepted")
	}
	c.keep("/b.html", "text/html", "x", []byte("bbbb"), statOf(t, c, "b.html"))
	mustMiss(t, c, "/b.html")
	c.maxBytes = 7
	c.keep("/b.html", "text/html", "x", []byte("bbbb"), statOf(t, c, "b.html"))
	mustHit(t, c, "/b.html", "bbbb")

	// Entries: one held of two, so one more fits and none after it.
	c = testCache(t, dir)
	c.maxEntries = 2
	fillFrom(t, c, "/a.html", "a.html")
	if !c.wants("/b.html", "/b.html", statOf(t, c, "b.html")) {
		t.Error("wants: a second entry of two refused")
	}
	c.keep("/b.html", "text/html", "x", []byte("bbbb"), statOf(t, c, "b.html"))
	mustHit(t, c, "/b.html", "bbbb")
	if c.wants("/c.html", "/c.html", statOf(t, c, "c.html")) {
		t.Error("wants: a third entry of two accepted")
	}
	c.keep("/c.html", "text/html", "x", []byte("c"), statOf(t, c, "c.html"))
	mustMiss(t, c, "/c.html")
	if n := len(*c.m.Load()); n != 2 || c.bytes != 7 {
		t.Errorf("%d entries, %d bytes held; want 2 and 7", n, c.bytes)
	}
}
