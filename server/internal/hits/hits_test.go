package hits

import (
	"fmt"
	"maps"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

func mustNew(t testing.TB, mode string) Counter {
	t.Helper()
	c, err := New(mode)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNew(t *testing.T) {
	for _, bad := range []string{"", "Locked", "atomic", "naive "} {
		_, err := New(bad)
		if err == nil || !strings.Contains(err.Error(), "locked, naive") {
			t.Errorf("New(%q) error %v; want one listing locked, naive", bad, err)
		}
	}
}

func TestSequential(t *testing.T) {
	for _, mode := range []string{Locked, Naive} {
		c := mustNew(t, mode)
		if c.Get("/x") != 0 || len(c.Snapshot()) != 0 {
			t.Errorf("%s: fresh counter not empty", mode)
		}
		for range 3 {
			c.Inc("/a")
		}
		c.Inc("/b/")
		// Without concurrency even the naive counter is exact.
		want := map[string]uint64{"/a": 3, "/b/": 1}
		if got := c.Snapshot(); !maps.Equal(got, want) {
			t.Errorf("%s: Snapshot %v; want %v", mode, got, want)
		}
		if c.Get("/a") != 3 || c.Get("/b/") != 1 || c.Get("/c") != 0 {
			t.Errorf("%s: Get wrong", mode)
		}
	}
}

// TestKeyCopied: the counter must not keep a string that aliases a buffer
// the caller reuses for the next request.
func TestKeyCopied(t *testing.T) {
	for _, mode := range []string{Locked, Naive} {
		c := mustNew(t, mode)
		buf := []byte("/first")
		c.Inc(unsafeString(buf))
		copy(buf, "/other")
		if got := c.Snapshot(); got["/first"] != 1 || len(got) != 1 {
			t.Errorf("%s: key changed with the caller's buffer: %v", mode, got)
		}
	}
}

func hammer(c Counter, paths []string, workers, per int) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := range per {
				c.Inc(paths[(w+i)%len(paths)])
			}
		})
	}
	close(start)
	wg.Wait()
}

func withProcs(t *testing.T, n int) {
	if runtime.GOMAXPROCS(0) < n {
		old := runtime.GOMAXPROCS(n)
		t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	}
}

func TestLockedExact(t *testing.T) {
	withProcs(t, 2)
	c := mustNew(t, Locked)
	hammer(c, []string{"/index.html"}, 1000, 1) // 1,000 concurrent Inc on one path
	if got := c.Get("/index.html"); got != 1000 {
		t.Errorf("one path: %d; want 1000", got)
	}
	// Two goroutines per core in tight loops on one counter: an increment
	// that loads, then stores (a lost update waiting to happen) loses some
	// of these 400,000 every time, not by luck.
	c = mustNew(t, Locked)
	hammer(c, []string{"/hot"}, 8, 50_000)
	if got := c.Get("/hot"); got != 8*50_000 {
		t.Errorf("one hot path: %d; want %d", got, 8*50_000)
	}
	paths := []string{"/", "/a.css", "/b/", "/c.png", "/d.pdf"}
	c = mustNew(t, Locked)
	hammer(c, paths, 64, 500) // 64*500 = 32,000 spread over 5 paths
	for _, p := range paths {
		if got := c.Get(p); got != 64*500/5 {
			t.Errorf("path %s: %d; want %d", p, got, 64*500/5)
		}
	}
}

func TestNaiveLosesUpdates(t *testing.T) {
	withProcs(t, 2)
	const workers, per = 64, 200
	c := mustNew(t, Naive)
	hammer(c, []string{"/index.html"}, workers, per)
	got := c.Get("/index.html")
	lost := workers*per - int(got)
	t.Logf("naive: %d of %d counted, %d lost", got, workers*per, lost)
	if lost <= 0 {
		t.Errorf("naive counter lost nothing (%d counted)", got)
	}
	if got == 0 {
		t.Errorf("naive counter counted nothing")
	}
}

func BenchmarkInc(b *testing.B) {
	for _, mode := range []string{Locked, Naive} {
		b.Run(mode+"/serial", func(b *testing.B) {
			c := mustNew(b, mode)
			b.ReportAllocs()
			for b.Loop() {
				c.Inc("/index.html")
			}
		})
		b.Run(mode+"/parallel-one-path", func(b *testing.B) {
			c := mustNew(b, mode)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.Inc("/index.html")
				}
			})
		})
		b.Run(mode+"/parallel-16-paths", func(b *testing.B) {
			c := mustNew(b, mode)
			paths := make([]string, 16)
			for i := range paths {
				paths[i] = fmt.Sprintf("/dir/file-%02d.html", i)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					c.Inc(paths[i&15])
					i++
				}
			})
		})
	}
}

func BenchmarkSnapshot(b *testing.B) {
	c := mustNew(b, Locked)
	for i := range 100 {
		c.Inc(fmt.Sprintf("/p%d", i))
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Snapshot()
	}
}

// unsafeString aliases b, as a zero-copy HTTP parser would.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
