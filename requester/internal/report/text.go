package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// RequestLines is the largest run whose requests are listed one per line in
// the text report: beyond it, a table per request drowns the summary.
const RequestLines = 50

// TextOptions tune the text report.
type TextOptions struct {
	// Requests lists each request of runs of at most RequestLines requests.
	Requests bool
	// Comparisons leaves out the tables of one run each (histogram,
	// outcomes per second): the HTML report draws those as charts.
	Comparisons bool
}

// WriteText writes the report as tables. Runs of the same kind sit side by
// side, one column each, so targets and modes compare at a glance; tables
// too long to put side by side come one per run.
func WriteText(w io.Writer, rep Report, opts TextOptions) error {
	t := &textWriter{w: w}
	t.header(rep.Runs)
	if opts.Requests {
		for _, run := range rep.Runs {
			if len(run.Results) <= RequestLines {
				t.requests(run)
			}
		}
	}
	t.summary(rep.Runs)
	t.percentiles("Latency (ms): actual send to complete response, every request", rep.Runs,
		func(r Run) Latency { return r.LatencyMs })
	t.byOutcome(rep.Runs)
	t.phases(rep.Runs)
	t.percentiles("Send lateness (ms): actual send minus planned send", rep.Runs,
		func(r Run) Latency { return r.LatenessMs })
	if !opts.Comparisons {
		for _, run := range rep.Runs {
			t.histogram(run)
		}
		for _, run := range rep.Runs {
			t.perSecond(run)
		}
	}
	if len(rep.Speedup) > 0 {
		t.speedup(rep.Speedup)
	}
	if rep.Hits != nil {
		t.hits(*rep.Hits)
	}
	return t.err
}

type textWriter struct {
	w   io.Writer
	err error
}

// header names each target and the address its host name resolved to.
func (t *textWriter) header(runs []Run) {
	var seen []string
	for _, r := range runs {
		if t.err != nil || slices.Contains(seen, r.Target) {
			continue
		}
		seen = append(seen, r.Target)
		addr := r.Address
		if addr == "" {
			addr = "(not resolved)"
		}
		_, t.err = fmt.Fprintf(t.w, "Target %s at %s\n", r.Target, addr)
	}
}

// table prints a titled table. align has one letter per column, l or r;
// columns past its end take its last letter.
func (t *textWriter) table(title string, header []string, rows [][]string, align string) {
	if t.err != nil {
		return
	}
	aligns := make([]tw.Align, len(header))
	for i := range aligns {
		aligns[i] = tw.AlignRight
		if align[min(i, len(align)-1)] == 'l' {
			aligns[i] = tw.AlignLeft
		}
	}
	if _, t.err = fmt.Fprintf(t.w, "\n%s\n", title); t.err != nil {
		return
	}
	tab := tablewriter.NewTable(t.w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
	)
	tab.Header(header)
	for _, r := range rows {
		if t.err = tab.Append(r); t.err != nil {
			return
		}
	}
	t.err = tab.Render()
}

// Label names a run: its target and mode.
func (r Run) Label() string { return r.Target + " " + r.Mode }

func (t *textWriter) requests(run Run) {
	header := []string{"seq", "url", "local addr", "planned ms", "sent ms", "end ms", "connect ms", "first byte ms", "latency ms", "late ms", "outcome", "bytes"}
	details := slices.ContainsFunc(run.Results, func(r Result) bool { return r.Detail != "" })
	if details {
		header = append(header, "detail")
	}
	rows := make([][]string, 0, len(run.Results))
	for _, r := range run.Results {
		row := []string{
			strconv.Itoa(r.Seq), r.URL, r.LocalAddr, f3(r.ScheduledMs), f3(r.StartMs), f3(r.EndMs),
			f3(r.ConnectMs), f3(r.FirstByteMs), f3(r.LatencyMs), f3(r.LatenessMs), r.Outcome(), strconv.FormatInt(r.Bytes, 10),
		}
		if details {
			row = append(row, r.Detail)
		}
		rows = append(rows, row)
	}
	t.table("Requests: "+run.Label(), header, rows, "rllrrrrrrrrrl")
}

