package load

import (
	"context"
	"testing"
	"time"
)

func BenchmarkNginx(b *testing.B) {
	t := Target{Host: "127.0.0.1", Port: 18080, Paths: []string{"/file.html"}}
	for b.Loop() {
		run := Execute(context.Background(), t, Options{Requests: 20000, Concurrency: 50, Timeout: 10 * time.Second, Mode: Concurrent})
		b.ReportMetric(float64(len(run.Results))/run.Wall.Seconds(), "req/s")
	}
}
