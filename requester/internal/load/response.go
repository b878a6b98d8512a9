package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
)

// response parses an HTTP/1.0 response as its bytes arrive, so that both
// engines (one reading from a net.Conn, one driven by epoll) judge
// responses by the same rules:
//
//   - the connection closed before any byte: other ("closed before any
//     response byte": an orderly close is not a reset);
//   - closed inside the status line or the headers, a malformed status line,
//     or a head over maxHead bytes: other;
//   - with Content-Length, the response is complete once that many body
//     bytes have arrived; closed before that, it is truncated: other;
//   - without Content-Length, the body ends where the connection does.
//
// A read error before the response is complete is classified by classify.
type response struct {
	head   []byte // the head so far, kept until its end is found
	inBody bool
	status int
	length int64 // Content-Length, or -1
	body   int64 // body bytes received
	got    bool  // any byte received
	err    error // the response is malformed
}

// maxHead bounds the status line and headers: a server that sends an
// endless head must not grow the requester without bound.
const maxHead = 64 << 10

func (p *response) reset() {
	p.head = p.head[:0]
	p.inBody, p.status, p.length, p.body, p.got, p.err = false, 0, -1, 0, false, nil
}

// feed consumes bytes read from the connection. It returns true once the
// response is complete (Content-Length reached) or malformed (p.err set).
func (p *response) feed(b []byte) bool {
	if len(b) > 0 {
		p.got = true
	}
	if !p.inBody {
		start := len(p.head)
		p.head = append(p.head, b...)
		if p.status == 0 {
			if nl := bytes.IndexByte(p.head, '\n'); nl >= 0 {
				if p.status = parseStatusLine(p.head[:nl+1]); p.status == 0 {
					p.err = fmt.Errorf("malformed status line %q", bytes.TrimSpace(p.head[:nl+1]))
					return true
				}
			}
		}
		end, skip := headEnd(p.head, max(start-3, 0))
		if end < 0 {
			if len(p.head) > maxHead {
				p.err = fmt.Errorf("response head longer than %d bytes", maxHead)
				return true
			}
			return false
		}
		p.length = headerLength(p.head[:end])
		p.inBody = true
		b = p.head[end+skip:]
		p.body = int64(len(b))
	} else {
		p.body += int64(len(b))
	}
	return p.length >= 0 && p.body >= p.length
}

// complete reports whether the response is whole without waiting for EOF.
func (p *response) complete() bool {
	return p.err == nil && p.inBody && p.length >= 0 && p.body >= p.length
}

// bodyBytes is the body length to report: never more than Content-Length,
// since bytes after it are not part of the response.
func (p *response) bodyBytes() int64 {
	if p.length >= 0 {
		return min(p.body, p.length)
	}
	return p.body
}

// atEOF judges the response when the server has closed the connection.
// It returns the error that makes it incomplete, or nil.
func (p *response) atEOF() error {
	switch {
	case p.err != nil:
		return p.err
	case !p.got:
		return fmt.Errorf("read status line: %w", errNoResponse)
	case p.status == 0:
		return fmt.Errorf("read status line: %w", io.ErrUnexpectedEOF)
	case !p.inBody:
		return fmt.Errorf("read headers of HTTP %d: %w", p.status, io.ErrUnexpectedEOF)
	case p.length >= 0 && p.body < p.length:
		return fmt.Errorf("body of HTTP %d truncated after %d of %d bytes: %w", p.status, p.body, p.length, io.ErrUnexpectedEOF)
	}
	return nil
}

// during names what was being read when an error struck, for details.
func (p *response) during() string {
	switch {
	case !p.got:
		return "read status line"
	case !p.inBody && p.status == 0:
		return "read status line"
	case !p.inBody:
		return fmt.Sprintf("read headers of HTTP %d", p.status)
	}
	return fmt.Sprintf("read body of HTTP %d after %d bytes", p.status, p.body)
}

// headEnd finds the blank line ending the head, searching from from. It
// returns its offset and length (4 for CRLFCRLF, 2 for LFLF), or -1.
func headEnd(b []byte, from int) (int, int) {
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return i, 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			if i > 0 && b[i-1] == '\r' {
				return i - 1, 4
			}
			return i, 3
		}
	}
	return -1, 0
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

// headerLength finds Content-Length in a head, in any letter case; -1 if
// absent or unreadable (then the body runs to the close).
func headerLength(head []byte) int64 {
	const name = "content-length:"
	for len(head) > 0 {
		line := head
		if nl := bytes.IndexByte(head, '\n'); nl >= 0 {
			line, head = head[:nl], head[nl+1:]
		} else {
			head = nil
		}
		if len(line) >= len(name) && bytes.EqualFold(line[:len(name)], []byte(name)) {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(line[len(name):])), 10, 64)
			if err == nil && n >= 0 {
				return n
			}
		}
	}
	return -1
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
	var err error
	switch {
	case p.err != nil:
		return outcome{err: Other, detail: "read response: " + p.err.Error()}
	case readErr == nil && p.complete():
		return outcome{status: p.status, bytes: p.bodyBytes()}
	case readErr == nil || errors.Is(readErr, io.EOF):
		if err = p.atEOF(); err == nil {
			return outcome{status: p.status, bytes: p.bodyBytes()}
		}
		return outcome{err: Other, detail: err.Error(), bytes: p.bodyBytes()}
	}
	return outcome{err: classify(readErr), detail: p.during() + ": " + readErr.Error(), bytes: p.bodyBytes()}
}
