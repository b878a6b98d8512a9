// Package config reads the requester's settings: command-line flags over
// REQUESTER_* environment variables (read with envconfig) over defaults.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"httplab/httplab-requester/internal/load"
	"httplab/httplab-requester/internal/report"
)

// Config is everything a requester invocation needs.
type Config struct {
	Targets     []load.Target
	Requests    int
	Spread      time.Duration
	Concurrency int
	Modes       []load.Mode // in the order to run them: "both" is sequential, then concurrent
	Timeout     time.Duration
	StatsURL    string
	Bind        []netip.Addr
	JSON        bool
	Output      string // "" or a .json, .csv or .html file name
	Quiet       bool
	Verbose     bool // the detail tables also when a report has several runs
	// Shard k of Shards: send only the requests i with i mod Shards = Shard
	// of the undivided schedule. Shards is 1 for the whole run.
	Shard, Shards int
	StartAt       time.Time // the schedule's zero; zero time: when the run starts
}

// env mirrors the flags. Field names make the variable names
// (REQUESTER_HOST, ...); no `envconfig` tags on purpose: with a tag,
// envconfig falls back to the unprefixed name, and REQUESTER_PATH would
// silently read $PATH.
type env struct {
	Host        string `default:"localhost"`
	Port        int    `default:"8080"`
	Path        string `default:"/"`
	URL         string
	Requests    int           `default:"10"`
	Spread      float64       `default:"0"`
	Concurrency int           `default:"0"`
	Mode        string        `default:"concurrent"`
	Timeout     time.Duration `default:"10s"`
	Stats       string
	Bind        string
	JSON        bool
	Output      string
	Quiet       bool
	Verbose     bool
	Shard       string
	StartAt     string `split_words:"true"`
}

// Prefix is the prefix of the environment variables.
const Prefix = "REQUESTER"

// ErrUsage is returned when the usage text has been printed because it was
// asked for (-h): the program should exit successfully.
var ErrUsage = errors.New("usage requested")

// Parse reads the flags in args (without the program name) over the
// environment. On any error it has already written the error, naming the
// flag or variable at fault, and the usage to usage.
func Parse(args []string, usage io.Writer) (Config, error) {
	fs := flag.NewFlagSet("requester", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Usage = func() { printUsage(fs) }
	fail := func(err error) (Config, error) {
		fmt.Fprintf(usage, "requester: %v\n\n", err)
		fs.Usage()
		return Config{}, err
	}

	var e env
	if err := envconfig.Process(Prefix, &e); err != nil {
		return fail(fmt.Errorf("environment: %v", err))
	}
	fs.StringVar(&e.Host, "H", e.Host, "`host` to load: a name or an IP [REQUESTER_HOST]")
	fs.IntVar(&e.Port, "p", e.Port, "`port` [REQUESTER_PORT]")
	fs.StringVar(&e.Path, "u", e.Path, "`paths` to ask for; several, comma-separated, are cycled through [REQUESTER_PATH]")
	fs.StringVar(&e.URL, "url", e.URL, "full http:// `URLs`, comma-separated, instead of -H/-p/-u; each host:port is a run of its own [REQUESTER_URL]")
	fs.IntVar(&e.Requests, "r", e.Requests, "number of `requests`, exactly [REQUESTER_REQUESTS]")
	fs.Float64Var(&e.Spread, "t", e.Spread, "`seconds` over which request start times are spread: request i is due at i·t/r [REQUESTER_SPREAD]")
	fs.IntVar(&e.Concurrency, "c", e.Concurrency, "most `requests` in flight; 0 = no cap [REQUESTER_CONCURRENCY]")
	fs.StringVar(&e.Mode, "mode", e.Mode, "run `mode`: concurrent, sequential (each request after the one before), or both (plus a speedup table) [REQUESTER_MODE]")
	fs.DurationVar(&e.Timeout, "timeout", e.Timeout, "per request, from send to complete response [REQUESTER_TIMEOUT]")
	fs.StringVar(&e.Stats, "stats", e.Stats, "server's admin /stats `URL`: report hits counted against 200s received [REQUESTER_STATS]")
	fs.StringVar(&e.Bind, "bind", e.Bind, "local source `IPs`, comma-separated, used in turn [REQUESTER_BIND]")
	fs.BoolVar(&e.JSON, "json", e.JSON, "print the JSON report on stdout instead of tables [REQUESTER_JSON]")
	fs.StringVar(&e.Output, "o", e.Output, "also write the report to `file`: .json, .csv or .html [REQUESTER_OUTPUT]")
	fs.BoolVar(&e.Quiet, "q", e.Quiet, "no per-request lines, no progress bar [REQUESTER_QUIET]")
	fs.StringVar(&e.Shard, "shard", e.Shard, "send only shard `k/n` of the run: the requests i with i mod n = k, at their undivided due times [REQUESTER_SHARD]")
	fs.StringVar(&e.StartAt, "start-at", e.StartAt, "the schedule's zero: a wall-clock `time`, RFC 3339 or Unix seconds (every shard of a run gets the same) [REQUESTER_START_AT]")
	fs.BoolVar(&e.Verbose, "v", e.Verbose, "with several runs (targets, -mode both), also print the detail: latency by outcome, phases, lateness, per-request lines, histograms, outcomes per second [REQUESTER_VERBOSE]")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, ErrUsage
		}
		return Config{}, err // the flag package has printed it with the usage
	}
	if fs.NArg() > 0 {
		return fail(fmt.Errorf("unexpected argument %q (every setting is a flag)", fs.Arg(0)))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c, err := build(e, set)
	if err != nil {
		return fail(err)
	}
	return c, nil
}

