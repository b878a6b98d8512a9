package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// merged is the part of `requester merge -json` this test reads.
type merged struct {
	Runs []struct {
		Requests int            `json:"requests"`
		Status   map[string]int `json:"status"`
		Errors   map[string]int `json:"errors"`
		Results  []struct {
			Seq       int    `json:"seq"`
			LocalAddr string `json:"local_addr"`
		} `json:"results"`
		Clients []struct {
			Addr     string         `json:"addr"`
			Requests int            `json:"requests"`
			Status   map[string]int `json:"status"`
		} `json:"clients"`
	} `json:"runs"`
}

// TestSwarmLab runs `scripts/swarm-lab -clients 4 -json -- -r 80 -t 2` on a single-node swarm,
// the way a class would on many machines: 80 requests in all from 4 client tasks with their own
// addresses, which the server sees as 4 clients, each within the rate limit; and afterwards no
// stack, service or network is left, and the engine is out of swarm mode if the test put it in.
func TestSwarmLab(t *testing.T) {
	composeCmd := requireEngine(t)
	state, err := exec.Command("docker", "info", "--format", "{{.Swarm.LocalNodeState}}").Output()
	if err != nil {
		t.Skipf("e2e: skipped, docker info: %v", err)
	}
	wasSwarm := strings.TrimSpace(string(state)) == "active"
	if s := strings.TrimSpace(string(state)); s != "inactive" && s != "active" {
		t.Skipf("e2e: skipped, the engine's swarm state is %q (neither out of a swarm nor an active manager)", s)
	}
	root := repoRoot(t)

	// Bad arguments: exit 2 and one line, before anything is deployed or a swarm is made.
	for _, args := range [][]string{{"-clients", "0", "--", "-r", "8"}, {"--", "-r", "8", "-json"}, {"-clients", "2"}, {"-bogus"}} {
		cmd := exec.Command(filepath.Join(root, "scripts", "swarm-lab"), args...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.HasPrefix(string(out), "swarm-lab: ") {
			t.Errorf("swarm-lab %v: %v, want exit 2 and a line saying why:\n%s", args, err, out)
		}
		if st, _ := exec.Command("docker", "info", "--format", "{{.Swarm.LocalNodeState}}").Output(); strings.TrimSpace(string(st)) != strings.TrimSpace(string(state)) {
			t.Fatalf("swarm-lab %v changed the engine's swarm state to %s", args, st)
		}
	}

	// Build the lab's images from this tree: swarm-lab only builds them when they are missing.
	s := newStack(t, composeCmd)
	s.baseImage()
	s.build("server", "requester")

	const name = "httplab-e2e-swarm"
	t.Cleanup(func() {
		_ = exec.Command("docker", "stack", "rm", name).Run()
		for range 60 {
			if exec.Command("docker", "network", "inspect", name+"_lab").Run() != nil {
				break
			}
			time.Sleep(time.Second)
		}
		if !wasSwarm {
			_ = exec.Command("docker", "swarm", "leave", "--force").Run()
			_ = exec.Command("docker", "network", "rm", "docker_gwbridge").Run()
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "swarm-lab"), "-clients", "4", "-json", "-keep",
		"-name", name, "--", "-r", "80", "-t", "2")
	cmd.Dir = root
	cmd.Env = append(s.environ(), fmt.Sprintf("LAB_HTTP_PORT=%d", freePort(t)), fmt.Sprintf("LAB_ADMIN_PORT=%d", freePort(t)))
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("swarm-lab: %v\nstderr:\n%s", err, tail(stderr.String(), 4000))
	}
	t.Logf("swarm-lab ran in %.1f s", time.Since(start).Seconds())

	var m merged
	if err := json.Unmarshal(out, &m); err != nil || len(m.Runs) != 1 {
		t.Fatalf("stdout is not the merged JSON report alone (%v):\n%s", err, tail(string(out), 3000))
	}
	run := m.Runs[0]
	if run.Requests != 80 || len(run.Results) != 80 {
		t.Fatalf("merged report: %d requests, %d results; want 80 and 80", run.Requests, len(run.Results))
	}
	seen := map[int]bool{}
	for _, r := range run.Results {
		if seen[r.Seq] || r.Seq < 0 || r.Seq >= 80 {
			t.Fatalf("request %d twice or out of range: the shards are not the undivided schedule", r.Seq)
		}
		seen[r.Seq] = true
	}
	if len(run.Clients) != 4 {
		t.Fatalf("merged report has %d client addresses, want 4: %+v", len(run.Clients), run.Clients)
	}
	// 20 requests each over 2 s against 5 per second per address: never more 200s than the rate
	// allows in the run's 2 s plus one window.
	for _, c := range run.Clients {
		if c.Requests != 20 {
			t.Errorf("client %s sent %d requests, want 20", c.Addr, c.Requests)
		}
		if c.Status["200"] > 15 {
			t.Errorf("client %s got %d × 200, more than 5 per second allows over 3 s", c.Addr, c.Status["200"])
		}
	}

	// The server's view: its access log names the four addresses, and only those.
	logs, err := exec.Command("docker", "service", "logs", "--raw", name+"_server").CombinedOutput()
	if err != nil {
		t.Fatalf("server logs: %v\n%s", err, logs)
	}
	remotes := map[string]int{}
	for _, line := range strings.Split(string(logs), "\n") {
		var rec struct{ Message, Remote string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Message == "request" {
			host := rec.Remote
			if i := strings.LastIndex(host, ":"); i > 0 {
				host = host[:i]
			}
			remotes[host]++
		}
	}
	want := map[string]bool{}
	for _, c := range run.Clients {
		want[c.Addr] = true
	}
	if len(remotes) != 4 {
		t.Errorf("the server saw %d client addresses (%v), want 4: %v", len(remotes), remotes, want)
	}
	for addr := range remotes {
		if !want[addr] {
			t.Errorf("the server saw %s, which is not one of the clients %v", addr, want)
		}
	}

	// Nothing left behind once the stack is removed. Removal is
	// asynchronous: docker stack rm removes the services and at once the
	// network, which fails ("is in use by task") while a task is still
	// shutting down, and run again it can race the daemon's own removal of
	// the network ("not found"). So it is run until services and network
	// are gone (then it finds nothing and succeeds); any other error fails.
	deadline := time.Now().Add(time.Minute)
	for {
		if out, err := exec.Command("docker", "stack", "rm", name).CombinedOutput(); err != nil &&
			!strings.Contains(string(out), "in use by task") && !strings.Contains(string(out), "not found") {
			t.Fatalf("docker stack rm: %v\n%s", err, out)
		}
		services, _ := exec.Command("docker", "service", "ls", "-q", "--filter", "name="+name).Output()
		netErr := exec.Command("docker", "network", "inspect", name+"_lab").Run()
		if strings.TrimSpace(string(services)) == "" && netErr != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after docker stack rm: services %q, network left: %v", services, netErr == nil)
		}
		time.Sleep(time.Second)
	}
}
