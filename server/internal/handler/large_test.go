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
	"testing"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/hits"
	"httplab/httplab-server/internal/static"
	"httplab/httplab-server/internal/tally"
)

// eagerCacheFixture serves dir with a cache that takes files at once and
// checks them on every hit.
func eagerCacheFixture(t *testing.T, dir string) *Handler {
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

// exchange sends raw over a loopback TCP connection served by h and returns
// everything the server sent before it closed.
func exchange(t *testing.T, h *Handler, raw string) []byte {
	t.Helper()
	c, s := tcpPair(t, net.Dialer{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Serve(s, clientid.Of(clientid.ByIP, netip.MustParseAddrPort("127.0.0.1:1")), nil)
	}()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	<-done
	return got
}

// tcpPair returns both ends of a loopback TCP connection dialled with d;
// both are closed when the test ends.
func tcpPair(t *testing.T, d net.Dialer) (client net.Conn, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return c, s.(*net.TCPConn)
}

func bodyOf(t *testing.T, raw []byte) []byte {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(body)) {
		t.Fatalf("status %d, Content-Length %d, body %d bytes", resp.StatusCode, resp.ContentLength, len(body))
	}
	return body
}

// TestLargeCachedFilesOverTCP: a cached file over 32 KiB (the head's write
// and sendfile where the kernel sends by offset, else one writev of head and
// body) arrives byte for byte, again and again from the cache; when
// the file is replaced the new bytes are served.
func TestLargeCachedFilesOverTCP(t *testing.T) {
	dir := t.TempDir()
	old := bytes.Repeat([]byte("0123456789abcdef"), 3*smallFile/16)
	writeFile(t, dir, "big.bin", string(old))
	h := eagerCacheFixture(t, dir)
	for i := range 3 {
		if got := bodyOf(t, exchange(t, h, "GET /big.bin HTTP/1.0\r\n\r\n")); !bytes.Equal(got, old) {
			t.Fatalf("response %d: %d bytes differ from the file", i, len(got))
		}
	}
	e := h.cache.lookup("/big.bin")
	if e == nil {
		t.Fatal("the large file was not cached")
	}
	if canSendFile && (e.file == nil || h.cache.files != 1) {
		t.Fatalf("%d files open: want the file kept open for sendfile", h.cache.files)
	}
	fresh := bytes.Repeat([]byte("FEDCBA9876543210"), 4*smallFile/16)
	writeFile(t, dir, "new.bin", string(fresh))
	if err := os.Rename(filepath.Join(dir, "new.bin"), filepath.Join(dir, "big.bin")); err != nil {
		t.Fatal(err)
	}
	if got := bodyOf(t, exchange(t, h, "GET /big.bin HTTP/1.0\r\n\r\n")); !bytes.Equal(got, fresh) {
		t.Fatalf("after the replacement: %d bytes, not the new file", len(got))
	}
	if e.file != nil {
		if _, err := e.file.Stat(); err == nil {
			t.Error("the dropped entry's file is still open")
		}
	}
}

// TestHeadOfALargeCachedFile: a HEAD of a large cached file sends its head
// only.
func TestHeadOfALargeCachedFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "big.bin", string(bytes.Repeat([]byte("b"), 2*smallFile)))
	h := eagerCacheFixture(t, dir)
	bodyOf(t, exchange(t, h, "GET /big.bin HTTP/1.0\r\n\r\n"))
	if h.cache.lookup("/big.bin") == nil {
		t.Fatal("the large file was not cached")
	}
	got := exchange(t, h, "HEAD /big.bin HTTP/1.0\r\n\r\n")
	head, rest, _ := bytes.Cut(got, []byte("\r\n\r\n"))
	if !bytes.Contains(head, []byte("Content-Length: 65536")) || len(rest) != 0 {
		t.Fatalf("HEAD answered %q and %d more bytes", head, len(rest))
	}
}
