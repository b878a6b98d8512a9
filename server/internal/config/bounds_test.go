package config

import (
	"strings"
	"testing"
)

// Each limit is checked at its edge: the last value accepted and the first
// refused, so a comparison that slips by one is caught.
func TestValidateEdges(t *testing.T) {
	cases := []struct {
		name string
		set  func(*Config)
		bad  string // the name the error must carry; "" when the value is accepted
	}{
		{"port 0", func(c *Config) { c.Port = 0 }, ""},
		{"port -1", func(c *Config) { c.Port = -1 }, "-p / SERVER_PORT"},
		{"port 65535", func(c *Config) { c.Port = 65535 }, ""},
		{"port 65536", func(c *Config) { c.Port = 65536 }, "-p / SERVER_PORT"},
		{"admin port 0", func(c *Config) { c.AdminPort = 0 }, ""},
		{"admin port -1", func(c *Config) { c.AdminPort = -1 }, "-adminport / SERVER_ADMIN_PORT"},
		{"admin port 65535", func(c *Config) { c.AdminPort = 65535 }, ""},
		{"admin port 65536", func(c *Config) { c.AdminPort = 65536 }, "-adminport / SERVER_ADMIN_PORT"},
		{"both ports 0", func(c *Config) { c.Port, c.AdminPort = 0, 0 }, ""},
		{"same ports", func(c *Config) { c.Port, c.AdminPort = 7000, 7000 }, "must differ"},
		{"root blank", func(c *Config) { c.Root = " \t" }, "-d / SERVER_ROOT"},
		{"maxclient 0", func(c *Config) { c.MaxPerClient = 0 }, ""},
		{"maxclient -1", func(c *Config) { c.MaxPerClient = -1 }, "-maxclient"},
		{"maxtotal 0", func(c *Config) { c.MaxTotal = 0 }, ""},
		{"maxtotal -1", func(c *Config) { c.MaxTotal = -1 }, "-maxtotal"},
		{"rate 0", func(c *Config) { c.RateLimit = 0 }, ""},
		{"rate -1", func(c *Config) { c.RateLimit = -1 }, "-rate"},
		{"window 1ns", func(c *Config) { c.RateWindow = 1 }, ""},
		{"window 0", func(c *Config) { c.RateWindow = 0 }, "-window"},
		{"window -1ns", func(c *Config) { c.RateWindow = -1 }, "-window"},
		{"backlog 0", func(c *Config) { c.Backlog = 0 }, ""},
		{"backlog -1", func(c *Config) { c.Backlog = -1 }, "-backlog"},
		{"delay 0", func(c *Config) { c.Delay = 0 }, ""},
		{"delay -1ns", func(c *Config) { c.Delay = -1 }, "-delay"},
		{"read timeout 1ns", func(c *Config) { c.ReadTimeout = 1 }, ""},
		{"read timeout 0", func(c *Config) { c.ReadTimeout = 0 }, "SERVER_READ_TIMEOUT"},
		{"write timeout 1ns", func(c *Config) { c.WriteTimeout = 1 }, ""},
		{"write timeout 0", func(c *Config) { c.WriteTimeout = 0 }, "SERVER_WRITE_TIMEOUT"},
		{"shutdown grace 0", func(c *Config) { c.ShutdownGrace = 0 }, ""},
		{"shutdown grace -1ns", func(c *Config) { c.ShutdownGrace = -1 }, "SERVER_SHUTDOWN_GRACE"},
		{"head grace 0", func(c *Config) { c.HeadGrace = 0 }, ""},
		{"head grace -1ns", func(c *Config) { c.HeadGrace = -1 }, "-headgrace"},
		{"stall 1ns", func(c *Config) { c.StallTimeout = 1 }, ""},
		{"stall 0", func(c *Config) { c.StallTimeout = 0 }, "-stall"},
		{"log level upper case", func(c *Config) { c.LogLevel = "DEBUG" }, ""},
		{"log level empty", func(c *Config) { c.LogLevel = "" }, "SERVER_LOG_LEVEL"},
		{"counter naive", func(c *Config) { c.Counter = "naive" }, ""},
		{"log format console", func(c *Config) { c.LogFormat = "console" }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.set(&c)
			err := c.Validate()
			switch {
			case tc.bad == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.bad != "" && err == nil:
				t.Fatalf("accepted %+v", c)
			case tc.bad != "" && !strings.Contains(err.Error(), tc.bad):
				t.Fatalf("error %q does not name %q", err, tc.bad)
			}
		})
	}
}

// Every problem is reported at once, not only the first.
func TestValidateReportsAll(t *testing.T) {
	c := Default()
	c.Port, c.MaxTotal, c.RateWindow = -1, -1, 0
	err := c.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, s := range []string{"SERVER_PORT", "SERVER_MAX_TOTAL", "SERVER_RATE_WINDOW"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %s", err, s)
		}
	}
}

// HealthURL reaches a wildcard listener over loopback and a named host as is.
func TestHealthURLHosts(t *testing.T) {
	for host, want := range map[string]string{
		"":          "http://127.0.0.1:9090/healthz",
		"0.0.0.0":   "http://127.0.0.1:9090/healthz",
		"::":        "http://127.0.0.1:9090/healthz",
		"10.0.0.5":  "http://10.0.0.5:9090/healthz",
		"localhost": "http://localhost:9090/healthz",
	} {
		c := Config{Host: host, Port: 8080, AdminPort: 9090}
		if got := c.HealthURL(); got != want {
			t.Errorf("host %q: HealthURL = %q, want %q", host, got, want)
		}
	}
	if got := (Config{Host: "10.0.0.5", AdminPort: 9090}).AdminAddr(); got != "10.0.0.5:9090" {
		t.Errorf("AdminAddr = %q", got)
	}
}
