package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWritesTheSiteThenChangesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	var out, errs bytes.Buffer
	if code := run([]string{"-o", dir}, &out, &errs); code != 0 || errs.Len() != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs.String())
	}
	n := len(site())
	if want := fmt.Sprintf("mkcontent: %s: %d files, %d changed\n", dir, n, n); out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	if err := os.WriteFile(filepath.Join(dir, "stray.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"-o", dir}, &out, &errs); code != 0 {
		t.Fatalf("second run: exit %d, stderr %q", code, errs.String())
	}
	if want := fmt.Sprintf("mkcontent: %s: %d files, 0 changed\n", dir, n); out.String() != want {
		t.Errorf("second run: stdout %q, want %q", out.String(), want)
	}
	if want := filepath.Join(dir, "stray.txt") + " is not generated"; !strings.Contains(errs.String(), want) {
		t.Errorf("second run: stderr %q does not name %s", errs.String(), want)
	}
}

func TestRunCommandLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-h"}, 0, "usage: mkcontent [-o directory]"},
		{[]string{"-bogus"}, 2, "-bogus"},
		{[]string{"extra"}, 2, "usage: mkcontent"},
		{[]string{"-o", file}, 1, "mkcontent: "}, // the output folder is a file
	} {
		var out, errs bytes.Buffer
		code := run(c.args, &out, &errs)
		if code != c.code || !strings.Contains(errs.String(), c.want) || out.Len() != 0 {
			t.Errorf("run %q: exit %d, stdout %q, stderr %q; want exit %d naming %q",
				c.args, code, out.String(), errs.String(), c.code, c.want)
		}
	}
}