func (t *textWriter) summary(runs []Run) {
	header := []string{""}
	for _, r := range runs {
		header = append(header, r.Label())
	}
	var rows [][]string
	row := func(name string, cell func(Run) string) {
		cells := []string{name}
		for _, r := range runs {
			cells = append(cells, cell(r))
		}
		rows = append(rows, cells)
	}
	row("address", func(r Run) string { return r.Address })
	row("requests", func(r Run) string { return strconv.Itoa(r.Requests) })
	if slices.ContainsFunc(runs, func(r Run) bool { return r.Interrupted }) {
		row("sent (interrupted)", func(r Run) string { return strconv.Itoa(r.Sent) })
	}
	row("in-flight cap", func(r Run) string {
		if r.Concurrency == 0 {
			return "none"
		}
		return strconv.Itoa(r.Concurrency)
	})
	row("peak in flight", func(r Run) string { return strconv.Itoa(r.PeakInFlight) })
	row("planned spread (s)", func(r Run) string { return f3(r.SpreadS) })
	row("wall time (s)", func(r Run) string { return f3(r.WallS) })
	row("throughput (req/s)", func(r Run) string { return strconv.FormatFloat(r.ThroughputRPS, 'f', 1, 64) })
	row("body bytes", func(r Run) string { return strconv.FormatInt(r.Bytes, 10) })
	for _, code := range statusCodes(runs) {
		row("status "+code, func(r Run) string { return strconv.Itoa(r.Status[code]) })
	}
	row("error refused", func(r Run) string { return strconv.Itoa(r.Errors.Refused) })
	row("error reset", func(r Run) string { return strconv.Itoa(r.Errors.Reset) })
	row("error timeout", func(r Run) string { return strconv.Itoa(r.Errors.Timeout) })
	row("error other", func(r Run) string { return strconv.Itoa(r.Errors.Other) })
	t.table("Summary", header, rows, "lr")
}

