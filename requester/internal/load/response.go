package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"httplab/httplab-requester/internal/escape"
)

// response parses an HTTP/1.x response as its bytes arrive, so that both
// engines (one reading from a net.Conn, one driven by epoll) judge
// responses by the same rules (RFC 9112 §6.3 and RFC 9110 §15.2):
//
//   - the connection closed before any byte: other ("closed before any
//     response byte": an orderly close is not a reset);
//   - closed inside the status line or the headers, a malformed status line,
//     or heads over maxHead bytes in all: other;
//   - 1xx interim responses (100 Continue, 103 Early Hints, ...) are skipped
//     and the final response read after them; 101 is final, its body runs to
//     the close;
//   - 204 and 304 have no body;
//   - Transfer-Encoding overrides Content-Length: chunked is decoded and its
//     decoded bytes counted, any other coding runs to the close;
//   - with Content-Length, the response is complete once that many body
//     bytes have arrived, whether or not the server closes; closed before
//     that, it is truncated: other;
//   - Content-Length values that differ, or one that is not a number, are a
//     framing error (other), as is chunked encoding that does not parse;
//   - without either, the body ends where the connection does.
//
// It keeps no more of what the server sent than the first lineCap bytes of
// the line being read, so a request costs the same memory whatever the
// server sends: a long head, an endless body or 64 KB of garbage.
type response struct {
	state     parseState
	line      [lineCap]byte // the first bytes of the line being read
	lineLen   int           // the length of that line so far
	headBytes int           // bytes of status lines and headers, interim heads included
	code      int           // status code of the head being read
	status    int           // the final status, once its head is complete
	length    int64         // Content-Length, or -1
	te        bool          // Transfer-Encoding present
	chunked   bool          // its final coding is chunked
	body      int64         // body bytes received (decoded when chunked)
	chunkLeft int64         // bytes left in the current chunk
	interim   int           // 1xx responses skipped
	got       bool          // any byte received
	err       error         // the response is malformed
}

type parseState uint8

const (
	stStatus    parseState = iota // reading a status line
	stHeader                      // reading header lines
	stBody                        // reading Content-Length bytes
	stBodyEOF                     // reading a body that ends at the close
	stChunkSize                   // reading a chunk-size line
	stChunkData                   // reading chunk data
	stChunkEnd                    // reading the CRLF after chunk data
	stTrailer                     // reading the trailer section
	stDone                        // complete
)

// maxHead bounds the status lines and headers of one response, interim
// responses included, and separately its chunked trailer section: a server
// that sends an endless head must not keep a request going for ever.
const maxHead = 64 << 10

// lineCap is how much of a line the parser keeps: enough for any status
// line's version and code, and for a Content-Length, Transfer-Encoding or
// chunk-size line, which is all it reads.
const lineCap = 256

// quoteMax is how much of a peer's line an error quotes.
const quoteMax = 64

func (p *response) reset() {
	p.state, p.lineLen, p.headBytes, p.code, p.status = stStatus, 0, 0, 0, 0
	p.length, p.te, p.chunked, p.body, p.chunkLeft = -1, false, false, 0, 0
	p.interim, p.got, p.err = 0, false, nil
}

// protocolError marks a response that breaks HTTP's framing rules.
func protocolError(format string, args ...any) error {
	return fmt.Errorf("protocol error: "+format, args...)
}

// feed consumes bytes read from the connection. It returns true once the
// response is complete or malformed (p.err set); bytes after a complete
// response are ignored.
func (p *response) feed(b []byte) bool {
	if len(b) > 0 {
		p.got = true
	}
	for len(b) > 0 && p.state != stDone && p.err == nil {
		switch p.state {
		case stBody:
			take := min(int64(len(b)), p.length-p.body)
			p.body += take
			b = b[take:]
			if p.body == p.length {
				p.state = stDone
			}
		case stBodyEOF:
			p.body += int64(len(b))
			b = nil
		case stChunkData:
			take := min(int64(len(b)), p.chunkLeft)
			p.body += take
			p.chunkLeft -= take
			b = b[take:]
			if p.chunkLeft == 0 {
				p.state = stChunkEnd
			}
		default:
			b = p.feedLine(b)
		}
	}
	return p.state == stDone || p.err != nil
}

