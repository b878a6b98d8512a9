// Package handler serves one admitted connection: read the request head under
// a deadline and a size limit, apply the rate limit, wait the simulated
// processing delay, serve the file, count the hit, log, close. One request per
// connection, as in HTTP/1.0.
package handler

import (
	"bufio"
	"bytes"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/closing"
	"httplab/httplab-server/internal/hits"
	"httplab/httplab-server/internal/ratelimit"
	"httplab/httplab-server/internal/response"
	"httplab/httplab-server/internal/static"
	"httplab/httplab-server/internal/tally"
)

const (
	// MaxHeadBytes bounds the request line plus headers. nginx allows 4×8 KiB;
	// a static file server needs far less, and a small bound keeps a header
	// flood cheap to refuse.
	MaxHeadBytes = 16 << 10

	// smallFile: files up to this size go out with their head in one write;
	// larger ones are sent with sendfile after the head.
	smallFile = 32 << 10

	// lingerBytes bounds what a lingering close discards: a request body
	// this server never reads.
	lingerBytes = 256 << 10
)

// Options wires the handler to the rest of the server.
type Options struct {
	Site    *static.Site
	Limiter *ratelimit.Limiter // nil: no rate limit
	Hits    hits.Counter
	Tally   *tally.Requests
	Delay   time.Duration
	// Stop, when closed, cuts the simulated delay short: the server closes it
	// when the shutdown grace is over, so a long delay cannot outlast it.
	Stop         <-chan struct{}
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	Log          zerolog.Logger // access log, one line per request
	RefusalLog   zerolog.Logger // sampled: 429s
	Now          func() time.Time
	// NoFileCache turns off the cache of small files' bytes (filecache.go),
	// which never changes what is served; it exists to measure the cache.
	NoFileCache bool
	// StallTimeout: a response write that moves no byte for this long marks
	// the connection stalled (Slot.Stalled), which lets a newcomer take its
	// slot while the server is full. 0: never marked.
	StallTimeout time.Duration
}

// Slot is the admitted connection's place under the server's caps, as the
// handler reports to it (admit.Conn). A nil Slot is allowed: nothing is
// reported and nothing can be shed.
type Slot interface {
	// HeadDone: the request head is complete and the connection is working.
	// False: it was shed meanwhile, holds no slot, and must end.
	HeadDone() bool
	// Stalled: the response moves no more (true) or moves again (false).
	// False: it was shed, and must end.
	Stalled(stalled bool, now time.Time) bool
	// Shed: it lost its slot to a newcomer.
	Shed() bool
}

// Handler serves connections; it is safe for concurrent use.
type Handler struct {
	o     Options
	conns sync.Pool
	cache *fileCache // nil when off
}

// New returns a Handler. A nil Now means time.Now.
func New(o Options) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{o: o}
	if !o.NoFileCache && o.Site != nil {
		h.cache = newFileCache(o.Site.Root())
	}
	h.conns.New = func() any {
		s := &connState{buf: make([]byte, 0, smallFile+1024), hd: make([]byte, 0, 512)}
		s.br = bufio.NewReaderSize(&s.lr, 4096)
		return s
	}
	return h
}

// connState is the per-connection scratch space, pooled so that a connection
// costs no buffer allocations in steady state.
type connState struct {
	pre  prefixed // the bytes of the first read, then the connection
	lr   io.LimitedReader
	br   *bufio.Reader
	buf  []byte // file bodies and error responses
	hd   []byte // response heads sent beside a body held in buf
	head bool   // the request is a HEAD: error responses go without their body
	req  request

	slot    Slot
	now     time.Time // when the response started: its write deadline's base and its Date
	writeBy time.Time // the response's write deadline
}

