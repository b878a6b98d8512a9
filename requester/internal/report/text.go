package report

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// RequestLines is the largest run whose requests are listed one per line in
// the text report: beyond it, a table per request drowns the summary.
const RequestLines = 50

// Width is the most columns a line of the text report takes: every table
// fits a 100-column terminal. Tables too wide side by side are cut into
// several, one target (or one run) each.
const Width = 100

// TextOptions tune the text report.
type TextOptions struct {
	// Requests lists each request of runs of at most RequestLines requests,
	// in the detail part.
	Requests bool
	// Detail prints the detail part (latency by outcome, phases, send
	// lateness, per-request lines, histograms, outcomes per second) also when
	// the report has several runs. A report of one run always has it.
	Detail bool
}

// detailHint ends a compact report: what was left out, and how to get it.
const detailHint = "Left out with several runs: latency by outcome, phases, send lateness, per-request lines,\n" +
	"histograms and outcomes per second. Add -v to print them, or -o report.html to keep them all."

// WriteText writes the report as tables, the answer first: the speedup
// (with -mode both), the summary and latency of every run side by side,
// the hits check. Then the detail: by default only for a report of one
// run, since a comparison of several runs is read for its answer.
func WriteText(w io.Writer, rep Report, opts TextOptions) error {
	t := &textWriter{w: w}
	t.header(rep.Runs)
	for _, tb := range answerTables(rep, Width) {
		t.table(tb)
	}
	if len(rep.Runs) <= 1 || opts.Detail {
		for _, tb := range detailTables(rep, opts.Requests, Width) {
			t.table(tb)
		}
	} else if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, "\n%s\n", detailHint)
	}
	return t.err
}

// answerTables are the tables that answer the question a run was made for.
func answerTables(rep Report, width int) []table {
	var out []table
	if len(rep.Speedup) > 0 {
		out = append(out, speedupTable(rep.Speedup))
	}
	if len(rep.Runs) > 0 {
		out = append(out, sideBySide("Summary", rep.Runs, summaryRows, summaryNotes(rep.Runs), width)...)
		out = append(out, sideBySide("Latency (ms), actual send to complete response", rep.Runs,
			percentileRows(func(r Run) Latency { return r.LatencyMs }), nil, width)...)
	}
	if rep.Hits != nil {
		out = append(out, hitsTable(*rep.Hits))
	}
	for _, r := range rep.Runs {
		if len(r.Clients) > 0 {
			out = append(out, clientsTable(r))
		}
	}
	return out
}

// clientsTable is a merged run by client address: what each sent and got,
// and how late it sent (a client whose machine or clock lags shows there).
func clientsTable(r Run) table {
	tb := table{
		Title:  "Clients (latency and lateness in ms): " + r.Label(),
		Header: []string{"address", "requests", "200", "429", "503", "other", "errors", "p50", "p99", "late p99"},
		Align:  "lr",
	}
	for _, c := range r.Clients {
		other := 0
		for code, n := range c.Status {
			if code != "200" && code != "429" && code != "503" {
				other += n
			}
		}
		tb.Rows = append(tb.Rows, []string{
			middle(c.Addr, 40), strconv.Itoa(c.Requests), strconv.Itoa(c.Status["200"]), strconv.Itoa(c.Status["429"]),
			strconv.Itoa(c.Status["503"]), strconv.Itoa(other), strconv.Itoa(c.Errors.Total()),
			f3(c.LatencyMs.P50), f3(c.LatencyMs.P99), f3(c.LatenessMs.P99),
		})
	}
	if m := r.Merged; m != nil {
		note := fmt.Sprintf("Merged from %d of %d shards", len(m.Indexes), m.Shards)
		if len(m.Missing) > 0 {
			note += fmt.Sprintf("; no report for shard(s) %v: their requests are not counted", m.Missing)
		}
		tb.Notes = append(tb.Notes, note+".")
	}
	return tb
}

