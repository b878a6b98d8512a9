package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"httplab/httplab-server/internal/servertest"
)

// The tests below call run and healthcheck in this process, so that what they
// reach is measured (the tests above drive the built binary). run stops on
// SIGTERM: the test sends it to its own process, only once run has installed
// its handler, which is before the server answers a request.

// syncBuffer is stderr for a run that logs from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// startRun calls run(args) in a goroutine; the channel gives its exit code.
func startRun(args ...string) (<-chan int, *syncBuffer) {
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(args, stderr) }()
	return done, stderr
}

// waitAnswer polls url until it answers 200, failing if run returns first.
func waitAnswer(t *testing.T, url string, done <-chan int, stderr *syncBuffer) []byte {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case code := <-done:
			t.Fatalf("run returned %d before %s answered:\n%s", code, url, stderr)
		default:
		}
		if resp, err := client.Get(url); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return body
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within 15 s:\n%s", url, stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends SIGTERM to this process and waits for run's exit code.
func stop(t *testing.T, done <-chan int, stderr *syncBuffer) int {
	t.Helper()
	// Through os.Process so the file also builds where syscall has no Kill (windows vet).
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := self.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		return code
	case <-time.After(15 * time.Second):
		t.Fatalf("run did not return within 15 s of SIGTERM:\n%s", stderr)
		return -1
	}
}

func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err == nil {
		c.Close()
	}
	return err != nil
}

func TestRunServesAndAdministersUntilSIGTERM(t *testing.T) {
	port, adminPort := strconv.Itoa(servertest.FreePort(t)), strconv.Itoa(servertest.FreePort(t))
	addr, admin := "127.0.0.1:"+port, "127.0.0.1:"+adminPort
	done, stderr := startRun("-host", "127.0.0.1", "-p", port, "-adminport", adminPort, "-d", siteDir(t))
	waitAnswer(t, "http://"+admin+"/healthz", done, stderr)

	// A client that never sends its head is dropped by the admin listener's header timeout.
	idle, err := net.Dial("tcp", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()

	if body := waitAnswer(t, "http://"+addr+"/index.html", done, stderr); string(body) != "<h1>hi</h1>" {
		t.Errorf("index.html: %q", body)
	}
	var hc bytes.Buffer
	if code := run([]string{"healthcheck", "-host", "127.0.0.1", "-adminport", adminPort}, &hc); code != 0 {
		t.Errorf("healthcheck of the running server: exit %d, %s", code, &hc)
	}

	_ = idle.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = idle.Read(make([]byte, 512))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("an admin connection that sent nothing was still open after 30 s")
	}

	if code := stop(t, done, stderr); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, stderr)
	}
	log := stderr.String()
	for _, want := range []string{`"message":"listening"`, `"backlog":"system maximum"`, `"message":"shut down cleanly"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log has no %s:\n%s", want, log)
		}
	}
	if !refused(addr) || !refused(admin) {
		t.Errorf("after run returned, main %s refused %v, admin %s refused %v; want both closed",
			addr, refused(addr), admin, refused(admin))
	}
}

func TestRunWithTheAdminPortOff(t *testing.T) {
	port := strconv.Itoa(servertest.FreePort(t))
	done, stderr := startRun("-host", "127.0.0.1", "-p", port, "-adminport", "0", "-backlog", "64", "-d", siteDir(t))
	waitAnswer(t, "http://127.0.0.1:"+port+"/index.html", done, stderr)
	if code := stop(t, done, stderr); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, stderr)
	}
	if log := stderr.String(); !strings.Contains(log, `"admin":""`) || !strings.Contains(log, `"backlog":"64"`) {
		t.Errorf("log does not show the admin port off and backlog 64:\n%s", log)
	}
}

func TestRunRefusesBeforeServing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	site := siteDir(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-h"}, 0, "Usage: server"},
		{[]string{"-bogus"}, 2, "server: "},
		{[]string{"-d", "/no/such/dir"}, 2, "server: -d / SERVER_ROOT"},
		{[]string{"-host", "127.0.0.1", "-p", busyPort, "-adminport", "0", "-d", site}, 1, "(-p / SERVER_PORT)"},
		{[]string{"-host", "127.0.0.1", "-p", "0", "-adminport", busyPort, "-d", site}, 1, "(-adminport / SERVER_ADMIN_PORT)"},
	} {
		var stderr bytes.Buffer
		code := run(c.args, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("run %q: exit %d, stderr %q; want exit %d naming %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}

func TestHealthcheckAnswers(t *testing.T) {
	t.Parallel()
	answer := func(status int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				status = http.StatusNotFound
			}
			w.WriteHeader(status)
		}))
		t.Cleanup(srv.Close)
		return strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	}
	closed := strconv.Itoa(servertest.FreePort(t))
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-host", "127.0.0.1", "-adminport", answer(http.StatusOK)}, 0, ""},
		{[]string{"-host", "127.0.0.1", "-adminport", answer(http.StatusServiceUnavailable)}, 1, "/healthz answered 503"},
		{[]string{"-host", "127.0.0.1", "-adminport", closed}, 1, "healthcheck: "},
		{[]string{"-adminport", "0"}, 1, "the admin port is off"},
		{[]string{"-bogus"}, 1, "healthcheck: "},
	} {
		var stderr bytes.Buffer
		code := run(append([]string{"healthcheck"}, c.args...), &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.want) || (c.code == 0) != (stderr.Len() == 0) {
			t.Errorf("healthcheck %q: exit %d, stderr %q; want exit %d naming %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}

// An admin port that accepts but never answers fails the check (after its 3 s
// client timeout), rather than hanging the container's health probe.
func TestHealthcheckGivesUpOnASilentServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, unanswered, until the test ends
		}
	}()
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		done <- healthcheck([]string{"-host", "127.0.0.1", "-adminport", fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)}, &stderr)
	}()
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(stderr.String(), "Timeout") {
			t.Errorf("exit %d, stderr %q; want 1 and a timeout", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("healthcheck still waiting after 30 s")
	}
}
