// Command requester sends paced HTTP/1.0 requests to one or more servers
// and reports what happened to every one of them. See docs/requester.md.
package main

import (
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
	"httplab/httplab-requester/internal/progress"
	"httplab/httplab-requester/internal/report"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, term.IsTerminal(int(os.Stderr.Fd()))))
}

// resolveTimeout bounds the lookup of one host name.
const resolveTimeout = 10 * time.Second

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
	cfg, err := config.Parse(args, stderr)
	if errors.Is(err, config.ErrUsage) {
		return 0
	}
	if err != nil {
		return 2 // already printed, with the usage
	}
	// The first interrupt stops sending and still reports what was sent;
	// a second one (signal.NotifyContext has stopped listening) kills.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Each host is resolved once, before anything is sent: a name that does
	// not resolve is a mistake to say in one line, not N failed requests.
	addrs := make([]netip.AddrPort, len(cfg.Targets))
	for i, t := range cfg.Targets {
		rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
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
			}
			bar := progress.New(stderr, stderrIsTerminal && !cfg.Quiet, cfg.Requests, t.Name()+" "+string(mode))
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
	if cfg.JSON {
		err = report.WriteJSON(stdout, rep)
	} else {
		err = report.WriteText(stdout, rep, report.TextOptions{Requests: !cfg.Quiet, Detail: cfg.Verbose})
	}
	if err != nil {
		fmt.Fprintln(stderr, "requester: writing the report:", err)
		return 1
	}
	if cfg.Output != "" {
		if err := report.WriteFile(cfg.Output, rep); err != nil {
			fmt.Fprintln(stderr, "requester:", err)
			return 1
		}
		// On stderr, so that -json keeps stdout for the JSON alone.
		fmt.Fprintln(stderr, report.Wrote(cfg.Output, rep))
	}
	return 0
}
