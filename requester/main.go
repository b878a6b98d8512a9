// Command requester sends paced HTTP/1.0 requests to one or more servers
// and reports what happened to every one of them. See docs/requester.md.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"

	"httplab/httplab-requester/internal/config"
	"httplab/httplab-requester/internal/escape"
	"httplab/httplab-requester/internal/hits"
	"httplab/httplab-requester/internal/load"
	"httplab/httplab-requester/internal/merge"
	"httplab/httplab-requester/internal/progress"
	"httplab/httplab-requester/internal/report"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, term.IsTerminal(int(os.Stderr.Fd()))))
}

// resolveReason is the resolver's short reason: "no such host" rather than
// "lookup x on 10.0.0.53:53: no such host".
func resolveReason(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.Err != "" {
		return dns.Err
	}
	return err.Error()
}

// run wires the configuration to the load, hits and report packages and
// returns the exit status.
func run(args []string, stdout, stderr io.Writer, stderrIsTerminal bool) int {
	if len(args) > 0 && args[0] == "merge" {
		return runMerge(args[1:], stdout, stderr)
	}
	cfg, err := config.Parse(args, stderr)
	if errors.Is(err, config.ErrUsage) {
		return 0
	}
	if err != nil {
		return 2 // already printed, with the usage
	}
	if !cfg.StartAt.IsZero() && !checkStartAt(cfg, time.Now(), stderr, stderrIsTerminal && !cfg.Quiet) {
		return 2
	}
	// The first interrupt stops sending and still reports what was sent;
	// a second one (signal.NotifyContext has stopped listening) kills.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Each host is resolved once, before anything is sent: a name that does
	// not resolve is a mistake to say in one line, not N failed requests.
	addrs := make([]netip.AddrPort, len(cfg.Targets))
	for i, t := range cfg.Targets {
		// 10 s bound the lookup of one host name (here, not a package
		// constant, so that a test covers the bound: gremlins counts no
		// package-level declaration as covered).
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		addrs[i], err = t.Resolve(rctx, cfg.Bind)
		cancel()
		if err != nil {
			fmt.Fprintf(stderr, "cannot resolve %s: %s; inside a container on Linux, see README \"Against another machine\"\n",
				escape.Text(t.Host, 256), escape.Text(resolveReason(err), 256))
			return 2
		}
	}

	var stats *hits.Client
	var before hits.Snapshot
	var statsErr error
	if cfg.StatsURL != "" {
		stats = hits.NewClient(cfg.StatsURL)
		before, statsErr = stats.Fetch(ctx)
	}

	var runs []load.Run
	for i, t := range cfg.Targets {
		for _, mode := range cfg.Modes {
			if ctx.Err() != nil {
				break
			}
			opts := load.Options{
				Requests:    cfg.Requests,
				Spread:      cfg.Spread,
				Concurrency: cfg.Concurrency,
				Mode:        mode,
				Timeout:     cfg.Timeout,
				Bind:        cfg.Bind,
				Addr:        addrs[i],
				Shard:       cfg.Shard,
				Shards:      cfg.Shards,
				StartAt:     cfg.StartAt,
			}
			bar := progress.New(stderr, stderrIsTerminal && !cfg.Quiet, load.Schedule{N: cfg.Requests, Shard: cfg.Shard, Shards: cfg.Shards}.Count(), t.Name()+" "+string(mode))
			if bar != nil {
				opts.OnResult = func(load.Result) { bar.Add() }
			}
			runs = append(runs, load.Execute(ctx, t, opts))
			bar.Finish()
		}
	}
	stop()

	var check *hits.Check
	if stats != nil {
		served := 0
		for _, r := range runs {
			served += r.Served()
		}
		chk := stats.Check(context.Background(), before, statsErr, served)
		check = &chk
	}
	rep := report.Build(runs, check)
	return output(rep, cfg.JSON, cfg.Output, report.TextOptions{Requests: !cfg.Quiet, Detail: cfg.Verbose}, stdout, stderr)
}

