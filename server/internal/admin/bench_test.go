package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"
)

// busyStats is a lab under load: 60 clients connected, 40 paths with hits.
func busyStats() Stats {
	s := sample()
	s.Clients = map[string]int{}
	for i := range 60 {
		s.Clients[fmt.Sprintf("172.18.0.%d", i+2)] = 1 + i%12
	}
	for i := range 40 {
		s.Hits[fmt.Sprintf("/gallery/%02d.png", i)] = uint64(1000 + i)
	}
	s.Limits = Limits{MaxTotal: 60, MaxPerClient: 12, ClientKey: "ip", Rate: 5, WindowS: 1}
	return s
}

func busyWindows(n int) RateWindows {
	rw := RateWindows{Limit: 5, WindowS: 1, Active: 60}
	for i := range min(n, 60) {
		rw.Clients = append(rw.Clients, RateClient{Client: fmt.Sprintf("172.18.0.%d", i+2), Admitted: 5, RetryAfterS: 1, WaitMS: 300})
	}
	return rw
}

// BenchmarkFrame is what the dashboard costs the server per Interval while
// any number of browsers watch: one frame, built once for all of them.
func BenchmarkFrame(b *testing.B) {
	a := New(Options{Stats: busyStats, RateWindows: busyWindows})
	for i := range SeriesLen {
		a.sample(time.Unix(int64(i), 0))
	}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		size = len(a.frame(time.Now()))
	}
	b.ReportMetric(float64(size), "bytes/frame")
}

// BenchmarkStatsJSON is what one poll of /stats costs the server, besides
// its HTTP exchange (a connection, a request parsed, a response written).
func BenchmarkStatsJSON(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		enc := json.NewEncoder(io.Discard)
		enc.SetIndent("", "  ")
		_ = enc.Encode(busyStats())
	}
}
