package load

import (
	"crypto/rand"
	"net"
	"runtime"
	"testing"
	"time"
)

// garbageServer answers every request with 64 KB of random bytes (one
// binary "line") and closes: the answer that made each failed request keep
// its whole quoted status line (about 185 KB) before details were bounded.
func garbageServer(tb testing.TB) Target {
	tb.Helper()
	g := make([]byte, 64<<10)
	_, _ = rand.Read(g)
	for i, c := range g {
		if c == '\n' {
			g[i] = ' '
		}
	}
	g[0], g[len(g)-1] = 'X', '\n' // never "HTTP/"; one binary line
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				var b [1024]byte
				_, _ = c.Read(b[:])
				_, _ = c.Write(g)
			}()
		}
	}()
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	return Target{Host: "127.0.0.1", Port: int(ap.Port()), Paths: []string{"/"}}
}

// retainedPerRequest runs n requests against the garbage server and
// returns the heap the run's results hold, per request, and the bytes
// allocated per request.
func retainedPerRequest(tb testing.TB, target Target, n int) (retained, allocated float64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	run := Execute(engineContext(tb), target, Options{Requests: n, Concurrency: 50, Timeout: 10 * time.Second, Mode: Concurrent})
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(run.Results) != n {
		tb.Fatalf("%d results", len(run.Results))
	}
	for _, r := range run.Results {
		if r.Err != Other {
			tb.Fatalf("request %d: %q %q", r.Seq, r.Err, r.Detail)
		}
	}
	runtime.KeepAlive(run)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n),
		float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}

// BenchmarkGarbageServer measures the memory a request costs against a
// server whose answers are 64 KB of garbage: 20,000 requests, 50 in flight.
// retained-B/req is what the run's results keep (the figure in
// docs/requester.md); alloc-B/req is everything allocated on the way.
//
//	go test -run '^$' -bench GarbageServer -benchtime 1x ./requester/internal/load/
func BenchmarkGarbageServer(b *testing.B) {
	target := garbageServer(b)
	enginesAlone(b, func(b *testing.B) {
		for b.Loop() {
			retained, allocated := retainedPerRequest(b, target, 20000)
			b.ReportMetric(retained, "retained-B/req")
			b.ReportMetric(allocated, "alloc-B/req")
		}
	})
}

// What a request keeps is bounded by a constant, whatever the server sends:
// the result (about 200 bytes), its URL and a detail of at most 256 bytes.
func TestMemoryPerRequestIsBounded(t *testing.T) {
	target := garbageServer(t)
	enginesAlone(t, func(t *testing.T) {
		retained, _ := retainedPerRequest(t, target, 2000)
		if retained > 1024 {
			t.Errorf("%.0f bytes retained per request against 64 KB of garbage, want at most 1 KiB", retained)
		}
	})
}
