package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// stack is one compose project made for a test run: its own name, its own network, containers
// and images, all removed by down.
type stack struct {
	t       *testing.T
	compose []string // "docker compose" or "docker-compose"
	root    string   // repository root: docker-compose.yml, Dockerfiles, content/
	project string
	env     map[string]string // every variable the compose file reads, set explicitly
	// asTyped leaves out the --profile flags run adds by default, so that a command runs exactly
	// as a user types it (the quick start's).
	asTyped bool
}

// report is the part of the requester's -json report these tests read.
type report struct {
	Runs []struct {
		Target  string         `json:"target"`
		Mode    string         `json:"mode"`
		WallS   float64        `json:"wall_s"`
		Status  map[string]int `json:"status"`
		Errors  map[string]int `json:"errors"`
		Results []struct {
			Seq       int     `json:"seq"`
			LocalAddr string  `json:"local_addr"`
			StartMs   float64 `json:"start_ms"`
			EndMs     float64 `json:"end_ms"`
			Status    int     `json:"status"`
			Error     string  `json:"error"`
		} `json:"results"`
	} `json:"runs"`
	Speedup []struct {
		Target      string  `json:"target"`
		SequentialS float64 `json:"sequential_s"`
		ConcurrentS float64 `json:"concurrent_s"`
		Speedup     float64 `json:"speedup"`
	} `json:"speedup"`
}

// stats is the part of the server's admin /stats these tests read.
type stats struct {
	Connections struct {
		Active            int `json:"active"`
		Accepted          int `json:"accepted"`
		RejectedClientCap int `json:"rejected_client_cap"`
	} `json:"connections"`
	Clients  map[string]int `json:"clients"`
	Requests struct {
		Total  int            `json:"total"`
		Status map[string]int `json:"status"`
	} `json:"requests"`
}

// requireEngine skips the test unless a Docker engine answers and a compose command works, and
// returns that compose command.
func requireEngine(t *testing.T) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short (needs a Docker engine; builds images)")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("e2e: skipped, no docker command on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("e2e: skipped, no Docker engine answers (`docker info`: %v: %s)", err, bytes.TrimSpace(out))
	}
	var candidates [][]string
	if v := strings.Fields(os.Getenv("E2E_COMPOSE")); len(v) > 0 {
		candidates = [][]string{v}
	} else {
		candidates = [][]string{{"docker", "compose"}, {"docker-compose"}}
	}
	for _, c := range candidates {
		if err := exec.CommandContext(ctx, c[0], append(c[1:], "version")...).Run(); err == nil {
			return c
		}
	}
	t.Skipf("e2e: skipped, a Docker engine answers but no compose works (tried %v; scripts/compose-v2.sh installs docker compose v2)", candidates)
	return nil
}

// repoRoot is the nearest folder above the test's that holds docker-compose.yml.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "docker-compose.yml")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("e2e: no docker-compose.yml in any folder above the test")
		}
		dir = parent
	}
}

func newStack(t *testing.T, composeCmd []string) *stack {
	t.Helper()
	root := repoRoot(t)
	if fi, err := os.Stat(filepath.Join(root, "content")); err != nil || !fi.IsDir() {
		t.Fatalf("e2e: %s/content is missing; the server image bakes it in (go run ./server/cmd/mkcontent -o content)", root)
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return &stack{
		t:       t,
		compose: composeCmd,
		root:    root,
		project: "httplab-e2e-" + hex.EncodeToString(b[:]),
		// Every variable the compose file reads is given here, so neither the caller's shell nor a
		// .env file changes what is tested. Host ports are random and on loopback only.
		env: map[string]string{
			"LAB_HTTP_PORT":         "127.0.0.1:0",
			"LAB_ADMIN_PORT":        "127.0.0.1:0",
			"LAB_DELAY":             "500ms",
			"SERVER_MODE":           "concurrent",
			"SERVER_MAX_PER_CLIENT": "12",
			"SERVER_MAX_TOTAL":      "60",
			"SERVER_CLIENT_KEY":     "ip",
			"SERVER_RATE_LIMIT":     "5",
			"SERVER_RATE_WINDOW":    "1s",
			"SERVER_DELAY":          "0",
			"SERVER_COUNTER":        "locked",
			"SERVER_READ_TIMEOUT":   "10s",
			"SERVER_WRITE_TIMEOUT":  "30s",
			"SERVER_SHUTDOWN_GRACE": "10s",
			"SERVER_LOG_LEVEL":      "info",
			"SERVER_LOG_FORMAT":     "json",
			// Compose v2 prints a failed build step's output only with plain progress.
			"BUILDKIT_PROGRESS": "plain",
		},
	}
}

// environ is the caller's environment without anything that would steer compose or the services,
// plus the stack's settings.
func (s *stack) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "COMPOSE_") || strings.HasPrefix(k, "SERVER_") ||
			strings.HasPrefix(k, "REQUESTER_") || strings.HasPrefix(k, "LAB_") {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range s.env {
		env = append(env, k+"="+v)
	}
	return env
}

