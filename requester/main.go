// Command requester sends paced HTTP/1.0 requests to one or more servers
// and reports what happened to every one of them. See docs/requester.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"httplab/httplab-requester/internal/config"
	"httplab/httplab-requester/internal/hits"
	"httplab/httplab-requester/internal/load"
	"httplab/httplab-requester/internal/progress"
	"httplab/httplab-requester/internal/report"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, term.IsTerminal(int(os.Stderr.Fd()))))
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

	var stats *hits.Client
	var before hits.Snapshot
	var statsErr error
	if cfg.StatsURL != "" {
		stats = hits.NewClient(cfg.StatsURL)
		before, statsErr = stats.Fetch(ctx)
	}

	var runs []load.Run
	for _, t := range cfg.Targets {
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
		err = report.WriteText(stdout, rep, report.TextOptions{Requests: !cfg.Quiet})
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
	}
	return 0
}
