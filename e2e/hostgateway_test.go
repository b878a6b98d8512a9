package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostServer is a plain HTTP server on this machine, outside the lab: what a user runs on the host,
// or what a friend's machine is. It answers every request with a 200 and counts them.
type hostServer struct {
	srv  *http.Server
	port int

	mu    sync.Mutex
	count int
	from  map[string]int // source IPs
}

// startHostServer listens on all interfaces on a free port: containers reach the host through
// their bridge's gateway, not through loopback.
func startHostServer(t *testing.T) *hostServer {
	t.Helper()
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hostServer{port: ln.Addr().(*net.TCPAddr).Port, from: map[string]int{}}
	h.srv = &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			h.mu.Lock()
			h.count++
			h.from[host]++
			h.mu.Unlock()
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("hello from the host\n"))
		}),
	}
	h.srv.SetKeepAlivesEnabled(false) // HTTP/1.0, a connection per request, like the lab's server
	go func() { _ = h.srv.Serve(ln) }()
	t.Cleanup(func() { _ = h.srv.Close() })
	return h
}

func (h *hostServer) seen() (int, map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	from := map[string]int{}
	for k, v := range h.from {
		from[k] = v
	}
	return h.count, from
}

// freePort is a TCP port nothing listens on right now, on any interface.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestHostDockerInternal: the lab's requester containers reach the host as host.docker.internal on
// Linux (extra_hosts host-gateway), both a plain server on the host and a friend's machine,
// simulated by a second compose project on the same engine whose server is reached through its
// published port, as from another machine.
func TestHostDockerInternal(t *testing.T) {
	composeCmd := requireEngine(t)
	began := time.Now()
	host := startHostServer(t)

	// The client's lab (its requester) and the friend's lab (its server, published on all
	// interfaces at a port of its own, rate limit off so every request is served).
	client := newStack(t, composeCmd)
	friend := newStack(t, composeCmd)
	friendPort := freePort(t)
	friend.env["LAB_HTTP_PORT"] = strconv.Itoa(friendPort)
	friend.env["SERVER_RATE_LIMIT"] = "0"
	t.Logf("compose: %s; client project %s, friend project %s (port %d), host server port %d",
		strings.Join(composeCmd, " "), client.project, friend.project, friendPort, host.port)
	t.Cleanup(func() {
		for _, s := range []*stack{client, friend} {
			if err := s.down(); err != nil {
				t.Errorf("cleanup: %v", err)
			} else if left := s.leftovers(); len(left) > 0 {
				t.Errorf("left after down of %s: %v", s.project, left)
			}
		}
		t.Logf("e2e host.docker.internal total %.1f s", time.Since(began).Seconds())
	})

	client.build("server", "requester", "compare")
	friend.build("server")
	friend.up("server")
	friendAdmin := friend.adminURL("server")
	ctx := context.Background()

	t.Run("requester reaches a plain server on the host", func(t *testing.T) {
		before, _ := host.seen()
		// What a user types: `docker compose run --rm requester -H host.docker.internal -p PORT ...`.
		r, err := client.requester(ctx, "requester", "-H", "host.docker.internal", "-p", strconv.Itoa(host.port), "-r", "5", "-t", "1")
		if err != nil {
			t.Fatal(err)
		}
		n, from := host.seen()
		if st := r.Runs[0].Status; st["200"] != 5 || len(st) != 1 {
			t.Errorf("want 5 × 200 from the host server, got %v, errors %v", st, r.Runs[0].Errors)
		}
		if n-before != 5 {
			t.Errorf("host server counted %d requests, want 5", n-before)
		}
		t.Logf("host server saw requests from %v", from)
	})

	t.Run("compare resolves host.docker.internal too", func(t *testing.T) {
		// --no-deps: only the name is in question here, not the three servers of the comparison.
		before, _ := host.seen()
		r, err := client.requesterWith(ctx, []string{"--no-deps"}, "compare",
			"-url", fmt.Sprintf("http://host.docker.internal:%d/", host.port), "-mode", "concurrent", "-r", "3")
		if err != nil {
			t.Fatal(err)
		}
		n, _ := host.seen()
		if st := r.Runs[0].Status; st["200"] != 3 || len(st) != 1 || n-before != 3 {
			t.Errorf("compare against the host: want 3 × 200 and 3 counted, got %v (errors %v), %d counted", st, r.Runs[0].Errors, n-before)
		}
	})

	t.Run("friend's lab through its published port", func(t *testing.T) {
		st0, err := getStats(friendAdmin)
		if err != nil {
			t.Fatal(err)
		}
		const sent = 20
		r, err := client.requester(ctx, "requester", "-H", "host.docker.internal", "-p", strconv.Itoa(friendPort),
			"-r", strconv.Itoa(sent), "-t", "2")
		if err != nil {
			t.Fatal(err)
		}
		if st := r.Runs[0].Status; st["200"] != sent || len(st) != 1 {
			t.Errorf("want %d × 200 from the friend's server, got %v, errors %v", sent, st, r.Runs[0].Errors)
		}
		// The server counts a request once its response is written: wait for all, then make sure
		// no more arrive.
		friend.waitStats(friendAdmin, 10*time.Second, "the friend's server to count every request", func(st stats) bool {
			return st.Requests.Total-st0.Requests.Total >= sent
		})
		time.Sleep(300 * time.Millisecond)
		st1, err := getStats(friendAdmin)
		if err != nil {
			t.Fatal(err)
		}
		total := st1.Requests.Total - st0.Requests.Total
		ok := st1.Requests.Status["200"] - st0.Requests.Status["200"]
		accepted := st1.Connections.Accepted - st0.Connections.Accepted
		if total != sent || ok != sent || accepted != sent {
			t.Errorf("friend's /stats: %d requests, %d × 200, %d connections accepted; want exactly %d of each", total, ok, accepted, sent)
		}
		t.Logf("friend's /stats counted %d requests, %d × 200, %d accepted; client container %v", total, ok, accepted, ips(r))
	})

	t.Run("the friend's server sees the gateway address", func(t *testing.T) {
		// Requests through a published port reach the server from the gateway of its own network,
		// not from the client container: every client behind it shares one address, so one
		// per-IP rate limit and one per-client connection cap. The server's request log says so.
		gw, err := execOut("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.Gateway}} {{end}}", friend.container("server"))
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := friend.run(ctx, time.Minute, "logs", "--no-color", "server")
		if err != nil {
			t.Fatal(err)
		}
		addrs := remoteIPs(out)
		if len(addrs) == 0 {
			t.Skipf("no \"remote\" field in the friend's server log to check (log format changed?):\n%s", tail(out, 1500))
		}
		if len(addrs) != 1 || addrs[0] != strings.TrimSpace(gw) {
			t.Errorf("want every request from the friend's gateway %s, the server logged %v", strings.TrimSpace(gw), addrs)
		}
		t.Logf("friend's server saw every request from %v (its network's gateway %s)", addrs, strings.TrimSpace(gw))
	})
}