func build(e env, set map[string]bool) (Config, error) {
	c := Config{
		Requests:    e.Requests,
		Concurrency: e.Concurrency,
		Timeout:     e.Timeout,
		StatsURL:    e.Stats,
		JSON:        e.JSON,
		Output:      e.Output,
		Quiet:       e.Quiet,
		Verbose:     e.Verbose,
	}
	var err error
	if c.Targets, err = targets(e, set); err != nil {
		return Config{}, err
	}
	if e.Requests < 1 {
		return Config{}, fmt.Errorf("-r (REQUESTER_REQUESTS) must be at least 1, not %d", e.Requests)
	}
	if e.Spread < 0 || math.IsNaN(e.Spread) || math.IsInf(e.Spread, 0) || e.Spread > 1e6 {
		return Config{}, fmt.Errorf("-t (REQUESTER_SPREAD) must be a number of seconds from 0 to 1000000, not %v", e.Spread)
	}
	c.Spread = time.Duration(math.Round(e.Spread * float64(time.Second)))
	if e.Concurrency < 0 {
		return Config{}, fmt.Errorf("-c (REQUESTER_CONCURRENCY) must be 0 (no cap) or more, not %d", e.Concurrency)
	}
	switch e.Mode {
	case "concurrent":
		c.Modes = []load.Mode{load.Concurrent}
	case "sequential":
		c.Modes = []load.Mode{load.Sequential}
	case "both":
		c.Modes = []load.Mode{load.Sequential, load.Concurrent}
	default:
		return Config{}, fmt.Errorf("-mode (REQUESTER_MODE) must be concurrent, sequential or both, not %q", e.Mode)
	}
	if e.Timeout <= 0 {
		return Config{}, fmt.Errorf("-timeout (REQUESTER_TIMEOUT) must be above 0, not %v", e.Timeout)
	}
	if e.Stats != "" {
		u, err := url.Parse(e.Stats)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("-stats (REQUESTER_STATS) must be an http:// URL such as http://localhost:9090/stats, not %q", e.Stats)
		}
	}
	for _, s := range split(e.Bind) {
		ip, err := netip.ParseAddr(s)
		if err != nil || ip.Zone() != "" {
			return Config{}, fmt.Errorf("-bind (REQUESTER_BIND): %q is not an IP address", s)
		}
		c.Bind = append(c.Bind, ip.Unmap())
	}
	if e.Output != "" {
		if _, err := report.FormatOf(e.Output); err != nil {
			return Config{}, fmt.Errorf("-o (REQUESTER_OUTPUT): %v", err)
		}
	}
	c.Shard, c.Shards = 0, 1
	if e.Shard != "" {
		if c.Shard, c.Shards, err = ParseShard(e.Shard); err != nil {
			return Config{}, fmt.Errorf("-shard (REQUESTER_SHARD): %v", err)
		}
		if c.Shard >= c.Requests {
			return Config{}, fmt.Errorf("-shard (REQUESTER_SHARD): shard %d/%d of -r %d would send no request: use fewer shards than requests", c.Shard, c.Shards, c.Requests)
		}
	}
	if e.StartAt != "" {
		if c.StartAt, err = ParseStartAt(e.StartAt); err != nil {
			return Config{}, fmt.Errorf("-start-at (REQUESTER_START_AT): %v", err)
		}
		if n := len(c.Targets) * len(c.Modes); n > 1 {
			return Config{}, fmt.Errorf("-start-at (REQUESTER_START_AT) anchors one run, and this is %d (several targets, or -mode both): give one target and one mode", n)
		}
	}
	return c, nil
}

