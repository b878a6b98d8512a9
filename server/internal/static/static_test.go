//go:build unix

package static

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type resolveCase struct {
	path     string
	kind     Kind
	hit      string // Result.Path for File and Listing
	location string // Result.Location for Redirect
	same     string // File: the file under root that must have been opened
}

// catalogue is the traversal catalogue: each entry is a request path and
// what it must resolve to in the tree of buildTree. It doubles as the seed
// corpus of FuzzResolve.
var catalogue = []resolveCase{
	// Served.
	{path: "/", kind: File, hit: "/", same: "index.html"},
	{path: "/index.html", kind: File, hit: "/index.html", same: "index.html"},
	{path: "//index.html", kind: File, hit: "/index.html", same: "index.html"},
	{path: "/a%20b.png", kind: File, hit: "/a b.png", same: "a b.png"},
	{path: "/a b.png", kind: File, hit: "/a b.png", same: "a b.png"},
	{path: "/caf%C3%A9.txt", kind: File, hit: "/café.txt", same: "café.txt"},
	{path: "/café.txt", kind: File, hit: "/café.txt", same: "café.txt"},
	{path: "/%73tyle.css", kind: File, hit: "/style.css", same: "style.css"},
	{path: "/books/", kind: File, hit: "/books/", same: "books/index.html"},
	{path: "/books//", kind: File, hit: "/books/", same: "books/index.html"},
	{path: "/books/index.html", kind: File, hit: "/books/index.html", same: "books/index.html"},
	{path: "/books//ch1.html", kind: File, hit: "/books/ch1.html", same: "books/ch1.html"},
	{path: "/docs/", kind: Listing, hit: "/docs/"},
	{path: "/docs/notes/", kind: Listing, hit: "/docs/notes/"},
	{path: "/docs/read%20me.html", kind: File, hit: "/docs/read me.html", same: "docs/read me.html"},
	{path: "/docs/notes/empty.json", kind: File, hit: "/docs/notes/empty.json", same: "docs/notes/empty.json"},
	{path: "/weird%20dir%3F%23%25/f.txt", kind: File, hit: "/weird dir?#%/f.txt", same: "weird dir?#%/f.txt"},
	// Symlinks that stay inside the root and away from hidden names.
	{path: "/link-ok.html", kind: File, hit: "/link-ok.html", same: "index.html"},
	{path: "/link-chain", kind: File, hit: "/link-chain", same: "index.html"},
	{path: "/link-dir/", kind: Listing, hit: "/link-dir/"},
	{path: "/link-dir/read%20me.html", kind: File, hit: "/link-dir/read me.html", same: "docs/read me.html"},
	{path: "/docs/up", kind: File, hit: "/docs/up", same: "index.html"},
	{path: "/docs/link-dotdot/", kind: File, hit: "/docs/link-dotdot/", same: "index.html"},
	{path: "/docs/link-dot", kind: File, hit: "/docs/link-dot", same: "docs/notes/todo.txt"},
	// Folders without their slash; the Location is rebuilt from the cleaned
	// segments, so it never starts "//" (CVE-2021-28861).
	{path: "/books", kind: Redirect, location: "/books/"},
	{path: "//books", kind: Redirect, location: "/books/"},
	{path: "//evil.com", kind: Redirect, location: "/evil.com/"},
	{path: "///evil.com", kind: Redirect, location: "/evil.com/"},
	{path: "/docs//notes", kind: Redirect, location: "/docs/notes/"},
	{path: "/weird%20dir%3F%23%25", kind: Redirect, location: "/weird%20dir%3F%23%25/"},
	{path: "/link-dir", kind: Redirect, location: "/link-dir/"},
	{path: "/docs/link-dotdot", kind: Redirect, location: "/docs/link-dotdot/"},

	// Not absolute, unparsable, or nothing there.
	{path: ""},
	{path: "index.html"},
	{path: "*"},
	{path: "http://example.com/index.html"},
	{path: "/nope.html"},
	{path: "/index.html/"},
	{path: "/books/ch1.html/"},
	{path: "/%zz"},
	{path: "/%"},
	{path: "/%2"},
	{path: "/index.html%"},
	{path: "/index.html?x=1"},
	{path: "/index.html#top"},
	// Hidden names, at any depth and however encoded.
	{path: "/.env"},
	{path: "/%2eenv"},
	{path: "/%2Eenv"},
	{path: "/.secret"},
	{path: "/.secret/"},
	{path: "/.secret/key"},
	{path: "/%2esecret/key"},
	{path: "/docs/.hidden.txt"},
	{path: "/docs/sub/.git/config"},
	{path: "/docs/sub/%2Egit/config"},
	{path: "/docs/sub/.git/"},
	// Dot segments are refused, not cleaned away.
	{path: "/."},
	{path: "/.."},
	{path: "/./index.html"},
	{path: "/%2e/index.html"},
	{path: "/books/."},
	{path: "/books/../index.html"},
	{path: "/books/%2e%2e/index.html"},
	{path: "/../outside/secret.txt"},
	{path: "/%2e%2e/outside/secret.txt"},
	{path: "/%2E%2E/outside/secret.txt"},
	{path: "/%2E./outside/secret.txt"},
	{path: "/.%2e/outside/secret.txt"},
	{path: "/books/" + strings.Repeat("../", 50) + "etc/passwd"},
	// Encoded separators (CVE-2014-4650).
	{path: "/books%2Findex.html"},
	{path: "/books%2findex.html"},
	{path: "/..%2foutside%2fsecret.txt"},
	{path: "/books/..%2F..%2Foutside/secret.txt"},
	{path: "/%2F%2Fevil.com"},
	{path: "/%2F%2Fevil.com/"},
	{path: "/%2fetc/passwd"},
	// Backslashes, raw and encoded (CVE-2026-27585).
	{path: "/books\\index.html"},
	{path: "\\index.html"},
	{path: "/..\\outside\\secret.txt"},
	{path: "/books%5cindex.html"},
	{path: "/books%5Cindex.html"},
	{path: "/..%5coutside%5csecret.txt"},
	{path: "/%5c%5cevil.com/"},
	// NUL and other control characters.
	{path: "/index.html%00"},
	{path: "/index.html%00.png"},
	{path: "/%00"},
	{path: "/in%0adex.html"},
	{path: "/index.html%0d%0aSet-Cookie:%20x=y"},
	{path: "/index.html%7f"},
	{path: "/%c2%85index.html"},
	// Absolute paths of the host, read under the root, miss.
	{path: "///etc/passwd"},
	{path: "/etc/passwd"},
	// Double encoding decodes once, to a literal "%2e%2e" name that is not there.
	{path: "/%252e%252e/outside/secret.txt"},
	{path: "/%252e%252e%252foutside%252fsecret.txt"},
	// Overlong UTF-8 forms of "." and "/" are just bytes; they name nothing.
	{path: "/%c0%ae%c0%ae/outside/secret.txt"},
	{path: "/%c0%ae%c0%ae%c0%afoutside%c0%afsecret.txt"},
	{path: "/%e0%80%ae%e0%80%ae/outside/secret.txt"},
	{path: "/%c0%af"},
	// Symlinks out of the root, absolute, into hidden names, looping, dangling.
	{path: "/link-out"},
	{path: "/link-out-dir"},
	{path: "/link-out-dir/"},
	{path: "/link-out-dir/secret.txt"},
	{path: "/link-abs"},
	{path: "/link-abs-inside"},
	{path: "/books/link-up-out"},
	{path: "/link-hidden"},
	{path: "/link-env"},
	{path: "/link-via-hidden"},
	{path: "/link-hidden-dir"},
	{path: "/link-hidden-dir/"},
	{path: "/link-hidden-dir/key"},
	{path: "/docs/link-git/config"},
	{path: "/loop1"},
	{path: "/link-dangling"},
	// Neither a regular file nor a folder.
	{path: "/fifo"},
	{path: "/link-fifo"},
	// Very long paths.
	{path: "/" + strings.Repeat("a/", 3000)},
	{path: "/" + strings.Repeat("x", 300)},
	{path: "/" + strings.Repeat("%2e%2e/", 600) + "etc/passwd"},
	{path: strings.Repeat("/", 5000) + "index.html"},
}

