package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "server-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "server")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the server: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func siteDir(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>hi</h1>"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type proc struct {
	cmd             *exec.Cmd
	logs            *syncBuffer
	port, adminPort int
	exited          chan error
}

func startServer(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{port: freePort(t), adminPort: freePort(t), logs: &syncBuffer{}, exited: make(chan error, 1)}
	args = append([]string{"-host", "127.0.0.1", "-p", fmt.Sprint(p.port), "-adminport", fmt.Sprint(p.adminPort)}, args...)
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p.adminPort)); err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start; logs:\n%s", p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	port := freePort(t)
	cmd := exec.Command(binary, "healthcheck")
	cmd.Env = append(os.Environ(), fmt.Sprintf("SERVER_ADMIN_PORT=%d", port))
	if err := cmd.Run(); err == nil {
		t.Fatal("healthcheck passed with no server")
	}
	p := startServer(t, nil, "-d", siteDir(t))
	cmd = exec.Command(binary, "healthcheck")
	cmd.Env = append(os.Environ(), fmt.Sprintf("SERVER_ADMIN_PORT=%d", p.adminPort))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("healthcheck failed: %v %s", err, out)
	}
}

// Logs are JSON when not on a terminal: the effective configuration once, then
// one access line per request.
func TestStructuredLogs(t *testing.T) {
	p := startServer(t, []string{"SERVER_MAX_PER_CLIENT=4"}, siteDir(t))
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", p.port))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.logs.String(), `"status":200`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var sawConfig, sawAccess bool
	sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
	for sc.Scan() {
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
		t.Fatalf("config line %v, access line %v; logs:\n%s", sawConfig, sawAccess, p.logs)
	}
}

// SIGTERM with a slow request in flight: the response is delivered whole and
// the process exits 0.
func TestSIGTERMFinishesInFlight(t *testing.T) {
	p := startServer(t, []string{"SERVER_DELAY=700ms"}, siteDir(t))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p.port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /index.html HTTP/1.0\r\n\r\n")
	time.Sleep(200 * time.Millisecond) // the request is inside its delay
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("in-flight response lost: %v\nlogs:\n%s", err, p.logs)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "<h1>hi</h1>" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		if err != nil {
			t.Fatalf("exit: %v\nlogs:\n%s", err, p.logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not exit after SIGTERM")
	}
}
