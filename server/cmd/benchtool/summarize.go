//go:build linux

package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Server ids the suite uses; the targets refer to them.
const (
	idOursOn   = "ours-on"
	idOursOff  = "ours-off"
	idStock    = "stock"
	idNginx    = "nginx"
	idBare     = "bare"
	idOurs     = "ours"
	idRefServe = "refuse-serve"
	idRefCap   = "refuse-cap"
	idRefFloor = "refuse-floor" // benchtool bare -close: accepted and closed unanswered
	// The refusal part's yardsticks: the least any server can do (benchtool
	// serial: serve, refuse as this server does, close unanswered), and nginx
	// serving and answering every request with a 503.
	idRefSerialServe = "refuse-serial-serve"
	idRefSerial503   = "refuse-serial-503"
	idRefSerialClose = "refuse-serial-close"
	idRefNginxServe  = "refuse-nginx-serve"
	idRefNginx503    = "refuse-nginx-503"
	condFlood        = "flood"
	condAlone        = "alone"
	fileSmall        = "small"
	file100k         = "100k"
	toolWrk          = "wrk"
	toolRequest      = "requester"
)

var names = map[string]string{
	idOursOff: "this server, limits off",
	idOursOn:  "this server, limits on (not tripping)",
	idStock:   "stock mode (net/http)",
	idNginx:   "nginx",
	"python":  "python3 http.server",
	idBare:    "bare Go accept-write-close loop",
	idOurs:    "this server",
}

func name(id string) string {
	if n, ok := names[id]; ok {
		return n
	}
	return id
}

// Thresholds. Broken behaviour (check) fails the run, quick or full; it
// never depends on speed. Targets (writeTargets) are the goals,
// reported met or missed, and fail nothing.
const (
	// A polite client beside the flood with fewer 200s than this share is
	// broken: the flooder's limits land on it. A few 503s are not broken: on a
	// busy machine the server can fall behind until the polite client's own
	// requests pile up past its 12-connection cap.
	politeMinShare = 0.90
	// A flooder refused less than once a second means the limits are off.
	floodMinRefusedPS = 1.0
	// Attackers on many addresses holding every slot: the polite client
	// beside them must still get this share of 200s (docs/guarantees.md).
	manyMinShare = 0.98

	targetSmallVsNginx = 1.0 // small file, limits on, × nginx
	// CPU per request (pinned), this server with limits on: at most these
	// multiples of nginx's and the bare loop's, both files; a refusal at
	// most this multiple of a served request; a flood answer no dearer
	// than nginx's with the same limits.
	targetCPUVsNginx      = 1.0
	targetCPUVsBare       = 1.05
	targetRefusalVsServed = 0.6
	targetFloodCPUVsNginx = 1.0
	targetSmallVsBare     = 0.95 // small file, limits on, × the bare loop
	target100kVsNginx     = 0.9  // 100 KiB, limits on, × nginx
	targetOnVsOff         = 0.97 // limits on × limits off, both files
	targetFloodP99Ratio   = 2.0  // polite p99 with the flood ≤ this × without
	targetIdleRSSKB       = 80 * 1024
	busyPct               = 10 // a run that started with the machine this busy is flagged
)

// ours is whether a server's wrong answers are this project's breakage (the
// others' are only reported).
func ours(id string) bool {
	return strings.HasPrefix(id, "ours") || id == idStock || id == idBare
}