// ParseShard reads "k/n": shard k (from 0) of n. k is taken modulo n
// (request i is in the shard when i mod n = k mod n), so shards numbered
// from 1 to n work too. A Docker Swarm node ID in place of k counts as
// shard 0: it is what {{.Task.Slot}} renders for one task of a replicated
// job, whose other tasks get the slots 1 to n-1.
func ParseShard(s string) (k, n int, err error) {
	ks, ns, ok := strings.Cut(s, "/")
	ks, ns = strings.TrimSpace(ks), strings.TrimSpace(ns)
	n, err = strconv.Atoi(ns)
	if ok && err == nil && n >= 1 {
		if swarmNodeID.MatchString(ks) {
			return 0, n, nil
		}
		if k, err = strconv.Atoi(ks); err == nil && k >= 0 {
			return k % n, n, nil
		}
	}
	return 0, 0, fmt.Errorf("%q is not k/n with k >= 0 and n >= 1, such as 0/4 (the first of four shards)", s)
}

// swarmNodeID is what a Docker Swarm node ID looks like: 25 lower-case
// letters and digits.
var swarmNodeID = regexp.MustCompile(`^[a-z0-9]{25}$`)

// ParseStartAt reads a wall-clock instant: RFC 3339 (2026-12-01T06:00:00Z,
// a fraction allowed) or Unix seconds with an optional fraction
// (1796104800.25).
func ParseStartAt(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	valid := err == nil && n > 0 && n < 1<<40 && len(frac) <= 9 && strings.Trim(frac, "0123456789") == "" && (frac != "" || !strings.Contains(s, "."))
	if !valid {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-12-01T06:00:00Z) nor Unix seconds (1796104800.25)", s)
	}
	ns := 0
	if frac != "" {
		ns, _ = strconv.Atoi((frac + "000000000")[:9])
	}
	return time.Unix(n, int64(ns)), nil
}

