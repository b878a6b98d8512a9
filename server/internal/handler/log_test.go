package handler_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/handler"
	"httplab/httplab-server/internal/ratelimit"
)

// TestLogRouting: every answer is logged once, 429s to the sampled refusal
// log and everything else to the access log, at warn for client errors
// other than 404 and 429, at info otherwise.
func TestLogRouting(t *testing.T) {
	site, _ := testSite(t)
	cases := []struct {
		name, method, raw string
		status            int
		refusal           bool
		level             string
	}{
		{"200", "GET", "GET /a.html HTTP/1.0\r\n\r\n", 200, false, "info"},
		{"301", "GET", "GET /books HTTP/1.0\r\n\r\n", 301, false, "info"},
		{"304", "GET", "GET /a.html HTTP/1.0\r\nIf-Modified-Since: " + time.Now().UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT") + "\r\n\r\n", 304, false, "info"},
		{"400", "GET", "GET /a.html HTTP/1.1\r\n\r\n", 400, false, "warn"},
		{"404", "GET", "GET /nope.html HTTP/1.0\r\n\r\n", 404, false, "info"},
		{"405", "GET", "DELETE /a.html HTTP/1.0\r\n\r\n", 405, false, "warn"},
		{"429", "GET", "GET /a.html HTTP/1.0\r\n\r\n", 429, true, "info"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			refusals := &logBuf{}
			lim, err := ratelimit.New(ratelimit.Options{Limit: 1, Window: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, site, func(o *handler.Options) {
				o.RefusalLog = zerolog.New(refusals)
				if tc.status == 429 {
					o.Limiter = lim
				}
			})
			if tc.status == 429 {
				f.exchange(t, "GET", tc.raw) // takes the one admission
				f.log.b.Reset()
			}
			resp, _ := f.exchange(t, tc.method, tc.raw)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			into, other := f.log, refusals
			if tc.refusal {
				into, other = refusals, f.log
			}
			if n := strings.Count(into.b.String(), "\n"); n != 1 {
				t.Fatalf("%d lines in the log it belongs to, want 1", n)
			}
			if other.b.Len() != 0 {
				t.Fatalf("logged to the wrong log too: %q", other.b.String())
			}
			line := into.last(t)
			if line["level"] != tc.level || line["status"] != float64(tc.status) {
				t.Errorf("log line %v, want level %s, status %d", line, tc.level, tc.status)
			}
		})
	}
}

// TestLogDuration: the access log line gives the time from the request's
// start to its end, read from the handler's clock (here one that moves a
// millisecond at each reading).
func TestLogDuration(t *testing.T) {
	site, _ := testSite(t)
	var mu sync.Mutex
	now := time.Now() // deadlines are set from this clock too
	f := newFixture(t, site, func(o *handler.Options) {
		o.Now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(time.Millisecond)
			return now
		}
	})
	if resp, _ := f.exchange(t, "GET", "GET /a.html HTTP/1.0\r\n\r\n"); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	line := f.log.last(t)
	if d, ok := line["dur"].(float64); !ok || d < 1 {
		t.Errorf("log line %v: dur %v, want at least the 1 ms the clock moved", line, line["dur"])
	}
}
