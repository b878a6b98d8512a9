package admin

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// collector turns a Stats snapshot into Prometheus metrics at scrape time
// (the "const metrics" pattern), instead of updating Prometheus vectors on
// every request.
type collector struct {
	stats func() Stats

	active, peak, accepted, rejected, requests, rateLimited, hits, rateKeys, unlingered, unwritten, acceptErrs, shed, idle *prometheus.Desc
}

func newCollector(stats func() Stats) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("httplab_"+name, help, labels, nil)
	}
	return &collector{
		stats:       stats,
		active:      d("connections_active", "Connections being served now."),
		peak:        d("connections_peak", "Most connections served at once since start."),
		accepted:    d("connections_accepted_total", "Connections admitted at accept."),
		rejected:    d("connections_rejected_total", "Connections refused at accept with 503, by reason.", "reason"),
		requests:    d("requests_total", "Responses to admitted connections, by status code.", "code"),
		rateLimited: d("requests_rate_limited_total", "Requests refused with 429 by the rate limiter."),
		hits:        d("hits_total", "200 responses by path.", "path"),
		rateKeys:    d("ratelimit_keys", "Client keys tracked by the rate limiter."),
		unlingered:  d("refusals_unlingered_total", "503 refusals closed without a lingering close because too many were lingering."),
		unwritten:   d("refusals_unwritten_total", "503 refusals the kernel would not take at once (a zero window or a dead socket); the socket was closed without one."),
		acceptErrs:  d("accept_errors_total", "Temporary accept errors (such as EMFILE) survived with backoff."),
		shed:        d("connections_shed_total", "Idle connections that lost their slot to a newcomer while the server was full, by reason: pending (no request head yet) or stalled (response not moving).", "reason"),
		idle:        d("connections_idle", "Admitted connections now idle: no request head yet, or a stalled response."),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.active, c.peak, c.accepted, c.rejected, c.requests,
		c.rateLimited, c.hits, c.rateKeys, c.unlingered, c.unwritten, c.acceptErrs, c.shed, c.idle} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	gauge(c.active, float64(s.Connections.Active))
	gauge(c.peak, float64(s.Connections.Peak))
	counter(c.accepted, s.Connections.Accepted)
	counter(c.rejected, s.Connections.RejectedTotalCap, "total_cap")
	counter(c.rejected, s.Connections.RejectedClientCap, "client_cap")
	for code, n := range s.Requests.Status {
		if _, err := strconv.Atoi(code); err == nil {
			counter(c.requests, n, code)
		}
	}
	counter(c.rateLimited, s.Requests.RateLimited)
	for p, n := range s.Hits {
		counter(c.hits, n, p)
	}
	gauge(c.rateKeys, float64(s.Limits.RateKeys))
	counter(c.unlingered, s.Connections.RefusalsUnlingered)
	counter(c.unwritten, s.Connections.RefusalsUnwritten)
	counter(c.acceptErrs, s.Connections.AcceptErrors)
	counter(c.shed, s.Connections.ShedPending, "pending")
	counter(c.shed, s.Connections.ShedStalled, "stalled")
	gauge(c.idle, float64(s.Connections.Idle))
}
