//go:build unix

package static

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Names a Unix file system allows but this server never serves: a
// backslash (a path separator elsewhere, CVE-2026-27585 in Caddy) and
// control characters, C0, DEL and C1. Such files exist here, so both the
// refusal and the listing are put to the test.
func TestUnservableNamesOnDisk(t *testing.T) {
	dir := t.TempDir()
	names := map[string]string{ // name on disk: how a client would ask for it
		`back\slash.txt`: "/back%5Cslash.txt",
		"ctl\x01.txt":    "/ctl%01.txt",
		"del\x7f.txt":    "/del%7F.txt",
		"nel\u0085.txt":  "/nel%C2%85.txt",
		"tab\tname.txt":  "/tab%09name.txt",
	}
	for name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("must not be served"), 0o644); err != nil {
			t.Skipf("this file system refuses the name %q: %v", name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ok.txt"), []byte("fine"), 0o644); err != nil {
		t.Fatal(err)
	}
	site, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	for name, target := range names {
		if ServableName(name) {
			t.Errorf("ServableName(%q) = true", name)
		}
		if r := site.Resolve(target, nil); r.Kind != NotFound {
			if r.File != nil {
				r.File.Close()
			}
			t.Errorf("Resolve(%q) for the file %q = %v, want NotFound", target, name, r.Kind)
		}
	}
	r := site.Resolve("/", nil)
	if r.Kind != Listing {
		t.Fatalf("Resolve(/) = %v, want a listing", r.Kind)
	}
	page := string(r.Body)
	if !strings.Contains(page, "ok.txt") {
		t.Fatalf("the listing lacks ok.txt:\n%s", page)
	}
	if strings.Count(page, ".txt") != strings.Count(page, "ok.txt") {
		t.Errorf("the listing shows an unservable file beside ok.txt:\n%s", page)
	}
}