func TestResolveCatalogue(t *testing.T) {
	root, _ := buildTree(t)
	site := openSite(t, root)
	for _, tc := range catalogue {
		name := tc.path
		if len(name) > 60 {
			name = name[:60] + "..."
		}
		t.Run(name, func(t *testing.T) {
			r := site.Resolve(tc.path, nil)
			if r.File != nil {
				defer r.File.Close()
			}
			if r.Kind != tc.kind {
				t.Fatalf("Resolve(%q).Kind = %v, want %v", tc.path, r.Kind, tc.kind)
			}
			switch tc.kind {
			case NotFound:
				if !isZero(r) {
					t.Errorf("NotFound result carries data: %+v", r)
				}
			case File:
				if r.Path != tc.hit {
					t.Errorf("Path = %q, want %q", r.Path, tc.hit)
				}
				checkSameFile(t, r, filepath.Join(root, filepath.FromSlash(tc.same)))
			case Listing:
				if r.Path != tc.hit {
					t.Errorf("Path = %q, want %q", r.Path, tc.hit)
				}
				if r.ContentType != "text/html; charset=utf-8" || len(r.Body) == 0 {
					t.Errorf("listing: ContentType %q, %d bytes", r.ContentType, len(r.Body))
				}
				if strings.Contains(string(r.Body), secretMark) {
					t.Errorf("listing reveals a secret:\n%s", r.Body)
				}
			case Redirect:
				if r.Location != tc.location {
					t.Errorf("Location = %q, want %q", r.Location, tc.location)
				}
				if r.Path != "" || r.File != nil {
					t.Errorf("Redirect carries Path %q / File", r.Path)
				}
			}
		})
	}
}

