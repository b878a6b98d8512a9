//go:build unix

package static

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// row is one rendered listing line: href and label as they appear in the
// HTML (escaped), the exact byte count from the title attribute ("" for a
// folder), the human-readable size cell and the hits cell.
type row struct{ href, label, bytes, size, hits string }

var rowRE = regexp.MustCompile(`<tr><td><a href="([^"]*)">([^<]*)</a></td><td class="n"(?: title="(\d+) bytes")?>([^<]*)</td><td class="n">([^<]*)</td></tr>`)

func rows(body []byte) []row {
	var out []row
	for _, m := range rowRE.FindAllStringSubmatch(string(body), -1) {
		out = append(out, row{m[1], m[2], m[3], m[4], m[5]})
	}
	return out
}

func buildListingTree(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	sizes := map[string]int64{
		"a b.png":            1500,
		"100%.txt":           10,
		"q?x#y.txt":          0,
		"<b>&.txt":           1,
		"a:b.txt":            1023,
		"Zeta.txt":           1024,
		"alpha.txt":          2,
		"big.bin":            3 << 20,
		".hidden":            5,
		"sub dir/inner.txt":  4,
		"Beta/.keep":         0,
		"<x>/f.txt":          3,
		"../outside/out.txt": 7,
	}
	for name, size := range sizes {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, size); err != nil {
			t.Fatal(err)
		}
	}
	for name, dest := range map[string]string{
		"link-hidden": ".hidden",
		"link-ok":     "sub dir",
		"link-file":   "alpha.txt",
		"link-out":    "../outside",
		"link-loop":   "link-loop",
	} {
		if err := os.Symlink(dest, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestListingRoot(t *testing.T) {
	site := openSite(t, buildListingTree(t))
	hits := map[string]uint64{"/a b.png": 7, "/sub dir/": 3, "/<b>&.txt": 2, "/link-ok/": 1, "/sub dir/inner.txt": 99}
	r := site.Resolve("/", func(p string) uint64 { return hits[p] })
	if r.Kind != Listing || r.Path != "/" || r.ContentType != "text/html; charset=utf-8" {
		t.Fatalf("Resolve(/) = %v %q %q", r.Kind, r.Path, r.ContentType)
	}
	body := string(r.Body)
	if !strings.HasPrefix(body, "<!DOCTYPE html>\n") || !strings.HasSuffix(body, "</html>\n") ||
		!strings.Contains(body, "<title>Index of /</title>") {
		t.Errorf("not a complete page titled with the folder:\n%s", body)
	}
	want := []row{
		// Folders first, then files; case-insensitive by name.
		{"%3Cx%3E/", "&lt;x&gt;/", "", "&mdash;", "0"},
		{"Beta/", "Beta/", "", "&mdash;", "0"},
		{"link-ok/", "link-ok/", "", "&mdash;", "1"},
		{"sub%20dir/", "sub dir/", "", "&mdash;", "3"},
		{"100%25.txt", "100%.txt", "10", "10 B", "0"},
		{"%3Cb%3E&amp;.txt", "&lt;b&gt;&amp;.txt", "1", "1 B", "2"},
		{"a%20b.png", "a b.png", "1500", "1.5 KiB", "7"},
		{"./a:b.txt", "a:b.txt", "1023", "1023 B", "0"},
		{"alpha.txt", "alpha.txt", "2", "2 B", "0"},
		{"big.bin", "big.bin", "3145728", "3.0 MiB", "0"},
		{"link-file", "link-file", "2", "2 B", "0"},
		{"q%3Fx%23y.txt", "q?x#y.txt", "0", "0 B", "0"},
		{"Zeta.txt", "Zeta.txt", "1024", "1.0 KiB", "0"},
	}
	got := rows(r.Body)
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d:\n%s", len(got), len(want), body)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, hidden := range []string{".hidden", "link-hidden", "link-out", "link-loop", `href="../"`} {
		if strings.Contains(body, hidden) {
			t.Errorf("root listing mentions %q", hidden)
		}
	}
}

func TestListingSubfolder(t *testing.T) {
	site := openSite(t, buildListingTree(t))
	hits := map[string]uint64{"/sub dir/inner.txt": 4, "/<x>/f.txt": 5}
	for _, tc := range []struct {
		path, title string
		want        []row
	}{
		{"/sub%20dir/", "/sub dir/", []row{
			{"../", "../", "", "", ""},
			{"inner.txt", "inner.txt", "4", "4 B", "4"},
		}},
		{"/%3Cx%3E/", "/&lt;x&gt;/", []row{
			{"../", "../", "", "", ""},
			{"f.txt", "f.txt", "3", "3 B", "5"},
		}},
		// Hits are keyed by the path asked for, not the symlink's target.
		{"/link-ok/", "/link-ok/", []row{
			{"../", "../", "", "", ""},
			{"inner.txt", "inner.txt", "4", "4 B", "0"},
		}},
		{"/Beta/", "/Beta/", []row{
			{"../", "../", "", "", ""},
		}},
	} {
		r := site.Resolve(tc.path, func(p string) uint64 { return hits[p] })
		if r.Kind != Listing {
			t.Errorf("%s: Kind %v", tc.path, r.Kind)
			continue
		}
		if !strings.Contains(string(r.Body), "<title>Index of "+tc.title+"</title>") {
			t.Errorf("%s: title not %q:\n%s", tc.path, tc.title, r.Body)
		}
		got := rows(r.Body)
		if len(got) != len(tc.want) {
			t.Errorf("%s: rows %+v, want %+v", tc.path, got, tc.want)
			continue
		}
		for i := range tc.want {
			if got[i] != tc.want[i] {
				t.Errorf("%s: row %d = %+v, want %+v", tc.path, i, got[i], tc.want[i])
			}
		}
	}
}

// Every link on a listing page must resolve, followed the way a browser
// would: relative to the folder, percent-encoded as written.
func TestListingLinksResolve(t *testing.T) {
	root, _ := buildTree(t)
	site := openSite(t, root)
	for _, folder := range []string{"/docs/", "/docs/notes/", "/link-dir/"} {
		r := site.Resolve(folder, nil)
		if r.Kind != Listing {
			t.Fatalf("%s: Kind %v", folder, r.Kind)
		}
		for _, rw := range rows(r.Body) {
			href := strings.ReplaceAll(strings.TrimPrefix(rw.href, "./"), "&amp;", "&")
			if href == "../" {
				continue
			}
			got := site.Resolve(folder+href, nil)
			if got.File != nil {
				got.File.Close()
			}
			if got.Kind != File && got.Kind != Listing {
				t.Errorf("%s lists %q, which resolves to %v", folder, href, got.Kind)
			}
		}
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1434: "1.4 KiB", 102400: "100.0 KiB",
		1 << 20: "1.0 MiB", 5 << 30: "5.0 GiB", 1 << 62: "4.0 EiB",
	} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
