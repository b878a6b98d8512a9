package config

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/server"
)

func load(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	return Load(args, io.Discard)
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Port: 8080, Root: "./content", MaxPerClient: 12, MaxTotal: 60, ClientKey: "ip",
		RateLimit: 5, RateWindow: time.Second, Mode: "concurrent", Counter: "locked", AdminPort: 9090,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, ShutdownGrace: 10 * time.Second,
		LogLevel: "info", LogFormat: "auto", Shed: true, HeadGrace: 2 * time.Second, StallTimeout: 2 * time.Second}
	if c != want {
		t.Fatalf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if d := Default(); d != want {
		t.Fatalf("Default():\n got %+v\nwant %+v", d, want)
	}
	if err := Default().Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
}

// Options carries every setting over to the server, typed.
func TestOptions(t *testing.T) {
	c, err := load(t, map[string]string{"SERVER_MODE": "stock", "SERVER_CLIENT_KEY": "ip-port"},
		"-maxclient", "3", "-maxtotal", "9", "-rate", "4", "-window", "2s", "-delay", "5ms", "-counter", "naive",
		"-shed=false", "-headgrace", "1s", "-stall", "7s", "/srv")
	if err != nil {
		t.Fatal(err)
	}
	o := c.Options(zerolog.Nop())
	if o.Mode != server.Stock || o.ClientKey != clientid.ByIPPort || o.MaxPerClient != 3 || o.MaxTotal != 9 ||
		o.RateLimit != 4 || o.RateWindow != 2*time.Second || o.Delay != 5*time.Millisecond || o.Counter != "naive" ||
		o.Root != "/srv" || o.ReadTimeout != 10*time.Second || o.WriteTimeout != 30*time.Second || o.ShutdownGrace != 10*time.Second ||
		o.Shed || o.HeadGrace != time.Second || o.StallTimeout != 7*time.Second {
		t.Fatalf("options %+v from %+v", o, c)
	}
}

func TestFlagBeatsEnvBeatsDefault(t *testing.T) {
	c, err := load(t, map[string]string{"SERVER_PORT": "9000", "SERVER_MAX_TOTAL": "7", "SERVER_DELAY": "250ms"},
		"-p", "9100", "-maxclient", "3")
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9100 || c.MaxTotal != 7 || c.MaxPerClient != 3 || c.Delay != 250*time.Millisecond {
		t.Fatalf("got %+v", c)
	}
}

