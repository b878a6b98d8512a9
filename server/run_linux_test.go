//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"httplab/httplab-server/internal/servertest"
)

// listenerFD finds this process's descriptor of the TCP socket listening on
// 127.0.0.1:port, through /proc.
func listenerFD(t *testing.T, port int) int {
	t.Helper()
	tcp, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	inode := ""
	for _, line := range strings.Split(string(tcp), "\n") {
		if f := strings.Fields(line); len(f) > 9 && f[1] == local && f[3] == "0A" { // 0A: LISTEN
			inode = f[9]
		}
	}
	if inode == "" {
		t.Fatalf("no listener on 127.0.0.1:%d in /proc/net/tcp", port)
	}
	fds, _ := filepath.Glob("/proc/self/fd/*")
	for _, p := range fds {
		if link, err := os.Readlink(p); err == nil && link == "socket:["+inode+"]" {
			fd, _ := strconv.Atoi(filepath.Base(p))
			return fd
		}
	}
	t.Fatalf("no descriptor of socket %s", inode)
	return -1
}

// An admin listener that fails for good is logged; the server goes on
// serving and still stops cleanly.
func TestRunLogsAFailedAdminListener(t *testing.T) {
	port, adminPort := servertest.FreePort(t), servertest.FreePort(t)
	done, stderr := startRun("-host", "127.0.0.1", "-p", strconv.Itoa(port), "-adminport", strconv.Itoa(adminPort), "-d", siteDir(t))
	waitAnswer(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", adminPort), done, stderr)
	// shutdown(2) on a listening socket makes every later accept fail (EINVAL).
	if err := syscall.Shutdown(listenerFD(t, adminPort), syscall.SHUT_RD); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, "the admin listener's failure logged", func() bool {
		return strings.Contains(stderr.String(), `"message":"admin listener failed"`)
	})
	waitAnswer(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", port), done, stderr)
	if code := stop(t, done, stderr); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, stderr)
	}
}
