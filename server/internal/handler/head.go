package handler

import (
	"bufio"
	"bytes"
	"net/http"
)

// request is what the handler uses of a request head.
type request struct {
	method     string
	path       string // escaped, as url.URL.EscapedPath gives it
	rawQuery   string
	protoMajor int
	protoMinor int
	host       string
	// ifModifiedSince is the If-Modified-Since header, "" when absent.
	ifModifiedSince string
	// body: the head announces a body (Content-Length other than 0, or a
	// Transfer-Encoding), which this server never reads.
	body bool
}

// readRequest reads one request head from br into r. The common head (GET or HEAD
// of a plain path, HTTP/1.0 or 1.1, simple headers, no body, all of it
// already buffered) is parsed in place by parseSimpleHead; anything else
// goes to net/http.ReadRequest, which remains the judge of what is valid.
// The fast path accepts only heads that ReadRequest reads the same way
// (FuzzSimpleHeadAgreesWithReadRequest), and it saves the eight or so
// allocations and the deep call chain of ReadRequest, which made the
// goroutine's stack grow on every connection (docs/performance.md).
func readRequest(br *bufio.Reader, r *request) error {
	if _, err := br.Peek(1); err == nil {
		buf, _ := br.Peek(br.Buffered())
		*r = request{}
		if n := parseSimpleHead(buf, r); n > 0 {
			_, _ = br.Discard(n)
			return nil
		}
	}
	req, err := http.ReadRequest(br)
	if err != nil {
		return err
	}
	*r = fromHTTP(req)
	return nil
}

// fromHTTP is what the handler uses of a request ReadRequest read.
func fromHTTP(req *http.Request) request {
	return request{
		method:          req.Method,
		path:            req.URL.EscapedPath(),
		rawQuery:        req.URL.RawQuery,
		protoMajor:      req.ProtoMajor,
		protoMinor:      req.ProtoMinor,
		host:            req.Host,
		ifModifiedSince: req.Header.Get("If-Modified-Since"),
		body:            req.ContentLength != 0 || len(req.TransferEncoding) > 0,
	}
}

// maxSimpleHeaders bounds the headers parseSimpleHead looks at; a head
// with more goes to ReadRequest.
const maxSimpleHeaders = 64

// parseSimpleHead parses b if it starts with a complete head of the common
// shape, and returns the head's length, or 0 to leave it to ReadRequest:
//
//	GET|HEAD SP /path[?query] SP HTTP/1.0|HTTP/1.1 CRLF
//	(Name: value CRLF)*
//	CRLF
//
// where the path holds only characters that need no escaping and no
// percent-encoding, every header name is a token and every value visible
// characters, spaces and tabs, no header is repeated Host, and none is
// Content-Length or Transfer-Encoding. One string is allocated, the head's,
// and the fields are cut from it.
func parseSimpleHead(b []byte, r *request) int {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return 0
	}
	line, rest, _ := bytes.Cut(b[:end+2], []byte("\r\n"))
	switch {
	case bytes.HasPrefix(line, []byte("GET ")):
		r.method, line = http.MethodGet, line[4:]
	case bytes.HasPrefix(line, []byte("HEAD ")):
		r.method, line = http.MethodHead, line[5:]
	default:
		return 0
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return 0
	}
	target, proto := line[:sp], line[sp+1:]
	switch string(proto) {
	case "HTTP/1.0":
		r.protoMajor, r.protoMinor = 1, 0
	case "HTTP/1.1":
		r.protoMajor, r.protoMinor = 1, 1
	default:
		return 0
	}
	q := bytes.IndexByte(target, '?')
	path := target
	if q >= 0 {
		path = target[:q]
	}
	if len(path) == 0 || path[0] != '/' || (len(path) > 1 && path[1] == '/') {
		return 0
	}
	for _, c := range path {
		if !plainPathByte(c) {
			return 0
		}
	}
	if q >= 0 {
		query := target[q+1:]
		if len(query) == 0 {
			return 0 // "/a?" sets url.URL.ForceQuery
		}
		for _, c := range query {
			if !plainPathByte(c) && c != '?' {
				return 0
			}
		}
	}

	// Where each field lies in b: b's subslices all end where b's array
	// does, so an offset is a difference of capacities.
	at := func(x []byte) int { return cap(b) - cap(x) }
	var host, ims []byte
	hosts, imss := 0, 0
	for i := 0; len(rest) > 0; i++ {
		if i == maxSimpleHeaders {
			return 0
		}
		var h []byte
		h, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		colon := bytes.IndexByte(h, ':')
		if colon <= 0 {
			return 0
		}
		name, value := h[:colon], h[colon+1:]
		for _, c := range name {
			if !tokenByte(c) {
				return 0
			}
		}
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return 0
			}
		}
		switch {
		case equalFold(name, "host"):
			hosts++
			if hosts > 1 {
				return 0
			}
			host = trimOWS(value)
		case equalFold(name, "if-modified-since"):
			imss++
			if imss > 1 {
				return 0
			}
			ims = trimOWS(value)
		case equalFold(name, "content-length"), equalFold(name, "transfer-encoding"):
			return 0
		}
	}
	s := string(b[:end])
	field := func(x []byte) string {
		if len(x) == 0 {
			return "" // absent (nil) or empty: no offset to take
		}
		return s[at(x) : at(x)+len(x)]
	}
	r.path = field(path)
	if q >= 0 {
		r.rawQuery = field(target[q+1:])
	}
	r.host, r.ifModifiedSince = field(host), field(ims)
	return end + 4
}

// plainPathByte: the bytes url.URL.EscapedPath keeps as they are in a path,
// less '%' (an escape would need decoding and checking).
func plainPathByte(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	switch c {
	case '-', '.', '_', '~', '/', '$', '&', '+', ',', ';', '=', ':', '@', '!', '\'', '(', ')', '*':
		return true
	}
	return false
}

// tokenByte: RFC 9110 §5.6.2 tchar, what a header name is made of.
func tokenByte(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// equalFold compares an ASCII header name with a lower-case one.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	return bytes.Trim(b, " \t")
}
