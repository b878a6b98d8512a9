package load

import (
	"io"
	"strings"
	"syscall"
	"testing"
)

// The parser's limits at their exact values, and the rarer framing rules:
// a limit is a length that is accepted, one byte more is refused.
func TestResponseEdges(t *testing.T) {
	// Status line (17) + Content-Length line (19) + "X: " pad CRLF + CRLF: 43 + pad.
	head := func(pad int) string {
		return "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nX: " + strings.Repeat("x", pad) + "\r\n\r\nhi"
	}
	// "5;" + extension + CRLF: 4 + ext.
	chunkLine := func(ext int) string {
		return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;" + strings.Repeat("x", ext) + "\r\nhello\r\n0\r\n\r\n"
	}
	// "Content-Length:" + spaces + "2" + CRLF: 18 + spaces.
	lengthLine := func(spaces int) string {
		return "HTTP/1.0 200 OK\r\nContent-Length:" + strings.Repeat(" ", spaces) + "2\r\n\r\nhi"
	}
	chunks := "9\r\n123456789\r\na\r\n0123456789\r\nf\r\n0123456789abcde\r\nF\r\n0123456789abcde\r\n00000000000000A\r\n0123456789\r\n0\r\n\r\n"
	cases := []struct {
		name   string
		raw    string
		status int
		bytes  int64
		err    ErrorKind
		detail string
	}{
		{"head of exactly maxHead bytes", head(maxHead - 43), 200, 2, "", ""},
		{"head one byte longer", head(maxHead - 42), 0, 0, Other, "response head longer than 65536 bytes"},
		{"chunk-size line of exactly lineCap bytes", chunkLine(lineCap - 4), 200, 5, "", ""},
		{"chunk-size line one byte longer", chunkLine(lineCap - 3), 0, 0, Other, "chunk-size line longer than 256 bytes"},
		{"Content-Length line of exactly lineCap bytes", lengthLine(lineCap - 18), 200, 2, "", ""},
		{"Content-Length line one byte longer", lengthLine(lineCap - 17), 0, 0, Other, "Content-Length header longer than 256 bytes"},
		// "Transfer-Encoding:" + spaces + "chunked" + CRLF: 27 + spaces.
		{"Transfer-Encoding line of exactly lineCap bytes", "HTTP/1.1 200 OK\r\nTransfer-Encoding:" + strings.Repeat(" ", lineCap-27) + "chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", 200, 1, "", ""},
		{"Transfer-Encoding line one byte longer", "HTTP/1.1 200 OK\r\nTransfer-Encoding:" + strings.Repeat(" ", lineCap-26) + "chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", 0, 0, Other, "Transfer-Encoding header longer than 256 bytes"},
		{"18-digit length", "HTTP/1.0 200 OK\r\nContent-Length: 000000000000000002\r\n\r\nhi", 200, 2, "", ""},
		{"19-digit length", "HTTP/1.0 200 OK\r\nContent-Length: 0000000000000000002\r\n\r\nhi", 0, 0, Other, "invalid Content-Length"},
		{"length with a 9", "HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\n123456789", 200, 9, "", ""},
		{"chunk sizes in every digit range, 15 digits long", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks, 200, 59, "", ""},
		{"16-digit chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n000000000000000A\r\n0123456789\r\n0\r\n\r\n", 0, 0, Other, `chunk size "000000000000000A"`},
		{"chunk size past F", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nG\r\n", 0, 0, Other, `chunk size "G"`},
		{"chunk data then one byte and LF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\n0\r\n\r\n", 0, 2, Other, "chunk data not followed by CRLF"},
		{"coding list starting with a comma", "HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", 200, 2, "", ""},
		{"empty coding field keeps chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding:\r\n\r\n2\r\nab\r\n0\r\n\r\n", 200, 2, "", ""},
		{"status without a reason", "HTTP/1.0 200\r\nContent-Length: 2\r\n\r\nhi", 200, 2, "", ""},
		{"204 without a reason", "HTTP/1.0 204\r\n\r\n", 204, 0, "", ""},
		{"code followed by junk", "HTTP/1.0 200x OK\r\n\r\n", 0, 0, Other, "malformed status line"},
		{"199 is interim", "HTTP/1.1 199 Whatever\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, 1, "", ""},
		{"code 099", "HTTP/1.0 099 Low\r\n\r\n", 0, 0, Other, "malformed status line"},
		{"two-digit code", "HTTP/1.0 20\r\n\r\n", 0, 0, Other, "malformed status line"},
		{"a length of 0, then another", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\nhello", 0, 0, Other, "conflicting Content-Length values 0 and 5"},
		{"chunk-size line of an extension only", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n", 0, 0, Other, `chunk size ""`},
		{"head cut after an interim response", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n", 0, 0, Other, "read headers of HTTP 200"},
	}
	for _, tc := range cases {
		for _, step := range []int{1, 7, 1 << 20} {
			got := feedAll(tc.raw, step)
			if got.status != tc.status || got.bytes != tc.bytes || got.err != tc.err || !strings.Contains(got.detail, tc.detail) {
				t.Errorf("%s (pieces of %d): got status %d bytes %d %q %q; want %d %d %q containing %q",
					tc.name, step, got.status, got.bytes, got.err, got.detail, tc.status, tc.bytes, tc.err, tc.detail)
			}
		}
	}
}

// An empty read is not a response byte.
func TestEmptyFeedIsNoByte(t *testing.T) {
	var p response
	p.reset()
	if p.feed(nil) {
		t.Error("an empty read ended the response")
	}
	if o := p.verdict(io.EOF); o.err != Other || !strings.Contains(o.detail, "closed before any response byte") {
		t.Errorf("%+v", o)
	}
}

// Body bytes past Content-Length are not counted, however the reads fall.
func TestBodyPastLengthInPieces(t *testing.T) {
	var p response
	p.reset()
	if p.feed([]byte("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\na")) {
		t.Fatal("complete after 1 of 3 bytes")
	}
	if !p.feed([]byte("bcdef")) {
		t.Fatal("not complete after 6 of 3 bytes")
	}
	if o := p.verdict(nil); o.status != 200 || o.bytes != 3 {
		t.Errorf("%+v, want 200 with 3 bytes", o)
	}
}

// A complete response stays complete whatever error ends the read after
// it (a reset as the server closes).
func TestCompleteThenReset(t *testing.T) {
	var p response
	p.reset()
	p.feed([]byte("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi"))
	if o := p.verdict(syscall.ECONNRESET); o.status != 200 || o.err != NoError || o.bytes != 2 {
		t.Errorf("%+v, want 200 with 2 bytes", o)
	}
}

// The code may end the line, with or without its CRLF or LF; a code of
// fewer than three digits is refused.
func TestStatusLineEndsAfterCode(t *testing.T) {
	for _, line := range []string{"HTTP/1.0 429", "HTTP/1.0 429\r\n", "HTTP/1.0 429\n", "HTTP/1.0 429 Too Many Requests"} {
		if got := parseStatusLine([]byte(line)); got != 429 {
			t.Errorf("%q: %d", line, got)
		}
	}
	for _, line := range []string{"HTTP/1.0 20", "HTTP/1.0 2", "HTTP/1.0 "} {
		b := []byte(line)
		if got := parseStatusLine(b[:len(b):len(b)]); got != 0 { // nothing past the line to read
			t.Errorf("%q accepted as %d", line, got)
		}
	}
}
