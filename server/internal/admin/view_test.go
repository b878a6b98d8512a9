package admin

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestViewConnectionBars(t *testing.T) {
	s := &Stats{
		Connections: Connections{Active: 15, Peak: 30},
		// Ties in N are ordered by client, so the page does not shuffle.
		Clients: map[string]int{"b": 4, "a": 4, "c": 3, "f": 1, "e": 1, "g": 1, "h": 1, "i": 1, "d": 1},
		Limits:  Limits{MaxTotal: 60, MaxPerClient: 4},
	}
	v := newView(time.Unix(0, 0), s, nil, nil, 0, false)
	if v.TotalPct != 25 || v.TotalPeakPct != 50 {
		t.Errorf("total bars %v %% now, %v %% peak; want 25 and 50 (15 and 30 of 60)", v.TotalPct, v.TotalPeakPct)
	}
	if v.ClientScale != 4 {
		t.Errorf("ClientScale %d, want the cap, 4", v.ClientScale)
	}
	want := []clientBar{{"a", 4, 100, true}, {"b", 4, 100, true}, {"c", 3, 75, false},
		{"d", 1, 25, false}, {"e", 1, 25, false}, {"f", 1, 25, false}, {"g", 1, 25, false}, {"h", 1, 25, false}, {"i", 1, 25, false}}
	if !slices.Equal(v.Clients, want) || v.MoreClients != 0 {
		t.Errorf("clients %+v (+%d), want %+v", v.Clients, v.MoreClients, want)
	}
}

// With no caps, bars scale to the busiest client and nothing is full; no
// division by a zero cap shows as NaN.
func TestViewWithoutCaps(t *testing.T) {
	s := &Stats{Connections: Connections{Active: 3, Peak: 7}, Clients: map[string]int{"x": 2, "y": 8}}
	v := newView(time.Unix(0, 0), s, nil, nil, 0, false)
	if v.TotalPct != 0 || v.TotalPeakPct != 0 {
		t.Errorf("total bars %v, %v with no total cap; want 0, 0", v.TotalPct, v.TotalPeakPct)
	}
	want := []clientBar{{"y", 8, 100, false}, {"x", 2, 25, false}}
	if v.ClientScale != 8 || !slices.Equal(v.Clients, want) {
		t.Errorf("scale %d, clients %+v; want 8, %+v", v.ClientScale, v.Clients, want)
	}
	// A client at 0 with no cap: the scale is 0 and the bar empty.
	v = newView(time.Unix(0, 0), &Stats{Clients: map[string]int{"z": 0}}, nil, nil, 0, false)
	if v.ClientScale != 0 || len(v.Clients) != 1 || v.Clients[0].Pct != 0 || v.Clients[0].Full {
		t.Errorf("scale %d, clients %+v; want 0 and one empty bar", v.ClientScale, v.Clients)
	}
	if v.Last != (Second{}) {
		t.Errorf("Last %+v with no series, want zero", v.Last)
	}
}

// Lists stop at TopN; the rest is counted.
func TestViewListsAreBounded(t *testing.T) {
	s := &Stats{Clients: map[string]int{}, Hits: map[string]uint64{}}
	for i := range TopN + 3 {
		s.Clients[fmt.Sprintf("10.0.0.%02d", i)] = 1 + i
		s.Hits[fmt.Sprintf("/p%02d", i)] = uint64(1 + i)
	}
	v := newView(time.Unix(0, 0), s, nil, nil, 0, false)
	if len(v.Clients) != TopN || v.MoreClients != 3 || v.Clients[0].Client != "10.0.0.22" || v.Clients[TopN-1].Client != "10.0.0.03" {
		t.Errorf("%d clients shown (%s .. %s), %d more; want the %d busiest and 3 more",
			len(v.Clients), v.Clients[0].Client, v.Clients[len(v.Clients)-1].Client, v.MoreClients, TopN)
	}
	if len(v.Hits) != TopN || v.Hits[0] != (hitRow{"/p22", 23}) || v.Hits[TopN-1] != (hitRow{"/p03", 4}) {
		t.Errorf("hits %v, want the %d most hit, /p22 first", v.Hits, TopN)
	}
	if v.HitsSum != 23*24/2 {
		t.Errorf("HitsSum %d, want every hit, shown or not: %d", v.HitsSum, 23*24/2)
	}
}

func TestViewHitsAndLostUpdates(t *testing.T) {
	s := &Stats{
		Requests: Requests{Status: map[string]uint64{"200": 15, "404": 5}},
		Hits:     map[string]uint64{"/b": 3, "/a": 3, "/c": 1, "/f": 1, "/d": 1, "/g": 1, "/e": 1, "/h": 1},
	}
	v := newView(time.Unix(0, 0), s, nil, nil, 0, false)
	if want := []hitRow{{"/a", 3}, {"/b", 3}, {"/c", 1}, {"/d", 1}, {"/e", 1}, {"/f", 1}, {"/g", 1}, {"/h", 1}}; !slices.Equal(v.Hits, want) {
		t.Errorf("hits %v, want %v (ties by path)", v.Hits, want)
	}
	if v.OK != 15 || v.HitsSum != 12 || v.Lost != 3 {
		t.Errorf("OK %d, HitsSum %d, Lost %d; want 15, 12, 3", v.OK, v.HitsSum, v.Lost)
	}
	// Hits counted ahead of the 200s (in flight) are not shown as lost.
	s.Requests.Status["200"] = 5
	if v := newView(time.Unix(0, 0), s, nil, nil, 0, false); v.Lost != 0 {
		t.Errorf("Lost %d with more hits than 200s, want 0", v.Lost)
	}
}

