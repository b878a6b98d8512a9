package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultInterval   = 500 * time.Millisecond
	DefaultMaxStreams = 16
	// SeriesLen is how many seconds the strip charts show.
	SeriesLen = 60
	// TopN bounds every list on the dashboard: clients, limiter windows, hits.
	TopN = 20
	// writeWait bounds one write to a live stream: a browser that stops
	// reading (a suspended laptop) loses its stream instead of holding a
	// goroutine and a frame for ever.
	writeWait = 10 * time.Second
)

// Options configure the admin handler.
type Options struct {
	// Stats is the /stats document now. Required.
	Stats func() Stats
	// RateWindows is the rate limiter's view now, the n fullest windows;
	// nil when there is none to show.
	RateWindows func(n int) RateWindows
	// Interval is the time between frames of the live stream (0: 500 ms).
	Interval time.Duration
	// MaxStreams bounds the live streams open at once (0: 16); past it
	// GET /live answers 503 with Retry-After.
	MaxStreams int
}

// RateWindows is the rate limiter per client, for the dashboard.
type RateWindows struct {
	Limit   int          `json:"limit"`
	WindowS float64      `json:"window_s"`
	Active  int          `json:"active"` // clients with an admission in the window
	Clients []RateClient `json:"clients"`
}

// RateClient is one client's sliding window.
type RateClient struct {
	Client   string `json:"client"`
	Admitted int    `json:"admitted"` // admissions in the window now, at most the limit
	// RetryAfterS is the Retry-After a 429 carries now: set only while the
	// window is full, i.e. while this client is being refused.
	RetryAfterS int     `json:"retry_after_s,omitempty"`
	WaitMS      float64 `json:"wait_ms"`  // until a request would be admitted; 0 while not full
	SinceMS     float64 `json:"since_ms"` // since its newest admission
}

// Second is what happened in one second.
type Second struct {
	T             int64  `json:"t"` // Unix time of the second's end
	Admitted      uint64 `json:"admitted"`
	RefusedTotal  uint64 `json:"refused_total_cap"`
	RefusedClient uint64 `json:"refused_client_cap"`
	S200          uint64 `json:"s200"`
	S429          uint64 `json:"s429"`
	S4xx          uint64 `json:"s4xx"`  // 4xx other than 429
	Other         uint64 `json:"other"` // 3xx, 5xx
}

// Frame is one event of the live stream: the data, and the page's sections
// rendered from it (so that the page has one renderer, this package's
// templates, and a browser only swaps them in).
type Frame struct {
	Seq      uint64 `json:"seq"`
	Time     string `json:"time"` // RFC 3339 with milliseconds
	Watchers int    `json:"watchers"`
	// Stats is the /stats document of the instant, except that Hits holds
	// only the TopN paths with the most hits.
	Stats       Stats             `json:"stats"`
	HitPaths    int               `json:"hit_paths"`    // paths with a hit
	HitsSum     uint64            `json:"hits_sum"`     // all hits counted
	LostUpdates uint64            `json:"lost_updates"` // 200s minus hits counted
	Series      []Second          `json:"series"`       // oldest first, at most SeriesLen
	Limiter     *RateWindows      `json:"limiter,omitempty"`
	HTML        map[string]string `json:"html"`
}

// Admin is the admin listener's handler and the sampler behind its
// dashboard. Run samples; without Run, the page is a static snapshot and
// GET /live answers 503.
type Admin struct {
	o    Options
	mux  *http.ServeMux
	step time.Duration // of the series: a second, shorter in tests

	mu      sync.Mutex
	running bool
	done    chan struct{} // closed when Run returns
	series  []Second      // ring of SeriesLen
	head    int           // index of the oldest
	prev    counts        // at the last sample
	subs    map[chan []byte]struct{}
	seq     uint64
	last    []byte    // the last frame, encoded as an event
	lastAt  time.Time // when it was built
}

// New returns the admin handler for o.
func New(o Options) *Admin {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	a := &Admin{o: o, step: time.Second, subs: map[chan []byte]struct{}{}}
	a.mux = a.routes()
	return a
}

// ServeHTTP serves the admin listener.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Watchers is the number of live streams open now.
func (a *Admin) Watchers() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.subs)
}

// counts are the cumulative counters the series is made of.
type counts struct {
	admitted, refusedTotal, refusedClient, s200, s429, s4xx, other uint64
}

func countsOf(s *Stats) counts {
	c := counts{
		admitted:      s.Connections.Accepted,
		refusedTotal:  s.Connections.RejectedTotalCap,
		refusedClient: s.Connections.RejectedClientCap,
	}
	for code, n := range s.Requests.Status {
		// An if chain rather than a switch: coverage tools see a case's
		// condition as outside every block, so mutation testing could not
		// tell these comparisons are tested.
		v, _ := strconv.Atoi(code)
		if v == 200 {
			c.s200 += n
		} else if v == 429 {
			c.s429 += n
		} else if v >= 400 && v < 500 {
			c.s4xx += n
		} else {
			c.other += n
		}
	}
	return c
}

// sub is b-a, or 0 where a counter went back (it never does; a restarted
// server is a new Admin).
func sub(b, a uint64) uint64 {
	if b < a {
		return 0
	}
	return b - a
}