// Serve handles c to completion and closes it. rateKey is the client's
// identity for the rate limiter (always its IP, whatever the cap's key);
// slot is told when the head is complete and when the response stalls.
func (h *Handler) Serve(c net.Conn, rateKey clientid.Key, slot Slot) {
	start := h.o.Now()

	// Read: the deadline stops slow clients holding a connection slot.
	_ = c.SetReadDeadline(start.Add(h.o.ReadTimeout))
	if slot != nil && slot.Shed() {
		// Shed before this deadline was set, which then undid the wake-up.
		_ = c.SetReadDeadline(time.Unix(1, 0))
	}
	// The pooled buffers (some 40 KB) are taken only once the request starts
	// to arrive: until then the connection waits with a 512-byte buffer.
	fb, first, _ := readFirst(c)
	h.serveRequest(c, rateKey, slot, start, first)
	putFirst(fb)
}

// serveRequest is the rest of Serve, kept out of it so that an idle
// connection waits in readFirst below a small frame: the goroutine then fits
// in its initial 2 KB stack, which halves the memory of 10,000 idle
// connections (the locals of the whole request would push it to 4 KB;
// reliability.TestIdleConnectionStack). A request then grows the stack once,
// here, where it is five frames deep: the copy's cost is mostly per frame,
// and grown deeper down (in setting the read deadline, before the wait) it
// cost twice as much.
//
//go:noinline
func (h *Handler) serveRequest(c net.Conn, rateKey clientid.Key, slot Slot, start time.Time, first []byte) {
	s := h.conns.Get().(*connState)
	defer h.conns.Put(s)
	s.pre = prefixed{p: first, r: c}
	s.lr = io.LimitedReader{R: &s.pre, N: MaxHeadBytes}
	s.br.Reset(&s.lr)
	s.head = false
	s.slot = slot
	defer func() { s.slot = nil }()
	req := &s.req
	err := readRequest(s.br, req)
	if err == nil && slot != nil && !slot.HeadDone() {
		// Shed while its head arrived: it holds no slot any more.
		err = os.ErrDeadlineExceeded
	}
	if err != nil {
		h.badRequest(c, s, err, start)
		return
	}
	s.head = req.method == http.MethodHead
	if req.protoMajor != 1 {
		h.finish(c, s, req, start, h.writeError(c, s, http.StatusBadRequest, "Only HTTP/1.x is spoken here."))
		return
	}
	if req.protoMinor >= 1 && req.host == "" {
		// RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400.
		h.finish(c, s, req, start, h.writeError(c, s, http.StatusBadRequest, "An HTTP/1.1 request must carry a Host header."))
		return
	}
	// The read deadline stays: nothing reads until a lingering close,
	// which sets its own, and clearing it would cost a timer operation.

	// Limit: refused requests are answered at once and not charged.
	if h.o.Limiter != nil {
		if ok, wait := h.o.Limiter.Allow(rateKey, start); !ok {
			secs := strconv.Itoa(ratelimit.RetryAfterSeconds(wait))
			h.finish(c, s, req, start, h.writeError(c, s, http.StatusTooManyRequests,
				"Rate limit reached; retry after "+secs+" s.", "Retry-After", secs))
			return
		}
	}

	if h.o.Delay > 0 {
		t := time.NewTimer(h.o.Delay)
		select {
		case <-t.C:
		case <-h.o.Stop:
			t.Stop()
		}
	}

	// One clock read for the write deadline and the Date header. Where
	// the stall watch will run, the deadline set now is its first step's,
	// so that a response sent in one attempt sets one deadline, not two.
	s.now = h.o.Now()
	s.writeBy = s.now.Add(h.o.WriteTimeout)
	if h.watching(s) {
		_ = c.SetWriteDeadline(minTime(s.writeBy, s.now.Add(h.o.StallTimeout/4)))
	} else {
		_ = c.SetWriteDeadline(s.writeBy)
	}
	h.finish(c, s, req, start, h.serve(c, s, req))
}

// errShed ends a response whose connection lost its slot while stalled.
var errShed = errors.New("connection shed while its response was stalled")

