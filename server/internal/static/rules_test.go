//go:build unix

package static

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestServablePath(t *testing.T) {
	for p, want := range map[string]bool{
		"/":               true,
		"/a/b.txt":        true,
		"//a//b/":         true, // empty segments are skipped
		"/a/.hidden/b":    false,
		"/a/../b":         false,
		"/docs/./x":       false,
		"/a/b\\c":         false,
		"/ctl\x7f":        false,
		"/caf\u00e9.html": true,
	} {
		if got := ServablePath(p); got != want {
			t.Errorf("ServablePath(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestHitKey(t *testing.T) {
	for p, want := range map[string]string{
		"":            "/",
		"/":           "/",
		"//":          "/",
		"/a.html":     "/a.html",
		"//docs//a":   "/docs/a",
		"/docs/":      "/docs/",
		"/docs//":     "/docs/",
		"docs/a.html": "/docs/a.html",
	} {
		if got := HitKey(p); got != want {
			t.Errorf("HitKey(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestCanonical(t *testing.T) {
	for p, want := range map[string]bool{
		"/a.html":         true,
		"/docs/a.html":    true,
		"/":               false, // a folder, not a file
		"":                false,
		"/docs/":          false, // trailing slash
		"//a.html":        false, // empty segment
		"/docs//a.html":   false,
		"/./a.html":       false,
		"/docs/../a.html": false,
		"/a%2ehtml":       false, // percent-encoded, even when harmless
		"/.hidden":        false,
		"a.html":          false, // not absolute
		"/a\\b":           false,
		"/caf\u00e9.html": true,
		"/docs/%zz":       false,
	} {
		if got := Canonical(p); got != want {
			t.Errorf("Canonical(%q) = %v, want %v", p, got, want)
		}
	}
}

// A path of exactly maxPathLen bytes is considered; one byte more is not.
func TestPathLengthLimit(t *testing.T) {
	seg := strings.Repeat("n", 200)
	p := ""
	for len(p)+1+len(seg) <= maxPathLen {
		p += "/" + seg
	}
	p += "/" + strings.Repeat("n", maxPathLen-len(p)-1)
	if len(p) != maxPathLen {
		t.Fatalf("built %d bytes", len(p))
	}
	if !Canonical(p) {
		t.Errorf("a canonical path of %d bytes refused", len(p))
	}
	if Canonical(p + "n") {
		t.Errorf("a path of %d bytes accepted", len(p)+1)
	}
}

// A chain of maxSymlinks links resolves (as os.Root allows it); one more
// link is refused.
func TestSymlinkChainLimit(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "target.txt"), []byte("end"), 0o644); err != nil {
		t.Fatal(err)
	}
	prev := "target.txt"
	for i := 1; i <= maxSymlinks+1; i++ {
		name := "l" + strconv.Itoa(i)
		if err := os.Symlink(prev, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		prev = name
	}
	s := openSite(t, dir)
	r := s.Resolve("/l"+strconv.Itoa(maxSymlinks), nil)
	if r.Kind != File {
		t.Fatalf("a chain of %d links: %v", maxSymlinks, r.Kind)
	}
	r.File.Close()
	if r := s.Resolve("/l"+strconv.Itoa(maxSymlinks+1), nil); r.Kind != NotFound {
		if r.File != nil {
			r.File.Close()
		}
		t.Fatalf("a chain of %d links: %v", maxSymlinks+1, r.Kind)
	}
}

// A name starting with a colon still links as a relative path, and sizes
// change unit exactly at each power of 1024.
func TestListingFormatting(t *testing.T) {
	if got := relativeHref(":x.txt"); got != "./:x.txt" {
		t.Errorf("relativeHref(%q) = %q", ":x.txt", got)
	}
	if got := relativeHref("a:b/"); got != "./a:b/" {
		t.Errorf("relativeHref(%q) = %q", "a:b/", got)
	}
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1 << 20: "1.0 MiB",
		1 << 30: "1.0 GiB", 1 << 62: "4.0 EiB",
	} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
