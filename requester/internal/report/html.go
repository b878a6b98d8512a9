package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The page is one file with inline CSS and inline SVG: no script, font,
// image or style sheet is loaded from anywhere, so it opens the same offline,
// from a CI artefact or from a mail.

// now is the clock of the page's "Generated" line; golden tests fix it.
var now = time.Now

// classColors colour the outcome classes in every chart, in outcomeOrder.
var classColors = map[string]string{
	"200":    "#2e9e44",
	"429":    "#f0a020",
	"503":    "#8e44ad",
	"other":  "#4a78c2",
	"errors": "#d62728",
}

// timelineBars is the most requests drawn on a timeline; a bigger run is
// drawn one request in k, and says so.
const timelineBars = 2000

// htmlRequestRows is the largest run whose requests are listed in a table.
const htmlRequestRows = 500

// chart geometry, in SVG user units (pixels at 100 %).
const (
	chartW   = 1100
	marginL  = 64
	marginR  = 16
	marginT  = 12
	marginB  = 36
	plotW    = chartW - marginL - marginR
	barChart = 220 // plot height of the histogram and per-second charts
	// padX keeps what a chart draws off the left and right sides of its
	// frame: the first and last marks sit inside it, not on it.
	padX = 12
	// headroom is the least room above the tallest bar, as a fraction of
	// the plot's height.
	headroom = 0.08
)

type htmlRun struct {
	Run
	TimelineSVG, HistogramSVG, PerSecondSVG template.HTML
	ShowRequests, Details                   bool
}

type htmlPage struct {
	Report
	Generated string
	Runs      []htmlRun
	Tables    []htmlTable // the summary tables, side by side, as in the text report
	Legend    []legendItem
	Speedups  template.HTML
}

// htmlTable is a table of the text report as an HTML table.
type htmlTable struct {
	Title  string
	Header []htmlCell
	Rows   [][]htmlCell
	Notes  []string
}

type htmlCell struct {
	Text string
	Left bool
}

func toHTML(tb table) htmlTable {
	out := htmlTable{Title: tb.Title, Notes: tb.Notes}
	for i, h := range tb.Header {
		out.Header = append(out.Header, htmlCell{h, tb.left(i)})
	}
	for _, r := range tb.Rows {
		cells := make([]htmlCell, len(r))
		for i, c := range r {
			cells[i] = htmlCell{c, tb.left(i)}
		}
		out.Rows = append(out.Rows, cells)
	}
	return out
}

type legendItem struct{ Name, Color string }

// WriteHTML writes the report as a self-contained HTML page.
func WriteHTML(w io.Writer, rep Report) error {
	page := htmlPage{Report: rep, Generated: now().Format(time.RFC1123)}
	for _, name := range outcomeOrder {
		page.Legend = append(page.Legend, legendItem{name, classColors[name]})
	}
	// The same tables as the text report, all runs side by side (a page
	// scrolls sideways); the per-run charts below draw the rest.
	tables := answerTables(rep, 0)
	for _, r := range rep.Runs {
		tables = append(tables, byOutcomeTable(r, len(rep.Runs) > 1))
	}
	tables = append(tables, sideBySide("Send lateness (ms), actual send minus planned send", rep.Runs,
		percentileRows(func(r Run) Latency { return r.LatenessMs }), nil, 0)...)
	for _, tb := range tables {
		page.Tables = append(page.Tables, toHTML(tb))
	}
	if len(rep.Speedup) > 0 {
		page.Speedups = speedupChart(rep.Speedup)
	}
	for _, run := range rep.Runs {
		page.Runs = append(page.Runs, htmlRun{
			Run:          run,
			TimelineSVG:  timeline(run),
			HistogramSVG: histogramChart(run),
			PerSecondSVG: perSecondChart(run),
			ShowRequests: len(run.Results) <= htmlRequestRows,
			Details:      slices.ContainsFunc(run.Results, func(r Result) bool { return r.Detail != "" }),
		})
	}
	return pageTemplate.Execute(w, page)
}

// svg accumulates the markup of one chart. Only numbers and escaped text go
// into it, which is what makes handing it to the template as HTML safe.
type svg struct{ strings.Builder }

func (s *svg) printf(format string, args ...any) { fmt.Fprintf(&s.Builder, format, args...) }

func (s *svg) text(x, y float64, anchor, class, text string) {
	s.printf(`<text x="%.1f" y="%.1f" text-anchor="%s" class="%s">%s</text>`, x, y, anchor, class, template.HTMLEscapeString(text))
}

func (s *svg) html() template.HTML { return template.HTML(s.String()) }

// niceStep is a round step (1, 2 or 5 times a power of ten) giving about
// n ticks over span.
func niceStep(span float64, n int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p // raw < 10·p, p being the power of ten at or below it
}

