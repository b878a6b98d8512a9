package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"httplab/httplab-server/internal/servertest"
	"httplab/httplab-server/internal/sysmon"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "server-bin")
	if err != nil {
		panic(err)
	}
	if binary, err = servertest.BuildServer(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func siteDir(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>hi</h1>"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startServer(t *testing.T, env []string, args ...string) *servertest.Process {
	t.Helper()
	return servertest.StartProcess(t, nil, binary, args, env...)
}

func TestBadConfigurationExitsBeforeListening(t *testing.T) {
	cases := []struct {
		env  []string
		args []string
		want string
	}{
		{[]string{"SERVER_MAX_TOTAL=many"}, nil, "SERVER_MAX_TOTAL"},
		{[]string{"SERVER_MODE=turbo"}, nil, "SERVER_MODE"},
		{nil, []string{"-maxclient", "-1"}, "-maxclient"},
		{nil, []string{"-d", "/no/such/dir"}, "SERVER_ROOT"},
		{nil, []string{"-bogus"}, "bogus"},
	}
	for _, tc := range cases {
		cmd := exec.Command(binary, tc.args...)
		cmd.Env = append(os.Environ(), tc.env...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%v %v: exit 0", tc.env, tc.args)
			continue
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("%v %v: output does not name %s:\n%s", tc.env, tc.args, tc.want, out)
		}
	}
}

func TestHealthcheckSubcommand(t *testing.T) {
	port := servertest.FreePort(t)
	cmd := exec.Command(binary, "healthcheck")
	cmd.Env = append(os.Environ(), fmt.Sprintf("SERVER_ADMIN_PORT=%d", port))
	if err := cmd.Run(); err == nil {
		t.Fatal("healthcheck passed with no server")
	}
	p := startServer(t, nil, "-d", siteDir(t))
	cmd = exec.Command(binary, "healthcheck")
	cmd.Env = append(os.Environ(), "SERVER_ADMIN_PORT="+p.Admin[strings.LastIndex(p.Admin, ":")+1:])
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("healthcheck failed: %v %s", err, out)
	}
}

// Logs are JSON when not on a terminal: the effective configuration once, then
// one access line per request.
func TestStructuredLogs(t *testing.T) {
	p := startServer(t, []string{"SERVER_MAX_PER_CLIENT=4"}, siteDir(t))
	resp, err := http.Get("http://" + p.Addr + "/index.html")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.Log(), `"status":200`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var sawConfig, sawAccess bool
	sc := bufio.NewScanner(strings.NewReader(p.Log()))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "SCHED ") {
			continue // the runtime's own line, on a host up for weeks (package sysmon)
		}
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		switch line["message"] {
		case "listening":
			sawConfig = line["maxclient"] == 4.0 && line["mode"] == "concurrent"
		case "request":
			sawAccess = line["path"] == "/index.html" && line["status"] == 200.0 &&
				line["remote"] != nil && line["bytes"] == 11.0 && line["dur"] != nil && line["method"] == "GET"
		}
	}
	if !sawConfig || !sawAccess {
		t.Fatalf("config line %v, access line %v; logs:\n%s", sawConfig, sawAccess, p.Log())
	}
}

