package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Server ids the suite uses; the targets refer to them.
const (
	idOursOn  = "ours-on"
	idOursOff = "ours-off"
	idNginx   = "nginx"
	idBare    = "bare"
	idOurs    = "ours"
)

var names = map[string]string{
	idOursOff: "this server, limits off",
	idOursOn:  "this server, limits on (not tripping)",
	"stock":   "stock mode (net/http)",
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

// summarize reads the suite's raw records (tab-separated, one run a line)
// and writes the markdown tables of the results file to stdout.
func summarize(args []string) error {
	fs := flag.NewFlagSet("summarize", flag.ContinueOnError)
	tput := fs.String("throughput", "", "throughput records: placement tool file server round rps cpu_us errors busy_pct")
	attack := fs.String("attack", "", "attack records: server condition sent ok p50_ms p99_ms flood_served_ps flood_refused_ps flood_errors cpu_us_per_resp")
	memory := fs.String("memory", "", "memory records: server wanted open base_kb held_kb")
	refusal := fs.String("refusal", "", "refusal records: round requests served_200 served_cpu_us refused_503 refused_cpu_us")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	var t []tputRec
	var a []attackRec
	var m []memRec
	var rf []refusalRec
	var err error
	if t, err = readTput(*tput); err != nil {
		return err
	}
	if a, err = readAttack(*attack); err != nil {
		return err
	}
	if m, err = readMem(*memory); err != nil {
		return err
	}
	if rf, err = readRefusal(*refusal); err != nil {
		return err
	}
	writeTargets(w, t, a, m, rf)
	writeTput(w, t)
	writeAttack(w, a)
	writeRefusal(w, rf)
	writeMem(w, m)
	return nil
}

type tputRec struct {
	placement, tool, file, server string
	rps, cpuUS, busy              float64
	errors                        int
}

type attackRec struct {
	server, cond              string
	sent, ok                  int
	p50, p99                  float64
	floodServed, floodRefused float64
	floodErrors               int
	cpuPerResp                float64
}

type memRec struct {
	server         string
	wanted, open   int
	baseKB, heldKB float64
}

// records reads a tab-separated file; a missing or empty name is no records.
func records(path string, fields int) ([][]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out [][]string
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != fields {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d", path, i+1, len(f), fields)
		}
		out = append(out, f)
	}
	return out, nil
}

func num(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return v
}

func readTput(path string) ([]tputRec, error) {
	rs, err := records(path, 9)
	var out []tputRec
	for _, f := range rs {
		out = append(out, tputRec{placement: f[0], tool: f[1], file: f[2], server: f[3],
			rps: num(f[5]), cpuUS: num(f[6]), errors: int(num(f[7])), busy: num(f[8])})
	}
	return out, err
}

func readAttack(path string) ([]attackRec, error) {
	rs, err := records(path, 10)
	var out []attackRec
	for _, f := range rs {
		out = append(out, attackRec{server: f[0], cond: f[1], sent: int(num(f[2])), ok: int(num(f[3])),
			p50: num(f[4]), p99: num(f[5]), floodServed: num(f[6]), floodRefused: num(f[7]),
			floodErrors: int(num(f[8])), cpuPerResp: num(f[9])})
	}
	return out, err
}

// refusalRec is one round of the refusal part: the same requests, served
// by a server with room, then refused at accept by one whose per-client cap
// is taken.
type refusalRec struct {
	round, requests, served200, refused503 int
	servedCPU, refusedCPU                  float64 // µs of server CPU per response
}

func readRefusal(path string) ([]refusalRec, error) {
	rs, err := records(path, 6)
	var out []refusalRec
	for _, f := range rs {
		out = append(out, refusalRec{round: int(num(f[0])), requests: int(num(f[1])), served200: int(num(f[2])),
			servedCPU: num(f[3]), refused503: int(num(f[4])), refusedCPU: num(f[5])})
	}
	return out, err
}

// refusalMedians is the median CPU per response, served and refused.
func refusalMedians(rf []refusalRec) (served, refused float64) {
	var s, r []float64
	for _, x := range rf {
		s = append(s, x.servedCPU)
		r = append(r, x.refusedCPU)
	}
	return median(s), median(r)
}

