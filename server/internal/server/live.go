package server

import (
	"time"

	"httplab/httplab-server/internal/admin"
	"httplab/httplab-server/internal/ratelimit"
)

// RateWindows is the rate limiter per client for the admin dashboard: how
// many clients have an admission in the window now, and the n fullest
// windows with the Retry-After a 429 to each would carry now. It only reads
// the limiter (ratelimit.Windows), so watching changes no decision.
func (s *Server) RateWindows(n int) admin.RateWindows {
	rw := admin.RateWindows{Limit: s.o.RateLimit, WindowS: s.o.RateWindow.Seconds()}
	if s.o.RateLimit == 0 || !s.o.Mode.limited() {
		rw.Limit = 0
		return rw
	}
	active, top := s.limiter.Windows(time.Now(), n)
	rw.Active = active
	rw.Clients = make([]admin.RateClient, len(top))
	for i, w := range top {
		c := admin.RateClient{
			Client:   w.Key.String(),
			Admitted: w.Admitted,
			WaitMS:   ms(w.Wait),
			SinceMS:  ms(w.Since),
		}
		if w.Admitted >= s.o.RateLimit {
			c.RetryAfterS = ratelimit.RetryAfterSeconds(w.Wait)
		}
		rw.Clients[i] = c
	}
	return rw
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