// send performs one response write that may wait on a slow reader, through
// write, which is called again after a time-out to go on where it stopped.
// While a slot is watching, each attempt waits at most a quarter of
// StallTimeout; once no byte has moved for StallTimeout in a row, the
// connection is marked stalled, and the first byte that moves marks it
// moving again. A byte moves when a write takes it or, where the kernel
// says (TCP_INFO on Linux), when the client acknowledges it: a reader slower
// than the socket buffers takes long to free enough room to wake a write,
// but its acknowledgements show it is reading. (Whole quarters, because the
// first attempt always moves what the socket buffers take, so only a run of
// empty attempts says the reader stopped.) It gives up at the response's write deadline, or once
// the connection was shed. A response makes at most one send, so the first
// attempt runs under the deadline serveRequest set for the response, the
// first step's: a response sent in one attempt sets no deadline more than
// a plain write. The first attempt usually completes.
func (h *Handler) send(c net.Conn, s *connState, write func() (int64, error)) (int64, error) {
	watch := h.watching(s)
	step := h.o.StallTimeout / 4
	var total int64
	var idleSince time.Time // start of the current run of empty attempts
	stalled := false
	var lastAcked uint64 // what the peer had acknowledged at the last time-out
	haveAcked := false
	for first := true; ; first = false {
		if watch && !first {
			_ = c.SetWriteDeadline(minTime(s.writeBy, h.o.Now().Add(step)))
		}
		n, err := write()
		total += n
		if err == nil {
			if stalled {
				s.slot.Stalled(false, h.o.Now())
			}
			return total, nil
		}
		now := h.o.Now()
		if !watch || !errors.Is(err, os.ErrDeadlineExceeded) || !now.Before(s.writeBy) {
			return total, err
		}
		acked, ok := ackedBytes(c)
		moved := n > 0 || (ok && haveAcked && acked != lastAcked)
		lastAcked, haveAcked = acked, ok
		// An if chain, not a switch: mutation testing sees the conditions.
		if moved {
			idleSince = time.Time{}
			if stalled {
				stalled = false
				if !s.slot.Stalled(false, now) {
					return total, errShed
				}
			}
		} else if stalled {
			if s.slot.Shed() {
				return total, errShed
			}
		} else if idleSince.IsZero() {
			idleSince = now.Add(-step) // this attempt was the first empty one
		} else if now.Sub(idleSince) >= h.o.StallTimeout {
			stalled = true
			if !s.slot.Stalled(true, now) {
				return total, errShed
			}
		}
	}
}

// watching reports whether send watches the response for stalls.
func (h *Handler) watching(s *connState) bool { return s.slot != nil && h.o.StallTimeout > 0 }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// outcome is what a response was, for counting and logging.
type outcome struct {
	status int
	bytes  int64  // body bytes written
	path   string // hit key, for 200s
}

func (h *Handler) serve(c net.Conn, s *connState, req *request) outcome {
	if req.method != http.MethodGet && req.method != http.MethodHead {
		return h.writeError(c, s, http.StatusMethodNotAllowed, "Only GET and HEAD are allowed.", "Allow", "GET, HEAD")
	}
	escaped := req.path
	head := req.method == http.MethodHead
	if h.cache != nil {
		if e := h.cache.lookup(escaped); e != nil {
			if notModified(req, e.modTime) {
				return h.writeNotModified(c, s, e.path, e.contentType, int64(len(e.body)), e.extra)
			}
			return h.writeCached(c, s, e, head)
		}
	}
	res := h.o.Site.Resolve(escaped, h.o.Hits.Get)
	switch res.Kind {
	case static.Redirect:
		loc := res.Location
		if req.rawQuery != "" {
			// The request line cannot hold a space, CR or LF, so the query
			// is safe to echo in a header.
			loc += "?" + req.rawQuery
		}
		return h.writeError(c, s, http.StatusMovedPermanently, "Moved to "+html.EscapeString(loc)+".", "Location", loc)
	case static.Listing:
		return h.writeBody(c, s, res.Path, "text/html; charset=utf-8", res.Body, head, nil)
	case static.File:
		defer res.File.Close()
		if notModified(req, res.ModTime) {
			return h.writeNotModified(c, s, res.Path, res.ContentType, res.Size,
				[]string{"Last-Modified", res.ModTime.UTC().Format(http.TimeFormat)})
		}
		return h.writeFile(c, s, escaped, res, head)
	default:
		return h.writeError(c, s, http.StatusNotFound, "", nil...)
	}
}