// The server starts with sysmon kept awake (package sysmon) unless GODEBUG
// says otherwise, and says which in its first log line.
func TestSysmonSetting(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("a process cannot re-execute itself on Windows")
	}
	for _, tc := range []struct {
		godebug string
		awake   bool
	}{{"", true}, {"GODEBUG=gctrace=0", true}, {"GODEBUG=schedtrace=0", false}} {
		var env []string
		if tc.godebug != "" {
			env = append(env, tc.godebug)
		}
		p := startServer(t, env, siteDir(t))
		var cfg struct {
			Message string `json:"message"`
			Awake   *bool  `json:"sysmon_awake"`
		}
		for line := range strings.SplitSeq(p.Log(), "\n") {
			if json.Unmarshal([]byte(line), &cfg) == nil && cfg.Message == "listening" {
				break
			}
		}
		if cfg.Awake == nil || *cfg.Awake != tc.awake {
			t.Errorf("%q: sysmon_awake %v, want %v; log:\n%s", tc.godebug, cfg.Awake, tc.awake, p.Log())
		}
		// The same process, replaced: StartProcess's pid is the one that logs.
		if runtime.GOOS == "linux" {
			environ, err := os.ReadFile("/proc/" + p.PID + "/environ")
			if err != nil {
				t.Fatal(err)
			}
			want := "GODEBUG=schedtrace=0"
			if tc.awake {
				want = "schedtrace=" + strconv.Itoa(sysmon.Period)
			}
			var godebug []string
			for kv := range strings.SplitSeq(string(environ), "\x00") {
				if strings.HasPrefix(kv, "GODEBUG=") {
					godebug = append(godebug, kv)
				}
			}
			if len(godebug) == 0 || !strings.Contains(godebug[0], want) {
				t.Errorf("%q: the server's GODEBUG lacks %s: %q", tc.godebug, want, godebug)
			}
		}
	}
}

// SIGTERM with a slow request in flight: the response is delivered whole and
// the process exits 0.
func TestSIGTERMFinishesInFlight(t *testing.T) {
	p := startServer(t, []string{"SERVER_DELAY=700ms"}, siteDir(t))
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /index.html HTTP/1.0\r\n\r\n")
	time.Sleep(200 * time.Millisecond) // the request is inside its delay
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("in-flight response lost: %v\nlogs:\n%s", err, p.Log())
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "<h1>hi</h1>" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if exited, err := p.Wait(10 * time.Second); !exited {
		t.Fatal("did not exit after SIGTERM")
	} else if err != nil {
		t.Fatalf("exit: %v\nlogs:\n%s", err, p.Log())
	}
}

// browser finds a headless-capable Chromium, or skips the test.
func browser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on this machine (apt-get install chromium): the browser check of the sample site is skipped")
	return ""
}

// visit loads url in headless Chromium, as a person opening it would, and
// waits for the page and everything it asks for.
func visit(t *testing.T, chromium, url string) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--user-data-dir="+dir, "--window-size=1200,2400",
		"--screenshot="+filepath.Join(dir, "page.png"), url)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, out)
	}
}

func adminStats(t *testing.T, p *servertest.Process) (status map[string]uint64, hits map[string]uint64) {
	t.Helper()
	resp, err := http.Get(p.Admin + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Requests struct {
			Status map[string]uint64 `json:"status"`
		} `json:"requests"`
		Hits map[string]uint64 `json:"hits"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Requests.Status, st.Hits
}

// The sample site's start page loads whole in a browser at the default
// limits (five requests per second per address): every request it makes
// is answered 200, none 429, and no /favicon.ico is asked for. The gallery
// exceeds the limit on purpose: there the browser meets 429s.
func TestSampleSiteInABrowser(t *testing.T) {
	chromium := browser(t)
	// $HTTPLAB_CONTENT: see committed in cmd/mkcontent's tests.
	p := startServer(t, nil, "-d", cmp.Or(os.Getenv("HTTPLAB_CONTENT"), filepath.Join("..", "content")))
	visit(t, chromium, "http://"+p.Addr+"/")
	status, hits := adminStats(t, p)
	if status["429"] != 0 || status["404"] != 0 || status["200"] != 4 {
		t.Errorf("start page: statuses %v, want four 200s and nothing else; hits %v", status, hits)
	}
	for _, path := range []string{"/", "/style.css", "/gradient.png", "/chart.png"} {
		if hits[path] != 1 {
			t.Errorf("start page: %s fetched %d times, want once (hits %v)", path, hits[path], hits)
		}
	}

	time.Sleep(1500 * time.Millisecond) // a fresh window for the gallery
	visit(t, chromium, "http://"+p.Addr+"/gallery/")
	status, _ = adminStats(t, p)
	if status["429"] == 0 {
		t.Errorf("gallery: statuses %v; its 14 requests should meet the limit of 5 per second", status)
	}
}
