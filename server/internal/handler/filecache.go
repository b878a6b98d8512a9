package handler

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"httplab/httplab-server/internal/static"
)

// The file cache keeps the bytes of small files that were served, so that
// serving one again costs at most one lstat per path component instead of
// the ten or so system calls of resolving, opening and reading it (Go's
// os.File alone spends four fcntl and a failing epoll_ctl on every regular
// file it opens). It never serves what the tree no longer holds for longer
// than cacheRecheck:
//
//   - Entries are made only from what static.Resolve served as a file, and
//     only for canonical paths (no percent-encoding, no empty, "." or ".."
//     segments, no trailing slash) that resolved without a symlink, so the
//     path names exactly the components walked, and the number of entries is
//     bounded by the files in the tree, not by the URLs clients invent.
//   - A hit more than cacheRecheck after the entry was last checked lstats
//     each component again, through the same os.Root: each must be the same
//     folder (device and inode), still not a symlink, and the file must be
//     the same inode with the same size, modification and change times. Any
//     difference, or any error, drops the entry and the request takes the
//     ordinary path, which applies every rule afresh. Hits within
//     cacheRecheck of a check trust it: under load most hits then cost no
//     system call at all (the lstat was 4 % of the server's CPU for a small
//     file, by perf), and a change to the tree shows in every request that
//     starts a millisecond after it, which no client can tell from the
//     same request arriving a moment earlier.
//   - A file changed within the last cacheSettle is not cached: file times
//     come from a clock that ticks every few milliseconds, so two writes in
//     one tick could leave the times unchanged ("racy git"). The change time
//     cannot be set by users, so a write after settling always shows.
//
// Files up to cacheMaxFile are cached, not only the small ones sent in one
// write: the resolve, open, fstat and close of the file path were the
// 100 KiB gap to nginx (pprof and strace, docs/performance.md). Where the
// kernel can send a file by offset (sendFileAt), a cached file larger than
// smallFile also keeps its file open, and goes out with the head's write
// (held back with MSG_MORE, see closing.WriteHeld) and sendfile: the kernel sends
// from the page cache, without the copy from memory that a write makes,
// which was most of the rest of the gap. Without MSG_MORE the head left in
// a segment of its own and the saving was lost (measured twice and
// rejected before the flag was tried; docs/performance.md). Its
// bytes stay in memory too, for connections that are not TCP and for a
// response whose entry is dropped (and its file closed) while it is sent.
const (
	cacheMaxEntries = 4096
	cacheMaxBytes   = 16 << 20
	cacheMaxFile    = 256 << 10
	cacheSettle     = time.Duration(2e9) // 2 s; a literal, so no mutant of the constant goes unseen
	// cacheMaxOpenFiles bounds the descriptors the cache holds open (see
	// openFileBudget for the bound under a low descriptor limit).
	cacheMaxOpenFiles = 128
	cacheRecheck      = time.Millisecond
)

type cachedFile struct {
	path        string // hit key; equal to the request path
	names       []string
	ids         []fileID // one per component; the last is the file
	body        []byte
	contentType string
	extra       []string // the Last-Modified header, as response.Head wants it
	modTime     time.Time
	checked     atomic.Int64 // when the components were last found unchanged, by fileCache.clock
	// file is the open file, for a body over smallFile where sendFileAt
	// works; nil otherwise. Closed when the entry is dropped: a response
	// still sending it then goes on from body.
	file *os.File
}

// fileID is what must not change for a cached component to stay valid.
// Where the platform gives no inode and change time (statID fails), no
// file is ever cached and every request takes the ordinary path.
type fileID struct {
	dev, ino     uint64
	mode         fs.FileMode // type bits
	size         int64
	mtime, ctime int64 // nanoseconds since the epoch
}

func idOf(fi fs.FileInfo) (fileID, bool) {
	dev, ino, ctime, ok := statID(fi)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: dev, ino: ino, mode: fi.Mode().Type(), size: fi.Size(),
		mtime: fi.ModTime().UnixNano(), ctime: ctime}, true
}

type fileCache struct {
	root    *os.Root
	settle  time.Duration // cacheSettle; tests shorten it
	recheck time.Duration // cacheRecheck; tests set it to 0 or make it long
	// clock reads a monotonic clock in nanoseconds and wall the time of
	// day, which file times are compared with: whatever clock the handler
	// was given, file changes happen in real time. Tests replace them.
	clock func() int64
	wall  func() time.Time
	// maxEntries, maxBytes, maxFiles: cacheMaxEntries, cacheMaxBytes,
	// cacheMaxOpenFiles; tests shrink them.
	maxEntries, maxBytes, maxFiles int
	files                          int // open, under mu
	// m is replaced, never modified, so lookups take no lock; fills and
	// drops are rare and copy it under mu.
	m     atomic.Pointer[map[string]*cachedFile]
	mu    sync.Mutex
	bytes int
}

func newFileCache(root *os.Root) *fileCache {
	c := &fileCache{root: root, settle: cacheSettle, recheck: cacheRecheck, clock: monotonic, wall: time.Now,
		maxEntries: cacheMaxEntries, maxBytes: cacheMaxBytes, maxFiles: openFileBudget()}
	c.m.Store(&map[string]*cachedFile{})
	return c
}

