// Package config turns flags, SERVER_* environment variables and defaults into a
// validated Config. Precedence is flag > environment > default, so a lab handout
// can pin values in the environment (compose) while a student overrides one on
// the command line.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/hits"
	"httplab/httplab-server/internal/server"
)

// Config is the server's whole configuration. Variable names come from the
// field names split into words (MaxPerClient: SERVER_MAX_PER_CLIENT). No
// explicit envconfig tags: with one, envconfig falls back to the unprefixed
// name, and a stray $PORT, $HOST or $MODE in the user's shell would leak in.
// The defaults live here and nowhere else.
type Config struct {
	Port          int           `split_words:"true" default:"8080"`
	Host          string        `split_words:"true" default:""`
	Root          string        `split_words:"true" default:"./content"`
	MaxPerClient  int           `split_words:"true" default:"12"`
	MaxTotal      int           `split_words:"true" default:"60"`
	ClientKey     string        `split_words:"true" default:"ip"`
	RateLimit     int           `split_words:"true" default:"5"`
	RateWindow    time.Duration `split_words:"true" default:"1s"`
	Mode          string        `split_words:"true" default:"concurrent"`
	Delay         time.Duration `split_words:"true" default:"0"`
	Counter       string        `split_words:"true" default:"locked"`
	AdminPort     int           `split_words:"true" default:"9090"`
	Backlog       int           `split_words:"true" default:"0"`
	ReadTimeout   time.Duration `split_words:"true" default:"10s"`
	WriteTimeout  time.Duration `split_words:"true" default:"30s"`
	ShutdownGrace time.Duration `split_words:"true" default:"10s"`
	Shed          bool          `split_words:"true" default:"true"`
	HeadGrace     time.Duration `split_words:"true" default:"2s"`
	StallTimeout  time.Duration `split_words:"true" default:"2s"`
	LogLevel      string        `split_words:"true" default:"info"`
	LogFormat     string        `split_words:"true" default:"auto"`
}

// The choices of the settings that name one. Modes and client keys are
// their packages' own words (server.ParseMode, clientid.ParseStrategy).
var (
	Counters   = []string{hits.Locked, hits.Naive}
	LogFormats = []string{"auto", "json", "console"}
)

// Default is the configuration with every setting at its default, as Load
// gives it with no flags and no SERVER_* variables. It reads the defaults
// from Config's tags, so they still live there only.
func Default() Config {
	var c Config
	setDefaults(reflect.ValueOf(&c).Elem())
	return c
}

// setDefaults sets each field of the struct v to its default tag. A tag
// that does not parse, or a field of a type it has no rule for, is a
// programming error, named in a panic when the server starts.
func setDefaults(v reflect.Value) {
	for i := range v.NumField() {
		name, tag := v.Type().Field(i).Name, v.Type().Field(i).Tag.Get("default")
		var err error
		switch f := v.Field(i); f.Interface().(type) {
		case time.Duration:
			var d time.Duration
			d, err = time.ParseDuration(tag)
			f.SetInt(int64(d))
		case int:
			var n int
			n, err = strconv.Atoi(tag)
			f.SetInt(int64(n))
		case string:
			f.SetString(tag)
		case bool:
			var b bool
			b, err = strconv.ParseBool(tag)
			f.SetBool(b)
		default:
			panic("config: no default rule for " + name)
		}
		if err != nil {
			panic("config: bad default for " + name + ": " + err.Error())
		}
	}
}

// Options maps a validated configuration to the server's options.
func (c Config) Options(log zerolog.Logger) server.Options {
	mode, _ := server.ParseMode(c.Mode)                // Validate has checked it
	strategy, _ := clientid.ParseStrategy(c.ClientKey) // likewise
	return server.Options{
		Root:          c.Root,
		Mode:          mode,
		MaxTotal:      c.MaxTotal,
		MaxPerClient:  c.MaxPerClient,
		ClientKey:     strategy,
		RateLimit:     c.RateLimit,
		RateWindow:    c.RateWindow,
		Delay:         c.Delay,
		Counter:       c.Counter,
		ReadTimeout:   c.ReadTimeout,
		WriteTimeout:  c.WriteTimeout,
		ShutdownGrace: c.ShutdownGrace,
		Shed:          c.Shed,
		HeadGrace:     c.HeadGrace,
		StallTimeout:  c.StallTimeout,
		Log:           log,
	}
}