// Run samples the counters every second into the series, and while live
// streams are open sends them a frame every Interval, until ctx is done;
// then it ends the streams and returns. The sampling alone is one Stats call
// a second; frames are built once per Interval whatever the number of
// streams, so a browser more costs one write of the frame, not a snapshot.
func (a *Admin) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.running {
		a.mu.Unlock()
		return errors.New("admin: Run is already running")
	}
	st := a.o.Stats()
	a.running, a.done = true, make(chan struct{})
	a.series, a.head, a.prev = a.series[:0], 0, countsOf(&st)
	done := a.done
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.running = false
		close(done)
		a.mu.Unlock()
	}()

	sample := time.NewTicker(a.step)
	defer sample.Stop()
	frames := time.NewTicker(a.o.Interval)
	defer frames.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-sample.C:
			a.sample(now)
		case now := <-frames.C:
			if a.Watchers() > 0 {
				a.broadcast(a.frame(now))
			}
		}
	}
}

func (a *Admin) sample(now time.Time) {
	st := a.o.Stats()
	c := countsOf(&st)
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.prev
	s := Second{
		T:             now.Unix(),
		Admitted:      sub(c.admitted, p.admitted),
		RefusedTotal:  sub(c.refusedTotal, p.refusedTotal),
		RefusedClient: sub(c.refusedClient, p.refusedClient),
		S200:          sub(c.s200, p.s200),
		S429:          sub(c.s429, p.s429),
		S4xx:          sub(c.s4xx, p.s4xx),
		Other:         sub(c.other, p.other),
	}
	a.prev = c
	if len(a.series) < SeriesLen {
		a.series = append(a.series, s)
		return
	}
	a.series[a.head] = s
	a.head = (a.head + 1) % SeriesLen
}

// seriesCopy is the series oldest first.
func (a *Admin) seriesCopy() []Second {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Second, 0, len(a.series))
	out = append(out, a.series[a.head:]...)
	return append(out, a.series[:a.head]...)
}

// frame builds the frame of the instant now and returns it encoded as one
// server-sent event.
func (a *Admin) frame(now time.Time) []byte {
	st := a.o.Stats()
	rw := a.rateWindows()
	v := newView(now, &st, a.seriesCopy(), rw, a.Watchers(), a.isRunning())
	f := Frame{
		Time:        now.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Watchers:    v.Watchers,
		Stats:       st,
		HitPaths:    len(st.Hits),
		HitsSum:     v.HitsSum,
		LostUpdates: v.Lost,
		Series:      v.Series,
		Limiter:     rw,
		HTML:        v.sections(),
	}
	f.Stats.Hits = make(map[string]uint64, len(v.Hits))
	for _, h := range v.Hits {
		f.Stats.Hits[h.Path] = h.N
	}
	a.mu.Lock()
	a.seq++
	f.Seq = a.seq
	a.mu.Unlock()
	// The event's data is one line of JSON: the encoder escapes every newline
	// inside strings. HTML escaping (< as \u003c) is for JSON put inside HTML;
	// here it would only make the sections a sixth longer.
	var b bytes.Buffer
	fmt.Fprintf(&b, "id: %d\ndata: ", f.Seq)
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil { // cannot happen: the frame is maps and numbers
		b.WriteString("{}\n")
	}
	b.WriteByte('\n') // Encode ended the line; a blank line ends the event
	ev := b.Bytes()
	a.mu.Lock()
	a.last, a.lastAt = ev, now
	a.mu.Unlock()
	return ev
}

// rateWindows is the limiter's view, or nil where no limiter runs.
func (a *Admin) rateWindows() *RateWindows {
	if a.o.RateWindows == nil {
		return nil
	}
	rw := a.o.RateWindows(TopN)
	if rw.Limit == 0 {
		return nil
	}
	return &rw
}

func (a *Admin) isRunning() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.running
}

// broadcast hands ev to every stream. A stream still writing the previous
// frame has it replaced: the newest frame wins, nothing queues.
func (a *Admin) broadcast(ev []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for ch := range a.subs {
		select {
		case ch <- ev:
		default:
			select {
			case <-ch:
			default:
			}
			ch <- ev // the only sender holds a.mu, so there is room now
		}
	}
}

// live is GET /live: the server-sent event stream the page listens to.
func (a *Admin) live(w http.ResponseWriter, r *http.Request) {
	ch := make(chan []byte, 1)
	a.mu.Lock()
	running, done, n := a.running, a.done, len(a.subs)
	if running && n < a.o.MaxStreams {
		a.subs[ch] = struct{}{}
	}
	a.mu.Unlock()
	if !running {
		http.Error(w, "live updates are off (the sampler is not running)", http.StatusServiceUnavailable)
		return
	}
	if n >= a.o.MaxStreams {
		w.Header().Set("Retry-After", "10")
		http.Error(w, fmt.Sprintf("%d live streams are open, the most this server allows: close a dashboard", n),
			http.StatusServiceUnavailable)
		return
	}
	defer func() {
		a.mu.Lock()
		delete(a.subs, ch)
		a.mu.Unlock()
	}()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a proxy in front must not hold frames back
	rc := http.NewResponseController(w)
	// The connection may serve another request after this one: leave it no deadline of ours.
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	send := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeWait)) // not supported by test recorders
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// The first frame at once: a fresh one unless the last is recent.
	a.mu.Lock()
	first := a.last
	fresh := time.Since(a.lastAt) < a.o.Interval
	a.mu.Unlock()
	if !fresh {
		first = a.frame(time.Now())
	}
	if !send(append([]byte("retry: 2000\n"), first...)) {
		return
	}
	for {
		select {
		case <-r.Context().Done(): // the browser went away
			return
		case <-done: // the server is stopping
			return
		case ev := <-ch:
			if !send(ev) {
				return
			}
		}
	}
}