// run runs one compose command for the project; stdout and stderr come back separately because
// the requester's JSON report is on stdout and compose talks on stderr.
func (s *stack) run(ctx context.Context, timeout time.Duration, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := s.command(ctx, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if err != nil {
		// Build logs go to stdout, compose's own messages to stderr.
		err = fmt.Errorf("%s %s: %w\n%s\n%s", strings.Join(s.compose, " "), strings.Join(args, " "), err,
			tail(o.String(), 3000), tail(e.String(), 2000))
	}
	return o.String(), e.String(), err
}

// command is one compose command for the project, not started.
func (s *stack) command(ctx context.Context, args ...string) *exec.Cmd {
	full := append(append([]string{}, s.compose[1:]...), "-p", s.project, "-f", "docker-compose.yml")
	if !s.asTyped {
		full = append(full, "--profile", "compare")
	}
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, s.compose[0], full...)
	cmd.Dir = s.root
	cmd.Env = s.environ()
	return cmd
}

func (s *stack) must(timeout time.Duration, args ...string) string {
	s.t.Helper()
	out, _, err := s.run(context.Background(), timeout, args...)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// requester runs one requester container (`run --rm requester ARGS -json -q`) and parses its report.
func (s *stack) requester(ctx context.Context, service string, args ...string) (report, error) {
	return s.requesterWith(ctx, nil, service, args...)
}

// requesterWith is requester with flags for `run` itself (--no-deps, for one).
func (s *stack) requesterWith(ctx context.Context, runFlags []string, service string, args ...string) (report, error) {
	full := append(append([]string{"run", "--rm", "-T"}, runFlags...), service)
	full = append(full, args...)
	full = append(full, "-json", "-q")
	out, _, err := s.run(ctx, 2*time.Minute, full...)
	if err != nil {
		return report{}, err
	}
	var r report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return report{}, fmt.Errorf("requester report is not JSON: %v\n%s", err, tail(out, 2000))
	}
	if len(r.Runs) == 0 {
		return report{}, fmt.Errorf("requester report has no runs:\n%s", tail(out, 2000))
	}
	return r, nil
}

// container is the ID of the service's container, asked from compose because the names differ
// between compose versions.
func (s *stack) container(service string) string {
	s.t.Helper()
	id := strings.TrimSpace(s.must(time.Minute, "ps", "-q", service))
	if id == "" {
		s.t.Fatalf("no container for service %s", service)
	}
	return id
}

// up starts services and waits until each reports healthy.
func (s *stack) up(services ...string) {
	s.t.Helper()
	s.must(3*time.Minute, append([]string{"up", "-d"}, services...)...)
	s.waitHealthy(90*time.Second, services...)
}

// waitHealthy waits until each service's container reports healthy.
func (s *stack) waitHealthy(within time.Duration, services ...string) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for _, svc := range services {
		id := s.container(svc)
		for {
			out, err := exec.Command("docker", "inspect", "-f", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", id).Output()
			state := strings.TrimSpace(string(out))
			if err == nil && state == "running healthy" {
				break
			}
			if time.Now().After(deadline) || strings.HasPrefix(state, "exited") {
				logs, _, _ := s.run(context.Background(), time.Minute, "logs", "--tail", "30", svc)
				s.t.Fatalf("%s not healthy (state %q, err %v); logs:\n%s", svc, state, err, logs)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
}

// adminURL is the server's published admin address on loopback.
func (s *stack) adminURL(service string) string {
	s.t.Helper()
	hp := strings.TrimSpace(s.must(time.Minute, "port", service, "9090"))
	if !strings.HasPrefix(hp, "127.0.0.1:") {
		s.t.Fatalf("admin port of %s published on %q, want 127.0.0.1:PORT", service, hp)
	}
	return "http://" + hp
}

func getStats(adminURL string) (stats, error) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(adminURL + "/stats")
	if err != nil {
		return stats{}, err
	}
	defer resp.Body.Close()
	var st stats
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("/stats: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// waitStats polls /stats until ok accepts it.
func (s *stack) waitStats(adminURL string, within time.Duration, what string, ok func(stats) bool) stats {
	s.t.Helper()
	deadline := time.Now().Add(within)
	var last stats
	var err error
	for time.Now().Before(deadline) {
		last, err = getStats(adminURL)
		if err == nil && ok(last) {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("waited %v for %s; last /stats %+v, err %v", within, what, last, err)
	return last
}

// build makes the base image if it is missing (offline machines), then builds the images of the
// services named, or every image of the project; with the build cache of an earlier run that takes
// seconds.
func (s *stack) build(services ...string) {
	s.t.Helper()
	s.baseImage()
	args := []string{"build"}
	// The classic builder (compose 1.29) keeps the container of a failed step unless told not to;
	// BuildKit (v2) makes none and has no such flag.
	if help, _, err := s.run(context.Background(), time.Minute, "build", "--help"); err == nil && strings.Contains(help, "--force-rm") {
		args = append(args, "--force-rm")
	}
	args = append(args, services...)
	start := time.Now()
	if _, _, err := s.run(context.Background(), 10*time.Minute, args...); err != nil {
		s.t.Fatalf("%v\nEach module is built on its own (GOWORK=off): check `cd server && GOWORK=off go build .` and the same in requester/", err)
	}
	s.t.Logf("images built in %.1f s", time.Since(start).Seconds())
}

// baseImage makes the Dockerfiles' base image where it is missing (offline machines).
func (s *stack) baseImage() {
	s.t.Helper()
	if exec.Command("docker", "image", "inspect", "golang:1.26").Run() != nil {
		s.t.Log("golang:1.26 missing: making it with scripts/docker-base-images.sh")
		cmd := exec.Command("sh", filepath.Join(s.root, "scripts", "docker-base-images.sh"))
		cmd.Dir = s.root
		if out, err := cmd.CombinedOutput(); err != nil {
			s.t.Fatalf("scripts/docker-base-images.sh: %v\n%s", err, tail(string(out), 3000))
		}
	}
}

// images lists the lab's image IDs by service: docker-compose.yml names them (httplab-server,
// httplab-requester, shared by every project and by docker-stack.yml); a service without a name
// would get PROJECT_SERVICE (compose 1.29) or PROJECT-SERVICE (v2).
func (s *stack) images() map[string]string {
	out, err := exec.Command("docker", "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").Output()
	if err != nil {
		return nil
	}
	ids := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		ref, id, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		switch ref {
		case "httplab-server:latest":
			ids["server"] = id
		case "httplab-requester:latest":
			ids["requester"] = id
		}
		repo, _, _ := strings.Cut(ref, ":")
		for _, sep := range []string{"_", "-"} {
			if svc, found := strings.CutPrefix(repo, s.project+sep); found {
				ids[svc] = id
			}
		}
	}
	return ids
}

// projectImages lists the images named after the project, which down must remove.
func (s *stack) projectImages() []string {
	out, err := exec.Command("docker", "images", "--format", "{{.Repository}}").Output()
	if err != nil {
		return nil
	}
	var left []string
	for _, repo := range strings.Fields(string(out)) {
		if strings.HasPrefix(repo, s.project+"_") || strings.HasPrefix(repo, s.project+"-") {
			left = append(left, repo)
		}
	}
	return left
}

// down removes everything the project made: containers, network, volumes and its images. The
// build cache stays (BuildKit's cache, or the classic builder's untagged build-stage images), so the
// next run's build compiles nothing that has not changed.
func (s *stack) down() error {
	_, _, err := s.run(context.Background(), 3*time.Minute, "down", "-v", "--rmi", "local", "--remove-orphans", "-t", "20")
	return err
}

// leftovers lists what docker still holds under the project's label or name.
func (s *stack) leftovers() []string {
	var left []string
	label := "label=com.docker.compose.project=" + s.project
	for _, q := range [][]string{
		{"ps", "-aq", "--filter", label},
		{"network", "ls", "-q", "--filter", label},
		{"volume", "ls", "-q", "--filter", label},
	} {
		out, _ := exec.Command("docker", q...).Output()
		if f := strings.Fields(string(out)); len(f) > 0 {
			left = append(left, fmt.Sprintf("%s: %v", q[0], f))
		}
	}
	for _, img := range s.projectImages() {
		left = append(left, "image "+img)
	}
	sort.Strings(left)
	return left
}

// ips are the distinct source IPs a run's requests came from.
func ips(r report) []string {
	seen := map[string]bool{}
	for _, run := range r.Runs {
		for _, res := range run.Results {
			if host, _, ok := strings.Cut(res.LocalAddr, ":"); ok && host != "" {
				seen[host] = true
			}
		}
	}
	var out []string
	for ip := range seen {
		out = append(out, ip)
	}
	sort.Strings(out)
	return out
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

var errNoRun = errors.New("no run for that target")

// runFor is the run of the report against target in mode.
func runFor(r report, target, mode string) (int, error) {
	for i, run := range r.Runs {
		if strings.Contains(run.Target, target) && run.Mode == mode {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: %s %s", errNoRun, target, mode)
}
