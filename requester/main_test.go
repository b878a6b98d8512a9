package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fileServer is an HTTP/1.0 server on loopback that answers 200 and counts
// the hits, as the lab server does; hits is nil-safe for a server without
// a counter.
func fileServer(t *testing.T, hits *atomic.Int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					l, err := br.ReadString('\n')
					if err != nil || l == "\r\n" {
						break
					}
				}
				if hits != nil {
					hits.Add(1)
				}
				fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
			})
		}
	})
	return ln.Addr().String()
}

func clearEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "REQUESTER_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr, false)
	return code, stdout.String(), stderr.String()
}

type jsonReport struct {
	Runs []struct {
		Target  string         `json:"target"`
		Address string         `json:"address"`
		Mode    string         `json:"mode"`
		Status  map[string]int `json:"status"`
		Errors  map[string]int `json:"errors"`
		Results []struct {
			Seq   int    `json:"seq"`
			Error string `json:"error"`
		} `json:"results"`
	} `json:"runs"`
	Speedup []map[string]any `json:"speedup"`
	Hits    *struct {
		Sent, Counted, Lost int
		Error               string
	} `json:"hits"`
}

func TestJSONWithTwoTargetsAndBothModes(t *testing.T) {
	clearEnv(t)
	a, b := fileServer(t, nil), fileServer(t, nil)
	code, out, errOut := runMain(t, "-url", "http://"+a+"/,http://"+b+"/x", "-r", "5", "-mode", "both", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, out)
	}
	if len(rep.Runs) != 4 {
		t.Fatalf("%d runs, want 2 targets × 2 modes", len(rep.Runs))
	}
	want := [][2]string{{"http://" + a, "sequential"}, {"http://" + a, "concurrent"}, {"http://" + b, "sequential"}, {"http://" + b, "concurrent"}}
	for i, r := range rep.Runs {
		if r.Target != want[i][0] || r.Mode != want[i][1] || r.Status["200"] != 5 || len(r.Results) != 5 {
			t.Errorf("run %d: %s %s %v with %d results", i, r.Target, r.Mode, r.Status, len(r.Results))
		}
		if r.Address != strings.TrimPrefix(want[i][0], "http://") {
			t.Errorf("run %d: address %q", i, r.Address)
		}
	}
	if len(rep.Speedup) != 2 {
		t.Errorf("%d speedup rows, want one per target", len(rep.Speedup))
	}
}

func TestUnreachableTargetIsReported(t *testing.T) {
	clearEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	code, out, errOut := runMain(t, "-H", "127.0.0.1", "-p", fmt.Sprint(port), "-r", "3", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if r := rep.Runs[0]; r.Errors["refused"] != 3 || len(r.Status) != 0 || r.Results[2].Error != "refused" {
		t.Errorf("errors %v status %v", r.Errors, r.Status)
	}
}

func TestHitsCheck(t *testing.T) {
	clearEnv(t)
	var hits atomic.Int64
	target := fileServer(t, &hits)
	stats := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A server whose counter has lost two updates by the end of the
		// run, as the lab's naive counter does.
		n := hits.Load()
		if n >= 10 {
			n -= 2
		}
		fmt.Fprintf(w, `{"hits":{"/":%d}}`, n)
	}))
	defer stats.Close()
	code, out, errOut := runMain(t, "-url", "http://"+target+"/", "-r", "10", "-stats", stats.URL+"/stats", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if h := rep.Hits; h == nil || h.Sent != 10 || h.Counted != 8 || h.Lost != 2 || h.Error != "" {
		t.Errorf("hits %+v", h)
	}
}

func TestOutputFiles(t *testing.T) {
	clearEnv(t)
	target := fileServer(t, nil)
	dir := t.TempDir()
	for _, name := range []string{"r.json", "r.csv", "r.html"} {
		path := filepath.Join(dir, name)
		code, out, errOut := runMain(t, "-url", "http://"+target+"/", "-r", "4", "-q", "-o", path)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errOut)
		}
		if !strings.Contains(out, "Summary") || strings.Contains(out, "Requests (ms") {
			t.Errorf("%s: stdout is not the quiet text report:\n%s", name, out)
		}
		// One line says where the report went, on stderr (stdout may be
		// JSON meant for a pipe).
		abs, _ := filepath.Abs(path)
		if want := "requester: wrote the " + strings.ToUpper(filepath.Ext(name)[1:]) + " report to " + abs + " (1 run(s), 4 requests, "; !strings.Contains(errOut, want) {
			t.Errorf("%s: stderr %q lacks %q", name, errOut, want)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(name) {
		case ".json":
			var rep jsonReport
			if err := json.Unmarshal(data, &rep); err != nil || len(rep.Runs[0].Results) != 4 {
				t.Errorf("json file: %v", err)
			}
		case ".csv":
			rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
			if err != nil || len(rows) != 5 {
				t.Errorf("csv file: %d rows, %v", len(rows), err)
			}
		case ".html":
			if !bytes.Contains(data, []byte("<svg")) || bytes.Contains(data, []byte("<script")) {
				t.Error("html file lacks charts or has a script")
			}
		}
	}
}

