package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With no argument at all the settings come from the environment: a bad
// one ends with the usage and exit 2, as the flag would.
func TestNoArguments(t *testing.T) {
	clearEnv(t)
	t.Setenv("REQUESTER_REQUESTS", "0")
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr, false); code != 2 || stdout.Len() > 0 || !strings.Contains(stderr.String(), "Usage: requester") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

// On a terminal the bar moves with each finished request; -q, or stderr
// not a terminal, draws none.
func TestProgressBarOnATerminal(t *testing.T) {
	clearEnv(t)
	target := fileServer(t, nil)
	for _, c := range []struct {
		terminal bool
		args     []string
		bar      bool
	}{
		{true, nil, true},
		{true, []string{"-q"}, false},
		{false, nil, false},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"-url", "http://" + target + "/", "-r", "3", "-json"}, c.args...)
		if code := run(args, &stdout, &stderr, c.terminal); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		// The bar is drawn at the first finished request, and its count
		// says so.
		if got := strings.Contains(stderr.String(), "(1/3"); got != c.bar {
			t.Errorf("terminal %v, %v: bar at the first request %v, want %v; stderr %q", c.terminal, c.args, got, c.bar, stderr.String())
		}
	}
}

// requester merge reads a report after any lines that are not JSON, empty
// ones included; an empty file is not a report. A merge with every shard
// says nothing of missing ones.
func TestMergeReading(t *testing.T) {
	clearEnv(t)
	target := fileServer(t, nil)
	dir := t.TempDir()
	code, out, errOut := runMain(t, "-url", "http://"+target+"/", "-r", "2", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, c := range []struct {
		name, content string
		code          int
		want          string
	}{
		{"plain.json", out, 0, ""},
		{"blank-first.json", "\nrequester: a line\n\n" + out, 0, ""},
		{"empty.json", "", 2, "empty.json: not a requester JSON report"},
		{"no-newline.json", "requester: only a line", 2, "no-newline.json: not a requester JSON report"},
	} {
		path := write(c.name, c.content)
		code, _, errOut := runMain(t, "merge", "-json", path)
		if code != c.code || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "no report for shard") {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", c.name, code, errOut, c.code, c.want)
		}
	}
}

// A resolver's error is said by its short reason when it has one.
func TestResolveReason(t *testing.T) {
	dns := &net.DNSError{Err: "no such host", Name: "x.invalid", Server: "10.0.0.53:53", IsNotFound: true}
	for _, c := range []struct {
		err  error
		want string
	}{
		{dns, "no such host"},
		{fmt.Errorf("resolve: %w", dns), "no such host"},
		{&net.DNSError{Name: "x.invalid"}, (&net.DNSError{Name: "x.invalid"}).Error()},
		{errors.New("lookup x: no addresses"), "lookup x: no addresses"},
	} {
		if got := resolveReason(c.err); got != c.want {
			t.Errorf("resolveReason(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