// ErrHelp is returned when -h or -help was asked for; usage has been printed.
var ErrHelp = flag.ErrHelp

// Load reads the environment (prefix SERVER_), then args (flags and an optional
// lone positional directory), and validates the result. Usage and flag errors
// are written to usage.
func Load(args []string, usage io.Writer) (Config, error) {
	var c Config
	if err := envconfig.Process("SERVER", &c); err != nil {
		return Config{}, envError(err)
	}

	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.IntVar(&c.Port, "p", c.Port, "listen port (SERVER_PORT); 0 picks a free port")
	fs.StringVar(&c.Host, "host", c.Host, "listen address, empty for all interfaces (SERVER_HOST)")
	fs.StringVar(&c.Root, "d", c.Root, "directory served (SERVER_ROOT); a lone positional argument does the same")
	fs.IntVar(&c.MaxPerClient, "maxclient", c.MaxPerClient, "simultaneous connections per client, 0 = unlimited (SERVER_MAX_PER_CLIENT)")
	fs.IntVar(&c.MaxTotal, "maxtotal", c.MaxTotal, "simultaneous connections in all, 0 = unlimited (SERVER_MAX_TOTAL)")
	fs.StringVar(&c.ClientKey, "clientkey", c.ClientKey, "client identity for the per-client cap: ip or ip-port (SERVER_CLIENT_KEY)")
	fs.IntVar(&c.RateLimit, "rate", c.RateLimit, "requests admitted per client IP per window, 0 = off (SERVER_RATE_LIMIT)")
	fs.DurationVar(&c.RateWindow, "window", c.RateWindow, "sliding window length (SERVER_RATE_WINDOW)")
	fs.StringVar(&c.Mode, "mode", c.Mode, "concurrent, sequential or stock (SERVER_MODE)")
	fs.DurationVar(&c.Delay, "delay", c.Delay, "simulated processing time per request, e.g. 200ms (SERVER_DELAY)")
	fs.StringVar(&c.Counter, "counter", c.Counter, "hit counter: locked (exact) or naive (loses updates) (SERVER_COUNTER)")
	fs.IntVar(&c.AdminPort, "adminport", c.AdminPort, "admin port for /healthz, /stats, /metrics, 0 = off (SERVER_ADMIN_PORT)")
	fs.IntVar(&c.Backlog, "backlog", c.Backlog, "listen backlog of the main listener, 0 = the system's maximum (SERVER_BACKLOG)")
	fs.BoolVar(&c.Shed, "shed", c.Shed, "when full, let a newcomer take the slot of an idle connection: no head yet, or a stalled response (SERVER_SHED)")
	fs.DurationVar(&c.HeadGrace, "headgrace", c.HeadGrace, "a client's only connection waiting for its head cannot be shed this long (SERVER_HEAD_GRACE)")
	fs.DurationVar(&c.StallTimeout, "stall", c.StallTimeout, "a response that moves no byte this long makes its connection idle, so sheddable (SERVER_STALL_TIMEOUT)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: server [flags] [directory]\n       server healthcheck\n\n"+
			"Every flag can also be set with the SERVER_* variable named beside it;\n"+
			"a flag wins over the variable. Only-variable settings: SERVER_READ_TIMEOUT,\n"+
			"SERVER_WRITE_TIMEOUT, SERVER_SHUTDOWN_GRACE, SERVER_LOG_LEVEL, SERVER_LOG_FORMAT.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	switch rest := fs.Args(); len(rest) {
	case 0:
	case 1:
		c.Root = rest[0]
	default:
		return Config{}, fmt.Errorf("expected at most one directory argument, got %d: %q", len(rest), rest)
	}
	return c, c.Validate()
}

// envError keeps envconfig's message, which names the variable, without its
// package prefix.
func envError(err error) error {
	var pe *envconfig.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("invalid %s=%q: %v", pe.KeyName, pe.Value, pe.Err)
	}
	return err
}

