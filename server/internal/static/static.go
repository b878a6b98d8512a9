// Package static decides what a request path names under a served directory:
// a file, a folder listing, a redirect to the slashed folder path, or nothing.
//
// Everything goes through an os.Root, so no lookup can leave the directory,
// and on top of that the package refuses what os.Root allows but a public
// file server must not serve: hidden names (".env", ".git/"), symlinks whose
// target passes through a hidden name, encoded separators, backslashes,
// control characters and anything that is not a regular file or a folder.
// Writing the HTTP response is the caller's job.
package static

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Kind says what a request path resolved to.
type Kind uint8

const (
	// NotFound: missing, hidden, outside the root, or not servable.
	NotFound Kind = iota
	// File: serve Result.File.
	File
	// Listing: serve Result.Body as HTML.
	Listing
	// Redirect: a folder named without its trailing slash; 301 to Result.Location.
	Redirect
)

func (k Kind) String() string {
	switch k {
	case NotFound:
		return "NotFound"
	case File:
		return "File"
	case Listing:
		return "Listing"
	case Redirect:
		return "Redirect"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Result is what Resolve found. Only the fields of its Kind are set.
type Result struct {
	Kind Kind
	// Path is the hit key for File and Listing: percent-decoded, cleaned,
	// absolute; a folder (served by its index.html or a listing) as "/dir/".
	Path string
	// File is open for reading (Kind File); the caller must Close it.
	File *os.File
	// Info is File's fstat, taken once here; Size and ModTime are read
	// from it for convenience.
	Info    fs.FileInfo
	Size    int64
	ModTime time.Time
	// ContentType is set for File and Listing.
	ContentType string
	// Body is the complete HTML listing page (Kind Listing).
	Body []byte
	// Location is the percent-encoded slashed folder path (Kind Redirect).
	// It always starts with exactly one "/", so it can never be read as
	// "//host/..." (the CVE-2021-28861 open redirect).
	Location string
}

// Site serves files from one directory. It is safe for concurrent use.
type Site struct {
	root *os.Root
	dir  string
}

// Open opens dir as the served root.
func Open(dir string) (*Site, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("content directory %q does not exist", dir)
	} else if err != nil {
		return nil, fmt.Errorf("content directory %q: %w", dir, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("content directory %q is not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("content directory %q: %w", dir, err)
	}
	// The absolute form is only for messages; the Root keeps its own
	// descriptor, so a later chdir or rename cannot redirect lookups.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &Site{root: root, dir: dir}, nil
}

// Close releases the root directory.
func (s *Site) Close() error { return s.root.Close() }

// Dir is the served directory as an absolute path.
func (s *Site) Dir() string { return s.dir }

// Root is the underlying os.Root, for serving the same tree another way
// (the stock net/http mode). Lookups through it skip this package's rules:
// it serves hidden files and follows symlinks into hidden folders.
func (s *Site) Root() *os.Root { return s.root }

// maxPathLen bounds the work done for one request: PATH_MAX on Linux, so
// nothing longer could name a file anyway.
const maxPathLen = 4096

// maxSymlinks matches os.Root's own limit, so a chain os.Root would refuse
// is refused here first and the two never disagree.
const maxSymlinks = 8

const indexName = "index.html"

// Resolve decides what escapedPath names. escapedPath is the path of the
// request target as sent on the wire, still percent-encoded and without a
// query (for a request read with net/http.ReadRequest: r.URL.EscapedPath()).
// It must be the escaped form: decoding first would turn "a%2Fb" into two
// segments (the CVE-2014-4650 class of bug).
//
// hitsOf supplies the hit counts shown in listings; it may be nil.
func (s *Site) Resolve(escapedPath string, hitsOf func(path string) uint64) Result {
	segs, slashed, ok := splitPath(escapedPath)
	if !ok {
		return Result{}
	}
	t, ok := s.walk(target{}, segs)
	if !ok {
		return Result{}
	}
	if !t.isDir {
		if slashed {
			// "/a.html/" names no folder; refusing also keeps clear of the
			// symlink + trailing slash escapes (CVE-2026-39822).
			return Result{}
		}
		return s.openFile(t, hitKey(segs, false), segs[len(segs)-1])
	}
	if !slashed {
		return Result{Kind: Redirect, Location: escapeSegments(segs) + "/"}
	}
	folder := hitKey(segs, true)
	if it, ok := s.walk(t, []string{indexName}); ok && !it.isDir {
		if r := s.openFile(it, folder, indexName); r.Kind == File {
			return r
		}
	}
	return s.listing(t, folder, hitsOf)
}

// escapeSegments re-encodes decoded segments into an absolute path.
func escapeSegments(segs []string) string {
	if len(segs) == 0 {
		return ""
	}
	var b strings.Builder
	for _, seg := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(seg))
	}
	return b.String()
}

// target is a walked path: the real location with every symlink replaced by
// what it points at, so its names contain no symlink and no hidden name.
// infos[i] is the Lstat of names[:i+1]; an empty target is the root itself.
type target struct {
	names []string
	infos []fs.FileInfo
	isDir bool
}

// walk resolves names one at a time below the already walked from,
// expanding symlinks itself rather than leaving that to os.Root, because
// os.Root happily follows "link -> .secret/key". Every component of every
// symlink target is held to the same rules as the request, and ".." may not
// climb above the root. Only folders and regular files are ever returned.
func (s *Site) walk(from target, names []string) (target, bool) {
	// todo is a stack (last element next) so that a symlink's target can be
	// pushed in front of the names still to walk.
	todo := make([]string, len(names))
	for i, n := range names {
		todo[len(names)-1-i] = n
	}
	n := len(from.names) + len(names)
	resolved := append(make([]string, 0, n), from.names...)
	infos := append(make([]fs.FileInfo, 0, n), from.infos...)
	links := 0
	for len(todo) > 0 {
		name := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if name == "" || name == "." {
			continue
		}
		if name == ".." {
			if len(resolved) == 0 {
				return target{}, false
			}
			resolved, infos = resolved[:len(resolved)-1], infos[:len(infos)-1]
			continue
		}
		if !ServableName(name) {
			return target{}, false
		}
		rel := name
		if len(resolved) > 0 {
			rel = strings.Join(resolved, "/") + "/" + name
		}
		fi, err := s.root.Lstat(rel)
		if err != nil {
			return target{}, false
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			resolved, infos = append(resolved, name), append(infos, fi)
			continue
		}
		links++
		if links > maxSymlinks {
			return target{}, false
		}
		dest, err := s.root.Readlink(rel)
		if err != nil || dest == "" || dest[0] == '/' {
			return target{}, false
		}
		parts := strings.Split(dest, "/")
		for i := len(parts) - 1; i >= 0; i-- {
			todo = append(todo, parts[i])
		}
	}
	t := target{names: resolved, infos: infos, isDir: true}
	if len(infos) == 0 {
		return t, true
	}
	fi := infos[len(infos)-1]
	switch {
	case fi.IsDir():
		return t, true
	case fi.Mode().IsRegular():
		t.isDir = false
		return t, true
	}
	return target{}, false
}

// openFile opens a walked regular file and checks that what was opened is
// the file walk examined: if the tree changed in between (a name swapped
// for a symlink into a hidden folder), the inode differs and nothing is
// served. The remaining window (a name swapped for a FIFO just before the
// open, which would block) needs write access to the served tree.
func (s *Site) openFile(t target, hitPath, name string) Result {
	f, err := s.root.Open(strings.Join(t.names, "/"))
	if err != nil {
		return Result{}
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || !os.SameFile(fi, t.infos[len(t.infos)-1]) {
		f.Close()
		return Result{}
	}
	return Result{
		Kind:        File,
		Path:        hitPath,
		File:        f,
		Info:        fi,
		Size:        fi.Size(),
		ModTime:     fi.ModTime(),
		ContentType: ContentType(name),
	}
}
