// Package admin serves the admin listener: /healthz, /stats (JSON),
// /metrics (Prometheus), and the live dashboard: GET / (one self-contained
// page, readable without JavaScript) and GET /live (its server-sent events).
// Every document is built from one snapshot taken at request time, or once a
// second and once per frame by the sampler (Run), never on the serving path.
package admin

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Stats is the /stats document. The contract names the first five fields;
// the rest are extra detail for the lab.
type Stats struct {
	Mode        string            `json:"mode"`
	Connections Connections       `json:"connections"`
	Clients     map[string]int    `json:"clients"`
	Requests    Requests          `json:"requests"`
	Hits        map[string]uint64 `json:"hits"`
	Limits      Limits            `json:"limits"`
	Counter     string            `json:"counter"`
	DelayMS     float64           `json:"delay_ms"`
	UptimeS     float64           `json:"uptime_s"`
}

// Connections counts connections at accept.
type Connections struct {
	Active             int    `json:"active"`
	Peak               int    `json:"peak"`
	PeakPerClient      int    `json:"peak_per_client"`
	Accepted           uint64 `json:"accepted"`
	RejectedTotalCap   uint64 `json:"rejected_total_cap"`
	RejectedClientCap  uint64 `json:"rejected_client_cap"`
	RefusalsUnlingered uint64 `json:"refusals_unlingered"`
	RefusalsUnwritten  uint64 `json:"refusals_unwritten"`
	AcceptErrors       uint64 `json:"accept_errors"`
	// Idle connections (no head yet, or a response not moving) that lost
	// their slot to a newcomer while the total cap was full.
	ShedPending uint64 `json:"shed_pending"`
	ShedStalled uint64 `json:"shed_stalled"`
	Idle        int    `json:"idle"` // admitted connections idle now
}

// Requests counts responses to admitted connections by status.
type Requests struct {
	Total       uint64            `json:"total"`
	RateLimited uint64            `json:"rate_limited"`
	Status      map[string]uint64 `json:"status"`
}

// Limits echoes the limits in force, so a report can show what was measured.
type Limits struct {
	MaxTotal     int     `json:"max_total"`
	MaxPerClient int     `json:"max_per_client"`
	ClientKey    string  `json:"client_key"`
	Rate         int     `json:"rate"`
	WindowS      float64 `json:"window_s"`
	RateKeys     int     `json:"rate_keys_tracked"`
}

// Handler returns the admin handler without the sampler: /healthz, /stats,
// /metrics, and the dashboard as a static page. New and Run make it live.
func Handler(stats func() Stats) http.Handler { return New(Options{Stats: stats}) }

// routes: stats is called once per /stats request and once per /metrics
// scrape; the dashboard's page once per load, its frames once per Interval
// while a stream is open.
func (a *Admin) routes() *http.ServeMux {
	stats := a.o.Stats
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newCollector(stats),
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(stats())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /{$}", a.page)
	mux.HandleFunc("GET /live", a.live)
	return mux
}