// output prints the report (JSON or tables) and writes it to file, if
// one is named; it returns the exit status.
func output(rep report.Report, asJSON bool, file string, opts report.TextOptions, stdout, stderr io.Writer) int {
	var err error
	if asJSON {
		err = report.WriteJSON(stdout, rep)
	} else {
		err = report.WriteText(stdout, rep, opts)
	}
	if err != nil {
		fmt.Fprintln(stderr, "requester: writing the report:", err)
		return 1
	}
	if file != "" {
		if err := report.WriteFile(file, rep); err != nil {
			fmt.Fprintln(stderr, "requester:", err)
			return 1
		}
		// On stderr, so that -json keeps stdout for the JSON alone.
		fmt.Fprintln(stderr, report.Wrote(file, rep))
	}
	return 0
}

// startSlack is how far in the past a -start-at may be without a word:
// shards started by one command reach it at slightly different moments.
const startSlack = time.Second

// checkStartAt says what a -start-at means now. Far ahead: that the run
// waits, when someone watches (chatty: a container's log may be its
// report). A little past: nothing (the requests already due leave at once,
// and their lateness says by how much). More than startSlack past: a
// warning. Past the whole schedule as well: a refusal, since every request
// would leave at once and the run would be one burst, not the schedule.
func checkStartAt(cfg config.Config, now time.Time, stderr io.Writer, chatty bool) bool {
	at := cfg.StartAt.UTC().Format(time.RFC3339Nano)
	ago := now.Sub(cfg.StartAt)
	// ifs, not a tagless switch: gremlins sees no test reach a case's
	// condition (go-gremlins/gremlins#298).
	if ago > startSlack && ago > cfg.Spread {
		fmt.Fprintf(stderr, "requester: -start-at %s was %.1f s ago, after the whole schedule (-t %g s) was due: "+
			"every request would leave at once; give a later instant (a few seconds from now)\n", at, ago.Seconds(), cfg.Spread.Seconds())
		return false
	}
	if ago > startSlack {
		fmt.Fprintf(stderr, "requester: -start-at %s was %.1f s ago: the requests already due leave at once, reported late\n", at, ago.Seconds())
	}
	if -ago > startSlack && chatty {
		fmt.Fprintf(stderr, "requester: waiting %.1f s for -start-at %s\n", -ago.Seconds(), at)
	}
	return true
}

// runMerge is requester merge: one report from the shards' JSON reports.
// Exit status 2 for bad arguments, a report that cannot be read, or reports
// of different runs; 1 if the merged report cannot be written.
func runMerge(args []string, stdout, stderr io.Writer) int {
	m, err := config.ParseMerge(args, stderr)
	if errors.Is(err, config.ErrUsage) {
		return 0
	}
	if err != nil {
		return 2
	}
	var in []merge.Input
	for _, name := range m.Files {
		rep, err := readReport(name)
		if err != nil {
			fmt.Fprintf(stderr, "requester merge: %s: %v\n", name, err)
			return 2
		}
		in = append(in, merge.Input{Name: name, Report: rep})
	}
	rep, err := merge.Reports(in)
	if err != nil {
		fmt.Fprintf(stderr, "requester merge: %v\n", err)
		return 2
	}
	if len(rep.Runs) > 0 {
		if mg := rep.Runs[0].Merged; mg != nil && len(mg.Missing) > 0 {
			fmt.Fprintf(stderr, "requester merge: no report for shard(s) %v of %d: merged without them\n", mg.Missing, mg.Shards)
		}
	}
	return output(rep, m.JSON, m.Output, report.TextOptions{Requests: true, Detail: m.Verbose}, stdout, stderr)
}

// readReport reads a shard's JSON report. Lines before the JSON (a line
// starting with "{") are skipped: a container's log holds its stderr too,
// and a shard may have said something there before its report.
func readReport(name string) (report.Report, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return report.Report{}, err
	}
	for len(data) > 0 && data[0] != '{' {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			data = nil
			break
		}
		data = data[nl+1:]
	}
	rep, err := report.ReadJSON(bytes.NewReader(data))
	if err != nil {
		return report.Report{}, fmt.Errorf("not a requester JSON report: %v", err)
	}
	return rep, nil
}
