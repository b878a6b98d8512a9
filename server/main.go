// Command server is the lab's HTTP/1.0 static file server. It wires the
// configuration to the packages under internal/; see README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"httplab/httplab-server/internal/admin"
	"httplab/httplab-server/internal/config"
	"httplab/httplab-server/internal/logging"
	"httplab/httplab-server/internal/server"
	"httplab/httplab-server/internal/sysmon"
)

func main() {
	// First, before any goroutine or descriptor: the process may replace
	// itself (same pid and arguments) to start with sysmon kept awake.
	if len(os.Args) < 2 || os.Args[1] != "healthcheck" {
		if err := sysmon.Ensure(); err != nil {
			fmt.Fprintf(os.Stderr, "server: keeping sysmon awake: %v; running with Go's default\n", err)
		}
	}
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(args[1:], stderr)
	}
	cfg, err := config.Load(args, stderr)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "server: %v\n", err)
		return 2
	}
	log, err := logging.New(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintf(stderr, "server: %v\n", err)
		return 2
	}
	srv, err := server.New(cfg.Options(log))
	if err != nil {
		// Validate has checked every value; what is left is the directory.
		fmt.Fprintf(stderr, "server: -d / SERVER_ROOT: %v\n", err)
		return 2
	}
	defer srv.Close()

	ln, err := server.Listen(context.Background(), "tcp", cfg.Addr(), cfg.Backlog)
	if errors.Is(err, server.ErrBacklogUnsupported) {
		fmt.Fprintf(stderr, "server: -backlog / SERVER_BACKLOG: %v\n", err)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "server: listen on %s (-p / SERVER_PORT): %v\n", cfg.Addr(), err)
		return 1
	}
	var adminSrv *http.Server
	var adminLn net.Listener
	var dash *admin.Admin
	if addr := cfg.AdminAddr(); addr != "" {
		if adminLn, err = net.Listen("tcp", addr); err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "server: listen on %s (-adminport / SERVER_ADMIN_PORT): %v\n", addr, err)
			return 1
		}
		// The dashboard's streams are long responses, so no WriteTimeout here: each stream bounds
		// its own writes, and their number (admin.DefaultMaxStreams).
		dash = admin.New(admin.Options{Stats: srv.Stats, RateWindows: srv.RateWindows})
		adminSrv = &http.Server{Handler: dash, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	}

	log.Info().Str("addr", ln.Addr().String()).Str("admin", cfg.AdminAddr()).Str("root", cfg.Root).
		Str("mode", cfg.Mode).Int("maxclient", cfg.MaxPerClient).Int("maxtotal", cfg.MaxTotal).
		Str("clientkey", cfg.ClientKey).Int("rate", cfg.RateLimit).Dur("window", cfg.RateWindow).
		Dur("delay", cfg.Delay).Str("counter", cfg.Counter).Dur("read_timeout", cfg.ReadTimeout).
		Dur("write_timeout", cfg.WriteTimeout).Dur("shutdown_grace", cfg.ShutdownGrace).
		Str("backlog", backlogText(cfg.Backlog)).Bool("sysmon_awake", sysmon.Awake()).
		Msg("listening")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if adminSrv != nil {
		go func() { _ = dash.Run(ctx) }() // ends the dashboard's streams when ctx ends
		go func() {
			if err := adminSrv.Serve(adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Msg("admin listener failed")
			}
		}()
	}
	err = srv.Serve(ctx, ln)
	if adminSrv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = adminSrv.Shutdown(sctx)
		cancel()
	}
	if err != nil {
		log.Error().Err(err).Msg("server stopped")
		return 1
	}
	log.Info().Msg("shut down cleanly")
	return 0
}

// healthcheck is for container health checks in images without a shell or
// curl: it asks the admin listener of the configured server for /healthz.
func healthcheck(args []string, stderr io.Writer) int {
	cfg, err := config.Load(args, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	if cfg.AdminPort == 0 {
		fmt.Fprintln(stderr, "healthcheck: the admin port is off (SERVER_ADMIN_PORT=0)")
		return 1
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(cfg.HealthURL())
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: %s answered %s\n", cfg.HealthURL(), resp.Status)
		return 1
	}
	return 0
}

func backlogText(n int) string {
	if n == 0 {
		return "system maximum"
	}
	return fmt.Sprint(n)
}