// feedLine takes the bytes of a line-oriented state up to and including the
// next LF, and returns the rest.
func (p *response) feedLine(b []byte) []byte {
	part, rest := b, []byte(nil)
	if nl := bytes.IndexByte(b, '\n'); nl >= 0 {
		part, rest = b[:nl+1], b[nl+1:]
	}
	if p.lineLen < lineCap {
		copy(p.line[p.lineLen:], part)
	}
	p.lineLen += len(part)
	kept := p.line[:min(p.lineLen, lineCap)]
	switch p.state {
	case stStatus, stHeader, stTrailer:
		if p.state == stStatus && !bytes.HasPrefix(kept, []byte("HTTP/")) && !bytes.HasPrefix([]byte("HTTP/"), kept) {
			// Not HTTP (an SSH banner, an HTTP/0.9 body, garbage): say so
			// at once, quoting what has arrived of the line, rather than
			// after 64 KiB.
			p.err = protocolError("malformed status line %s", escape.Quote(bytes.TrimRight(kept, "\r\n"), quoteMax))
			return nil
		}
		p.headBytes += len(part)
		if p.headBytes > maxHead {
			what := "response head"
			if p.state == stTrailer {
				what = "chunked trailer section"
			}
			p.err = protocolError("%s longer than %d bytes", what, maxHead)
			return nil
		}
	case stChunkSize:
		if p.lineLen > lineCap {
			p.err = protocolError("bad chunked encoding: chunk-size line longer than %d bytes", lineCap)
			return nil
		}
	case stChunkEnd:
		if p.lineLen > 2 || (p.lineLen == 2 && p.line[0] != '\r') {
			p.err = protocolError("bad chunked encoding: chunk data not followed by CRLF")
			return nil
		}
	}
	if part[len(part)-1] != '\n' {
		return rest // the line goes on in the next read
	}
	full := p.lineLen <= lineCap
	line := bytes.TrimSuffix(bytes.TrimSuffix(kept, []byte("\n")), []byte("\r"))
	p.lineLen = 0
	switch p.state {
	case stStatus:
		p.statusLine(line)
	case stHeader:
		if len(line) == 0 {
			p.endOfHead()
		} else {
			p.header(line, full)
		}
	case stChunkSize:
		p.chunkSize(line)
	case stChunkEnd:
		p.state = stChunkSize
	case stTrailer:
		if len(line) == 0 {
			p.state = stDone
		}
	}
	return rest
}

func (p *response) statusLine(line []byte) {
	if p.code = parseStatusLine(line); p.code == 0 {
		p.err = protocolError("malformed status line %s", escape.Quote(line, quoteMax))
		return
	}
	p.state, p.length, p.te, p.chunked = stHeader, -1, false, false
}

// header reads the one header fields that frame the body. full is false
// when the line was longer than the parser keeps.
func (p *response) header(line []byte, full bool) {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return // not a field; obsolete folding or junk, ignored as before
	}
	name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
	switch {
	case bytes.EqualFold(name, []byte("Content-Length")):
		if !full {
			p.err = protocolError("Content-Length header longer than %d bytes", lineCap)
			return
		}
		// A list of equal values ("5, 5") is one value (RFC 9110 §8.6).
		for v := range bytes.SplitSeq(value, []byte(",")) {
			n, ok := parseLength(bytes.TrimSpace(v))
			if !ok {
				p.err = protocolError("invalid Content-Length %s", escape.Quote(value, quoteMax))
				return
			}
			if p.length >= 0 && n != p.length {
				p.err = protocolError("conflicting Content-Length values %d and %d", p.length, n)
				return
			}
			p.length = n
		}
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		if !full {
			p.err = protocolError("Transfer-Encoding header longer than %d bytes", lineCap)
			return
		}
		// Codings are listed in the order applied; a later field appends
		// to an earlier one, so the last coding named is the final one.
		p.te = true
		last := value
		if i := bytes.LastIndexByte(value, ','); i >= 0 {
			last = value[i+1:]
		}
		if last = bytes.TrimSpace(last); len(last) > 0 {
			p.chunked = bytes.EqualFold(last, []byte("chunked"))
		}
	}
}

// parseLength reads 1*DIGIT, at most 18 of them.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func (p *response) endOfHead() {
	if p.code >= 100 && p.code < 200 && p.code != 101 {
		p.interim++ // an interim response: the final one follows
		p.state = stStatus
		return
	}
	p.status = p.code
	p.state = p.bodyState()
}

// bodyState is the state that reads the body of the final head just read.
func (p *response) bodyState() parseState {
	if p.code == 204 || p.code == 304 {
		return stDone
	}
	if p.te && p.chunked {
		return stChunkSize
	}
	if p.te {
		return stBodyEOF // a coding other than chunked: delimited by the close
	}
	if p.length == 0 {
		return stDone
	}
	if p.length > 0 {
		return stBody
	}
	return stBodyEOF
}

