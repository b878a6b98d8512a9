package static

import (
	"bytes"
	"cmp"
	"fmt"
	"html"
	"io/fs"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

type entry struct {
	name  string
	isDir bool
	size  int64
}

// listing renders the folder at t, whose hit key is folder ("/dir/").
// Entries Resolve would refuse (hidden names, symlinks leaving the root or
// into hidden folders, devices) are left out, so every link on the page works.
func (s *Site) listing(t target, folder string, hitsOf func(string) uint64) Result {
	rel := "."
	if len(t.names) > 0 {
		rel = strings.Join(t.names, "/")
	}
	d, err := s.root.Open(rel)
	if err != nil {
		return Result{}
	}
	des, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return Result{}
	}
	entries := make([]entry, 0, len(des))
	for _, de := range des {
		if e, ok := s.entryOf(t, de); ok {
			entries = append(entries, e)
		}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if a.isDir != b.isDir {
			if a.isDir {
				return -1
			}
			return 1
		}
		return cmp.Or(
			strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name)),
			strings.Compare(a.name, b.name))
	})
	return Result{
		Kind:        Listing,
		Path:        folder,
		ContentType: "text/html; charset=utf-8",
		Body:        renderListing(folder, entries, hitsOf),
	}
}

func (s *Site) entryOf(dir target, de fs.DirEntry) (entry, bool) {
	name := de.Name()
	if !ServableName(name) {
		return entry{}, false
	}
	typ := de.Type()
	if typ.IsDir() {
		return entry{name: name, isDir: true}, true
	}
	if typ.IsRegular() {
		fi, err := de.Info()
		if err != nil {
			return entry{}, false
		}
		return entry{name: name, size: fi.Size()}, true
	}
	if typ&fs.ModeSymlink == 0 {
		return entry{}, false // a device, socket or pipe: never served
	}
	t, ok := s.walk(dir, []string{name})
	if !ok {
		return entry{}, false
	}
	e := entry{name: name, isDir: t.isDir}
	if !t.isDir {
		e.size = t.infos[len(t.infos)-1].Size()
	}
	return e, true
}

const listingStyle = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:48rem;padding:0 1rem;color:#1d2433;background:#fbfbfd}
h1{font-size:1.4rem;font-weight:600;word-break:break-all}
table{width:100%;border-collapse:collapse}
th,td{padding:.35rem .6rem;border-bottom:1px solid #e3e6ee}
th{text-align:left;font-weight:600;color:#5b6478}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
a{color:#2456c7;text-decoration:none}
a:hover{text-decoration:underline}`

// InlineIcon is the site's icon as a data URL. A page that names it asks
// for no /favicon.ico, which a browser would otherwise fetch on its own:
// one request more against the per-client rate limit for every page.
const InlineIcon = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%232456c7'/%3E%3Cpath d='M4 4h2v3h4V4h2v8h-2V9H6v3H4z' fill='%23fff'/%3E%3C/svg%3E"

func renderListing(folder string, entries []entry, hitsOf func(string) uint64) []byte {
	title := html.EscapeString(strings.ToValidUTF8(folder, "\uFFFD"))
	var b bytes.Buffer
	b.Grow(1024 + 160*len(entries))
	fmt.Fprintf(&b, `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Index of %s</title>
<link rel="icon" href="%s">
<style>
%s
</style>
</head>
<body>
<h1>Index of %s</h1>
<table>
<thead><tr><th>Name</th><th class="n">Size</th><th class="n">Hits</th></tr></thead>
<tbody>
`, title, InlineIcon, listingStyle, title)
	if folder != "/" {
		b.WriteString("<tr><td><a href=\"../\">../</a></td><td class=\"n\"></td><td class=\"n\"></td></tr>\n")
	}
	for _, e := range entries {
		href, label, key := e.name, e.name, folder+e.name
		if e.isDir {
			href, label, key = href+"/", label+"/", key+"/"
		}
		var hits uint64
		if hitsOf != nil {
			hits = hitsOf(key)
		}
		size := `<td class="n">&mdash;</td>`
		if !e.isDir {
			size = fmt.Sprintf(`<td class="n" title="%d bytes">%s</td>`, e.size, humanSize(e.size))
		}
		fmt.Fprintf(&b, "<tr><td><a href=\"%s\">%s</a></td>%s<td class=\"n\">%d</td></tr>\n",
			html.EscapeString(relativeHref(href)),
			html.EscapeString(strings.ToValidUTF8(label, "\uFFFD")),
			size, hits)
	}
	b.WriteString("</tbody>\n</table>\n</body>\n</html>\n")
	return b.Bytes()
}

// relativeHref percent-encodes one entry name (with its trailing slash for
// a folder) as a link relative to the listed folder. A name with a colon
// gets "./" in front, or "a:b.txt" would read as a URL with scheme "a".
func relativeHref(name string) string {
	slash := strings.HasSuffix(name, "/")
	esc := url.PathEscape(strings.TrimSuffix(name, "/"))
	if slash {
		esc += "/"
	}
	if strings.IndexByte(esc, ':') >= 0 {
		esc = "./" + esc
	}
	return esc
}

// humanSize formats a byte count with binary units, one decimal above 1 KiB.
func humanSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}
