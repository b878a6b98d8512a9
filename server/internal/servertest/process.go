package servertest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BuildServer builds the server command into dir and returns the binary.
func BuildServer(dir string) (string, error) {
	bin := dir + string(os.PathSeparator) + "server"
	out, err := exec.Command("go", "build", "-o", bin, "httplab/httplab-server").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build httplab/httplab-server: %v\n%s", err, out)
	}
	return bin, nil
}

// Process is the server binary running as its own process on 127.0.0.1.
type Process struct {
	Cmd   *exec.Cmd
	PID   string
	Addr  string // main listener, 127.0.0.1:port
	Admin string // http://127.0.0.1:port

	mu     sync.Mutex
	tail   []string // the last log lines
	exited chan struct{}
	err    error // from Wait, once exited is closed
}

// maxLogLines bounds what a Process keeps of its log.
const maxLogLines = 2000

// adminClient leaves no idle connection behind, which would hold a
// goroutine and a descriptor in the server and blur baselines.
var adminClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// StartProcess runs bin, listening on a free port of
// 127.0.0.1 and its admin listener on another, then args; env is added to
// this process's environment. wrap, when given, is a command the server is
// run under (prlimit). It returns once the server logged "listening" and
// its admin listener answers /healthz, and kills the process when the test
// ends if it still runs. The server's log must be JSON, as it is by default
// when stderr is not a terminal.
func StartProcess(t testing.TB, wrap []string, bin string, args []string, env ...string) *Process {
	t.Helper()
	adminPort := FreePort(t)
	argv := append(append(append([]string{}, wrap...), bin,
		"-host", "127.0.0.1", "-p", "0", "-adminport", strconv.Itoa(adminPort)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), "SERVER_LOG_LEVEL=info"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Process{Cmd: cmd, PID: strconv.Itoa(cmd.Process.Pid),
		Admin: fmt.Sprintf("http://127.0.0.1:%d", adminPort), exited: make(chan struct{})}
	listening := make(chan string, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if p.tail = append(p.tail, line); len(p.tail) > maxLogLines {
				p.tail = p.tail[1:]
			}
			p.mu.Unlock()
			var rec struct{ Message, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Message == "listening" {
				select {
				case listening <- rec.Addr:
				default:
				}
			}
		}
	}()
	go func() {
		<-drained // Wait closes the pipe: read it to the end first
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	select {
	case p.Addr = <-listening:
	case <-p.exited:
		t.Fatalf("server exited at start: %v\n%s", p.err, p.Log())
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not start listening\n%s", p.Log())
	}
	Eventually(t, "admin listener", func() bool {
		resp, err := adminClient.Get(p.Admin + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return p
}

// Log is what the process logged (the last lines of it).
func (p *Process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// Wait waits up to d for the process to exit and reports whether it did
// and how.
func (p *Process) Wait(d time.Duration) (exited bool, err error) {
	select {
	case <-p.exited:
		return true, p.err
	case <-time.After(d):
		return false, nil
	}
}

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }
