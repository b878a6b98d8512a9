//go:build unix

package static

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// secretMark is in every file a request must never reach, so a leak shows
// up in the bytes served and not only in which inode was opened.
const secretMark = "SECRET"

// buildTree lays out a served root beside a folder it must never serve:
//
//	tmp/outside/secret.txt
//	tmp/root/...   (see files and links below)
func buildTree(tb testing.TB) (root, outside string) {
	tb.Helper()
	tmp := tb.TempDir()
	root = filepath.Join(tmp, "root")
	outside = filepath.Join(tmp, "outside")
	files := map[string]string{
		"outside/secret.txt":         "SECRET outside the root\n",
		"root/index.html":            "<h1>home</h1>\n",
		"root/style.css":             "body{}\n",
		"root/a b.png":               "\x89PNG fake image bytes\n",
		"root/café.txt":              "unicode name\n",
		"root/.env":                  "SECRET=env\n",
		"root/.secret/key":           "SECRET key\n",
		"root/books/index.html":      "<h1>books</h1>\n",
		"root/books/ch1.html":        "<h1>chapter 1</h1>\n",
		"root/docs/read me.html":     "<h1>read me</h1>\n",
		"root/docs/notes/todo.txt":   "todo\n",
		"root/docs/.hidden.txt":      "SECRET hidden\n",
		"root/docs/sub/.git/config":  "SECRET git\n",
		"root/evil.com/x.txt":        "a folder named like a host\n",
		"root/weird dir?#%/f.txt":    "weird folder\n",
		"root/UPPER.TXT":             "upper-case extension\n",
		"root/docs/notes/empty.json": "",
	}
	for name, body := range files {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	links := map[string]string{
		"link-ok.html":      "index.html",
		"link-chain":        "link-ok.html",
		"link-dir":          "docs",
		"link-out":          "../outside/secret.txt",
		"link-out-dir":      "../outside",
		"link-abs":          filepath.Join(outside, "secret.txt"),
		"link-abs-inside":   filepath.Join(root, "index.html"),
		"link-hidden":       ".secret/key",
		"link-env":          "docs/.hidden.txt",
		"link-via-hidden":   ".secret/../index.html",
		"link-hidden-dir":   ".secret",
		"loop1":             "loop2",
		"loop2":             "loop1",
		"link-dangling":     "nowhere.html",
		"books/link-up-out": "../../outside/secret.txt",
		"docs/up":           "../index.html",
		"docs/link-dotdot":  "..",
		"docs/link-dot":     "./notes/./todo.txt",
		"docs/link-git":     "sub/.git",
		"link-fifo":         "fifo",
	}
	for name, dest := range links {
		if err := os.Symlink(dest, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			tb.Fatal(err)
		}
	}
	// Opening a FIFO for reading blocks until a writer appears; serving one
	// would hang the handler, so it must be refused before any open.
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		tb.Fatal(err)
	}
	return root, outside
}

func openSite(tb testing.TB, dir string) *Site {
	tb.Helper()
	s, err := Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