// targets picks where to send requests. -url replaces -H, -p and -u; giving
// both on the command line is a mistake worth stopping for. A URL from the
// environment yields to host, port or path flags, since flags win.
func targets(e env, set map[string]bool) ([]load.Target, error) {
	hostFlags := set["H"] || set["p"] || set["u"]
	if set["url"] && hostFlags {
		return nil, errors.New("-url replaces -H, -p and -u: give one or the other")
	}
	if e.URL != "" && (set["url"] || !hostFlags) {
		ts, err := load.TargetsFromURLs(split(e.URL))
		if err != nil {
			return nil, fmt.Errorf("-url (REQUESTER_URL): %v", err)
		}
		return ts, nil
	}
	if e.Host == "" || strings.ContainsAny(e.Host, "/ ") {
		return nil, fmt.Errorf("-H (REQUESTER_HOST) must be a host name or IP, not %q", e.Host)
	}
	if e.Port < 1 || e.Port > 65535 {
		return nil, fmt.Errorf("-p (REQUESTER_PORT) must be 1-65535, not %d", e.Port)
	}
	paths := split(e.Path)
	if len(paths) == 0 {
		return nil, errors.New("-u (REQUESTER_PATH) must name at least one path")
	}
	for _, p := range paths {
		if err := load.ValidatePath(p); err != nil {
			return nil, fmt.Errorf("-u (REQUESTER_PATH): %v", err)
		}
	}
	host := strings.TrimSuffix(strings.TrimPrefix(e.Host, "["), "]")
	return []load.Target{{Host: host, Port: e.Port, Paths: paths}}, nil
}

// split cuts a comma-separated list, dropping blanks.
func split(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// Merge is what requester merge needs.
type Merge struct {
	Files   []string // the shards' JSON reports
	JSON    bool
	Output  string
	Verbose bool
}

// ParseMerge reads the arguments of requester merge (after "merge"). It
// reads flags only: a merge runs beside the shards, whose REQUESTER_*
// variables are not its own.
func ParseMerge(args []string, usage io.Writer) (Merge, error) {
	fs := flag.NewFlagSet("requester merge", flag.ContinueOnError)
	fs.SetOutput(usage)
	var m Merge
	fs.BoolVar(&m.JSON, "json", false, "print the merged JSON report on stdout instead of tables")
	fs.StringVar(&m.Output, "o", "", "also write the merged report to `file`: .json, .csv or .html")
	fs.BoolVar(&m.Verbose, "v", false, "with several runs, also print the detail tables")
	fs.Usage = func() {
		fmt.Fprint(usage, `Usage: requester merge [-json] [-o FILE] [-v] REPORT.json...

Makes one report from the JSON reports of one run's shards (requester -shard
k/n -start-at TIME ... -json): counts summed, percentiles recomputed from
every result, outcomes per second on the shared clock, and a table by client
address. Reports of different runs are refused (exit status 2).

`)
		fs.PrintDefaults()
	}
	fail := func(err error) (Merge, error) {
		fmt.Fprintf(usage, "requester merge: %v\n\n", err)
		fs.Usage()
		return Merge{}, err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Merge{}, ErrUsage
		}
		return Merge{}, err
	}
	m.Files = fs.Args()
	if len(m.Files) == 0 {
		return fail(errors.New("no report to merge: name the shards' JSON reports"))
	}
	if m.Output != "" {
		if _, err := report.FormatOf(m.Output); err != nil {
			return fail(fmt.Errorf("-o: %v", err))
		}
	}
	return m, nil
}

func printUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprint(w, `Usage: requester [flags]
       requester merge [-json] [-o FILE] [-v] REPORT.json...   (see requester merge -h)

Sends exactly -r HTTP/1.0 requests, each on its own connection, request i due
at i·t/r seconds after the start, and reports status codes, error categories,
latency (overall and by outcome), send lateness and outcomes per second.

Examples:
  requester -H localhost -p 8080 -u /index.html -r 20 -t 4.1
  requester -url http://localhost:8080/,http://localhost:8081/ -r 200 -c 20
  requester -r 100 -mode both -o report.html
  requester -r 1000 -stats http://localhost:9090/stats -json
  requester -r 400 -t 10 -shard 1/4 -start-at 2026-12-01T06:00:00Z -json > s1.json
  requester merge s0.json s1.json s2.json s3.json

Flags (each also read from the environment variable in brackets; a flag wins):
`)
	fs.PrintDefaults()
	fmt.Fprint(w, `
Exit status: 0 when the report was produced, even if requests failed;
2 for a bad flag or variable; 1 when the report could not be written.
`)
}