func (h *Handler) writeFile(c net.Conn, s *connState, escaped string, res static.Result, head bool) outcome {
	extra := []string{"Last-Modified", res.ModTime.UTC().Format(http.TimeFormat)}
	if res.Size <= smallFile {
		body := s.buf[:res.Size]
		if _, err := io.ReadFull(res.File, body); err != nil {
			return h.writeError(c, s, http.StatusNotFound, "", nil...)
		}
		if h.cache != nil {
			h.cache.fill(escaped, res.Path, res.ContentType, extra[1], body, res.Info)
		}
		return h.writeBody(c, s, res.Path, res.ContentType, body, head, extra)
	}
	// A large file the cache will keep is read once into memory and served
	// from there, now and until it changes.
	if h.cache != nil && !head && h.cache.wants(escaped, res.Path, res.Info) {
		body := make([]byte, res.Size)
		if _, err := io.ReadFull(res.File, body); err != nil {
			return h.writeError(c, s, http.StatusNotFound, "", nil...)
		}
		h.cache.keep(escaped, res.ContentType, extra[1], body, res.Info)
		return h.writeBody(c, s, res.Path, res.ContentType, body, false, extra)
	}
	hd := response.AppendHead(s.buf[:0], response.Head{Status: http.StatusOK,
		ContentType: res.ContentType, ContentLength: res.Size, Extra: extra}, h.o.Now())
	o := outcome{status: http.StatusOK, path: res.Path}
	if _, err := closing.WriteHeld(c, hd); err != nil || head {
		return o
	}
	// io.Copy from an *os.File to a *net.TCPConn becomes sendfile(2), which
	// after a time-out goes on from the file's offset and the limit left.
	// Any other copy goes through a buffer whose unsent part a time-out
	// would lose, so only a TCP connection is watched for stalls.
	// The server's own connections (fdconn) are not *net.TCPConn: they
	// get sendFileAt, which likewise goes on from where a time-out left it.
	body := io.LimitReader(res.File, res.Size)
	if _, ok := c.(*net.TCPConn); ok {
		o.bytes, _ = h.send(c, s, func() (int64, error) { return io.Copy(c, body) })
	} else if sc, ok := fileSink(c); ok && canSendFile {
		o.bytes = h.sendFile(c, sc, s, res.File, res.Size, nil)
	} else {
		o.bytes, _ = io.Copy(c, body)
	}
	return o
}

// writeCached sends a cached file: a small one with head and body copied
// into one buffer and sent with one write, a larger one with the head's
// write and sendfile from its open file, or one writev from memory.
func (h *Handler) writeCached(c net.Conn, s *connState, e *cachedFile, head bool) outcome {
	if len(e.body) > smallFile {
		if sc, ok := fileSink(c); ok && e.file != nil && !head {
			return h.sendCached(c, sc, s, e)
		}
		return h.writeBody(c, s, e.path, e.contentType, e.body, head, e.extra)
	}
	b := response.AppendHead(s.buf[:0], response.Head{Status: http.StatusOK,
		ContentType: e.contentType, ContentLength: int64(len(e.body)), Extra: e.extra}, s.now)
	o := outcome{status: http.StatusOK, path: e.path}
	if head {
		_, _ = closing.WriteHeld(c, b)
		return o
	}
	hl := len(b)
	b = append(b, e.body...)
	rest := b
	n, _ := h.send(c, s, func() (int64, error) {
		n, err := closing.WriteHeld(c, rest)
		rest = rest[n:]
		return int64(n), err
	})
	if n > int64(hl) {
		o.bytes = n - int64(hl)
	}
	return o
}