func TestAllVariables(t *testing.T) {
	env := map[string]string{
		"SERVER_HOST": "127.0.0.1", "SERVER_ROOT": "/srv", "SERVER_CLIENT_KEY": "ip-port",
		"SERVER_RATE_LIMIT": "0", "SERVER_RATE_WINDOW": "2s", "SERVER_MODE": "sequential",
		"SERVER_COUNTER": "naive", "SERVER_ADMIN_PORT": "0", "SERVER_READ_TIMEOUT": "1s",
		"SERVER_WRITE_TIMEOUT": "2s", "SERVER_SHUTDOWN_GRACE": "3s", "SERVER_LOG_LEVEL": "debug",
		"SERVER_LOG_FORMAT": "json", "SERVER_BACKLOG": "10", "SERVER_SHED": "false",
		"SERVER_HEAD_GRACE": "3s", "SERVER_STALL_TIMEOUT": "4s",
	}
	c, err := load(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Host != "127.0.0.1" || c.Root != "/srv" || c.ClientKey != "ip-port" || c.RateLimit != 0 ||
		c.RateWindow != 2*time.Second || c.Mode != "sequential" || c.Counter != "naive" || c.AdminPort != 0 ||
		c.ReadTimeout != time.Second || c.WriteTimeout != 2*time.Second || c.ShutdownGrace != 3*time.Second ||
		c.LogLevel != "debug" || c.LogFormat != "json" || c.Backlog != 10 || c.Shed ||
		c.HeadGrace != 3*time.Second || c.StallTimeout != 4*time.Second {
		t.Fatalf("got %+v", c)
	}
	if c.AdminAddr() != "" {
		t.Errorf("admin off, AdminAddr = %q", c.AdminAddr())
	}
}

func TestPositionalDirectory(t *testing.T) {
	c, err := load(t, nil, "-p", "8081", "/serve")
	if err != nil {
		t.Fatal(err)
	}
	if c.Root != "/serve" {
		t.Fatalf("root = %q", c.Root)
	}
	if _, err := load(t, nil, "/a", "/b"); err == nil {
		t.Fatal("two positional arguments accepted")
	}
}

// Every bad value is refused with a message naming what to fix.
func TestBadValues(t *testing.T) {
	cases := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env: map[string]string{"SERVER_PORT": "eighty"}, want: "SERVER_PORT"},
		{env: map[string]string{"SERVER_MAX_TOTAL": "-1"}, want: "SERVER_MAX_TOTAL"},
		{env: map[string]string{"SERVER_RATE_WINDOW": "1"}, want: "SERVER_RATE_WINDOW"},
		{env: map[string]string{"SERVER_RATE_WINDOW": "0s"}, want: "SERVER_RATE_WINDOW"},
		{env: map[string]string{"SERVER_MODE": "parallel"}, want: "SERVER_MODE"},
		{env: map[string]string{"SERVER_COUNTER": "atomic"}, want: "SERVER_COUNTER"},
		{env: map[string]string{"SERVER_CLIENT_KEY": "port"}, want: "SERVER_CLIENT_KEY"},
		{env: map[string]string{"SERVER_LOG_LEVEL": "loud"}, want: "SERVER_LOG_LEVEL"},
		{env: map[string]string{"SERVER_LOG_FORMAT": "xml"}, want: "SERVER_LOG_FORMAT"},
		{env: map[string]string{"SERVER_READ_TIMEOUT": "0s"}, want: "SERVER_READ_TIMEOUT"},
		{env: map[string]string{"SERVER_DELAY": "soon"}, want: "SERVER_DELAY"},
		{args: []string{"-p", "70000"}, want: "-p"},
		{args: []string{"-maxclient", "-2"}, want: "-maxclient"},
		{args: []string{"-maxclient", "-1"}, want: "-maxclient"},
		{args: []string{"-maxtotal", "-1"}, want: "-maxtotal"},
		{args: []string{"-backlog", "-1"}, want: "-backlog"},
		{env: map[string]string{"SERVER_BACKLOG": "-1"}, want: "SERVER_BACKLOG"},
		{env: map[string]string{"SERVER_SHUTDOWN_GRACE": "-1s"}, want: "SERVER_SHUTDOWN_GRACE"},
		{env: map[string]string{"SERVER_WRITE_TIMEOUT": "0s"}, want: "SERVER_WRITE_TIMEOUT"},
		{env: map[string]string{"SERVER_SHED": "maybe"}, want: "SERVER_SHED"},
		{args: []string{"-headgrace", "-1s"}, want: "-headgrace"},
		{args: []string{"-stall", "0s"}, want: "-stall"},
		{args: []string{"-rate", "-1"}, want: "-rate"},
		{args: []string{"-delay", "-1s"}, want: "-delay"},
		{args: []string{"-mode", "x"}, want: "-mode"},
		{args: []string{"-p", "9090"}, want: "-adminport"},
		{args: []string{"-d", ""}, want: "-d"},
		{args: []string{"-nosuchflag"}, want: "nosuchflag"},
		{args: []string{"-p", "x"}, want: "-p"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			_, err := load(t, tc.env, tc.args...)
			if err == nil {
				t.Fatalf("env %v args %v: accepted", tc.env, tc.args)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("env %v args %v: error %q does not name %q", tc.env, tc.args, err, tc.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var out strings.Builder
	_, err := Load([]string{"-h"}, &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, s := range []string{"-maxclient", "SERVER_MAX_PER_CLIENT", "-delay", "SERVER_LOG_FORMAT"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("usage lacks %q", s)
		}
	}
}

func TestAddresses(t *testing.T) {
	c := Config{Host: "::1", Port: 8080, AdminPort: 9090}
	if c.Addr() != "[::1]:8080" || c.AdminAddr() != "[::1]:9090" || c.HealthURL() != "http://[::1]:9090/healthz" {
		t.Fatalf("%s %s %s", c.Addr(), c.AdminAddr(), c.HealthURL())
	}
	c = Config{Port: 80, AdminPort: 9}
	if c.Addr() != ":80" || c.HealthURL() != "http://127.0.0.1:9/healthz" {
		t.Fatalf("%s %s", c.Addr(), c.HealthURL())
	}
}

// Unprefixed variables common in shells and platforms must not leak in.
func TestUnprefixedVariablesIgnored(t *testing.T) {
	c, err := load(t, map[string]string{"PORT": "1234", "HOST": "example", "MODE": "stock",
		"ROOT": "/x", "DELAY": "9s", "MAX_TOTAL": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.Host != "" || c.Mode != "concurrent" || c.Root != "./content" || c.Delay != 0 || c.MaxTotal != 60 {
		t.Fatalf("unprefixed variables leaked: %+v", c)
	}
}

// A default tag that does not parse, or a field no rule covers, stops the
// server at once with the field named: Default runs before any flag.
func TestBadDefaultTagsPanicNamingTheField(t *testing.T) {
	for want, v := range map[string]any{
		"bad default for Wait: time: invalid duration": &struct {
			Wait time.Duration `default:"soon"`
		}{},
		"bad default for Count: strconv.Atoi": &struct {
			Count int `default:"many"`
		}{},
		"bad default for On: strconv.ParseBool": &struct {
			On bool `default:"perhaps"`
		}{},
		"no default rule for Ratio": &struct {
			Ratio float64 `default:"0.5"`
		}{},
	} {
		func() {
			defer func() {
				if msg, _ := recover().(string); !strings.Contains(msg, "config: "+want) {
					t.Errorf("panic %q, want one containing %q", msg, want)
				}
			}()
			setDefaults(reflect.ValueOf(v).Elem())
		}()
	}
	var ok struct {
		Wait  time.Duration `default:"1.5s"`
		Count int           `default:"-3"`
		On    bool          `default:"true"`
		Name  string        `default:"x"`
	}
	setDefaults(reflect.ValueOf(&ok).Elem())
	if ok.Wait != 1500*time.Millisecond || ok.Count != -3 || !ok.On || ok.Name != "x" {
		t.Errorf("defaults %+v", ok)
	}
}
