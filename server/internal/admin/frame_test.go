package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A frame is one server-sent event: an id line, one data line of JSON, and
// the blank line that ends the event; nothing else.
func TestFrameIsOneEvent(t *testing.T) {
	a := New(Options{Stats: sample})
	for seq, want := range []string{"id: 1\ndata: {", "id: 2\ndata: {"} {
		ev := string(a.frame(time.Unix(1, 0)))
		if !strings.HasPrefix(ev, want) || !strings.HasSuffix(ev, "}\n\n") || strings.Count(ev, "\n") != 3 {
			t.Fatalf("frame %d is not one event of one data line:\n%q", seq+1, ev)
		}
		var f Frame
		if err := json.Unmarshal([]byte(strings.TrimPrefix(strings.SplitN(ev, "\n", 3)[1], "data: ")), &f); err != nil {
			t.Fatal(err)
		}
		if f.Seq != uint64(seq+1) || f.Time != "1970-01-01T00:00:01.000Z" || f.HitPaths != 2 || f.HitsSum != 53 ||
			f.LostUpdates != 47 || f.Limiter != nil || f.Stats.Hits["/index.html"] != 50 {
			t.Errorf("frame %+v", f)
		}
	}
}

// Without a stream open, Run only samples: it builds no frame.
func TestNoFramesWithoutWatchers(t *testing.T) {
	a := New(Options{Stats: sample, Interval: time.Millisecond})
	a.step = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	waitFor(t, "three samples", func() bool { return len(a.seriesCopy()) >= 3 })
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	seq := a.seq
	a.mu.Unlock()
	if seq != 0 {
		t.Errorf("%d frames built with nobody watching", seq)
	}
}

// A second Run while one runs is refused; after it returns, Run may start again.
func TestRunOnce(t *testing.T) {
	a := New(Options{Stats: sample})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	waitFor(t, "Run to start", a.isRunning)
	if err := a.Run(context.Background()); err == nil {
		t.Error("a second Run did not refuse")
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := a.Run(ctx); err != nil {
		t.Errorf("Run after the first returned: %v", err)
	}
}

// A stream gets its first frame at once, not at the next tick; a stream
// opened right after shares that frame instead of building another.
func TestFirstFrameAtOnce(t *testing.T) {
	f := newFake()
	_, ts, _ := startLive(t, f, Options{Interval: time.Hour}) // no tick during the test
	var seqs []uint64
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/live", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		s := &stream{resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
		seqs = append(seqs, s.next(t).Seq)
	}
	if seqs[0] != 1 || seqs[1] != 1 {
		t.Errorf("first frames %v, want the first built once and shared: [1 1]", seqs)
	}
}