func fmtTick(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// timeline draws every request as a bar from send to end, one row per
// request in order, coloured by outcome, with a dark tick at its planned
// send time. Sequential runs come out as a staircase, concurrent ones as
// overlapping bars.
func timeline(run Run) template.HTML {
	results := run.Results
	step := 1
	if len(results) > timelineBars {
		step = (len(results) + timelineBars - 1) / timelineBars
	}
	rows := (len(results) + step - 1) / step
	plotH := math.Min(math.Max(float64(rows)*8, 160), 640)
	rowH := plotH / math.Max(float64(rows), 1)
	span := run.WallS * 1000
	for _, r := range results {
		span = math.Max(span, math.Max(r.EndMs, r.ScheduledMs))
	}
	span = math.Max(span, 0.001)
	tick := niceStep(span, 10)
	// The axis runs 2 % past the last mark, and the data sit padX inside
	// the frame, so the last bar and planned mark never touch its side.
	axis := span * 1.02
	x := func(ms float64) float64 { return marginL + padX + ms/axis*(plotW-2*padX) }
	h := marginT + plotH + marginB

	var s svg
	s.printf(`<svg class="chart" viewBox="0 0 %d %.0f" width="%d" height="%.0f" role="img" aria-label="timeline">`, chartW, h, chartW, h)
	s.printf(`<rect x="%d" y="%d" width="%d" height="%.1f" class="plot"/>`, marginL, marginT, plotW, plotH)
	for v := 0.0; v <= axis+tick/1e6; v += tick {
		s.printf(`<line x1="%.1f" x2="%.1f" y1="%d" y2="%.1f" class="grid"/>`, x(v), x(v), marginT, marginT+plotH)
		s.text(x(v), marginT+plotH+14, "middle", "tick", fmtTick(round(v, 6)))
	}
	s.text(marginL+plotW/2, h-4, "middle", "axis", "time since the run's start (ms)")
	s.text(14, marginT+plotH/2, "middle", "axis vertical", "request (seq)")
	for _, seq := range []int{0, len(results) - 1} {
		if seq >= 0 && len(results) > 0 {
			y := marginT + float64(seq/step)*rowH + rowH/2 + 3
			s.text(marginL-4, y, "end", "tick", strconv.Itoa(results[seq].Seq))
		}
	}
	barH := math.Max(rowH*0.7, 0.6)
	for i := 0; i < len(results); i += step {
		r := results[i]
		y := marginT + float64(i/step)*rowH + (rowH-barH)/2
		width := math.Max(x(r.EndMs)-x(r.StartMs), 2) // the shortest request still shows its colour
		color := classColors[outcomeClass(r)]
		s.printf(`<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s</title></rect>`,
			x(r.StartMs), y, width, barH, color, template.HTMLEscapeString(barTitle(r)))
		s.printf(`<line x1="%.2f" x2="%.2f" y1="%.2f" y2="%.2f" class="planned"/>`,
			x(r.ScheduledMs), x(r.ScheduledMs), y-barH*0.15, y+barH*1.15)
	}
	s.printf(`</svg>`)
	if step > 1 {
		s.printf(`<p class="note">%d requests: one in %d is drawn.</p>`, len(results), step)
	}
	return s.html()
}

func barTitle(r Result) string {
	out := fmt.Sprintf("#%d %s: %s, %.3f ms (planned %.3f ms, sent %.3f ms, late %.3f ms)",
		r.Seq, r.URL, r.Outcome(), r.LatencyMs, r.ScheduledMs, r.StartMs, r.LatenessMs)
	if r.Detail != "" {
		out += "; " + r.Detail
	}
	return out
}

// outcomeClass is the class name of a result, as in latency_by_outcome.
func outcomeClass(r Result) string {
	if r.Error != "" {
		return "errors"
	}
	if r.Status == 200 || r.Status == 429 || r.Status == 503 {
		return strconv.Itoa(r.Status)
	}
	return "other"
}

// stackedBars draws one stacked bar per column: counts[i] lists the
// segments of bar i in outcomeOrder.
func stackedBars(label string, xTitle string, labels []string, counts [][5]int, tips []string) template.HTML {
	n := len(counts)
	most := 1
	for _, c := range counts {
		most = max(most, c[0]+c[1]+c[2]+c[3]+c[4])
	}
	h := float64(marginT + barChart + marginB)
	slot := float64(plotW-2*padX) / math.Max(float64(n), 1)
	barW := math.Min(math.Max(slot*0.8, 1), 80)

	var s svg
	s.printf(`<svg class="chart" viewBox="0 0 %d %.0f" width="%d" height="%.0f" role="img" aria-label="%s">`, chartW, h, chartW, h, template.HTMLEscapeString(label))
	s.printf(`<rect x="%d" y="%d" width="%d" height="%d" class="plot"/>`, marginL, marginT, plotW, barChart)
	tick := math.Max(niceStep(float64(most), 5), 1)
	// The axis ends on a tick with room above the tallest bar.
	top := math.Ceil(float64(most)*(1+headroom)/tick) * tick
	y := func(v float64) float64 { return marginT + barChart - v/top*barChart }
	for v := 0.0; v <= top; v += tick {
		s.printf(`<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>`, marginL, marginL+plotW, y(v), y(v))
		s.text(marginL-4, y(v)+4, "end", "tick", fmtTick(v))
	}
	s.text(marginL+plotW/2, h-4, "middle", "axis", xTitle)
	labelEvery := int(math.Ceil(float64(n) / 24)) // keep labels from overlapping
	for i, c := range counts {
		x0 := marginL + padX + float64(i)*slot + (slot-barW)/2
		base := 0.0
		for k, name := range outcomeOrder {
			if c[k] == 0 {
				continue
			}
			top := base + float64(c[k])
			s.printf(`<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s: %d %s</title></rect>`,
				x0, y(top), barW, y(base)-y(top), classColors[name], template.HTMLEscapeString(tips[i]), c[k], name)
			base = top
		}
		if i%labelEvery == 0 {
			s.text(x0+barW/2, marginT+barChart+14, "middle", "tick", labels[i])
		}
	}
	s.printf(`</svg>`)
	return s.html()
}

// speedupChart draws, for each target, its sequential and concurrent wall
// times on one scale: the difference the speedup table puts in numbers.
func speedupChart(sp []Speedup) template.HTML {
	const rowH, barH = 26.0, 18.0
	most := 0.0
	for _, s := range sp {
		most = math.Max(most, math.Max(s.SequentialS, s.ConcurrentS))
	}
	most = math.Max(most, 1e-6)
	labelW := 120.0
	w := float64(plotW) - labelW - 90 // room for the value after the longest bar
	h := marginT + float64(len(sp))*(2*rowH+18) + 20
	var s svg
	s.printf(`<svg class="chart" viewBox="0 0 %d %.0f" width="%d" height="%.0f" role="img" aria-label="speedup">`, chartW, h, chartW, h)
	y := float64(marginT)
	x0 := marginL + labelW
	for _, row := range sp {
		for k, v := range []float64{row.SequentialS, row.ConcurrentS} {
			name := [...]string{"sequential", "concurrent"}[k]
			s.text(x0-6, y+barH-4, "end", "axis", name)
			s.printf(`<rect x="%.1f" y="%.1f" width="%.2f" height="%.1f" class="%s"><title>%s %s: %.3f s</title></rect>`,
				x0, y, math.Max(v/most*w, 1), barH, name, template.HTMLEscapeString(row.Target), name, v)
			s.text(x0+math.Max(v/most*w, 1)+6, y+barH-4, "start", "tick", fmt.Sprintf("%.3f s", v))
			y += rowH
		}
		s.text(x0, y+8, "start", "tick", fmt.Sprintf("%s: speedup %.2f×, efficiency %.3f with %d workers (wall time, one scale for both modes)",
			row.Target, row.Speedup, row.Efficiency, row.Workers))
		y += 18
	}
	s.printf(`</svg>`)
	return s.html()
}

func histogramChart(run Run) template.HTML {
	var labels, tips []string
	var counts [][5]int
	labels = edgeLabels(run.Histogram)
	for _, b := range run.Histogram {
		tips = append(tips, fmt.Sprintf("%.3f–%.3f ms", b.FromMs, b.ToMs))
		counts = append(counts, [5]int{b.OK, b.S429, b.S503, b.Other, b.Errors})
	}
	return stackedBars("latency histogram", "latency (ms, log scale; each bar from the value under it to the next)", labels, counts, tips)
}

func perSecondChart(run Run) template.HTML {
	var labels, tips []string
	var counts [][5]int
	for _, s := range run.PerSecond {
		labels = append(labels, strconv.Itoa(s.Second))
		tips = append(tips, fmt.Sprintf("second %d", s.Second))
		counts = append(counts, [5]int{s.OK, s.S429, s.S503, s.Other, s.Errors})
	}
	return stackedBars("outcomes per second", "second of the run (by send time)", labels, counts, tips)
}

// edgeLabels are the histogram's lower edges, each with as few digits as
// keep neighbours apart: log-spaced edges close together (101.4, 101.9)
// would otherwise print alike.
func edgeLabels(buckets []Bucket) []string {
	var labels []string
	for extra := 0; extra <= 3; extra++ {
		labels = labels[:0]
		distinct := true
		for i, b := range buckets {
			labels = append(labels, shortMsDigits(b.FromMs, extra))
			if i > 0 && labels[i] == labels[i-1] {
				distinct = false
			}
		}
		if distinct {
			break
		}
	}
	return labels
}

func shortMsDigits(v float64, extra int) string {
	// About three significant digits: 0 to 3 decimals as v falls from 100
	// to below 1, plus extra.
	digits := extra
	if v < 100 {
		digits++
	}
	if v < 10 {
		digits++
	}
	if v < 1 {
		digits++
	}
	return strconv.FormatFloat(v, 'f', digits, 64)
}

// shortMs prints a latency with about three significant digits.
func shortMs(v float64) string { return shortMsDigits(v, 0) }

// page.html.tmpl is the page: markup and CSS in a file of its own, where an
// editor knows them for what they are.
//
//go:embed page.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"f3": f3,
}).Parse(pageSource))