// checkSameFile asserts r opened want and reports its size and content.
func checkSameFile(t *testing.T, r Result, want string) {
	t.Helper()
	wfi, err := os.Stat(want)
	if err != nil {
		t.Fatal(err)
	}
	gfi, err := r.File.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(wfi, gfi) {
		t.Errorf("opened %s, want %s", r.File.Name(), want)
	}
	if r.Size != wfi.Size() || !r.ModTime.Equal(wfi.ModTime()) {
		t.Errorf("Size, ModTime = %d, %v; want %d, %v", r.Size, r.ModTime, wfi.Size(), wfi.ModTime())
	}
	body, err := io.ReadAll(r.File)
	if err != nil {
		t.Fatal(err)
	}
	wbody, _ := os.ReadFile(want)
	if string(body) != string(wbody) {
		t.Errorf("body %q, want %q", body, wbody)
	}
}

func TestResolveContentType(t *testing.T) {
	root, _ := buildTree(t)
	site := openSite(t, root)
	for path, want := range map[string]string{
		"/":                      "text/html; charset=utf-8",
		"/books/":                "text/html; charset=utf-8",
		"/style.css":             "text/css; charset=utf-8",
		"/a%20b.png":             "image/png",
		"/café.txt":              "text/plain; charset=utf-8",
		"/UPPER.TXT":             "text/plain; charset=utf-8",
		"/docs/notes/empty.json": "application/json",
		// A symlink is typed by the name asked for, as nginx does.
		"/link-ok.html": "text/html; charset=utf-8",
		"/link-chain":   "application/octet-stream",
	} {
		r := site.Resolve(path, nil)
		if r.Kind != File {
			t.Errorf("%s: Kind %v", path, r.Kind)
			continue
		}
		r.File.Close()
		if r.ContentType != want {
			t.Errorf("%s: ContentType %q, want %q", path, r.ContentType, want)
		}
	}
}

