package handler_test

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
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

// benchConn is a connection held in memory: the request comes from a
// reader, the response goes nowhere. It leaves out the kernel, so the
// benchmarks below measure the handler's own time and allocations per
// request: parsing, limiting, resolving through os.Root (real files, real
// open/fstat/read syscalls), formatting and counting.
type benchConn struct {
	r       bytes.Reader
	written int64
}

func (c *benchConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *benchConn) Write(p []byte) (int, error) { c.written += int64(len(p)); return len(p), nil }

// ReadFrom stands in for *net.TCPConn's sendfile path: the file is read
// (with read(2), not sendfile) and dropped, with io.Discard's pooled buffer,
// so a large file costs no per-request buffer here either.
func (c *benchConn) ReadFrom(r io.Reader) (int64, error) {
	n, err := io.Copy(io.Discard, r)
	c.written += n
	return n, err
}
func (c *benchConn) Close() error                     { return nil }
func (c *benchConn) LocalAddr() net.Addr              { return benchAddr }
func (c *benchConn) RemoteAddr() net.Addr             { return benchAddr }
func (c *benchConn) SetDeadline(time.Time) error      { return nil }
func (c *benchConn) SetReadDeadline(time.Time) error  { return nil }
func (c *benchConn) SetWriteDeadline(time.Time) error { return nil }

var benchAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}

// benchSite writes the suite's two files: the 1.2 KB page (about 1.4 KB on
// the wire with its head) and the 100 KiB file. It waits until they are old
// enough for the file cache to take them, as the files of a served site are.
func benchSite(b *testing.B) *static.Site {
	b.Helper()
	dir := b.TempDir()
	defer time.Sleep(2100 * time.Millisecond)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		b.Fatal(err)
	}
	page := "<!DOCTYPE html>\n<title>small</title>\n" + strings.Repeat("<p>The small response of the benchmarks.</p>\n", 25)
	if err := os.WriteFile(filepath.Join(dir, "small.html"), []byte(page), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "100k.txt"), bytes.Repeat([]byte("0123456789abcde\n"), 6400), 0o644); err != nil {
		b.Fatal(err)
	}
	site, err := static.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { site.Close() })
	return site
}

func benchHandler(b *testing.B, site *static.Site, rate int, noCache bool) *handler.Handler {
	b.Helper()
	counter, err := hits.New(hits.Locked)
	if err != nil {
		b.Fatal(err)
	}
	o := handler.Options{Site: site, Hits: counter, Tally: &tally.Requests{},
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		Log: zerolog.Nop(), RefusalLog: zerolog.Nop(), NoFileCache: noCache}
	if rate > 0 {
		if o.Limiter, err = ratelimit.New(ratelimit.Options{Limit: rate, Window: time.Second}); err != nil {
			b.Fatal(err)
		}
	}
	return handler.New(o)
}

// BenchmarkServe is one request handled end to end, minus the network. The
// "limits-on" case has a limit that never trips (the limiter's ring turns
// on every request); "rate-limited" is the cost of refusing with a 429;
// "nocache" turns the small-file cache off.
func BenchmarkServe(b *testing.B) {
	key := clientid.Of(clientid.ByIP, netip.MustParseAddrPort("127.0.0.1:40000"))
	site := benchSite(b)
	for _, bc := range []struct {
		name, req string
		rate      int
		noCache   bool
		wantBytes int64 // at least this much written, or the case is broken
	}{
		{"small", "GET /small.html HTTP/1.0\r\nHost: x\r\nUser-Agent: wrk\r\n\r\n", 0, false, 1200},
		{"small-nocache", "GET /small.html HTTP/1.0\r\nHost: x\r\nUser-Agent: wrk\r\n\r\n", 0, true, 1200},
		{"small-limits-on", "GET /small.html HTTP/1.0\r\nHost: x\r\nUser-Agent: wrk\r\n\r\n", 1 << 30, false, 1200},
		{"100k", "GET /data/100k.txt HTTP/1.0\r\nHost: x\r\n\r\n", 0, false, 100 << 10},
		{"head", "HEAD /small.html HTTP/1.0\r\nHost: x\r\n\r\n", 0, false, 100},
		{"404", "GET /missing.html HTTP/1.0\r\nHost: x\r\n\r\n", 0, false, 100},
		{"rate-limited", "GET /small.html HTTP/1.0\r\nHost: x\r\n\r\n", 1, false, 100},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := benchHandler(b, site, bc.rate, bc.noCache)
			req := []byte(bc.req)
			var c benchConn
			if bc.name == "rate-limited" {
				c.r.Reset(req)
				h.Serve(&c, key, nil) // spends the one request the window allows
			}
			b.ReportAllocs()
			for b.Loop() {
				c.r.Reset(req)
				c.written = 0
				h.Serve(&c, key, nil)
			}
			if c.written < bc.wantBytes {
				b.Fatalf("last response was %d bytes, want at least %d", c.written, bc.wantBytes)
			}
		})
	}
	b.Run("small-parallel", func(b *testing.B) {
		h := benchHandler(b, site, 1<<30, false)
		req := []byte("GET /small.html HTTP/1.0\r\nHost: x\r\n\r\n")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var c benchConn
			for pb.Next() {
				c.r.Reset(req)
				h.Serve(&c, key, nil)
			}
		})
	})
}
