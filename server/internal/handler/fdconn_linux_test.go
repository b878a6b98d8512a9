package handler

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/fdconn"
)

// fdPair is a loopback connection whose server end is the server's own
// kind (fdconn.Conn, accepted as a bare descriptor), with the client's
// receive buffer and the server's send buffer set to size when size > 0.
func fdPair(t *testing.T, size int) (client net.Conn, server *fdconn.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fl, err := fdconn.Listen(ln.(*net.TCPListener))
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	d := net.Dialer{}
	if size > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size) })
		}
	}
	client, err = d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	fd, peer, err := fl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if size > 0 {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, size)
	}
	server = fdconn.New(peer)
	server.Open(fd)
	t.Cleanup(func() { server.Close() })
	return client, server
}

// serveFD serves one request on a fresh fdPair and returns the body.
func serveFD(t *testing.T, h *Handler, path string, size int, slow bool) []byte {
	t.Helper()
	c, s := fdPair(t, size)
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Serve(s, clientid.Of(clientid.ByIP, netip.MustParseAddrPort("127.0.0.1:1")), patientSlot{})
	}()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if slow {
		time.Sleep(300 * time.Millisecond) // several stall-watch steps pass unread
	}
	body := getBody(t, c)
	<-done
	return body
}

// The server's own connections get every way a file is sent, whole: the
// first response of a cacheable file (head and body in one writev,
// fdconn's WriteBuffers), a cached large file (sendfile from the open
// file), an uncached one (sendfile from the fresh file, resuming after the
// stall watch's time-outs), and a small one.
func TestServeOverBareDescriptors(t *testing.T) {
	dir := t.TempDir()
	mid := bytes.Repeat([]byte("0123456789abcdef"), (smallFile+4096)/16)
	huge := bytes.Repeat([]byte("fedcba9876543210"), (cacheMaxFile+64<<10)/16)
	writeFile(t, dir, "mid.bin", string(mid))
	writeFile(t, dir, "huge.bin", string(huge))
	writeFile(t, dir, "small.txt", "small")
	h := eagerCacheFixture(t, dir)
	h.o.StallTimeout = 5 * time.Second // watched, never shed
	for _, tc := range []struct {
		name, path string
		want       []byte
		size       int
		slow       bool
	}{
		{"first, writev", "/mid.bin", mid, 0, false},
		{"cached, sendfile", "/mid.bin", mid, 0, false},
		{"cached, sendfile, slow reader", "/mid.bin", mid, 4096, true},
		{"uncached, sendfile", "/huge.bin", huge, 0, false},
		{"uncached, sendfile, slow reader", "/huge.bin", huge, 4096, true},
		{"small", "/small.txt", []byte("small"), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := serveFD(t, h, tc.path, tc.size, tc.slow); !bytes.Equal(got, tc.want) {
				t.Fatalf("%d bytes, not the file's %d", len(got), len(tc.want))
			}
		})
	}
	if e := h.cache.lookup("/mid.bin"); e == nil || e.file == nil {
		t.Fatal("mid.bin is not cached with its file: the sendfile cases did not run")
	}
}

// fileSink takes net's TCP connections and the server's own, and nothing
// else (a pipe has no descriptor to sendfile to).
func TestFileSink(t *testing.T) {
	_, s := fdPair(t, 0)
	if _, ok := fileSink(s); !ok {
		t.Error("fileSink refuses an fdconn.Conn")
	}
	_, tc := tcpPair(t, net.Dialer{})
	if _, ok := fileSink(tc); !ok {
		t.Error("fileSink refuses a *net.TCPConn")
	}
	p, q := net.Pipe()
	defer p.Close()
	defer q.Close()
	if _, ok := fileSink(p); ok {
		t.Error("fileSink takes a pipe")
	}
}
