package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestQuickStartBuildsEverything runs the README's quick start word for word, with every compose
// that works here (docker compose v2 and docker-compose 1.29): from a project with no image of
// its own, `compose up --build` must build the server's image and the requester's, so that the
// first `compose run --rm -T requester ... -json` builds nothing and prints the JSON report
// alone on stdout (a build on that first run would put its log on stdout ahead of the report,
// and `| jq` would fail).
func TestQuickStartBuildsEverything(t *testing.T) {
	first := requireEngine(t)
	composes := [][]string{first}
	if os.Getenv("E2E_COMPOSE") == "" {
		for _, c := range [][]string{{"docker", "compose"}, {"docker-compose"}} {
			if strings.Join(c, " ") != strings.Join(first, " ") && exec.Command(c[0], append(c[1:], "version")...).Run() == nil {
				composes = append(composes, c)
			}
		}
	}
	for _, c := range composes {
		t.Run(strings.Join(c, " "), func(t *testing.T) { quickStart(t, c) })
	}
}

func quickStart(t *testing.T, composeCmd []string) {
	s := newStack(t, composeCmd)
	s.asTyped = true
	s.baseImage()
	// The lab's images are shared by name (docker-compose.yml), so an earlier build may have left
	// them: take the names away, so that only `up --build` can give them back.
	for _, ref := range []string{"httplab-server:latest", "httplab-requester:latest"} {
		_ = exec.Command("docker", "image", "rm", ref).Run()
	}
	if imgs := s.images(); len(imgs) > 0 {
		t.Fatalf("the lab's images are still there after removing them: %v", imgs)
	}
	t.Cleanup(func() {
		if err := s.down(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})

	// `docker compose up --build`, in the foreground as the README has it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up := s.command(ctx, "up", "--build")
	var upOut lockedBuffer
	up.Stdout, up.Stderr = &upOut, &upOut
	up.Cancel = func() error { return up.Process.Signal(syscall.SIGINT) } // Ctrl-C: compose stops the lab
	up.WaitDelay = time.Minute
	start := time.Now()
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	upDone := make(chan error, 1)
	go func() { upDone <- up.Wait() }()
	defer func() {
		cancel()
		select {
		case <-upDone:
		case <-time.After(90 * time.Second):
			t.Errorf("compose up did not end after Ctrl-C")
		}
	}()

	// Wait for the server's container to exist (the build comes first), then for its health.
	deadline := time.Now().Add(10 * time.Minute)
	for {
		out, _, _ := s.run(context.Background(), time.Minute, "ps", "-q", "server")
		if strings.TrimSpace(out) != "" {
			break
		}
		select {
		case err := <-upDone:
			t.Fatalf("compose up --build ended before the server started: %v\n%s", err, tail(upOut.String(), 4000))
		case <-time.After(time.Second):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no server container 10 minutes after compose up --build:\n%s", tail(upOut.String(), 4000))
		}
	}
	s.waitHealthy(2*time.Minute, "server")
	t.Logf("%s up --build: server healthy after %.1f s", strings.Join(composeCmd, " "), time.Since(start).Seconds())

	imgs := s.images()
	if imgs["server"] == "" || imgs["requester"] == "" {
		t.Fatalf("after `up --build` the lab's images are %v; want the server's and the requester's", imgs)
	}

	// The second terminal: the first run of the requester, its report piped to jq.
	stdout, stderr, err := s.run(context.Background(), 2*time.Minute, "run", "--rm", "-T", "requester", "-r", "5", "-t", "1", "-json")
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid([]byte(stdout)) {
		t.Fatalf("stdout of `run --rm -T requester -r 5 -t 1 -json` is not JSON alone:\n%s\nstderr:\n%s", tail(stdout, 3000), tail(stderr, 2000))
	}
	var r report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Runs) != 1 {
		t.Fatalf("report: %v, %d runs", err, len(r.Runs))
	}
	if st := r.Runs[0].Status; st["200"] != 5 {
		t.Errorf("5 requests over 1 s: want 5 × 200, got %v, errors %v", st, r.Runs[0].Errors)
	}
	if after := s.images(); after["requester"] != imgs["requester"] {
		t.Errorf("the first run rebuilt the requester's image: %s, then %s", imgs["requester"], after["requester"])
	}
}

// lockedBuffer is a bytes.Buffer written by a command's output copier and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
