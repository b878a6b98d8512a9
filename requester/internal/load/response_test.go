package load

import (
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
)

// feedAll feeds a response in pieces of size step and returns the verdict
// the engines would reach: stop when feed says so, else EOF.
func feedAll(raw string, step int) outcome {
	var p response
	p.reset()
	for i := 0; i < len(raw); i += step {
		if p.feed([]byte(raw[i:min(i+step, len(raw))])) {
			return p.verdict(nil)
		}
	}
	return p.verdict(io.EOF)
}

func TestResponseParsing(t *testing.T) {
	long := strings.Repeat("x", 70000)
	cases := []struct {
		name   string
		raw    string
		status int
		bytes  int64
		err    ErrorKind
		detail string
	}{
		{"complete", "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, 5, "", ""},
		{"no length: body to EOF", "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnot here\n", 404, 9, "", ""},
		{"empty body", "HTTP/1.0 304 Not Modified\r\nContent-Length: 0\r\n\r\n", 304, 0, "", ""},
		{"bare LF", "HTTP/1.0 200 OK\nContent-length: 2\n\nhi", 200, 2, "", ""},
		{"header case", "HTTP/1.1 200 OK\r\nCONTENT-LENGTH:  3 \r\n\r\nabc", 200, 3, "", ""},
		{"bytes past the length", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi there", 200, 2, "", ""},
		{"nothing", "", 0, 0, Other, "before any response byte"},
		{"cut status line", "HTTP/1.0 20", 0, 0, Other, "read status line: unexpected EOF"},
		{"cut headers", "HTTP/1.0 200 OK\r\nContent-Le", 0, 0, Other, "read headers of HTTP 200: unexpected EOF"},
		{"truncated body", "HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, 3, Other, "truncated after 3 of 10 bytes"},
		{"malformed", "SSH-2.0-OpenSSH\r\n\r\n", 0, 0, Other, "malformed status line"},
		{"bad code", "HTTP/1.0 2x0 OK\r\n\r\n", 0, 0, Other, "malformed status line"},
		{"endless head", "HTTP/1.0 200 OK\r\nX: " + long, 0, 0, Other, "head longer than"},
		{"garbage", "\x00\x9b\x1b[2J" + long, 0, 0, Other, `malformed status line "\x00`},
		{"HTTP/0.9", "<html>hi</html>", 0, 0, Other, `malformed status line "<`},
		{"100 then 200", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", 200, 2, "", ""},
		{"103 with fields then 404", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\nContent-Length: 99\r\n\r\nHTTP/1.0 404 Nope\r\n\r\ngone", 404, 4, "", ""},
		{"only interim", "HTTP/1.1 100 Continue\r\n\r\n", 0, 0, Other, "after 1 interim responses: unexpected EOF"},
		{"101 to the close", "HTTP/1.1 101 Switching\r\nContent-Length: 1\r\n\r\nabc", 101, 1, "", ""},
		{"204 has no body", "HTTP/1.0 204 No Content\r\nContent-Length: 5\r\n\r\n", 204, 0, "", ""},
		{"conflicting lengths", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\ncontent-length: 3\r\n\r\nabc", 0, 0, Other, "conflicting Content-Length values 2 and 3"},
		{"conflicting list", "HTTP/1.0 200 OK\r\nContent-Length: 2, 3\r\n\r\nabc", 0, 0, Other, "conflicting Content-Length values 2 and 3"},
		{"equal lengths", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nContent-Length: 3,3\r\n\r\nabc", 200, 3, "", ""},
		{"negative length", "HTTP/1.0 200 OK\r\nContent-Length: -1\r\n\r\nabc", 0, 0, Other, "invalid Content-Length \"-1\""},
		{"huge length", "HTTP/1.0 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", 0, 0, Other, "invalid Content-Length"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\nA; x=\"y\"\r\n0123456789\r\n0\r\nT: 1\r\n\r\ntrailing junk", 200, 13, "", ""},
		{"chunked bare LF", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nab\n0\n\n", 200, 2, "", ""},
		{"chunked overrides length", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", 200, 2, "", ""},
		{"other coding runs to close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\nabcd", 200, 4, "", ""},
		{"chunk size not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", 0, 0, Other, `bad chunked encoding: chunk size "xyz"`},
		{"chunk size overflow", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", 0, 0, Other, "bad chunked encoding"},
		{"chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", 0, 2, Other, "chunk data not followed by CRLF"},
		{"chunked cut", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 0, 2, Other, "chunked body of HTTP 200 truncated after 2 bytes"},
		{"chunked without last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n", 0, 2, Other, "truncated after 2 bytes"},
		{"endless trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: " + long, 0, 0, Other, "trailer section longer than"},
		{"endless chunk-size line", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + long, 0, 0, Other, "chunk-size line longer than"},
	}
	for _, tc := range cases {
		for _, step := range []int{1, 7, 1 << 20} { // byte by byte, odd pieces, all at once
			got := feedAll(tc.raw, step)
			if got.status != tc.status || got.bytes != tc.bytes || got.err != tc.err || !strings.Contains(got.detail, tc.detail) {
				t.Errorf("%s (pieces of %d): got status %d bytes %d %q %q; want %d %d %q containing %q",
					tc.name, step, got.status, got.bytes, got.err, got.detail, tc.status, tc.bytes, tc.err, tc.detail)
			}
		}
	}
}

func TestVerdictOfReadErrors(t *testing.T) {
	var p response
	p.reset()
	p.feed([]byte("HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"))
	o := p.verdict(syscall.ECONNRESET)
	if o.err != Reset || o.bytes != 10 || !strings.Contains(o.detail, "read body of HTTP 200 after 10 bytes") {
		t.Errorf("reset mid-body: %+v", o)
	}
	p.reset()
	if o := p.verdict(syscall.ECONNRESET); o.err != Reset || !strings.Contains(o.detail, "read status line") {
		t.Errorf("reset before any byte: %+v", o)
	}
}

func TestClassify(t *testing.T) {
	cases := map[error]ErrorKind{
		syscall.ECONNREFUSED:                  Refused,
		syscall.ECONNRESET:                    Reset,
		syscall.EPIPE:                         Reset,
		syscall.ECONNABORTED:                  Reset,
		syscall.ETIMEDOUT:                     Timeout,
		errNoResponse:                         Other,
		syscall.EADDRNOTAVAIL:                 Other,
		errors.New("something else entirely"): Other,
	}
	for err, want := range cases {
		if got := classify(err); got != want {
			t.Errorf("classify(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestParseStatusLine(t *testing.T) {
	good := map[string]int{
		"HTTP/1.0 200 OK\r\n":                  200,
		"HTTP/1.1 503 Service Unavailable\r\n": 503,
		"HTTP/1.0 429\r\n":                     429,
	}
	for line, want := range good {
		if got := parseStatusLine([]byte(line)); got != want {
			t.Errorf("%q: %d", line, got)
		}
	}
	for _, line := range []string{"HTTP/1.0 20 OK\r\n", "HTTP/1.0 2000 OK\r\n", "HTTP/1.0 abc OK\r\n", "HTTP/1.0 099 x\r\n", "HTTQ/1.0 200 OK\r\n"} {
		if got := parseStatusLine([]byte(line)); got != 0 {
			t.Errorf("%q accepted as %d", line, got)
		}
	}
}

// The parser keeps a constant amount of what the server sends, however
// much that is.
func TestResponseMemoryIsBounded(t *testing.T) {
	var p response
	p.reset()
	chunk := []byte(strings.Repeat("y", 4096))
	p.feed([]byte("HTTP/1.0 200 OK\r\nX: "))
	for range 10 {
		p.feed(chunk)
	}
	allocs := testing.AllocsPerRun(100, func() {
		p.reset()
		p.feed([]byte("HTTP/1.0 200 OK\r\nX: "))
		for range 8 {
			p.feed(chunk)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations feeding a long head", allocs)
	}
}

// However a response is cut into reads, the parser reaches the same
// verdict, and it never counts more body bytes than it was given.
func FuzzResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nbody",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
		"SSH-2.0-x\r\n",
		"HTTP/1.0 204 No Content\r\n\r\n",
		"",
	} {
		f.Add([]byte(seed), uint8(3))
	}
	f.Fuzz(func(t *testing.T, raw []byte, step uint8) {
		whole := feedAll(string(raw), len(raw)+1)
		cut := feedAll(string(raw), int(step%16)+1)
		if whole.status != cut.status || whole.err != cut.err || whole.bytes != cut.bytes {
			t.Errorf("whole: %d %q %d bytes %q; in pieces of %d: %d %q %d bytes %q",
				whole.status, whole.err, whole.bytes, whole.detail, step%16+1, cut.status, cut.err, cut.bytes, cut.detail)
		}
		if whole.bytes > int64(len(raw)) || whole.bytes < 0 {
			t.Errorf("%d body bytes from %d bytes of input", whole.bytes, len(raw))
		}
		if (whole.err == NoError) == (whole.status == 0) {
			t.Errorf("status %d with error %q", whole.status, whole.err)
		}
	})
}