// sendCached sends a cached file's head, then its body from its open file
// with sendfile, or from memory once the file is closed (the entry was
// dropped) or yields less than it held when cached.
func (h *Handler) sendCached(c net.Conn, sc syscall.Conn, s *connState, e *cachedFile) outcome {
	hd := response.AppendHead(s.hd[:0], response.Head{Status: http.StatusOK,
		ContentType: e.contentType, ContentLength: int64(len(e.body)), Extra: e.extra}, s.now)
	o := outcome{status: http.StatusOK, path: e.path}
	if _, err := closing.WriteHeld(c, hd); err != nil {
		return o
	}
	o.bytes = h.sendFile(c, sc, s, e.file, int64(len(e.body)), e.body)
	return o
}

// sendFile sends size bytes of f with sendfile under the stall watch, and
// reports how many went. Once the file is gone (closed, or shorter than
// size), the rest comes from mem, the file's bytes in memory, if there are
// any; without them the response ends there.
func (h *Handler) sendFile(c net.Conn, sc syscall.Conn, s *connState, f *os.File, size int64, mem []byte) int64 {
	var sent int64
	n, _ := h.send(c, s, func() (int64, error) {
		n, err := sendFileAt(sc, f, sent, size-sent)
		if errors.Is(err, errFileGone) && mem != nil {
			var m int
			m, err = closing.WriteHeld(c, mem[sent+n:])
			n += int64(m)
		}
		sent += n
		return n, err
	})
	return n
}

// buffersWriter is a connection that writes net.Buffers with one writev
// itself (fdconn), which net.Buffers.WriteTo does only for net's own.
type buffersWriter interface {
	WriteBuffers(*net.Buffers) (int64, error)
}

// writeBody sends a 200 with head and body in one writev.
func (h *Handler) writeBody(c net.Conn, s *connState, path, ctype string, body []byte, head bool, extra []string) outcome {
	hd := response.AppendHead(s.hd[:0], response.Head{Status: http.StatusOK,
		ContentType: ctype, ContentLength: int64(len(body)), Extra: extra}, s.now)
	o := outcome{status: http.StatusOK, path: path}
	if head {
		_, _ = closing.WriteHeld(c, hd)
		return o
	}
	bufs := net.Buffers{hd, body}
	// writev: one syscall for head and body; after a time-out WriteTo goes
	// on with what is left of bufs.
	write := func() (int64, error) { return bufs.WriteTo(c) }
	if bw, ok := c.(buffersWriter); ok {
		write = func() (int64, error) { return bw.WriteBuffers(&bufs) }
	}
	n, _ := h.send(c, s, write)
	if n > int64(len(hd)) {
		o.bytes = n - int64(len(hd))
	}
	return o
}

func (h *Handler) writeError(c net.Conn, s *connState, status int, detail string, extra ...string) outcome {
	b := response.Error(s.buf[:0], status, detail, h.o.Now(), extra...)
	hl := bytes.Index(b, []byte("\r\n\r\n")) + 4
	if s.head {
		// A response to HEAD has no body, errors included (RFC 9110 9.3.2);
		// Content-Length still gives the body's length.
		b = b[:hl]
	}
	_ = c.SetWriteDeadline(h.o.Now().Add(h.o.WriteTimeout))
	o := outcome{status: status}
	if n, _ := closing.WriteHeld(c, b); n > hl {
		o.bytes = int64(n - hl)
	}
	return o
}

// notModified reports whether req's If-Modified-Since (RFC 1945 §10.9, an
// HTTP/1.0 header) shows the client's copy is current: the file changed
// no later than the date given, at the one-second resolution of HTTP dates.
// A date that does not parse, or lies in the future, is ignored, as RFC
// 9110 §13.1.3 asks.
func notModified(req *request, modTime time.Time) bool {
	v := req.ifModifiedSince
	if v == "" || (req.method != http.MethodGet && req.method != http.MethodHead) {
		return false
	}
	since, err := http.ParseTime(v)
	if err != nil || since.After(time.Now()) {
		return false
	}
	return !modTime.Truncate(time.Second).After(since)
}