// detailTables are the rest: how each run went, request by request.
func detailTables(rep Report, requests bool, width int) []table {
	var out []table
	for _, r := range rep.Runs {
		out = append(out, byOutcomeTable(r, len(rep.Runs) > 1))
	}
	for _, r := range rep.Runs {
		out = append(out, phasesTable(r, len(rep.Runs) > 1))
	}
	out = append(out, sideBySide("Send lateness (ms), actual send minus planned send", rep.Runs,
		percentileRows(func(r Run) Latency { return r.LatenessMs }), nil, width)...)
	if requests {
		for _, r := range rep.Runs {
			if len(r.Results) <= RequestLines {
				out = append(out, requestsTable(r, width))
			}
		}
	}
	for _, r := range rep.Runs {
		out = append(out, histogramTable(r))
	}
	for _, r := range rep.Runs {
		out = append(out, perSecondTable(r))
	}
	return out
}

// table is one titled table, the model that the text and HTML reports
// both render.
type table struct {
	Title  string
	Header []string
	Rows   [][]string
	Align  string   // one letter per column, l or r; columns past its end take its last letter
	Notes  []string // what the figures mean, printed under the table
}

// left says whether column i is aligned left.
func (tb table) left(i int) bool { return tb.Align[min(i, len(tb.Align)-1)] == 'l' }

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

func (t *textWriter) table(tb table) {
	if t.err != nil {
		return
	}
	_, t.err = t.w.Write(renderTable(tb))
}

