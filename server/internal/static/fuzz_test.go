//go:build unix

package static

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzResolve checks the invariants that hold for any input: no panic, a
// served file is one of the visible regular files under the root (never
// outside it, never hidden, never reached through a hidden folder), a
// listing shows no hidden entry, and a redirect stays on this host.
func FuzzResolve(f *testing.F) {
	root, _ := buildTree(f)
	site := openSite(f, root)
	visible := visibleFiles(f, root)
	for _, tc := range catalogue {
		f.Add(tc.path)
	}
	f.Fuzz(func(t *testing.T, path string) {
		r := site.Resolve(path, func(string) uint64 { return 1 })
		switch r.Kind {
		case NotFound:
			if !isZero(r) {
				t.Fatalf("NotFound result carries data: %+v", r)
			}
		case File:
			defer r.File.Close()
			fi, err := r.File.Stat()
			if err != nil {
				t.Fatal(err)
			}
			if !isVisible(fi, visible) {
				t.Fatalf("Resolve(%q) opened %s, not a visible file under the root", path, r.File.Name())
			}
			body, err := io.ReadAll(io.LimitReader(r.File, 1<<20))
			if err != nil || strings.Contains(string(body), secretMark) {
				t.Fatalf("Resolve(%q) served a secret (%v): %q", path, err, body)
			}
			checkHitPath(t, path, r.Path)
		case Listing:
			checkHitPath(t, path, r.Path)
			if !strings.HasSuffix(r.Path, "/") {
				t.Fatalf("Resolve(%q) listing Path %q without slash", path, r.Path)
			}
			body := string(r.Body)
			if strings.Contains(body, secretMark) ||
				strings.Contains(strings.ReplaceAll(body, `">../</a>`, ""), `">.`) {
				t.Fatalf("Resolve(%q) listing shows a hidden entry:\n%s", path, body)
			}
		case Redirect:
			loc := r.Location
			if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || !strings.HasSuffix(loc, "/") {
				t.Fatalf("Resolve(%q) redirects to %q", path, loc)
			}
			for i := 0; i < len(loc); i++ {
				if c := loc[i]; c <= ' ' || c >= 0x7f || c == '\\' {
					t.Fatalf("Resolve(%q) redirects to %q: byte %#x not escaped", path, loc, c)
				}
			}
		default:
			t.Fatalf("Resolve(%q) returned Kind %v", path, r.Kind)
		}
	})
}

// checkHitPath asserts a hit key is absolute, clean and names nothing hidden.
func checkHitPath(t *testing.T, req, p string) {
	t.Helper()
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.Contains(p, "\\") {
		t.Fatalf("Resolve(%q).Path = %q: not clean", req, p)
	}
	for seg := range strings.SplitSeq(strings.Trim(p, "/"), "/") {
		if strings.HasPrefix(seg, ".") {
			t.Fatalf("Resolve(%q).Path = %q: hidden or dot segment", req, p)
		}
	}
}

// visibleFiles lists the regular files under root whose real path has no
// hidden component: the only files Resolve may ever open.
func visibleFiles(tb testing.TB, root string) []fs.FileInfo {
	tb.Helper()
	var out []fs.FileInfo
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, fi)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func isVisible(fi fs.FileInfo, visible []fs.FileInfo) bool {
	for _, v := range visible {
		if os.SameFile(fi, v) {
			return true
		}
	}
	return false
}
