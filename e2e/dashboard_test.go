package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// frame is the part of the dashboard's live frames (GET /live on the admin port) these tests read.
type frame struct {
	Seq   uint64 `json:"seq"`
	Stats struct {
		Requests struct {
			Total  int            `json:"total"`
			Status map[string]int `json:"status"`
		} `json:"requests"`
	} `json:"stats"`
	Series []struct {
		S200 int `json:"s200"`
		S429 int `json:"s429"`
	} `json:"series"`
	Limiter *struct {
		Limit   int `json:"limit"`
		Clients []struct {
			Client      string `json:"client"`
			Admitted    int    `json:"admitted"`
			RetryAfterS int    `json:"retry_after_s"`
		} `json:"clients"`
	} `json:"limiter"`
}

// TestComposeDashboard: the lab publishes the dashboard on 9090, and beside it
// `docker compose run --rm requester -r 200 -t 10` shows the limiter at work while it runs: the
// requester container's window full at 5, its 429s' Retry-After, 200s and 429s per second, and
// at the end the numbers /stats has.
func TestComposeDashboard(t *testing.T) {
	composeCmd := requireEngine(t)
	s := newStack(t, composeCmd)
	t.Cleanup(func() {
		if err := s.down(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	s.build("server", "requester")
	s.up("server")
	admin := s.adminURL("server")

	resp, err := http.Get(admin + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `id="s-limiter"`) || !strings.Contains(string(page), `EventSource("live")`) {
		t.Fatalf("GET / on the admin port: %s\n%s", resp.Status, tail(string(page), 1000))
	}

	// A browser's stream, read while the requester runs.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", admin+"/live", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /live: %v %v", err, resp)
	}
	var mu sync.Mutex
	var frames []frame
	go func() {
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if d, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "data: "); ok {
				var f frame
				if json.Unmarshal([]byte(d), &f) == nil {
					mu.Lock()
					frames = append(frames, f)
					mu.Unlock()
				}
			}
		}
	}()

	r, err := s.requester(context.Background(), "requester", "-r", "200", "-t", "10")
	if err != nil {
		t.Fatal(err)
	}
	ip := ips(r)
	if len(ip) != 1 {
		t.Fatalf("requester source IPs %v", ip)
	}
	st := r.Runs[0].Status
	t.Logf("requester %s, 200 over 10 s: %v", ip[0], st)

	want := s.waitStats(admin, 30*time.Second, "every response counted", func(st stats) bool {
		return st.Connections.Active == 0 && st.Requests.Total == st.Connections.Accepted
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		var last frame
		if len(frames) > 0 {
			last = frames[len(frames)-1]
		}
		n := len(frames)
		mu.Unlock()
		s200, s429 := 0, 0 // the series catch up within a second
		for _, x := range last.Series {
			s200 += x.S200
			s429 += x.S429
		}
		if last.Stats.Requests.Total == want.Requests.Total && last.Stats.Requests.Status["429"] == want.Requests.Status["429"] &&
			s200 == want.Requests.Status["200"] && s429 == want.Requests.Status["429"] {
			t.Logf("%d frames; the last shows %v, as /stats does, and its per-second series add up to it", n, last.Stats.Requests.Status)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the run the stream's last frame shows %+v (series: %d × 200, %d × 429), /stats %+v", last.Stats.Requests, s200, s429, want.Requests)
		}
		time.Sleep(200 * time.Millisecond)
	}

	mu.Lock()
	defer mu.Unlock()
	// 10 s at 2 frames a second.
	if len(frames) < 15 {
		t.Errorf("%d frames during a 10 s run; want about 20", len(frames))
	}
	full, retry := 0, 0
	for _, f := range frames {
		if f.Limiter == nil {
			continue
		}
		for _, c := range f.Limiter.Clients {
			if c.Client != ip[0] {
				continue
			}
			if c.Admitted > f.Limiter.Limit {
				t.Errorf("frame %d: %s admitted %d in the window, over the limit %d", f.Seq, c.Client, c.Admitted, f.Limiter.Limit)
			}
			if c.Admitted == f.Limiter.Limit {
				full++
			}
			if c.RetryAfterS >= 1 {
				retry++
			}
		}
	}
	// At 20 requests a second against 5, the window is full most of the time.
	if full < len(frames)/3 || retry == 0 {
		t.Errorf("the requester's window was full in %d of %d frames (Retry-After shown in %d); want most", full, len(frames), retry)
	}
	if want.Requests.Status["200"] != st["200"] || want.Requests.Status["429"] != st["429"] {
		t.Errorf("/stats counts %v; the requester got %v", want.Requests.Status, st)
	}
}