func (p *response) chunkSize(line []byte) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i] // chunk extensions are ignored
	}
	line = bytes.TrimRight(line, " \t")
	var n int64
	if len(line) == 0 || len(line) > 15 {
		p.err = protocolError("bad chunked encoding: chunk size %s", escape.Quote(line, quoteMax))
		return
	}
	for _, c := range line {
		d, ok := hexDigit(c)
		if !ok {
			p.err = protocolError("bad chunked encoding: chunk size %s", escape.Quote(line, quoteMax))
			return
		}
		n = n<<4 | int64(d)
	}
	if n == 0 {
		p.state, p.headBytes = stTrailer, 0
		return
	}
	p.chunkLeft, p.state = n, stChunkData
}

// hexDigit is the value of the hexadecimal digit c.
func hexDigit(c byte) (byte, bool) {
	if c >= '0' && c <= '9' {
		return c - '0', true
	}
	if c >= 'a' && c <= 'f' {
		return c - 'a' + 10, true
	}
	if c >= 'A' && c <= 'F' {
		return c - 'A' + 10, true
	}
	return 0, false
}

// complete reports whether the response is whole without waiting for EOF.
func (p *response) complete() bool { return p.err == nil && p.state == stDone }

// bodyBytes is the body length to report: never more than Content-Length,
// and decoded when chunked.
func (p *response) bodyBytes() int64 { return p.body }

// atEOF judges the response when the server has closed the connection.
// It returns the error that makes it incomplete, or nil.
func (p *response) atEOF() error {
	if p.err != nil {
		return p.err
	}
	if !p.got {
		return fmt.Errorf("read status line: %w", errNoResponse)
	}
	if p.state == stStatus && p.interim > 0 {
		return fmt.Errorf("read status line after %d interim responses: %w", p.interim, io.ErrUnexpectedEOF)
	}
	if p.state == stStatus {
		return fmt.Errorf("read status line: %w", io.ErrUnexpectedEOF)
	}
	if p.state == stHeader {
		return fmt.Errorf("read headers of HTTP %d: %w", p.code, io.ErrUnexpectedEOF)
	}
	if p.state == stBody {
		return fmt.Errorf("body of HTTP %d truncated after %d of %d bytes: %w", p.status, p.body, p.length, io.ErrUnexpectedEOF)
	}
	if p.state == stChunkSize || p.state == stChunkData || p.state == stChunkEnd || p.state == stTrailer {
		return fmt.Errorf("chunked body of HTTP %d truncated after %d bytes: %w", p.status, p.body, io.ErrUnexpectedEOF)
	}
	return nil
}

// during names what was being read when an error struck, for details.
func (p *response) during() string {
	if p.state == stStatus {
		return "read status line"
	}
	if p.state == stHeader {
		return fmt.Sprintf("read headers of HTTP %d", p.code)
	}
	return fmt.Sprintf("read body of HTTP %d after %d bytes", p.status, p.body)
}

// parseStatusLine reads the code from "HTTP/x.y NNN reason"; 0 if malformed.
func parseStatusLine(line []byte) int {
	if !bytes.HasPrefix(line, []byte("HTTP/")) {
		return 0
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 || len(line) < sp+4 {
		return 0
	}
	if len(line) > sp+4 && line[sp+4] != ' ' && line[sp+4] != '\r' && line[sp+4] != '\n' {
		return 0
	}
	n := 0
	for _, c := range line[sp+1 : sp+4] {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	if n < 100 {
		return 0
	}
	return n
}

// errNoResponse marks a connection the server closed in order (FIN) without
// sending a single byte: it is not a reset, and not a response either.
var errNoResponse = errors.New("connection closed before any response byte")

// classify maps an error to its category. The rules, in order:
// ECONNREFUSED is refused; ECONNRESET, EPIPE and ECONNABORTED are reset (the
// peer aborted the connection); a deadline or ETIMEDOUT is timeout;
// everything else, an orderly close without a complete response included,
// is other.
func classify(err error) ErrorKind {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return Reset
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ETIMEDOUT):
		return Timeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Timeout
	}
	return Other
}

// verdict judges the response once reading has stopped: readErr is nil when
// it stopped because the response was complete (or malformed), io.EOF when
// the server closed, or the error that stopped it.
func (p *response) verdict(readErr error) outcome {
	if p.err != nil {
		return outcome{err: Other, detail: "read response: " + p.err.Error(), bytes: p.bodyBytes()}
	}
	if p.complete() {
		return outcome{status: p.status, bytes: p.bodyBytes()}
	}
	if readErr == nil || errors.Is(readErr, io.EOF) {
		if err := p.atEOF(); err != nil {
			return outcome{err: Other, detail: err.Error(), bytes: p.bodyBytes()}
		}
		return outcome{status: p.status, bytes: p.bodyBytes()}
	}
	return outcome{err: classify(readErr), detail: p.during() + ": " + readErr.Error(), bytes: p.bodyBytes()}
}