// statusCodes is every status code seen in any run, in numeric order.
func statusCodes(runs []Run) []string {
	var codes []string
	for _, r := range runs {
		for c := range r.Status {
			if !slices.Contains(codes, c) {
				codes = append(codes, c)
			}
		}
	}
	slices.SortFunc(codes, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	return codes
}

func (t *textWriter) percentiles(title string, runs []Run, get func(Run) Latency) {
	header := []string{""}
	for _, r := range runs {
		header = append(header, r.Label())
	}
	names := []string{"min", "mean", "p50", "p90", "p99", "max"}
	rows := make([][]string, len(names))
	for i, name := range names {
		rows[i] = []string{name}
		for _, r := range runs {
			rows[i] = append(rows[i], f3(latencyField(get(r), i)))
		}
	}
	t.table(title, header, rows, "lr")
}

func latencyField(l Latency, i int) float64 {
	return [...]float64{l.Min, l.Mean, l.P50, l.P90, l.P99, l.Max}[i]
}

// outcomeOrder is the order of the latency_by_outcome keys in tables.
var outcomeOrder = []string{"200", "429", "503", "other", "errors"}

func (t *textWriter) byOutcome(runs []Run) {
	header := []string{"outcome", "count", "min", "mean", "p50", "p90", "p99", "max"}
	align := "lr"
	if len(runs) > 1 {
		header = append([]string{"run"}, header...)
		align = "llr"
	}
	var rows [][]string
	for _, r := range runs {
		for _, name := range outcomeOrder {
			l, ok := r.LatencyByOutcome[name]
			if !ok {
				continue
			}
			row := []string{name, strconv.Itoa(l.Count)}
			for i := range 6 {
				row = append(row, f3(latencyField(l, i)))
			}
			if len(runs) > 1 {
				row = append([]string{r.Label()}, row...)
			}
			rows = append(rows, row)
		}
	}
	t.table("Latency by outcome (ms): 200, 429, 503, other statuses, errors", header, rows, align)
}

// phases lists, for each run, the percentiles of the three moments of a
// request counted from its own start: the connection established, the
// first response byte, the response complete (the latency). Each phase is
// over the requests that reached it, so its count says how many did.
func (t *textWriter) phases(runs []Run) {
	header := []string{"phase", "count", "min", "mean", "p50", "p90", "p99", "max"}
	align := "lr"
	if len(runs) > 1 {
		header = append([]string{"run"}, header...)
		align = "llr"
	}
	var rows [][]string
	for _, r := range runs {
		for _, p := range r.Phases() {
			row := []string{p.Name, strconv.Itoa(p.Stats.Count)}
			for i := range 6 {
				row = append(row, f3(latencyField(p.Stats, i)))
			}
			if len(runs) > 1 {
				row = append([]string{r.Label()}, row...)
			}
			rows = append(rows, row)
		}
	}
	t.table("Phases (ms) from each request's start: connected, first response byte, complete", header, rows, align)
}

// Phase is one phase of the requests of a run, named.
type Phase struct {
	Name  string
	Stats Latency
}

// Phases are the run's connect, first byte and complete percentiles.
func (r Run) Phases() []Phase {
	return []Phase{{"connect", r.ConnectMsStats}, {"first byte", r.FirstByteMsStats}, {"complete", r.LatencyMs}}
}

// barWidth is the length of the longest histogram bar, in characters.
const barWidth = 40

func (t *textWriter) histogram(run Run) {
	most := 0
	for _, b := range run.Histogram {
		most = max(most, b.Count)
	}
	var rows [][]string
	for _, b := range run.Histogram {
		bar := ""
		if most > 0 {
			n := b.Count * barWidth / most
			if n == 0 && b.Count > 0 {
				n = 1 // a bucket that is not empty must show
			}
			bar = strings.Repeat("■", n)
		}
		rows = append(rows, []string{f3(b.FromMs) + " – " + f3(b.ToMs), strconv.Itoa(b.Count), bar})
	}
	t.table("Latency histogram (ms, log scale): "+run.Label(), []string{"latency ms", "count", ""}, rows, "rrl")
}

func (t *textWriter) perSecond(run Run) {
	header := []string{"second", "sent", "200", "429", "503", "other", "errors"}
	var rows [][]string
	for _, s := range run.PerSecond {
		rows = append(rows, []string{
			strconv.Itoa(s.Second), strconv.Itoa(s.Sent), strconv.Itoa(s.OK), strconv.Itoa(s.S429),
			strconv.Itoa(s.S503), strconv.Itoa(s.Other), strconv.Itoa(s.Errors),
		})
	}
	t.table("Outcomes per second, by send time: "+run.Label(), header, rows, "r")
}

func (t *textWriter) speedup(sp []Speedup) {
	header := []string{"target", "sequential s", "concurrent s", "speedup", "workers", "efficiency"}
	var rows [][]string
	for _, s := range sp {
		rows = append(rows, []string{
			s.Target, f3(s.SequentialS), f3(s.ConcurrentS), strconv.FormatFloat(s.Speedup, 'f', 2, 64),
			strconv.Itoa(s.Workers), strconv.FormatFloat(s.Efficiency, 'f', 3, 64),
		})
	}
	t.table("Speedup: sequential wall time / concurrent wall time; efficiency = speedup / workers", header, rows, "lr")
}

func (t *textWriter) hits(h Hits) {
	if h.Error != "" {
		t.table("Hits check", []string{"stats URL", "sent (200s)", "error"},
			[][]string{{h.URL, strconv.Itoa(h.Sent), h.Error}}, "lrl")
		return
	}
	t.table("Hits check: 200s received vs hits the server counted", []string{"stats URL", "sent (200s)", "counted", "lost"},
		[][]string{{h.URL, strconv.Itoa(h.Sent), strconv.FormatInt(h.Counted, 10), strconv.FormatInt(h.Lost, 10)}}, "lr")
}

func f3(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