// check returns what is broken in one record, one sentence each.
func check(r Record) []string {
	var out []string
	switch r.Part {
	case partThroughput, partSyscalls:
		if !ours(r.Server) {
			break
		}
		if r.Requests == 0 {
			out = append(out, fmt.Sprintf("%s %s (%s): no request was answered", r.Server, r.File, r.Tool))
		} else if r.Errors > 0 {
			out = append(out, fmt.Sprintf("%s %s (%s): %d of %d requests failed or were not %d", r.Server, r.File, r.Tool, r.Errors, r.Requests, r.WantStatus))
		}
		if r.WrongBytes > 0 {
			out = append(out, fmt.Sprintf("%s %s (%s): %d answers' body length is not %d bytes", r.Server, r.File, r.Tool, r.WrongBytes, r.WantBytes))
		}
	case partAttack:
		if r.Server != idOurs {
			break
		}
		if r.Requests == 0 || float64(r.OK) < politeMinShare*float64(r.Requests) {
			out = append(out, fmt.Sprintf("polite client got only %d of %d answered 200 (%s): the flooder's limits reach it (statuses %v, errors %v)",
				r.OK, r.Requests, r.Cond, r.Status, r.ErrorKinds))
		}
		if r.Cond == condFlood && r.FloodRefusedPS < floodMinRefusedPS {
			out = append(out, fmt.Sprintf("the flooder was refused %.1f times a second: limits are not working", r.FloodRefusedPS))
		}
	case partMany:
		if r.Server == idOurs && (r.Requests == 0 || float64(r.OK) < manyMinShare*float64(r.Requests)) {
			out = append(out, fmt.Sprintf("attack from many addresses (%s): the polite client got only %d of %d answered 200 (statuses %v, errors %v)",
				r.Cond, r.OK, r.Requests, r.Status, r.ErrorKinds))
		}
	case partRefusal:
		if unanswered(r.Server) {
			// Every connection is closed unanswered: errors are its point.
			if r.Requests == 0 || r.OK > 0 {
				what := "the floor"
				if r.Server != idRefFloor {
					what = r.Server
				}
				out = append(out, fmt.Sprintf("refusal part: %s (accept and close) ended %d connections and answered %d", what, r.Requests, r.OK))
			}
			break
		}
		if r.Server == idRefNginxServe || r.Server == idRefNginx503 {
			break // nginx's wrong answers are reported, not this project's breakage
		}
		if r.Requests == 0 || r.OK != r.Requests {
			out = append(out, fmt.Sprintf("refusal part: %s answered %d of %d requests with %d (statuses %v, errors %v)",
				r.Server, r.OK, r.Requests, r.WantStatus, r.Status, r.ErrorKinds))
		}
	case partMemory:
		if r.Server == idOurs && (r.Wanted == 0 || r.Open != r.Wanted) {
			out = append(out, fmt.Sprintf("this server held %d of %d idle connections", r.Open, r.Wanted))
		}
	}
	return out
}

func problems(recs []Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, check(r)...)
	}
	return out
}

// errBroken is summarize's error when a record breaks a threshold: the
// tables are written all the same, and the command exits 3.
type errBroken int

func (e errBroken) Error() string { return fmt.Sprintf("%d problem(s): broken behaviour", int(e)) }