// lookup returns the cached file for path if it is still valid.
func (c *fileCache) lookup(path string) *cachedFile {
	e := (*c.m.Load())[path]
	if e == nil {
		return nil
	}
	now := c.clock()
	if now-e.checked.Load() < int64(c.recheck) {
		return e
	}
	if !c.valid(e) {
		c.drop(path, e)
		return nil
	}
	e.checked.Store(now)
	return e
}

var epoch = time.Now()

func monotonic() int64 { return int64(time.Since(epoch)) }

func (c *fileCache) valid(e *cachedFile) bool {
	rel := ""
	for i, name := range e.names {
		if i == 0 {
			rel = name
		} else {
			rel = e.path[1 : len(rel)+2+len(name)] // the path's own prefix: no allocation
		}
		fi, err := c.root.Lstat(rel)
		if err != nil {
			return false
		}
		id, ok := idOf(fi)
		if !ok {
			return false
		}
		want := e.ids[i]
		if i < len(e.names)-1 {
			// A folder: the same one, and still not a symlink.
			if id.dev != want.dev || id.ino != want.ino || id.mode != want.mode {
				return false
			}
			continue
		}
		if id != want {
			return false
		}
	}
	return true
}

// fill caches body as the content of the file Resolve served for path, if
// the path and the file qualify. body is copied. Settling is judged by the
// real clock, as the file system's times are, whatever clock the handler
// was given.
func (c *fileCache) fill(path, hitPath, contentType, lastModified string, body []byte, served fs.FileInfo) {
	if c.wants(path, hitPath, served) {
		c.keep(path, contentType, lastModified, append([]byte(nil), body...), served)
	}
}

// wants reports, without reading the file, whether fill would likely keep
// it: the caller reads a large file into memory only when it would.
func (c *fileCache) wants(path, hitPath string, served fs.FileInfo) bool {
	if path != hitPath || served.Size() > cacheMaxFile || !static.Canonical(path) {
		return false
	}
	servedID, ok := idOf(served)
	if !ok {
		return false
	}
	settled := c.wall().Add(-c.settle).UnixNano()
	if servedID.ctime > settled || servedID.mtime > settled {
		return false
	}
	c.mu.Lock()
	room := len(*c.m.Load()) < c.maxEntries && c.bytes+int(served.Size()) <= c.maxBytes
	c.mu.Unlock()
	return room && (*c.m.Load())[path] == nil
}

// keep caches body, which it now owns, for path; wants must have said yes.
func (c *fileCache) keep(path, contentType, lastModified string, body []byte, served fs.FileInfo) {
	servedID, ok := idOf(served)
	if !ok || servedID.size != int64(len(body)) {
		return
	}
	names := strings.Split(path[1:], "/")
	ids := make([]fileID, len(names))
	for i := range names {
		fi, err := c.root.Lstat(strings.Join(names[:i+1], "/"))
		if err != nil {
			return
		}
		id, ok := idOf(fi)
		if !ok || id.mode&fs.ModeSymlink != 0 {
			return
		}
		if i < len(names)-1 && !fi.IsDir() {
			return
		}
		ids[i] = id
	}
	// The walk must have reached the very file that was read.
	if ids[len(ids)-1] != servedID {
		return
	}
	e := &cachedFile{path: path, names: names, ids: ids, body: body,
		contentType: contentType, extra: []string{"Last-Modified", lastModified}, modTime: served.ModTime()}
	e.checked.Store(c.clock())
	if len(body) > smallFile && canSendFile {
		e.file = c.open(path[1:], servedID)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if old[path] != nil || len(old) >= c.maxEntries || c.bytes+len(body) > c.maxBytes {
		if e.file != nil {
			_ = e.file.Close()
		}
		return
	}
	if e.file != nil {
		if c.files < c.maxFiles {
			c.files++
		} else {
			_ = e.file.Close()
			e.file = nil
		}
	}
	m := make(map[string]*cachedFile, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[path] = e
	c.bytes += len(body)
	c.m.Store(&m)
}

func (c *fileCache) drop(path string, e *cachedFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if old[path] != e {
		return
	}
	m := make(map[string]*cachedFile, len(old))
	for k, v := range old {
		if k != path {
			m[k] = v
		}
	}
	c.bytes -= len(e.body)
	c.m.Store(&m)
	if e.file != nil {
		// A response sending it keeps the descriptor until its sendfile
		// returns (os.File counts its users), then goes on from memory.
		_ = e.file.Close()
		c.files--
	}
}

// open opens rel for sending, if it is still the file that was read.
func (c *fileCache) open(rel string, want fileID) *os.File {
	f, err := c.root.Open(rel)
	if err != nil {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil
	}
	if id, ok := idOf(fi); !ok || id != want {
		_ = f.Close()
		return nil
	}
	return f
}

// errFileGone: a cached file can no longer be sent from its descriptor.
var errFileGone = errors.New("cached file closed or shortened")
