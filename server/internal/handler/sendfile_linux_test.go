package handler

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/hits"
	"httplab/httplab-server/internal/static"
	"httplab/httplab-server/internal/tally"
)

// sendfileFixture serves dir with a cache that takes files at once.
func sendfileFixture(t *testing.T, dir string) *Handler {
	t.Helper()
	site, err := static.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { site.Close() })
	counter, _ := hits.New(hits.Locked)
	h := New(Options{Site: site, Hits: counter, Tally: &tally.Requests{}, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, Log: zerolog.Nop(), RefusalLog: zerolog.Nop()})
	h.cache.settle = 0
	h.cache.recheck = 0
	return h
}

// dialServe connects over loopback, serves the connection with h in the
// background and sends raw; rcvbuf > 0 shrinks the client's receive buffer
// and the server's send buffer.
func dialServe(t *testing.T, h *Handler, raw string, rcvbuf int, slot Slot) (net.Conn, chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		if rcvbuf > 0 {
			return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf) })
		}
		return nil
	}}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if rcvbuf > 0 { // and a small send buffer, so little of the response is in flight
		rc, _ := s.(*net.TCPConn).SyscallConn()
		_ = rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, rcvbuf) })
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Serve(s, clientid.Of(clientid.ByIP, netip.MustParseAddrPort("127.0.0.1:1")), slot)
	}()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	return c, done
}

func getBody(t *testing.T, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Fatalf("Content-Length %d, body %d bytes", resp.ContentLength, len(body))
	}
	return body
}

// TestCachedFilesGoOutWithSendfile: a cached file over 32 KiB keeps its
// file open and is sent from it, byte for byte; when the file is replaced
// the entry is dropped, its descriptor closed, and the new bytes served.
func TestCachedFilesGoOutWithSendfile(t *testing.T) {
	dir := t.TempDir()
	old := bytes.Repeat([]byte("0123456789abcdef"), 3*smallFile/16)
	writeFile(t, dir, "big.bin", string(old))
	h := sendfileFixture(t, dir)
	for i := range 3 {
		c, done := dialServe(t, h, "GET /big.bin HTTP/1.0\r\n\r\n", 0, nil)
		if got := getBody(t, c); !bytes.Equal(got, old) {
			t.Fatalf("response %d: %d bytes differ from the file", i, len(got))
		}
		<-done
	}
	e := h.cache.lookup("/big.bin")
	if e == nil || e.file == nil || h.cache.files != 1 {
		t.Fatalf("entry %v, %d files open: want the file kept open", e, h.cache.files)
	}
	fresh := bytes.Repeat([]byte("FEDCBA9876543210"), 4*smallFile/16)
	writeFile(t, dir, "new.bin", string(fresh))
	if err := os.Rename(filepath.Join(dir, "new.bin"), filepath.Join(dir, "big.bin")); err != nil {
		t.Fatal(err)
	}
	c, done := dialServe(t, h, "GET /big.bin HTTP/1.0\r\n\r\n", 0, nil)
	if got := getBody(t, c); !bytes.Equal(got, fresh) {
		t.Fatalf("after the replacement: %d bytes, not the new file", len(got))
	}
	<-done
	if _, err := e.file.Stat(); err == nil {
		t.Error("the dropped entry's file is still open")
	}
}

// TestSendfileGoesOnFromMemory: an entry dropped while its response is
// being sent (its file closed under it) still yields the whole response,
// the rest from the bytes in memory.
func TestSendfileGoesOnFromMemory(t *testing.T) {
	dir := t.TempDir()
	body := bytes.Repeat([]byte("0123456789abcdef"), cacheMaxFile/16)
	writeFile(t, dir, "big.bin", string(body))
	h := sendfileFixture(t, dir)
	c, done, e := stalledSend(t, h)
	h.cache.drop("/big.bin", e)
	if got := getBody(t, c); !bytes.Equal(got, body) {
		t.Fatalf("%d bytes, not the file's %d", len(got), len(body))
	}
	<-done
	if h.cache.files != 0 {
		t.Errorf("%d files open after the drop", h.cache.files)
	}
}

// TestOpenFilesAreBounded: past maxFiles, large entries are served from
// memory and hold no descriptor.
func TestOpenFilesAreBounded(t *testing.T) {
	dir := t.TempDir()
	big := string(bytes.Repeat([]byte("x"), smallFile+1))
	writeFile(t, dir, "a.bin", big)
	writeFile(t, dir, "b.bin", big)
	c := testCache(t, dir)
	c.maxFiles = 1
	fillFrom(t, c, "/a.bin", "a.bin")
	fillFrom(t, c, "/b.bin", "b.bin")
	a, b := c.lookup("/a.bin"), c.lookup("/b.bin")
	if a == nil || b == nil || a.file == nil || b.file != nil || c.files != 1 {
		t.Fatalf("a %v, b %v, %d open; want only a's file open", a, b, c.files)
	}
}

