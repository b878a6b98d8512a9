package admin

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strconv"
	"time"
)

//go:embed dashboard.html
var dashboardHTML string

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"pct": func(f float64) string { return fmt.Sprintf("%.1f%%", math.Max(0, math.Min(100, f))) },
}).Parse(dashboardHTML))

// sectionNames are the page's parts that a frame replaces: <section
// id="s-NAME"> in the page, template NAME in dashboard.html.
var sectionNames = []string{"conns", "chart", "limiter", "hits", "config"}

// view is what the page shows, computed from one Stats snapshot.
type view struct {
	At       time.Time
	Live     bool // Run is sampling: the page can subscribe
	Watchers int
	S        *Stats

	TotalPct, TotalPeakPct float64
	ClientScale            int // the per-client bars' 100 %: the cap, else the busiest client
	Clients                []clientBar
	MoreClients            int

	Series        []Second
	Conns, Reqs   chart
	Last          Second // the newest second
	Limiter       *RateWindows
	LimiterBars   []limiterBar
	MoreLimited   int
	Hits          []hitRow
	HitsSum, Lost uint64
	OK            uint64 // 200s so far
}

type clientBar struct {
	Client string
	N      int
	Pct    float64
	Full   bool
}

type limiterBar struct {
	RateClient
	Pct  float64
	Full bool
}

type hitRow struct {
	Path string
	N    uint64
}

// chart is a strip chart: one polyline per series, SeriesLen seconds wide.
type chart struct {
	Max   uint64
	Lines []line
}

type line struct {
	Name, Class, Points string
	Last                uint64
}

const (
	chartW = 600
	chartH = 120
)

func newView(now time.Time, s *Stats, series []Second, rw *RateWindows, watchers int, live bool) *view {
	v := &view{At: now, Live: live, Watchers: watchers, S: s, Series: series, Limiter: rw}
	c := s.Connections
	if m := s.Limits.MaxTotal; m > 0 {
		v.TotalPct, v.TotalPeakPct = 100*float64(c.Active)/float64(m), 100*float64(c.Peak)/float64(m)
	}

	v.ClientScale = s.Limits.MaxPerClient
	for k, n := range s.Clients {
		v.Clients = append(v.Clients, clientBar{Client: k, N: n})
		if s.Limits.MaxPerClient == 0 {
			v.ClientScale = max(v.ClientScale, n)
		}
	}
	sort.Slice(v.Clients, func(i, j int) bool {
		a, b := v.Clients[i], v.Clients[j]
		return a.N > b.N || a.N == b.N && a.Client < b.Client
	})
	if len(v.Clients) > TopN {
		v.MoreClients, v.Clients = len(v.Clients)-TopN, v.Clients[:TopN]
	}
	for i := range v.Clients {
		b := &v.Clients[i]
		if v.ClientScale > 0 {
			b.Pct = 100 * float64(b.N) / float64(v.ClientScale)
		}
		b.Full = s.Limits.MaxPerClient > 0 && b.N >= s.Limits.MaxPerClient
	}

	if len(series) > 0 {
		v.Last = series[len(series)-1]
	}
	v.Conns = newChart(series, []line{
		{Name: "admitted", Class: "ok"}, {Name: "refused: total cap", Class: "bad"}, {Name: "refused: client cap", Class: "warn"},
	}, func(s Second) []uint64 { return []uint64{s.Admitted, s.RefusedTotal, s.RefusedClient} })
	v.Reqs = newChart(series, []line{
		{Name: "200", Class: "ok"}, {Name: "429", Class: "lim"}, {Name: "other 4xx", Class: "warn"}, {Name: "3xx, 5xx", Class: "dim"},
	}, func(s Second) []uint64 { return []uint64{s.S200, s.S429, s.S4xx, s.Other} })

	if rw != nil {
		for _, c := range rw.Clients {
			b := limiterBar{RateClient: c, Full: c.Admitted >= rw.Limit}
			if rw.Limit > 0 {
				b.Pct = 100 * float64(c.Admitted) / float64(rw.Limit)
			}
			v.LimiterBars = append(v.LimiterBars, b)
		}
		v.MoreLimited = max(0, rw.Active-len(rw.Clients))
	}

	for p, n := range s.Hits {
		v.Hits = append(v.Hits, hitRow{p, n})
		v.HitsSum += n
	}
	sort.Slice(v.Hits, func(i, j int) bool {
		a, b := v.Hits[i], v.Hits[j]
		return a.N > b.N || a.N == b.N && a.Path < b.Path
	})
	if len(v.Hits) > TopN {
		v.Hits = v.Hits[:TopN]
	}
	v.OK = s.Requests.Status["200"]
	// Hits are counted just before the response is tallied, so in flight
	// the sum can run ahead of the 200s by a few; never show that as lost.
	v.Lost = sub(v.OK, v.HitsSum)
	return v
}

// newChart scales the series to the chart: x one step per second, the
// newest at the right edge; y from 0 to a round maximum.
func newChart(series []Second, lines []line, vals func(Second) []uint64) chart {
	var peak uint64
	for _, s := range series {
		for _, x := range vals(s) {
			peak = max(peak, x)
		}
	}
	c := chart{Max: roundUp(peak), Lines: lines}
	pts := make([][]byte, len(lines))
	for i, s := range series {
		x := float64(chartW) * float64(SeriesLen-len(series)+i) / float64(SeriesLen-1)
		for j, val := range vals(s) {
			y := chartH - float64(chartH)*float64(val)/float64(c.Max)
			if i > 0 {
				pts[j] = append(pts[j], ' ')
			}
			pts[j] = strconv.AppendFloat(pts[j], x, 'f', 1, 64)
			pts[j] = append(pts[j], ',')
			pts[j] = strconv.AppendFloat(pts[j], y, 'f', 1, 64)
			c.Lines[j].Last = val
		}
	}
	for j := range c.Lines {
		c.Lines[j].Points = string(pts[j])
	}
	return c
}

// roundUp is the chart's top: at least 5, else 1, 2 or 5 times a power of 10.
func roundUp(v uint64) uint64 {
	if v <= 5 {
		return 5
	}
	for p := uint64(1); ; p *= 10 {
		for _, m := range []uint64{1, 2, 5} {
			if m*p >= v {
				return m * p
			}
		}
	}
}

// sections renders the parts a frame replaces.
func (v *view) sections() map[string]string {
	out := make(map[string]string, len(sectionNames))
	var b bytes.Buffer
	for _, name := range sectionNames {
		b.Reset()
		if err := pageTmpl.ExecuteTemplate(&b, name, v); err != nil {
			out[name] = template.HTMLEscapeString(err.Error())
			continue
		}
		out[name] = b.String()
	}
	return out
}

// page is GET /: the dashboard, complete as a static page; its script
// subscribes to /live and swaps in each frame's sections.
func (a *Admin) page(w http.ResponseWriter, _ *http.Request) {
	st := a.o.Stats()
	v := newView(time.Now(), &st, a.seriesCopy(), a.rateWindows(), a.Watchers(), a.isRunning())
	var b bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&b, "page", v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// Self-contained by construction: nothing may load from anywhere, and
	// the script may only connect back here.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:")
	_, _ = w.Write(b.Bytes())
}
