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

	"httplab/httplab-server/internal/clientid"
)

// dialServe connects over loopback, serves the connection with h in the
// background and sends raw; bufSize > 0 as in smallPair.
func dialServe(t *testing.T, h *Handler, raw string, bufSize int, slot Slot) (net.Conn, chan struct{}) {
	t.Helper()
	c, s := smallPair(t, bufSize)
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

// TestSendfileGoesOnFromMemory: an entry dropped while its response is
// being sent (its file closed under it) still yields the whole response,
// the rest from the bytes in memory.
func TestSendfileGoesOnFromMemory(t *testing.T) {
	dir := t.TempDir()
	body := bytes.Repeat([]byte("0123456789abcdef"), cacheMaxFile/16)
	writeFile(t, dir, "big.bin", string(body))
	h := eagerCacheFixture(t, dir)
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
// memory and hold no descriptor; a file of exactly smallFile bytes, sent in
// one write, never holds one.
func TestOpenFilesAreBounded(t *testing.T) {
	dir := t.TempDir()
	big := string(bytes.Repeat([]byte("x"), smallFile+1))
	writeFile(t, dir, "a.bin", big)
	writeFile(t, dir, "b.bin", big)
	writeFile(t, dir, "s.bin", big[:smallFile])
	c := testCache(t, dir)
	c.maxFiles = 2
	fillFrom(t, c, "/s.bin", "s.bin")
	fillFrom(t, c, "/a.bin", "a.bin")
	fillFrom(t, c, "/b.bin", "b.bin")
	small, a, b := c.lookup("/s.bin"), c.lookup("/a.bin"), c.lookup("/b.bin")
	if small == nil || small.file != nil {
		t.Fatalf("entry %v: a %d-byte file should be cached without a descriptor", small, smallFile)
	}
	if a == nil || b == nil || a.file == nil || b.file == nil || c.files != 2 {
		t.Fatalf("a %v, b %v, %d open; want both files open", a, b, c.files)
	}
	writeFile(t, dir, "c.bin", big)
	fillFrom(t, c, "/c.bin", "c.bin")
	if e := c.lookup("/c.bin"); e == nil || e.file != nil || c.files != 2 {
		t.Fatalf("c %v, %d open; want c served from memory past the bound", e, c.files)
	}
}

// patientSlot watches stalls and never sheds.
type patientSlot struct{}

func (patientSlot) HeadDone() bool               { return true }
func (patientSlot) Stalled(bool, time.Time) bool { return true }
func (patientSlot) Shed() bool                   { return false }

// TestSendfileOfAShortenedFile: a cached file truncated in place while it
// is sent still yields the bytes it held when cached, the rest from memory.
func TestSendfileOfAShortenedFile(t *testing.T) {
	dir := t.TempDir()
	body := bytes.Repeat([]byte("0123456789abcdef"), cacheMaxFile/16)
	writeFile(t, dir, "big.bin", string(body))
	h := eagerCacheFixture(t, dir)
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

// TestSendFileAt: sendFileAt sends exactly the n bytes at off, and leaves
// the file's own offset alone; past the file's end it sends what there is
// and reports the file gone, as it does for a closed file.
func TestSendFileAt(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 100<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	writeFile(t, dir, "f.bin", string(data))
	f, err := os.Open(filepath.Join(dir, "f.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		off, n, want int64
		gone, slow   bool // slow: small buffers, so that sendfile is called again after a wait
	}{
		{off: 1000, n: 50000, want: 50000},
		{off: 0, n: int64(len(data)), want: int64(len(data))},
		{off: 3000, n: 60000, want: 60000, slow: true},
		{off: int64(len(data)) - 10, n: 100, want: 10, gone: true},
	} {
		bufSize := 0
		if tc.slow {
			bufSize = 4096
		}
		c, s := smallPair(t, bufSize)
		got := make(chan []byte, 1)
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, _ := io.ReadAll(c)
			got <- b
		}()
		sent, err := sendFileAt(s, f, tc.off, tc.n)
		_ = s.Close()
		if sent != tc.want || (err == errFileGone) != tc.gone || (err != nil && !tc.gone) {
			t.Fatalf("off %d n %d: sent %d, %v; want %d, gone %v", tc.off, tc.n, sent, err, tc.want, tc.gone)
		}
		if b := <-got; !bytes.Equal(b, data[tc.off:tc.off+tc.want]) {
			t.Fatalf("off %d n %d: %d bytes arrived, not the file's", tc.off, tc.n, len(b))
		}
	}
	if pos, _ := f.Seek(0, io.SeekCurrent); pos != 0 {
		t.Errorf("the file's offset moved to %d", pos)
	}
	_, s := tcpPair(t, net.Dialer{})
	closed, _ := os.Open(filepath.Join(dir, "f.bin"))
	closed.Close()
	if sent, err := sendFileAt(s, closed, 0, 10); sent != 0 || err != errFileGone {
		t.Errorf("a closed file: sent %d, %v; want 0 and errFileGone", sent, err)
	}
}

// smallPair is tcpPair with, for size > 0, the client's receive buffer and
// the server's send buffer shrunk to size, so that little of a response is
// in flight and a sender soon waits for the reader.
func smallPair(t *testing.T, size int) (client net.Conn, server *net.TCPConn) {
	t.Helper()
	if size <= 0 {
		return tcpPair(t, net.Dialer{})
	}
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size) })
	}}
	c, s := tcpPair(t, d)
	rc, _ := s.SyscallConn()
	_ = rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, size) })
	return c, s
}
