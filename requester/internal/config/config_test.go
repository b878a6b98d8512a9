package config

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"httplab/httplab-requester/internal/load"
)

// clearEnv hides any REQUESTER_* variable of the machine running the tests.
func clearEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, Prefix+"_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

func parse(t *testing.T, args ...string) (Config, string, error) {
	t.Helper()
	var out bytes.Buffer
	c, err := Parse(args, &out)
	return c, out.String(), err
}

func TestDefaults(t *testing.T) {
	clearEnv(t)
	c, _, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	want := []load.Target{{Host: "localhost", Port: 8080, Paths: []string{"/"}}}
	if !slices.EqualFunc(c.Targets, want, func(a, b load.Target) bool {
		return a.Host == b.Host && a.Port == b.Port && slices.Equal(a.Paths, b.Paths)
	}) {
		t.Errorf("targets %+v", c.Targets)
	}
	if c.Requests != 10 || c.Spread != 0 || c.Concurrency != 0 || c.Timeout != 10*time.Second ||
		!slices.Equal(c.Modes, []load.Mode{load.Concurrent}) || c.JSON || c.Quiet || c.Output != "" || c.StatsURL != "" || c.Bind != nil {
		t.Errorf("defaults %+v", c)
	}
}

func TestFlags(t *testing.T) {
	clearEnv(t)
	c, _, err := parse(t, "-H", "server", "-p", "9000", "-u", "/a,/b/", "-r", "20", "-t", "4.1", "-c", "5",
		"-mode", "both", "-timeout", "2s", "-stats", "http://server:9090/stats", "-bind", "127.0.0.2, 127.0.0.3",
		"-json", "-o", "out.html", "-q")
	if err != nil {
		t.Fatal(err)
	}
	if tg := c.Targets[0]; tg.Host != "server" || tg.Port != 9000 || !slices.Equal(tg.Paths, []string{"/a", "/b/"}) {
		t.Errorf("target %+v", tg)
	}
	if c.Requests != 20 || c.Spread != 4100*time.Millisecond || c.Concurrency != 5 || c.Timeout != 2*time.Second {
		t.Errorf("numbers %+v", c)
	}
	if !slices.Equal(c.Modes, []load.Mode{load.Sequential, load.Concurrent}) {
		t.Errorf("modes %v", c.Modes)
	}
	if !slices.Equal(c.Bind, []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")}) {
		t.Errorf("bind %v", c.Bind)
	}
	if !c.JSON || !c.Quiet || c.Output != "out.html" || c.StatsURL != "http://server:9090/stats" {
		t.Errorf("switches %+v", c)
	}
}

func TestEnvironmentUnderFlags(t *testing.T) {
	clearEnv(t)
	t.Setenv("REQUESTER_HOST", "server")
	t.Setenv("REQUESTER_REQUESTS", "30")
	t.Setenv("REQUESTER_SPREAD", "2.5")
	t.Setenv("REQUESTER_MODE", "sequential")
	t.Setenv("REQUESTER_QUIET", "true")
	t.Setenv("PATH", "/usr/bin:/bin") // must not leak into -u (envconfig's unprefixed fallback)
	c, _, err := parse(t, "-r", "7")
	if err != nil {
		t.Fatal(err)
	}
	if c.Targets[0].Host != "server" || c.Requests != 7 || c.Spread != 2500*time.Millisecond || !c.Quiet ||
		!slices.Equal(c.Modes, []load.Mode{load.Sequential}) {
		t.Errorf("env under flags: %+v", c)
	}
	if p := c.Targets[0].Paths; !slices.Equal(p, []string{"/"}) {
		t.Errorf("paths %q: $PATH leaked in", p)
	}
}

func TestURLs(t *testing.T) {
	clearEnv(t)
	c, _, err := parse(t, "-url", "http://a:8080/x,http://b:8081/,http://a:8080/y")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Targets) != 2 || c.Targets[0].Name() != "http://a:8080" || !slices.Equal(c.Targets[0].Paths, []string{"/x", "/y"}) {
		t.Errorf("targets %+v", c.Targets)
	}
	if _, _, err := parse(t, "-url", "http://a/", "-H", "b"); err == nil || !strings.Contains(err.Error(), "-url replaces") {
		t.Errorf("-url with -H: %v", err)
	}
	// A URL from the environment gives way to host flags: flags win.
	t.Setenv("REQUESTER_URL", "http://from-env:1/")
	if c, _, err := parse(t, "-H", "flag"); err != nil || c.Targets[0].Host != "flag" {
		t.Errorf("env URL vs -H: %+v %v", c.Targets, err)
	}
	if c, _, err := parse(t); err != nil || c.Targets[0].Host != "from-env" {
		t.Errorf("env URL alone: %+v %v", c.Targets, err)
	}
}

// Every bad value stops before any request, naming the flag or variable.
func TestBadValues(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-r", "0"}, nil, "-r (REQUESTER_REQUESTS)"},
		{[]string{"-r", "ten"}, nil, `invalid value "ten" for flag -r`},
		{[]string{"-t", "-1"}, nil, "-t (REQUESTER_SPREAD)"},
		{[]string{"-c", "-2"}, nil, "-c (REQUESTER_CONCURRENCY)"},
		{[]string{"-mode", "parallel"}, nil, "-mode (REQUESTER_MODE)"},
		{[]string{"-timeout", "0s"}, nil, "-timeout (REQUESTER_TIMEOUT)"},
		{[]string{"-timeout", "10"}, nil, `invalid value "10" for flag -timeout`},
		{[]string{"-p", "70000"}, nil, "-p (REQUESTER_PORT)"},
		{[]string{"-u", "noslash"}, nil, "-u (REQUESTER_PATH)"},
		{[]string{"-u", "/a b"}, nil, "space or control character"},
		{[]string{"-url", "https://x/"}, nil, "only http://"},
		{[]string{"-bind", "localhost"}, nil, "-bind (REQUESTER_BIND)"},
		{[]string{"-stats", "server:9090/stats"}, nil, "-stats (REQUESTER_STATS)"},
		{[]string{"-o", "report.txt"}, nil, "-o (REQUESTER_OUTPUT)"},
		{[]string{"-nope"}, nil, "flag provided but not defined: -nope"},
		{[]string{"extra"}, nil, `unexpected argument "extra"`},
		{nil, map[string]string{"REQUESTER_REQUESTS": "many"}, "REQUESTER_REQUESTS"},
		{nil, map[string]string{"REQUESTER_TIMEOUT": "soon"}, "REQUESTER_TIMEOUT"},
	}
	for _, tc := range cases {
		clearEnv(t)
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		_, out, err := parse(t, tc.args...)
		if err == nil {
			t.Errorf("%v %v accepted", tc.args, tc.env)
			continue
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("%v %v: output lacks %q:\n%s", tc.args, tc.env, tc.want, out)
		}
		if !strings.Contains(out, "Usage: requester") {
			t.Errorf("%v %v: no usage printed", tc.args, tc.env)
		}
	}
}

func TestHelp(t *testing.T) {
	clearEnv(t)
	_, out, err := parse(t, "-h")
	if !errors.Is(err, ErrUsage) {
		t.Errorf("-h: %v", err)
	}
	for _, want := range []string{"-url", "REQUESTER_SPREAD", "Exit status"} {
		if !strings.Contains(out, want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}
