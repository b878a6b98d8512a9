package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/admit"
	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/hits"
)

// benchRoot writes the benchmark files: a 1.2 KB page and a 100 KiB file.
func benchRoot(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		tb.Fatal(err)
	}
	page := "<!DOCTYPE html>\n<title>small</title>\n" + strings.Repeat("<p>The small response of the benchmarks.</p>\n", 25)
	if err := os.WriteFile(filepath.Join(dir, "small.html"), []byte(page), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "100k.txt"), bytes.Repeat([]byte("0123456789abcde\n"), 6400), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// benchOptions are the options the suite measures: access log off, and
// either limits off or limits on that the load never trips.
func benchOptions(root string, limits bool) Options {
	o := Options{Root: root, ClientKey: clientid.ByIP, RateWindow: time.Second, Mode: Concurrent,
		Counter: hits.Locked, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		ShutdownGrace: 5 * time.Second, Log: zerolog.Nop()}
	if limits {
		o.MaxPerClient, o.MaxTotal, o.RateLimit = 1000, 10000, 1<<30
	}
	return o
}

// BenchmarkAdmission is the limits' share of one request, as the server
// pays it: the client keys from the remote address, admission against both
// caps, the rate-limit check, and the release when the connection ends.
// The clock is simulated so every request is admitted and the limiter's
// ring turns (steady state of a client within its limit); "time.Now" adds
// the clock read the handler makes anyway.
func BenchmarkAdmission(b *testing.B) {
	newServer := func(b *testing.B) *Server {
		o := benchOptions(benchRoot(b), true)
		o.MaxPerClient, o.MaxTotal, o.RateLimit = 12, 60, 5 // the contract's defaults
		s, err := New(o)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	addr := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 40000}
	step := time.Second / 5

	b.Run("admitted", func(b *testing.B) {
		s := newServer(b)
		now := time.Now()
		b.ReportAllocs()
		for b.Loop() {
			now = now.Add(step)
			key, rateKey := s.keys(addr)
			if s.admit.Admit(key) != admit.Admitted {
				b.Fatal("refused at accept")
			}
			if ok, _ := s.limiter.Allow(rateKey, now); !ok {
				b.Fatal("rate limited")
			}
			s.admit.Release(key)
		}
	})
	b.Run("admitted-time.Now", func(b *testing.B) {
		s := newServer(b)
		b.ReportAllocs()
		for b.Loop() {
			key, rateKey := s.keys(addr)
			s.admit.Admit(key)
			s.limiter.Allow(rateKey, time.Now())
			s.admit.Release(key)
		}
	})
	b.Run("parallel-1000-clients", func(b *testing.B) {
		s := newServer(b)
		var id atomic.Int64
		start := time.Now()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			// Each goroutine cycles through its own clients, each within its limit.
			base := int(id.Add(1)) * 1000
			addrs := make([]net.Addr, 1000)
			for i := range addrs {
				n := base + i
				addrs[i] = &net.TCPAddr{IP: net.IPv4(10, byte(n>>16), byte(n>>8), byte(n)), Port: 40000}
			}
			now, i := start, 0
			for pb.Next() {
				if i%len(addrs) == 0 {
					now = now.Add(step)
				}
				key, rateKey := s.keys(addrs[i%len(addrs)])
				s.admit.Admit(key)
				s.limiter.Allow(rateKey, now)
				s.admit.Release(key)
				i++
			}
		})
	})
}

// BenchmarkServe is one whole request over loopback TCP: connect, send,
// read the response to the server's close. It includes the client's side
// (and its allocations), so the "bare" case, a minimal accept-read-write-
// close loop in the same process, is the floor to compare with. 50 client
// goroutines, like the suite's 50 concurrent clients.
func BenchmarkServe(b *testing.B) {
	root := benchRoot(b)
	page, err := os.ReadFile(filepath.Join(root, "small.html"))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, path string
		start      func(b *testing.B) string
	}{
		{"bare/small", "/small.html", func(b *testing.B) string { return startBare(b, page) }},
		{"limits-off/small", "/small.html", func(b *testing.B) string { return startBench(b, benchOptions(root, false)) }},
		{"limits-on/small", "/small.html", func(b *testing.B) string { return startBench(b, benchOptions(root, true)) }},
		{"limits-on/100k", "/data/100k.txt", func(b *testing.B) string { return startBench(b, benchOptions(root, true)) }},
		{"stock/small", "/small.html", func(b *testing.B) string {
			c := benchOptions(root, false)
			c.Mode = Stock
			return startBench(b, c)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			addr := bc.start(b)
			req := []byte("GET " + bc.path + " HTTP/1.0\r\nHost: bench\r\n\r\n")
			// RunParallel starts parallelism × GOMAXPROCS goroutines.
			b.SetParallelism(max(1, 50/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 32<<10)
				for pb.Next() {
					if err := benchGet(addr, req, buf); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// benchGet makes one request and checks that it was answered 200.
func benchGet(addr string, req, buf []byte) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write(req); err != nil {
		return err
	}
	n, total := 0, 0
	for {
		m, err := c.Read(buf[n:])
		if total == 0 && n+m >= 12 && !bytes.HasPrefix(buf, []byte("HTTP/1.0 200")) {
			return fmt.Errorf("answered %q", buf[:12])
		}
		total += m
		if n += m; n == len(buf) {
			n = 0
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func startBench(b *testing.B, o Options) string {
	b.Helper()
	s, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("Serve: %v", err)
		}
		s.Close()
	})
	return ln.Addr().String()
}

// startBare runs the floor: read the head, write a prepared response, close.
func startBare(b *testing.B, body []byte) string {
	b.Helper()
	resp := fmt.Appendf(nil, "HTTP/1.0 200 OK\r\nDate: %s\r\nServer: bare\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		time.Now().UTC().Format(time.RFC1123), len(body), body)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				var buf [1024]byte
				n := 0
				for n < len(buf) {
					m, err := c.Read(buf[n:])
					n += m
					if bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
						_, _ = c.Write(resp)
						break
					}
					if err != nil {
						break
					}
				}
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}