func TestTextReportListsRequests(t *testing.T) {
	clearEnv(t)
	target := fileServer(t, nil)
	code, out, _ := runMain(t, "-url", "http://"+target+"/", "-r", "3")
	if code != 0 || !strings.Contains(out, "Requests (ms from the run's start): http://"+target+" concurrent") || !strings.Contains(out, "Outcomes per second") {
		t.Errorf("exit %d, report:\n%s", code, out)
	}
}

func TestBadFlagExitsWithUsage(t *testing.T) {
	clearEnv(t)
	code, out, errOut := runMain(t, "-r", "0")
	if code != 2 || out != "" || !strings.Contains(errOut, "Usage: requester") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	dir := t.TempDir()
	if code, _, _ := runMain(t, "-o", filepath.Join(dir, "x.pdf")); code != 2 {
		t.Errorf("unknown -o extension: exit %d, want 2 before any request", code)
	}
	if code, _, _ := runMain(t, "-h"); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
	if code, _, errOut := runMain(t, "-url", "http://127.0.0.1:1/", "-r", "1", "-q", "-o", filepath.Join(dir, "missing", "x.json")); code != 1 || !strings.Contains(errOut, "x.json") {
		t.Errorf("unwritable -o: exit %d, %q", code, errOut)
	}
}

// A host name is resolved once, before anything is sent, and each run says
// what it resolved to.
func TestAddressIsResolvedOnce(t *testing.T) {
	clearEnv(t)
	addr := fileServer(t, nil)
	_, port, _ := net.SplitHostPort(addr)
	code, out, errOut := runMain(t, "-H", "localhost", "-p", port, "-r", "3", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if r := rep.Runs[0]; r.Target != "http://localhost:"+port || r.Address != "127.0.0.1:"+port || r.Status["200"] != 3 {
		t.Errorf("target %s address %q status %v", r.Target, r.Address, r.Status)
	}
	code, out, _ = runMain(t, "-H", "localhost", "-p", port, "-r", "1", "-q")
	if code != 0 || !strings.HasPrefix(out, "Target http://localhost:"+port+" at 127.0.0.1:"+port+"\n") {
		t.Errorf("exit %d; the text report does not start with the address:\n%s", code, out)
	}
}

// A name that does not resolve ends the requester with exit 2 and one
// line on stderr, before anything is sent or printed.
func TestUnresolvableHostExits2(t *testing.T) {
	clearEnv(t)
	var hits atomic.Int64
	addr := fileServer(t, &hits)
	line := regexp.MustCompile(`^cannot resolve nonexistent\.invalid: [^\n]+; inside a container on Linux, see README "Against another machine"\n$`)
	for _, args := range [][]string{
		{"-H", "nonexistent.invalid", "-r", "3"},
		{"-H", "nonexistent.invalid", "-r", "3", "-json"},
		// One good target does not save a bad one, and is not loaded either.
		{"-url", "http://" + addr + "/,http://nonexistent.invalid:8080/", "-r", "3", "-mode", "both"},
	} {
		code, out, errOut := runMain(t, args...)
		if code != 2 || out != "" || !line.MatchString(errOut) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
		if strings.Contains(errOut, "no such host") != strings.Contains(errOut, ": no such host;") {
			t.Errorf("%v: the reason is not the resolver's short one: %q", args, errOut)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests sent though a host did not resolve", n)
	}
}

// Several runs: the text report leads with the speedup and the summaries,
// and the detail comes with -v (or REQUESTER_VERBOSE).
func TestSeveralRunsDetailWithV(t *testing.T) {
	clearEnv(t)
	a, b := fileServer(t, nil), fileServer(t, nil)
	args := []string{"-url", "http://" + a + "/,http://" + b + "/", "-r", "3", "-mode", "both"}
	code, out, errOut := runMain(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "Requests (ms") || !strings.Contains(out, "Add -v") || strings.Index(out, "Speedup") > strings.Index(out, "Summary") {
		t.Errorf("compact report:\n%s", out)
	}
	code, out, errOut = runMain(t, append(args, "-v")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Count(out, "Requests (ms") != 4 || !strings.Contains(out, "Outcomes per second") || strings.Contains(out, "Add -v") {
		t.Errorf("-v report:\n%s", out)
	}
}
