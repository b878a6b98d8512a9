//go:build unix

package sysmon

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHelperProcess is the program TestEnsure runs: it reports, then calls
// Ensure, which replaces it with itself, which reports again.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("SYSMON_HELPER") != "1" {
		t.Skip("run by TestEnsure")
	}
	fmt.Printf("pid=%d awake=%v godebug=%s\n", os.Getpid(), Awake(), os.Getenv("GODEBUG"))
	if err := Ensure(); err != nil {
		fmt.Printf("error: %v\n", err)
	}
	os.Exit(0)
}

func helper(t *testing.T, env ...string) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), append([]string{"SYSMON_HELPER=1"}, env...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func TestEnsure(t *testing.T) {
	t.Run("re-executes once, same process, with the setting", func(t *testing.T) {
		lines := helper(t, "GODEBUG=gctrace=0")
		if len(lines) != 2 {
			t.Fatalf("want a line before and one after the exec, got %q", lines)
		}
		pid, _, _ := strings.Cut(lines[0], " ")
		want := [2]string{pid + " awake=false godebug=gctrace=0", pid + " awake=true godebug=gctrace=0," + setting}
		if lines[0] != want[0] || lines[1] != want[1] {
			t.Errorf("got %q, want %q", lines, want)
		}
	})
	t.Run("leaves a schedtrace setting alone", func(t *testing.T) {
		lines := helper(t, "GODEBUG=schedtrace=0")
		if len(lines) != 1 || !strings.HasSuffix(lines[0], " awake=false godebug=schedtrace=0") {
			t.Errorf("want one line and no exec, got %q", lines)
		}
	})
}