func writeRefusal(w io.Writer, rf []refusalRec) {
	if len(rf) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Refusing versus serving\n\n")
	fmt.Fprintf(w, "The same requester run (small file, 50 in flight, pinned) against this server twice: once with room (every request a 200), once with its per-client cap of 1 taken by a held connection from the same address (every request a 503 at accept). Server CPU per response.\n\n")
	fmt.Fprintf(w, "| round | requests | 200s | CPU µs per 200 | 503s | CPU µs per 503 |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range rf {
		fmt.Fprintf(w, "| %d | %d | %d | %.1f | %d | %.1f |\n", x.round, x.requests, x.served200, x.servedCPU, x.refused503, x.refusedCPU)
	}
	s, r := refusalMedians(rf)
	fmt.Fprintf(w, "| median | | | %.1f | | %.1f |\n", s, r)
}

func readMem(path string) ([]memRec, error) {
	rs, err := records(path, 5)
	var out []memRec
	for _, f := range rs {
		out = append(out, memRec{server: f[0], wanted: int(num(f[1])), open: int(num(f[2])),
			baseKB: num(f[3]), heldKB: num(f[4])})
	}
	return out, err
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

type setting struct{ placement, tool, file string }

// groups returns the settings in first-seen order and, per setting, the
// servers in first-seen order with their runs.
func groups(t []tputRec) ([]setting, map[setting][]string, map[setting]map[string]*group) {
	var order []setting
	servers := map[setting][]string{}
	g := map[setting]map[string]*group{}
	for _, r := range t {
		s := setting{r.placement, r.tool, r.file}
		if g[s] == nil {
			g[s] = map[string]*group{}
			order = append(order, s)
		}
		if g[s][r.server] == nil {
			g[s][r.server] = &group{}
			servers[s] = append(servers[s], r.server)
		}
		x := g[s][r.server]
		x.rps = append(x.rps, r.rps)
		x.cpu = append(x.cpu, r.cpuUS)
		x.errors += r.errors
	}
	return order, servers, g
}

func kilo(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.1fk", v/1000)
	}
	return fmt.Sprintf("%.0f", v)
}