// Validate rejects values that would make the server misbehave rather than
// fail: every message names both the flag (when there is one) and the variable.
func (c Config) Validate() error {
	var errs []error
	bad := func(name string, v any, why string) {
		errs = append(errs, fmt.Errorf("invalid %s: %v: %s", name, v, why))
	}
	if c.Port < 0 || c.Port > 65535 {
		bad("-p / SERVER_PORT", c.Port, "must be 0..65535")
	}
	if c.AdminPort < 0 || c.AdminPort > 65535 {
		bad("-adminport / SERVER_ADMIN_PORT", c.AdminPort, "must be 0..65535 (0 = off)")
	}
	if c.AdminPort != 0 && c.AdminPort == c.Port {
		bad("-adminport / SERVER_ADMIN_PORT", c.AdminPort, "must differ from the listen port")
	}
	if strings.TrimSpace(c.Root) == "" {
		bad("-d / SERVER_ROOT", `""`, "must name a directory")
	}
	if c.MaxPerClient < 0 {
		bad("-maxclient / SERVER_MAX_PER_CLIENT", c.MaxPerClient, "must be >= 0 (0 = unlimited)")
	}
	if c.MaxTotal < 0 {
		bad("-maxtotal / SERVER_MAX_TOTAL", c.MaxTotal, "must be >= 0 (0 = unlimited)")
	}
	if _, err := clientid.ParseStrategy(c.ClientKey); err != nil {
		bad("-clientkey / SERVER_CLIENT_KEY", quote(c.ClientKey), "must be one of "+strings.Join(clientid.StrategyNames(), ", "))
	}
	if c.RateLimit < 0 {
		bad("-rate / SERVER_RATE_LIMIT", c.RateLimit, "must be >= 0 (0 = off)")
	}
	if c.RateWindow <= 0 {
		bad("-window / SERVER_RATE_WINDOW", c.RateWindow, "must be > 0")
	}
	if _, err := server.ParseMode(c.Mode); err != nil {
		bad("-mode / SERVER_MODE", quote(c.Mode), "must be one of "+strings.Join(server.ModeNames(), ", "))
	}
	if c.Backlog < 0 {
		bad("-backlog / SERVER_BACKLOG", c.Backlog, "must be >= 0 (0 = the system's maximum)")
	}
	if c.Delay < 0 {
		bad("-delay / SERVER_DELAY", c.Delay, "must be >= 0")
	}
	if !oneOf(c.Counter, Counters) {
		bad("-counter / SERVER_COUNTER", quote(c.Counter), "must be one of "+strings.Join(Counters, ", "))
	}
	if c.ReadTimeout <= 0 {
		bad("SERVER_READ_TIMEOUT", c.ReadTimeout, "must be > 0")
	}
	if c.WriteTimeout <= 0 {
		bad("SERVER_WRITE_TIMEOUT", c.WriteTimeout, "must be > 0")
	}
	if c.ShutdownGrace < 0 {
		bad("SERVER_SHUTDOWN_GRACE", c.ShutdownGrace, "must be >= 0")
	}
	if c.HeadGrace < 0 {
		bad("-headgrace / SERVER_HEAD_GRACE", c.HeadGrace, "must be >= 0")
	}
	if c.StallTimeout <= 0 {
		bad("-stall / SERVER_STALL_TIMEOUT", c.StallTimeout, "must be > 0")
	}
	if _, err := zerolog.ParseLevel(strings.ToLower(c.LogLevel)); err != nil || c.LogLevel == "" {
		bad("SERVER_LOG_LEVEL", quote(c.LogLevel), "must be one of trace, debug, info, warn, error, fatal, panic, disabled")
	}
	if !oneOf(c.LogFormat, LogFormats) {
		bad("SERVER_LOG_FORMAT", quote(c.LogFormat), "must be one of "+strings.Join(LogFormats, ", "))
	}
	return errors.Join(errs...)
}

// Addr is the main listener's address in net.Listen form.
func (c Config) Addr() string { return joinHostPort(c.Host, c.Port) }

// AdminAddr is the admin listener's address; empty when the admin port is off.
func (c Config) AdminAddr() string {
	if c.AdminPort == 0 {
		return ""
	}
	return joinHostPort(c.Host, c.AdminPort)
}

// HealthURL is where `server healthcheck` looks: the admin listener reached
// over loopback when it listens on all interfaces.
func (c Config) HealthURL() string {
	host := c.Host
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + joinHostPort(host, c.AdminPort) + "/healthz"
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("%s:%d", host, port)
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