// writeNotModified answers a conditional GET whose copy is current: a 304
// with no body. Content-Length and Content-Type are those of the file, as
// RFC 9110 §8.6 allows, so every response carries the same headers.
func (h *Handler) writeNotModified(c net.Conn, s *connState, path, ctype string, size int64, extra []string) outcome {
	b := response.AppendHead(s.hd[:0], response.Head{Status: http.StatusNotModified,
		ContentType: ctype, ContentLength: size, Extra: extra}, h.o.Now())
	_ = c.SetWriteDeadline(h.o.Now().Add(h.o.WriteTimeout))
	_, _ = closing.WriteHeld(c, b)
	return outcome{status: http.StatusNotModified, path: path}
}

// badRequest answers a head that could not be read: 408 when the client was
// too slow, 400 when it was malformed or too large, nothing when the client
// connected and left without sending a byte.
func (h *Handler) badRequest(c net.Conn, s *connState, err error, start time.Time) {
	var o outcome
	// At the deadline net/http may hand back the unfinished line it holds
	// as if complete ("X-Slo" with no colon, "GET /a" with no version) and
	// fail on that instead: a head cut off by the deadline is still a 408.
	// The connection's own error says so, not the clock: a malformed head
	// that arrived whole is a 400 even when this server was too busy to
	// parse it before the deadline passed.
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(s.pre.err, os.ErrDeadlineExceeded) {
		o = h.writeError(c, s, http.StatusRequestTimeout, "The request head did not arrive in time.")
	} else if s.lr.N <= 0 {
		// Checked before io.EOF: the exhausted limit also reads as io.EOF
		// when the 16 KiB held no line end, and that client is still sending.
		o = h.writeError(c, s, http.StatusBadRequest, "Request head larger than 16 KiB.")
	} else if errors.Is(err, io.EOF) {
		_ = c.Close()
		return
	} else {
		o = h.writeError(c, s, http.StatusBadRequest, "Malformed request.")
	}
	h.finish(c, s, nil, start, o)
}

// finish counts, closes and logs.
func (h *Handler) finish(c net.Conn, s *connState, req *request, start time.Time, o outcome) {
	if o.status == http.StatusOK {
		h.o.Hits.Inc(o.path)
	}
	h.o.Tally.Record(o.status)

	log := &h.o.Log
	if o.status == http.StatusTooManyRequests {
		log = &h.o.RefusalLog
	}
	ev := log.Info()
	if o.status >= 400 && o.status != http.StatusNotFound && o.status != http.StatusTooManyRequests {
		ev = log.Warn()
	}
	var dur time.Duration
	if ev != nil { // the clock is read only for a line that is written
		dur = h.o.Now().Sub(start)
	}

	// Unread input (a body, pipelined requests, the rest of a rejected head)
	// would make close send a reset that can eat the response. Input can
	// also sit in the kernel when a head ended exactly where the read
	// buffer did, hence the peek. The close comes before the log line: the
	// response's end waits in the kernel for it (closing.WriteHeld), and should not
	// wait for a write to the log as well.
	linger := req == nil || s.br.Buffered() > 0 || req.body || closing.PendingInput(c)
	if !linger {
		_ = c.Close()
	}

	if ev != nil {
		ev = ev.Stringer("remote", c.RemoteAddr())
		if req != nil {
			ev = ev.Str("method", req.method).Str("path", req.path)
		}
		ev.Int("status", o.status).Int64("bytes", o.bytes).Dur("dur", dur).Msg("request")
	}

	if linger {
		closing.Linger(c, closing.LingerTimeout, lingerBytes)
	}
}