// patientSlot watches stalls and never sheds.
type patientSlot struct{}

func (patientSlot) HeadDone() bool               { return true }
func (patientSlot) Stalled(bool, time.Time) bool { return true }
func (patientSlot) Shed() bool                   { return false }

// TestSendfileHeadHasNoBody: a HEAD of a large cached file sends its head
// only, from the entry that holds the file.
func TestSendfileHeadHasNoBody(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "big.bin", string(bytes.Repeat([]byte("b"), 2*smallFile)))
	h := sendfileFixture(t, dir)
	c, done := dialServe(t, h, "GET /big.bin HTTP/1.0\r\n\r\n", 0, nil)
	getBody(t, c)
	<-done
	c, done = dialServe(t, h, "HEAD /big.bin HTTP/1.0\r\n\r\n", 0, nil)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(c)
	<-done
	head, rest, _ := bytes.Cut(got, []byte("\r\n\r\n"))
	if !bytes.Contains(head, []byte("Content-Length: 65536")) || len(rest) != 0 {
		t.Fatalf("HEAD answered %q and %d more bytes", head, len(rest))
	}
}

// TestSendfileOfAShortenedFile: a cached file truncated in place while it
// is sent still yields the bytes it held when cached, the rest from memory.
func TestSendfileOfAShortenedFile(t *testing.T) {
	dir := t.TempDir()
	body := bytes.Repeat([]byte("0123456789abcdef"), cacheMaxFile/16)
	writeFile(t, dir, "big.bin", string(body))
	h := sendfileFixture(t, dir)
	c, done, _ := stalledSend(t, h)
	if err := os.Truncate(filepath.Join(dir, "big.bin"), int64(len(body)/2)); err != nil {
		t.Fatal(err)
	}
	if got := getBody(t, c); !bytes.Equal(got, body) {
		t.Fatalf("%d bytes, differing from the %d cached", len(got), len(body))
	}
	<-done
}

// TestRefusedEntryClosesItsFile: an entry the cache turns away (here for
// lack of room, found by keep itself) does not leave its file open.
func TestRefusedEntryClosesItsFile(t *testing.T) {
	dir := t.TempDir()
	big := string(bytes.Repeat([]byte("x"), smallFile+1))
	writeFile(t, dir, "a.bin", big)
	writeFile(t, dir, "b.bin", big)
	c := testCache(t, dir)
	c.maxBytes = len(big)
	fillFrom(t, c, "/a.bin", "a.bin")
	f, err := c.root.Open("b.bin")
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	f.Close()
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	before := fds()
	c.keep("/b.bin", "application/octet-stream", "x", []byte(big), fi)
	if c.lookup("/b.bin") != nil || c.files != 1 {
		t.Fatalf("b cached %v, %d files open", c.lookup("/b.bin") != nil, c.files)
	}
	if after := fds(); after != before {
		t.Errorf("%d descriptors open after the refusal, %d before", after, before)
	}
}

// stalledSend caches /big.bin with its file, then starts a response to a
// client that reads nothing yet, under a stall watch: the response waits
// in sendfile a quarter of the stall timeout at a time, and each new
// attempt finds whatever happened to the entry or the file meanwhile.
func stalledSend(t *testing.T, h *Handler) (net.Conn, chan struct{}, *cachedFile) {
	t.Helper()
	c, done := dialServe(t, h, "GET /big.bin HTTP/1.0\r\n\r\n", 0, nil)
	getBody(t, c)
	<-done
	e := h.cache.lookup("/big.bin")
	if e == nil || e.file == nil {
		t.Fatal("not cached with its file")
	}
	h.o.StallTimeout = 200 * time.Millisecond
	c, done = dialServe(t, h, "GET /big.bin HTTP/1.0\r\n\r\n", 4096, patientSlot{})
	time.Sleep(200 * time.Millisecond)
	return c, done, e
}

// TestOpenFileBudget: a sixteenth of the descriptor limit, at most
// cacheMaxOpenFiles, so that a server run with few descriptors keeps them
// for connections.
func TestOpenFileBudget(t *testing.T) {
	for _, c := range []struct {
		limit uint64
		want  int
	}{{0, 0}, {15, 0}, {16, 1}, {64, 4}, {1024, 64}, {2047, 127}, {2048, 128}, {2064, 128}, {1 << 20, 128}} {
		if got := budgetFor(c.limit); got != c.want {
			t.Errorf("budgetFor(%d) = %d, want %d", c.limit, got, c.want)
		}
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if got, want := openFileBudget(), budgetFor(lim.Cur); got != want {
		t.Errorf("openFileBudget() = %d with a limit of %d, want %d", got, lim.Cur, want)
	}
	if got := newFileCache(nil).maxFiles; got != openFileBudget() {
		t.Errorf("a new cache may hold %d files, want openFileBudget's %d", got, openFileBudget())
	}
}