// summarize reads the suite's records and writes the markdown of the results
// file (targets, CPU per request, tables, problems) to stdout. It exits 3
// when a record breaks a threshold.
func summarize(args []string) error {
	fs := flag.NewFlagSet("summarize", flag.ContinueOnError)
	path := fs.String("records", "", "records `file` written by benchtool record (JSON lines)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		return fmt.Errorf("-records is required")
	}
	recs, err := readRecords(*path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	n := writeSummary(w, recs)
	if err := w.Flush(); err != nil {
		return err
	}
	if n > 0 {
		return errBroken(n)
	}
	return nil
}

// writeSummary writes every section and returns the number of problems.
func writeSummary(w io.Writer, recs []Record) int {
	by := map[string][]Record{}
	for _, r := range recs {
		by[r.Part] = append(by[r.Part], r)
	}
	writeTargets(w, by)
	writeCPU(w, by[partThroughput])
	writeTput(w, by[partThroughput])
	writeAttack(w, by[partAttack])
	writeMany(w, by[partMany])
	writeRefusal(w, by[partRefusal])
	writeMem(w, by[partMemory])
	writeCalls(w, by[partSyscalls])
	p := problems(recs)
	if len(p) > 0 {
		fmt.Fprintf(w, "\n## Problems seen during the run\n\n")
		for _, s := range p {
			fmt.Fprintf(w, "- %s\n", s)
		}
	}
	return len(p)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// group is the runs of one server in one setting.
type group struct {
	rps, cpu []float64
	errors   int
}

type setting struct {
	pinned     bool
	tool, file string
}

func (s setting) String() string { return placement(s.pinned) + " " + s.tool + " " + s.file }

// groups returns the settings in first-seen order and, per setting, the
// servers in first-seen order with their runs.
func groups(t []Record) ([]setting, map[setting][]string, map[setting]map[string]*group) {
	var order []setting
	servers := map[setting][]string{}
	g := map[setting]map[string]*group{}
	for _, r := range t {
		s := setting{r.Pinned, r.Tool, r.File}
		if g[s] == nil {
			g[s] = map[string]*group{}
			order = append(order, s)
		}
		if g[s][r.Server] == nil {
			g[s][r.Server] = &group{}
			servers[s] = append(servers[s], r.Server)
		}
		x := g[s][r.Server]
		x.rps = append(x.rps, r.RPS)
		x.cpu = append(x.cpu, r.CPUPerReq)
		x.errors += r.Errors
	}
	return order, servers, g
}

func kilo(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.1fk", v/1000)
	}
	return fmt.Sprintf("%.0f", v)
}

// cpuLines are the verdict lines on CPU per request: this server (limits
// on) against nginx and the bare loop, per file and tool, from the pinned
// runs (the unpinned ones where nothing was pinned).
func cpuLines(t []Record) []string {
	_, _, g := groups(t)
	var out []string
	for _, file := range []string{fileSmall, file100k} {
		for _, tool := range []string{toolWrk, toolRequest} {
			for _, pinned := range []bool{true, false} {
				gs := g[setting{pinned, tool, file}]
				on := gs[idOursOn]
				if on == nil {
					continue
				}
				us := median(on.cpu)
				label := "small file"
				if file == file100k {
					label = "100 KiB file"
				}
				line := fmt.Sprintf("CPU per request, %s (%s, %s): this server %.1f µs", label, placement(pinned), tool, us)
				var vs []string
				for _, id := range []string{idNginx, idBare} {
					if x := gs[id]; x != nil && median(x.cpu) > 0 {
						vs = append(vs, fmt.Sprintf("%.2f× %s", us/median(x.cpu), map[string]string{idNginx: "nginx", idBare: "bare loop"}[id]))
					}
				}
				if len(vs) > 0 {
					line += " = " + strings.Join(vs, ", ")
				}
				out = append(out, line)
				break
			}
		}
	}
	return out
}

func writeCPU(w io.Writer, t []Record) {
	lines := cpuLines(t)
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## CPU per request\n\nThe server's own CPU time (utime+stime of its process tree) per request answered, median over runs; lower is better.\n\n")
	for _, l := range lines {
		fmt.Fprintf(w, "- %s\n", l)
	}
}

func writeTput(w io.Writer, t []Record) {
	if len(t) == 0 {
		return
	}
	order, servers, g := groups(t)

	fmt.Fprintf(w, "\n## Throughput: median req/s and ratio to nginx\n\n")
	fmt.Fprintf(w, "Connection per request, 50 concurrent clients. Each cell: median of the runs, and its ratio to nginx's median in the same setting.\n\n")
	busy := 0
	for _, r := range t {
		if r.Busy >= busyPct {
			busy++
		}
	}
	if busy > 0 {
		fmt.Fprintf(w, "**Caution:** %d of %d runs started while other processes kept the machine at least %d %% busy (after waiting up to 15 s for quiet); their figures are low and noisy.\n\n", busy, len(t), busyPct)
	}
	var all []string
	for _, s := range order {
		for _, id := range servers[s] {
			if !slices.Contains(all, id) {
				all = append(all, id)
			}
		}
	}
	fmt.Fprintf(w, "| server |")
	for _, s := range order {
		fmt.Fprintf(w, " %s |", s)
	}
	fmt.Fprintf(w, "\n|---|")
	for range order {
		fmt.Fprintf(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, id := range all {
		fmt.Fprintf(w, "| %s |", name(id))
		for _, s := range order {
			x := g[s][id]
			if x == nil {
				fmt.Fprintf(w, " – |")
				continue
			}
			fmt.Fprintf(w, " %s%s |", kilo(median(x.rps)), ratioNote(g[s], id))
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "\n### Every setting in detail\n\n")
	fmt.Fprintf(w, "CPU µs/req: the server's own CPU time (utime+stime of its process tree) per request answered, median over runs; it is less noisy than req/s when load generator and server share the machine. Errors: failed connections and non-2xx answers, summed over runs.\n")
	for _, s := range order {
		fmt.Fprintf(w, "\n**%s, %s, %s file**\n\n", placement(s.pinned), s.tool, s.file)
		fmt.Fprintf(w, "| server | median req/s | × nginx | min – max | CPU µs/req | errors | runs |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, id := range servers[s] {
			x := g[s][id]
			fmt.Fprintf(w, "| %s | %.0f | %s | %.0f – %.0f | %.1f | %d | %d |\n", name(id), median(x.rps),
				strings.TrimPrefix(ratioNote(g[s], id), " "), slices.Min(x.rps), slices.Max(x.rps),
				median(x.cpu), x.errors, len(x.rps))
		}
	}
}

func ratioNote(g map[string]*group, id string) string {
	n := g[idNginx]
	if n == nil || median(n.rps) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%.2f×)", median(g[id].rps)/median(n.rps))
}

func writeAttack(w io.Writer, a []Record) {
	if len(a) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Under attack\n\n")
	fmt.Fprintf(w, "A polite client (127.0.0.3, 50 req/s, requester) alone and beside a flooder (127.0.0.2, as many connections as it can open). Same limits on both servers (see method). CPU µs/resp: the server's CPU time over the flood divided by every response it gave (served and refused).\n\n")
	fmt.Fprintf(w, "| server | flood | polite success | polite p50 ms | polite p99 ms | flooder served/s | flooder refused/s | flooder errors | server CPU µs/resp |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range a {
		pct := okShare(r)
		flood := "no"
		fs, fr, fe, cpu := "–", "–", "–", "–"
		if r.Cond == condFlood {
			flood = "yes"
			fs, fr, fe = fmt.Sprintf("%.0f", r.FloodServedPS), fmt.Sprintf("%.0f", r.FloodRefusedPS), strconv.Itoa(r.FloodErrors)
			if r.CPUPerReq > 0 {
				cpu = fmt.Sprintf("%.1f", r.CPUPerReq)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %.1f %% (%d/%d) | %.2f | %.2f | %s | %s | %s | %s |\n",
			name(r.Server), flood, pct, r.OK, r.Requests, r.P50ms, r.P99ms, fs, fr, fe, cpu)
	}
}

// okShare is the percentage of a record's requests answered as wanted.
func okShare(r Record) float64 {
	if r.Requests == 0 {
		return 0
	}
	return 100 * float64(r.OK) / float64(r.Requests)
}

func writeMany(w io.Writer, m []Record) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Attack from many addresses\n\n")
	fmt.Fprintf(w, "Attackers on 5 addresses (127.0.1.x), 12 connections each, reconnecting whenever closed: silent (half a head, nothing more), stalled (an 8 MiB file through a 1 KiB window, never read) or mixed (half of each). Beside them a polite client (127.0.0.4) asks for the small page every 0.4 s. Both servers with the defaults' limits: 12 connections per address, 60 in all, 5 requests per second per address, 10 s for the head (nginx: limit_conn, limit_req, client_header_timeout).\n\n")
	fmt.Fprintf(w, "| server | attack | polite success | polite p50 ms | polite p99 ms | statuses |\n|---|---|---:|---:|---:|---|\n")
	for _, r := range m {
		pct := okShare(r)
		codes := slices.Sorted(maps.Keys(r.Status))
		var st []string
		for _, c := range codes {
			st = append(st, fmt.Sprintf("%s × %d", c, r.Status[c]))
		}
		fmt.Fprintf(w, "| %s | %s | %.1f %% (%d/%d) | %.2f | %.2f | %s |\n", name(r.Server), r.Cond, pct, r.OK, r.Requests, r.P50ms, r.P99ms, strings.Join(st, ", "))
	}
}

// unanswered is whether a refusal-part server closes every connection
// without a byte.
func unanswered(id string) bool { return id == idRefFloor || id == idRefSerialClose }

// refusalRound is one round of the refusal part: the same requests against
// each server of the part, by id.
type refusalRound struct {
	round int
	by    map[string]*Record
}

func refusalRounds(rf []Record) []refusalRound {
	var out []refusalRound
	at := map[int]int{}
	for i := range rf {
		r := &rf[i]
		j, ok := at[r.Round]
		if !ok {
			j = len(out)
			at[r.Round] = j
			out = append(out, refusalRound{round: r.Round, by: map[string]*Record{}})
		}
		out[j].by[r.Server] = r
	}
	return out
}

// refusalMedians is the median CPU per response (per connection for those
// that close unanswered) of each server in the refusal part; a server not
// measured is absent.
func refusalMedians(rf []Record) map[string]float64 {
	v := map[string][]float64{}
	for _, x := range rf {
		v[x.Server] = append(v[x.Server], x.CPUPerReq)
	}
	out := map[string]float64{}
	for id, xs := range v {
		out[id] = median(xs)
	}
	return out
}

func writeRefusal(w io.Writer, rf []Record) {
	if len(rf) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Refusing versus serving\n\n")
	fmt.Fprintf(w, "The same requester run (small file, 50 in flight, pinned) against this server twice: once with room (every request a 200), once with its per-client cap of 1 taken by a held connection from the same address (every request a 503 at accept). Server CPU per response. The floor: the same run against a Go loop that accepts each connection and closes it at once, unanswered (`benchtool bare -close`): the kernel's and Go's work for a TCP connection, under any answer.\n\n")
	fmt.Fprintf(w, "| round | requests | 200s | CPU µs per 200 | 503s | CPU µs per 503 | floor: CPU µs per connection closed unanswered |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	cell := func(r *Record) (int, int, string) {
		if r == nil {
			return 0, 0, "–"
		}
		return r.Requests, r.OK, fmt.Sprintf("%.1f", r.CPUPerReq)
	}
	for _, x := range refusalRounds(rf) {
		n, s, sc := cell(x.by[idRefServe])
		n2, f, fc := cell(x.by[idRefCap])
		_, _, flc := cell(x.by[idRefFloor])
		fmt.Fprintf(w, "| %d | %d | %d | %s | %d | %s | %s |\n", x.round, max(n, n2), s, sc, f, fc, flc)
	}
	med := refusalMedians(rf)
	fmt.Fprintf(w, "| median | | | %s | | %s | %s |\n", us(med, idRefServe), us(med, idRefCap), us(med, idRefFloor))
	writeYardsticks(w, med)
}

// us is a median from refusalMedians as a table cell.
func us(med map[string]float64, id string) string {
	if v, ok := med[id]; ok {
		return fmt.Sprintf("%.1f", v)
	}
	return "–"
}

// have is whether every id was measured.
func have(med map[string]float64, ids ...string) bool {
	for _, id := range ids {
		if _, ok := med[id]; !ok {
			return false
		}
	}
	return true
}

// ratio is med[a]/med[b] as a table cell.
func ratio(med map[string]float64, a, b string) string {
	if have(med, a, b) {
		return fmt.Sprintf("%.2f×", med[a]/med[b])
	}
	return "–"
}

// yardsticks are the refusal part's servers by row: served, refused, closed unanswered.
var yardsticks = []struct{ name, serve, refuse, closed string }{
	{"this server (floor: `bare -close`)", idRefServe, idRefCap, idRefFloor},
	{"nginx (503: `return 503` once the request is read)", idRefNginxServe, idRefNginx503, ""},
	{"the least a server can do (`benchtool serial`: one connection at a time, blocking calls)", idRefSerialServe, idRefSerial503, idRefSerialClose},
}

// writeYardsticks sets this server's refusal-to-served ratio beside nginx's
// and beside the least any server can do on this machine, where measured.
func writeYardsticks(w io.Writer, med map[string]float64) {
	if !have(med, idRefNginxServe) && !have(med, idRefSerialServe) {
		return
	}
	fmt.Fprintf(w, "\nWhat a refusal can cost against a served request: the same run against nginx, serving and answering every request with a 503, and against `benchtool serial` in its three modes (serve; refuse as this server does: the 503 held for the FIN, the request read, the close; accept and close unanswered). Medians, CPU µs per response.\n\n")
	fmt.Fprintf(w, "| server | per 200 | per 503 | 503 × 200 | closed unanswered | closed × 200 |\n|---|---:|---:|---:|---:|---:|\n")
	for _, y := range yardsticks {
		if !have(med, y.serve) {
			continue
		}
		closed, closedRatio := "–", "–"
		if y.closed != "" {
			closed, closedRatio = us(med, y.closed), ratio(med, y.closed, y.serve)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", y.name, us(med, y.serve), us(med, y.refuse),
			ratio(med, y.refuse, y.serve), closed, closedRatio)
	}
}

func writeMem(w io.Writer, m []Record) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Memory with idle connections\n\n")
	fmt.Fprintf(w, "Connections opened and held without sending a byte; RSS of the server's process tree (nginx: master and workers).\n\n")
	fmt.Fprintf(w, "| server | held open | RSS before | RSS held | per connection |\n|---|---:|---:|---:|---:|\n")
	for _, r := range m {
		per := perConnBytes(r.RSSBaseKB, r.RSSHeldKB, r.Open)
		fmt.Fprintf(w, "| %s | %d / %d | %.1f MB | %.1f MB | %.1f KB |\n", name(r.Server), r.Open, r.Wanted,
			float64(r.RSSBaseKB)/1024, float64(r.RSSHeldKB)/1024, per/1024)
	}
}

// target is one row of the targets table.
type target struct{ target, measured, verdict string }

const (
	met    = "met"
	missed = "**missed**"
)

// targets checks the goals against the pinned runs.
func targets(by map[string][]Record) []target {
	_, _, g := groups(by[partThroughput])
	med := func(tool, file, id string) float64 {
		x := g[setting{true, tool, file}][id]
		if x == nil {
			return 0
		}
		return median(x.rps)
	}
	var rows []target
	verdict := func(ok bool) string {
		if ok {
			return met
		}
		return missed
	}
	ratio := func(what, tool, file, a, b string, min float64) {
		va, vb := med(tool, file, a), med(tool, file, b)
		if va == 0 || vb == 0 {
			return
		}
		rows = append(rows, target{what + " (" + tool + ")", fmt.Sprintf("%.3f (%s / %s)", va/vb, kilo(va), kilo(vb)), verdict(va/vb >= min)})
	}
	cpu := func(tool, file, id string) float64 {
		x := g[setting{true, tool, file}][id]
		if x == nil {
			return 0
		}
		return median(x.cpu)
	}
	cpuRatio := func(what, tool, file, a, b string, max float64) {
		va, vb := cpu(tool, file, a), cpu(tool, file, b)
		if va == 0 || vb == 0 {
			return
		}
		rows = append(rows, target{what + " (" + tool + ")", fmt.Sprintf("%.2f× (%.1f / %.1f µs)", va/vb, va, vb), verdict(va/vb <= max)})
	}
	for _, tool := range []string{toolWrk, toolRequest} {
		for _, f := range []string{fileSmall, file100k} {
			cpuRatio(fmt.Sprintf("CPU per request, %s, limits on ≤ %.2f × nginx", f, targetCPUVsNginx), tool, f, idOursOn, idNginx, targetCPUVsNginx)
			cpuRatio(fmt.Sprintf("CPU per request, %s, limits on ≤ %.2f × bare loop", f, targetCPUVsBare), tool, f, idOursOn, idBare, targetCPUVsBare)
		}
	}
	for _, tool := range []string{toolWrk, toolRequest} {
		ratio(fmt.Sprintf("small, limits on ≥ %.1f × nginx", targetSmallVsNginx), tool, fileSmall, idOursOn, idNginx, targetSmallVsNginx)
		ratio(fmt.Sprintf("small, limits on ≥ %.2f × bare loop", targetSmallVsBare), tool, fileSmall, idOursOn, idBare, targetSmallVsBare)
		ratio(fmt.Sprintf("100 KB, limits on ≥ %.1f × nginx", target100kVsNginx), tool, file100k, idOursOn, idNginx, target100kVsNginx)
		for _, f := range []string{fileSmall, file100k} {
			ratio(fmt.Sprintf("limits on ≥ %.2f × off, %s", targetOnVsOff, f), tool, f, idOursOn, idOursOff, targetOnVsOff)
		}
	}
	at := map[string]Record{}
	for _, r := range by[partAttack] {
		at[r.Server+"/"+r.Cond] = r
	}
	alone, okA := at[idOurs+"/"+condAlone]
	fl, okF := at[idOurs+"/"+condFlood]
	if okA && okF {
		rows = append(rows, target{"under attack: polite success 100 %", fmt.Sprintf("%d/%d", fl.OK, fl.Requests),
			verdict(fl.Requests > 0 && fl.OK == fl.Requests)})
		rows = append(rows, target{fmt.Sprintf("under attack: polite p99 ≤ %.0f × unflooded", targetFloodP99Ratio),
			fmt.Sprintf("%.2f ms vs %.2f ms", fl.P99ms, alone.P99ms), verdict(fl.P99ms <= targetFloodP99Ratio*alone.P99ms)})
		if nf, ok := at[idNginx+"/"+condFlood]; ok {
			rows = append(rows, target{"under attack: polite p99 ≤ behind nginx",
				fmt.Sprintf("%.2f ms vs %.2f ms", fl.P99ms, nf.P99ms), verdict(fl.P99ms <= nf.P99ms)})
			if fl.CPUPerReq > 0 && nf.CPUPerReq > 0 {
				rows = append(rows, target{fmt.Sprintf("under attack: CPU per flood answer ≤ %.1f × nginx's", targetFloodCPUVsNginx),
					fmt.Sprintf("%.2f× (%.1f / %.1f µs)", fl.CPUPerReq/nf.CPUPerReq, fl.CPUPerReq, nf.CPUPerReq),
					verdict(fl.CPUPerReq <= targetFloodCPUVsNginx*nf.CPUPerReq)})
			}
		}
	}
	if rf := by[partRefusal]; len(rf) > 0 {
		med := refusalMedians(rf)
		sv, rv, fv := med[idRefServe], med[idRefCap], med[idRefFloor]
		complete := true
		for _, x := range rf {
			if x.Server == idRefServe || x.Server == idRefCap || x.Server == idRefFloor {
				complete = complete && x.Requests > 0 && (x.Server == idRefFloor || x.OK == x.Requests)
			}
		}
		measured := fmt.Sprintf("%.2f× (%.1f µs per 503 / %.1f per 200)", rv/sv, rv, sv)
		// The target is judged as set; the floor and the yardsticks say how
		// far below it any answer can go on this machine.
		if fv > 0 {
			measured += fmt.Sprintf("; accepting and closing unanswered: %.1f µs, %.2f× a served request", fv, fv/sv)
		}
		if have(med, idRefNginxServe, idRefNginx503) {
			measured += fmt.Sprintf("; nginx's 503: %.2f× its 200", med[idRefNginx503]/med[idRefNginxServe])
		}
		if s := med[idRefSerialServe]; have(med, idRefSerialServe, idRefSerial503, idRefSerialClose) {
			measured += fmt.Sprintf("; the least a server can do (`benchtool serial`): the same refusal %.2f×, accept and close %.2f× its 200",
				med[idRefSerial503]/s, med[idRefSerialClose]/s)
		}
		rows = append(rows, target{fmt.Sprintf("a refusal ≤ %.1f × a served request, CPU", targetRefusalVsServed),
			measured, verdict(complete && rv <= targetRefusalVsServed*sv)})
	}
	for _, r := range by[partMemory] {
		if r.Server == idOurs {
			rows = append(rows, target{fmt.Sprintf("%d idle connections < %d MB RSS", r.Wanted, targetIdleRSSKB/1024),
				fmt.Sprintf("%.1f MB (%d held)", float64(r.RSSHeldKB)/1024, r.Open),
				verdict(r.RSSHeldKB < targetIdleRSSKB && r.Open >= r.Wanted)})
		}
	}
	return rows
}

func writeTargets(w io.Writer, by map[string][]Record) {
	rows := targets(by)
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Targets (pinned runs)\n\n| target | measured | verdict |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s |\n", r.target, r.measured, r.verdict)
	}
}