func TestViewLimiterBars(t *testing.T) {
	rw := &RateWindows{Limit: 4, Active: 5, Clients: []RateClient{
		{Client: "a", Admitted: 4}, {Client: "b", Admitted: 3}, {Client: "c", Admitted: 1},
	}}
	v := newView(time.Unix(0, 0), &Stats{}, nil, rw, 0, false)
	var got []string
	for _, b := range v.LimiterBars {
		got = append(got, fmt.Sprintf("%s %v %v", b.Client, b.Pct, b.Full))
	}
	if want := []string{"a 100 true", "b 75 false", "c 25 false"}; !slices.Equal(got, want) {
		t.Errorf("limiter bars %q, want %q", got, want)
	}
	if v.MoreLimited != 2 {
		t.Errorf("MoreLimited %d, want 2 (5 active, 3 shown)", v.MoreLimited)
	}
	// A limit of 0 (none) draws empty bars, not NaN.
	v = newView(time.Unix(0, 0), &Stats{}, nil, &RateWindows{Clients: []RateClient{{Client: "a"}}}, 0, false)
	if len(v.LimiterBars) != 1 || v.LimiterBars[0].Pct != 0 || math.IsNaN(v.LimiterBars[0].Pct) {
		t.Errorf("limiter bars %+v with limit 0", v.LimiterBars)
	}
}

// The strip chart: x one step per second with the newest at the right edge
// (600), y from 120 (0) to 0 (the chart's maximum).
func TestChartGeometry(t *testing.T) {
	series := []Second{
		{T: 1, Admitted: 3, RefusedTotal: 0, RefusedClient: 18},
		{T: 2, Admitted: 10, RefusedTotal: 5, RefusedClient: 0},
		{T: 3, Admitted: 6, RefusedTotal: 1, RefusedClient: 2},
	}
	v := newView(time.Unix(0, 0), &Stats{}, series, nil, 0, false)
	c := v.Conns
	if c.Max != 20 {
		t.Errorf("Max %d, want 20 (18 rounded up)", c.Max)
	}
	// x: 600 × (60-3+i) / 59 = 579.7, 589.8, 600.0
	want := []string{
		"579.7,102.0 589.8,60.0 600.0,84.0",
		"579.7,120.0 589.8,90.0 600.0,114.0",
		"579.7,12.0 589.8,120.0 600.0,108.0",
	}
	for i, l := range c.Lines {
		if l.Points != want[i] {
			t.Errorf("line %s: points %q, want %q", l.Name, l.Points, want[i])
		}
	}
	if c.Lines[0].Last != 6 || c.Lines[1].Last != 1 || c.Lines[2].Last != 2 {
		t.Errorf("last values %+v, want 6, 1, 2", c.Lines)
	}
	if v.Last != series[2] {
		t.Errorf("Last %+v, want the newest second", v.Last)
	}
	// A full minute starts at the left edge.
	full := make([]Second, SeriesLen)
	c = newView(time.Unix(0, 0), &Stats{}, full, nil, 0, false).Reqs
	if p := c.Lines[0].Points; !strings.HasPrefix(p, "0.0,120.0 10.2,120.0 ") || !strings.HasSuffix(p, " 600.0,120.0") || c.Max != 5 {
		t.Errorf("a full minute of zeros: max %d, points %q", c.Max, p)
	}
}

func TestCountsOfSortsStatuses(t *testing.T) {
	s := &Stats{
		Connections: Connections{Accepted: 7, RejectedTotalCap: 8, RejectedClientCap: 9},
		Requests: Requests{Status: map[string]uint64{
			"200": 1, "429": 2, "400": 4, "499": 8, "500": 16, "399": 32, "301": 64,
		}},
	}
	want := counts{admitted: 7, refusedTotal: 8, refusedClient: 9, s200: 1, s429: 2, s4xx: 12, other: 112}
	if got := countsOf(s); got != want {
		t.Errorf("countsOf = %+v, want %+v", got, want)
	}
}

func TestSub(t *testing.T) {
	for _, c := range []struct{ b, a, want uint64 }{{5, 3, 2}, {3, 3, 0}, {3, 5, 0}, {0, 0, 0}} {
		if got := sub(c.b, c.a); got != c.want {
			t.Errorf("sub(%d, %d) = %d, want %d", c.b, c.a, got, c.want)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	for _, c := range []struct {
		in, want               time.Duration
		inStreams, wantStreams int
	}{
		{0, DefaultInterval, 0, DefaultMaxStreams},
		{-time.Second, DefaultInterval, -1, DefaultMaxStreams},
		{time.Millisecond, time.Millisecond, 1, 1},
	} {
		a := New(Options{Stats: sample, Interval: c.in, MaxStreams: c.inStreams})
		if a.o.Interval != c.want || a.o.MaxStreams != c.wantStreams {
			t.Errorf("New(Interval %v, MaxStreams %d): %v, %d; want %v, %d",
				c.in, c.inStreams, a.o.Interval, a.o.MaxStreams, c.want, c.wantStreams)
		}
	}
	if DefaultInterval != 500*time.Millisecond || DefaultMaxStreams != 16 || writeWait != 10*time.Second {
		t.Errorf("defaults %v, %d, %v; want 500ms, 16, 10s", DefaultInterval, DefaultMaxStreams, writeWait)
	}
}