var remoteRe = regexp.MustCompile(`"remote":"([^"]+)"`)

// remoteIPs are the distinct client IPs of the request lines in a server's JSON log.
func remoteIPs(log string) []string {
	seen := map[string]bool{}
	for _, m := range remoteRe.FindAllStringSubmatch(log, -1) {
		if host, _, err := net.SplitHostPort(m[1]); err == nil {
			seen[host] = true
		}
	}
	var out []string
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// TestRequesterServicesHostGateway: every service built from Dockerfile.requester maps
// host.docker.internal to the host gateway, in every compose on this machine (1.29 writes
// `name:host-gateway`, v2 `name=host-gateway`). It reads `compose config` and starts nothing.
func TestRequesterServicesHostGateway(t *testing.T) {
	first := requireEngine(t)
	composes := [][]string{first}
	for _, c := range [][]string{{"docker", "compose"}, {"docker-compose"}} {
		if strings.Join(c, " ") != strings.Join(first, " ") && exec.Command(c[0], append(c[1:], "version")...).Run() == nil {
			composes = append(composes, c)
		}
	}
	for _, c := range composes {
		s := newStack(t, c)
		out, _, err := s.run(context.Background(), time.Minute, "config")
		if err != nil {
			t.Fatal(err)
		}
		services, err := serviceBlocks(out)
		if err != nil {
			t.Fatalf("%s config: %v\n%s", strings.Join(c, " "), err, tail(out, 2000))
		}
		var requesters []string
		for name, block := range services {
			if !strings.Contains(block, "Dockerfile.requester") {
				continue
			}
			requesters = append(requesters, name)
			if !strings.Contains(block, "host.docker.internal:host-gateway") && !strings.Contains(block, "host.docker.internal=host-gateway") {
				t.Errorf("%s: service %s (built from Dockerfile.requester) has no extra_hosts host.docker.internal:host-gateway:\n%s",
					strings.Join(c, " "), name, block)
			}
		}
		sort.Strings(requesters)
		if len(requesters) < 2 {
			t.Errorf("%s: want at least the requester and compare services, found %v", strings.Join(c, " "), requesters)
		}
		t.Logf("%s: requester services %v map host.docker.internal to the host gateway", strings.Join(c, " "), requesters)
	}
}

// serviceBlocks splits the services: section of `compose config` YAML into one text block per
// service (both composes indent services by two spaces).
func serviceBlocks(config string) (map[string]string, error) {
	lines := strings.Split(config, "\n")
	start := -1
	for i, l := range lines {
		if l == "services:" {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil, errors.New("no services: section")
	}
	blocks := map[string]string{}
	name := ""
	for _, l := range lines[start:] {
		if l != "" && !strings.HasPrefix(l, " ") {
			break // the next top-level key
		}
		if strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   ") && strings.HasSuffix(l, ":") {
			name = strings.TrimSuffix(strings.TrimSpace(l), ":")
			continue
		}
		if name != "" {
			blocks[name] += l + "\n"
		}
	}
	if len(blocks) == 0 {
		return nil, errors.New("no services found")
	}
	return blocks, nil
}