func writeTput(w io.Writer, t []tputRec) {
	if len(t) == 0 {
		return
	}
	order, servers, g := groups(t)

	fmt.Fprintf(w, "\n## Throughput: median req/s and ratio to nginx\n\n")
	fmt.Fprintf(w, "Connection per request, 50 concurrent clients. Each cell: median of the runs, and its ratio to nginx's median in the same setting.\n\n")
	busy := 0
	for _, r := range t {
		if r.busy >= 10 {
			busy++
		}
	}
	if busy > 0 {
		fmt.Fprintf(w, "**Caution:** %d of %d runs started while other processes kept the machine at least 10 %% busy (after waiting up to 15 s for quiet); their figures are low and noisy.\n\n", busy, len(t))
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
		fmt.Fprintf(w, " %s %s %s |", s.placement, s.tool, s.file)
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
		fmt.Fprintf(w, "\n**%s, %s, %s file**\n\n", s.placement, s.tool, s.file)
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

func writeAttack(w io.Writer, a []attackRec) {
	if len(a) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Under attack\n\n")
	fmt.Fprintf(w, "A polite client (127.0.0.3, 50 req/s, requester) alone and beside a flooder (127.0.0.2, as many connections as it can open). Same limits on both servers (see method). CPU µs/resp: the server's CPU time over the flood divided by every response it gave (served and refused).\n\n")
	fmt.Fprintf(w, "| server | flood | polite success | polite p50 ms | polite p99 ms | flooder served/s | flooder refused/s | flooder errors | server CPU µs/resp |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range a {
		pct := 0.0
		if r.sent > 0 {
			pct = 100 * float64(r.ok) / float64(r.sent)
		}
		flood := "no"
		fs, fr, fe, cpu := "–", "–", "–", "–"
		if r.cond == "flood" {
			flood = "yes"
			fs, fr, fe = fmt.Sprintf("%.0f", r.floodServed), fmt.Sprintf("%.0f", r.floodRefused), strconv.Itoa(r.floodErrors)
		}
		if r.cpuPerResp > 0 {
			cpu = fmt.Sprintf("%.1f", r.cpuPerResp)
		}
		fmt.Fprintf(w, "| %s | %s | %.1f %% (%d/%d) | %.2f | %.2f | %s | %s | %s | %s |\n",
			name(r.server), flood, pct, r.ok, r.sent, r.p50, r.p99, fs, fr, fe, cpu)
	}
}

func writeMem(w io.Writer, m []memRec) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Memory with idle connections\n\n")
	fmt.Fprintf(w, "Connections opened and held without sending a byte; RSS of the server's process tree (nginx: master and workers).\n\n")
	fmt.Fprintf(w, "| server | held open | RSS before | RSS held | per connection |\n|---|---:|---:|---:|---:|\n")
	for _, r := range m {
		per := 0.0
		if r.open > 0 {
			per = (r.heldKB - r.baseKB) * 1024 / float64(r.open)
		}
		fmt.Fprintf(w, "| %s | %d / %d | %.1f MB | %.1f MB | %.1f KB |\n", name(r.server), r.open, r.wanted,
			r.baseKB/1024, r.heldKB/1024, per/1024)
	}
}

// writeTargets checks the targets against the pinned wrk runs.
func writeTargets(w io.Writer, t []tputRec, a []attackRec, m []memRec, rf []refusalRec) {
	_, _, g := groups(t)
	med := func(tool, file, id string) float64 {
		x := g[setting{"pinned", tool, file}][id]
		if x == nil {
			return 0
		}
		return median(x.rps)
	}
	type row struct{ target, measured, verdict string }
	var rows []row
	ratio := func(target string, a, b, min float64, what string) {
		if a == 0 || b == 0 {
			return
		}
		v := "met"
		if a/b < min {
			v = "**missed**"
		}
		rows = append(rows, row{target, fmt.Sprintf("%.3f (%s)", a/b, what), v})
	}
	for _, tool := range []string{"wrk", "requester"} {
		ratio("small, limits on ≥ 1.0 × nginx ("+tool+")", med(tool, "small", idOursOn), med(tool, "small", idNginx), 1.0,
			kilo(med(tool, "small", idOursOn))+" / "+kilo(med(tool, "small", idNginx)))
		ratio("small, limits on ≥ 0.95 × bare loop ("+tool+")", med(tool, "small", idOursOn), med(tool, "small", idBare), 0.95,
			kilo(med(tool, "small", idOursOn))+" / "+kilo(med(tool, "small", idBare)))
		ratio("100 KB, limits on ≥ 0.9 × nginx ("+tool+")", med(tool, "100k", idOursOn), med(tool, "100k", idNginx), 0.9,
			kilo(med(tool, "100k", idOursOn))+" / "+kilo(med(tool, "100k", idNginx)))
		for _, f := range []string{"small", "100k"} {
			ratio("limits on ≥ 0.97 × off, "+f+" ("+tool+")", med(tool, f, idOursOn), med(tool, f, idOursOff), 0.97,
				kilo(med(tool, f, idOursOn))+" / "+kilo(med(tool, f, idOursOff)))
		}
	}
	at := map[string]attackRec{}
	for _, r := range a {
		at[r.server+"/"+r.cond] = r
	}
	if alone, ok := at[idOurs+"/alone"]; ok {
		if fl, ok := at[idOurs+"/flood"]; ok {
			v := "met"
			if fl.ok != fl.sent || fl.sent == 0 {
				v = "**missed**"
			}
			rows = append(rows, row{"under attack: polite success 100 %", fmt.Sprintf("%d/%d", fl.ok, fl.sent), v})
			v = "met"
			if fl.p99 > 2*alone.p99 {
				v = "**missed**"
			}
			rows = append(rows, row{"under attack: polite p99 ≤ 2 × unflooded", fmt.Sprintf("%.2f ms vs %.2f ms", fl.p99, alone.p99), v})
			if nf, ok := at[idNginx+"/flood"]; ok {
				v = "met"
				if fl.p99 > nf.p99 {
					v = "**missed**"
				}
				rows = append(rows, row{"under attack: polite p99 ≤ behind nginx", fmt.Sprintf("%.2f ms vs %.2f ms", fl.p99, nf.p99), v})
			}
		}
	}
	if len(rf) > 0 {
		sv, rv := refusalMedians(rf)
		v := "met"
		complete := true
		for _, x := range rf {
			complete = complete && x.served200 == x.requests && x.refused503 == x.requests
		}
		if rv >= sv || !complete {
			v = "**missed**"
		}
		rows = append(rows, row{"refusing costs less than serving", fmt.Sprintf("%.1f µs per 503 vs %.1f µs per 200", rv, sv), v})
	}
	for _, r := range m {
		if r.server == idOurs {
			v := "met"
			if r.heldKB >= 80*1024 || r.open < r.wanted {
				v = "**missed**"
			}
			rows = append(rows, row{fmt.Sprintf("%d idle connections < 80 MB RSS", r.wanted),
				fmt.Sprintf("%.1f MB (%d held)", r.heldKB/1024, r.open), v})
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Targets (pinned runs)\n\n| target | measured | verdict |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s |\n", r.target, r.measured, r.verdict)
	}
}