func TestContentType(t *testing.T) {
	for name, want := range map[string]string{
		"a.html": "text/html; charset=utf-8", "a.HTM": "text/html; charset=utf-8",
		"a.css": "text/css; charset=utf-8", "a.js": "text/javascript; charset=utf-8",
		"a.json": "application/json", "a.txt": "text/plain; charset=utf-8",
		"a.png": "image/png", "a.jpg": "image/jpeg", "a.JPEG": "image/jpeg", "a.gif": "image/gif",
		"a.svg": "image/svg+xml", "a.ico": "image/x-icon", "a.pdf": "application/pdf",
		"a.woff2": "font/woff2", "a.bin": "application/octet-stream",
		"a": "application/octet-stream", "a.": "application/octet-stream",
		"a.unknown-ext": "application/octet-stream",
	} {
		if got := ContentType(name); got != want {
			t.Errorf("ContentType(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	tmp := t.TempDir()
	missing := filepath.Join(tmp, "no-such-dir")
	if _, err := Open(missing); err == nil || !strings.Contains(err.Error(), missing) ||
		!strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Open(missing) error = %v", err)
	}
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file); err == nil || !strings.Contains(err.Error(), file) ||
		!strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Open(file) error = %v", err)
	}

	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	s := openSite(t, ".")
	if s.Dir() != wd {
		t.Errorf("Dir() = %q, want %q", s.Dir(), wd)
	}
	if s.Root() == nil {
		t.Error("Root() is nil")
	}
}

// TestResolveRequestTargets shows how a handler feeds Resolve: the request
// is parsed with net/http.ReadRequest and Resolve gets r.URL.EscapedPath(),
// which keeps "%2F" encoded where r.URL.Path would have decoded it.
func TestResolveRequestTargets(t *testing.T) {
	root, _ := buildTree(t)
	site := openSite(t, root)
	for _, tc := range []struct {
		target   string
		kind     Kind
		hit      string
		location string
	}{
		{target: "/a%20b.png", kind: File, hit: "/a b.png"},
		{target: "/index.html?q=1", kind: File, hit: "/index.html"},
		{target: "http://localhost:8080/books/ch1.html", kind: File, hit: "/books/ch1.html"},
		{target: "/books?x=1", kind: Redirect, location: "/books/"},
		{target: "//evil.com", kind: Redirect, location: "/evil.com/"},
		{target: "/docs/", kind: Listing, hit: "/docs/"},
		{target: "/books%2Fch1.html", kind: NotFound},
		{target: "/%2e%2e/outside/secret.txt", kind: NotFound},
		{target: "/..%5coutside%5csecret.txt", kind: NotFound},
		{target: "/index.html%00", kind: NotFound},
		{target: "/.env", kind: NotFound},
	} {
		raw := "GET " + tc.target + " HTTP/1.0\r\nHost: x\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Errorf("%s: ReadRequest: %v", tc.target, err)
			continue
		}
		r := site.Resolve(req.URL.EscapedPath(), nil)
		if r.File != nil {
			r.File.Close()
		}
		if r.Kind != tc.kind || r.Path != tc.hit || r.Location != tc.location {
			t.Errorf("%s (escaped %q): got %v %q %q, want %v %q %q", tc.target, req.URL.EscapedPath(),
				r.Kind, r.Path, r.Location, tc.kind, tc.hit, tc.location)
		}
	}
	// Targets ReadRequest refuses never reach Resolve; the handler answers 400.
	for _, target := range []string{"/%zz", "/a%", "/a b"} {
		raw := "GET " + target + " HTTP/1.0\r\n\r\n"
		if _, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw))); err == nil {
			t.Errorf("ReadRequest accepted %q", target)
		}
	}
}

func TestResolveConcurrent(t *testing.T) {
	root, _ := buildTree(t)
	site := openSite(t, root)
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 50 {
				tc := catalogue[i%len(catalogue)]
				r := site.Resolve(tc.path, nil)
				if r.File != nil {
					r.File.Close()
				}
				if r.Kind != tc.kind {
					t.Errorf("Resolve(%q) = %v, want %v", tc.path, r.Kind, tc.kind)
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

func BenchmarkResolve(b *testing.B) {
	root, _ := buildTree(b)
	site := openSite(b, root)
	for _, path := range []string{"/index.html", "/books/", "/docs/read%20me.html", "/docs/", "/.env"} {
		b.Run(path, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := site.Resolve(path, nil)
				if r.File != nil {
					r.File.Close()
				}
			}
		})
	}
}

func isZero(r Result) bool {
	return r.Kind == NotFound && r.Path == "" && r.File == nil && r.Size == 0 && r.ModTime.IsZero() &&
		r.ContentType == "" && r.Body == nil && r.Location == ""
}