// renderTable draws a table with its title and notes.
func renderTable(tb table) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\n%s\n", tb.Title)
	aligns := make([]tw.Align, len(tb.Header))
	for i := range aligns {
		aligns[i] = tw.AlignRight
		if tb.left(i) {
			aligns[i] = tw.AlignLeft
		}
	}
	tab := tablewriter.NewTable(&b,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
	)
	tab.Header(tb.Header)
	for _, r := range tb.Rows {
		_ = tab.Append(r) // strings only: cannot fail
	}
	_ = tab.Render()
	for _, n := range tb.Notes {
		for _, line := range wrap(n, Width) {
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes()
}

// widest is the number of runes in the longest line of s.
func widest(s []byte) int {
	most := 0
	for line := range strings.SplitSeq(string(s), "\n") {
		most = max(most, utf8.RuneCountInString(line))
	}
	return most
}

// wrap cuts s into lines of at most width runes, at spaces where it can;
// continuation lines are indented by two spaces.
func wrap(s string, width int) []string {
	var lines []string
	indent := ""
	for utf8.RuneCountInString(indent+s) > width {
		r := []rune(indent + s)
		cut := width
		for i := width; i > len(indent)+width/2; i-- {
			if r[i] == ' ' {
				cut = i
				break
			}
		}
		lines = append(lines, strings.TrimRight(string(r[:cut]), " "))
		s = strings.TrimLeft(string(r[cut:]), " ")
		indent = "  "
	}
	return append(lines, indent+s)
}

// Label names a run: its target and mode.
func (r Run) Label() string { return r.Target + " " + r.Mode }

// hostPort is the target without its scheme, for narrow headings.
func (r Run) hostPort() string { return strings.TrimPrefix(r.Target, "http://") }

// sideBySide puts runs side by side, one column each, as many in one table
// as fit in width (0: no limit). Runs of one target stay together: a table
// holds whole targets where it can, and its title names the target when
// it holds only one. notes go under the last table.
func sideBySide(title string, runs []Run, rows func([]Run) [][]string, notes []string, width int) []table {
	make1 := func(group []Run) table {
		tb := table{Title: title, Header: []string{""}, Align: "lr", Rows: rows(group)}
		oneTarget := !slices.ContainsFunc(group, func(r Run) bool { return r.Target != group[0].Target })
		oneMode := !slices.ContainsFunc(group, func(r Run) bool { return r.Mode != group[0].Mode })
		switch {
		case oneTarget:
			tb.Title += ": " + group[0].Target
		case oneMode:
			tb.Title += " (" + group[0].Mode + ")"
		}
		for _, r := range group {
			switch {
			case oneTarget:
				tb.Header = append(tb.Header, r.Mode)
			case oneMode:
				tb.Header = append(tb.Header, r.hostPort())
			default:
				tb.Header = append(tb.Header, r.hostPort()+" "+r.Mode)
			}
		}
		return tb
	}
	fits := func(group []Run) bool { return width == 0 || widest(renderTable(make1(group))) <= width }
	// Whole targets first, in order.
	var groups [][]Run
	for _, r := range runs {
		if n := len(groups); n > 0 && groups[n-1][0].Target == r.Target {
			groups[n-1] = append(groups[n-1], r)
		} else {
			groups = append(groups, []Run{r})
		}
	}
	var out []table
	var cur []Run
	flush := func() {
		if len(cur) > 0 {
			out = append(out, make1(cur))
			cur = nil
		}
	}
	for _, g := range groups {
		if fits(append(slices.Clone(cur), g...)) {
			cur = append(cur, g...)
			continue
		}
		flush()
		if fits(g) {
			cur = g
			continue
		}
		for _, r := range g { // a target whose runs do not fit side by side
			if len(cur) > 0 && !fits(append(slices.Clone(cur), r)) {
				flush()
			}
			cur = append(cur, r)
		}
		flush()
	}
	flush()
	if len(out) > 0 {
		out[len(out)-1].Notes = notes
	}
	return out
}

// summaryRows are the summary's rows: one column per run.
func summaryRows(runs []Run) [][]string {
	var rows [][]string
	row := func(name string, cell func(Run) string) {
		cells := []string{name}
		for _, r := range runs {
			cells = append(cells, cell(r))
		}
		rows = append(rows, cells)
	}
	row("address", func(r Run) string { return r.Address })
	if slices.ContainsFunc(runs, func(r Run) bool { return r.Shard != nil }) {
		row("shard", func(r Run) string {
			if r.Shard == nil {
				return "whole run"
			}
			return fmt.Sprintf("%d/%d of %d", r.Shard.Index, r.Shard.Count, r.Shard.RunRequests)
		})
	}
	row("requests", func(r Run) string { return strconv.Itoa(r.Requests) })
	if slices.ContainsFunc(runs, func(r Run) bool { return r.Interrupted }) {
		row("sent (interrupted)", func(r Run) string { return strconv.Itoa(r.Sent) })
	}
	row("in-flight cap", func(r Run) string {
		if r.Mode == "sequential" {
			return "1 (sequential)"
		}
		if r.Concurrency == 0 {
			return "none"
		}
		return strconv.Itoa(r.Concurrency)
	})
	row("peak in flight", func(r Run) string { return strconv.Itoa(r.PeakInFlight) })
	row("-t spread (s)", func(r Run) string { return f3(r.SpreadS) })
	row("last due (s)", func(r Run) string { return f3(r.LastDueS) })
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
	return rows
}

// summaryNotes say what the summary's figures mean, where they are read.
func summaryNotes(runs []Run) []string {
	notes := []string{
		"Request i is due at i·t/r: the first at 0, the last at (r−1)·t/r (last due), so a run " +
			"can end before -t without outrunning any rate. Wall time: start to the end of the last response.",
		"Peak in flight: the most requests between send and end at one instant; the cap (-c) bounds it.",
	}
	if slices.ContainsFunc(runs, func(r Run) bool { return r.Mode == "concurrent" && r.PeakInFlight == 1 && r.Sent > 1 }) {
		notes = append(notes, "A concurrent run with a peak of 1 never overlapped: each response came before "+
			"the next request was due, so the schedule, not the mode, kept it to one at a time.")
	}
	return notes
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

func percentileRows(get func(Run) Latency) func([]Run) [][]string {
	return func(runs []Run) [][]string {
		names := []string{"min", "mean", "p50", "p90", "p99", "max"}
		rows := make([][]string, len(names))
		for i, name := range names {
			rows[i] = []string{name}
			for _, r := range runs {
				rows[i] = append(rows[i], f3(latencyField(get(r), i)))
			}
		}
		return rows
	}
}

func latencyField(l Latency, i int) float64 {
	return [...]float64{l.Min, l.Mean, l.P50, l.P90, l.P99, l.Max}[i]
}

// outcomeOrder is the order of the latency_by_outcome keys in tables.
var outcomeOrder = []string{"200", "429", "503", "other", "errors"}

// runTitle adds the run's label to a title when the report has several.
func runTitle(title string, r Run, several bool) string {
	if several {
		return title + ": " + r.Label()
	}
	return title
}

func byOutcomeTable(r Run, several bool) table {
	tb := table{
		Title:  runTitle("Latency by outcome (ms)", r, several),
		Header: []string{"outcome", "count", "min", "mean", "p50", "p90", "p99", "max"},
		Align:  "lr",
	}
	for _, name := range outcomeOrder {
		l, ok := r.LatencyByOutcome[name]
		if !ok {
			continue
		}
		row := []string{name, strconv.Itoa(l.Count)}
		for i := range 6 {
			row = append(row, f3(latencyField(l, i)))
		}
		tb.Rows = append(tb.Rows, row)
	}
	return tb
}

// phasesTable lists the percentiles of the three moments of a request
// counted from its own start: the connection established, the first
// response byte, the response complete (the latency). Each phase is over
// the requests that reached it, so its count says how many did.
func phasesTable(r Run, several bool) table {
	tb := table{
		Title:  runTitle("Phases (ms) from each request's start", r, several),
		Header: []string{"phase", "count", "min", "mean", "p50", "p90", "p99", "max"},
		Align:  "lr",
	}
	for _, p := range r.Phases() {
		row := []string{p.Name, strconv.Itoa(p.Stats.Count)}
		for i := range 6 {
			row = append(row, f3(latencyField(p.Stats, i)))
		}
		tb.Rows = append(tb.Rows, row)
	}
	return tb
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

// requestsTable lists one line per request. To fit width it leaves out
// what the title or another column already says: the target (in the title;
// a path column only when the run has several paths), the end (sent +
// latency) and the phases (in the phases table, and per request in the
// CSV, JSON and HTML). When that is still too wide, it drops the sent
// column (planned + late), then cuts long paths shorter. Details go under
// the table, one line per distinct detail, with the requests that had it.
func requestsTable(r Run, width int) table {
	variants := []struct {
		sent      bool
		pathRunes int
	}{{true, 24}, {false, 24}, {false, 16}, {false, 10}}
	var tb table
	for _, v := range variants {
		tb = requestsVariant(r, v.sent, v.pathRunes)
		if width == 0 || widest(renderTable(tb)) <= width {
			break
		}
	}
	return tb
}

func requestsVariant(r Run, withSent bool, pathRunes int) table {
	paths := map[string]bool{}
	for _, res := range r.Results {
		paths[strings.TrimPrefix(res.URL, r.Target)] = true
	}
	withPath := len(paths) > 1
	tb := table{Title: "Requests (ms from the run's start): " + r.Label(), Header: []string{"seq"}, Align: "r"}
	if withPath {
		tb.Header = append(tb.Header, "path")
		tb.Align += "l"
	}
	tb.Header = append(tb.Header, "from", "planned")
	tb.Align += "lr"
	if withSent {
		tb.Header = append(tb.Header, "sent")
	}
	tb.Header = append(tb.Header, "late", "latency", "outcome", "bytes")
	var details []string
	bySeqs := map[string][]string{}
	for _, res := range r.Results {
		row := []string{strconv.Itoa(res.Seq)}
		if withPath {
			row = append(row, middle(strings.TrimPrefix(res.URL, r.Target), pathRunes))
		}
		row = append(row, res.LocalAddr, f3(res.ScheduledMs))
		if withSent {
			row = append(row, f3(res.StartMs))
		}
		row = append(row, f3(res.LatenessMs), f3(res.LatencyMs), res.Outcome(), strconv.FormatInt(res.Bytes, 10))
		tb.Rows = append(tb.Rows, row)
		if res.Detail != "" {
			if _, ok := bySeqs[res.Detail]; !ok {
				details = append(details, res.Detail)
			}
			bySeqs[res.Detail] = append(bySeqs[res.Detail], strconv.Itoa(res.Seq))
		}
	}
	if !withSent {
		tb.Notes = append(tb.Notes, "sent = planned + late; every column is in -o .csv, .json and .html.")
	}
	for _, d := range details {
		seqs := bySeqs[d]
		label := "seq " + strings.Join(seqs, ", ")
		if len(seqs) > 8 {
			label = fmt.Sprintf("seq %s, … (%d requests)", strings.Join(seqs[:8], ", "), len(seqs))
		}
		tb.Notes = append(tb.Notes, label+": "+d)
	}
	return tb
}

// middle shortens s to n runes, cutting out its middle.
func middle(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	head := (n - 1) / 2
	return string(r[:head]) + "…" + string(r[len(r)-(n-1-head):])
}

// barWidth is the length of the longest histogram bar, in characters.
const barWidth = 40

func histogramTable(run Run) table {
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
	return table{Title: "Latency histogram (ms, log scale): " + run.Label(), Header: []string{"latency ms", "count", ""}, Rows: rows, Align: "rrl"}
}

func perSecondTable(run Run) table {
	var rows [][]string
	for _, s := range run.PerSecond {
		rows = append(rows, []string{
			strconv.Itoa(s.Second), strconv.Itoa(s.Sent), strconv.Itoa(s.OK), strconv.Itoa(s.S429),
			strconv.Itoa(s.S503), strconv.Itoa(s.Other), strconv.Itoa(s.Errors),
		})
	}
	return table{
		Title:  "Outcomes per second, by send time: " + run.Label(),
		Header: []string{"second", "sent", "200", "429", "503", "other", "errors"},
		Rows:   rows, Align: "r",
	}
}

func speedupTable(sp []Speedup) table {
	var rows [][]string
	for _, s := range sp {
		rows = append(rows, []string{
			s.Target, f3(s.SequentialS), f3(s.ConcurrentS), strconv.FormatFloat(s.Speedup, 'f', 2, 64),
			strconv.Itoa(s.Workers), strconv.FormatFloat(s.Efficiency, 'f', 3, 64),
		})
	}
	notes := []string{"Workers: -c, or -r when uncapped. Efficiency = speedup / workers: 1 when every " +
		"request in flight saved its whole time."}
	if slices.ContainsFunc(sp, func(s Speedup) bool { return s.Efficiency > 1 }) {
		notes = append(notes, "Efficiency above 1: the concurrent run did less work than the sequential one, "+
			"such as fast 429s or 503s where the other had 200s; compare their status rows in the summary.")
	}
	return table{
		Title:  "Speedup: sequential wall time / concurrent wall time",
		Header: []string{"target", "sequential s", "concurrent s", "speedup", "workers", "efficiency"},
		Rows:   rows, Align: "lr", Notes: notes,
	}
}

func hitsTable(h Hits) table {
	if h.Error != "" {
		return table{
			Title:  "Hits check: could not read the server's /stats",
			Header: []string{"stats URL", "sent (200s)"}, Align: "lr",
			Rows:  [][]string{{h.URL, strconv.Itoa(h.Sent)}},
			Notes: []string{"error: " + h.Error},
		}
	}
	return table{
		Title:  "Hits check: 200s received vs hits the server counted",
		Header: []string{"stats URL", "sent (200s)", "counted", "lost"}, Align: "lr",
		Rows: [][]string{{h.URL, strconv.Itoa(h.Sent), strconv.FormatInt(h.Counted, 10), strconv.FormatInt(h.Lost, 10)}},
	}
}

func f3(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
