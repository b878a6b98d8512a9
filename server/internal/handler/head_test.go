package handler

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// simpleHeads are heads the fast path must take, with what it must read.
var simpleHeads = []struct {
	head string
	want request
}{
	{"GET / HTTP/1.0\r\n\r\n", request{method: "GET", path: "/", protoMajor: 1}},
	{"HEAD /small.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n",
		request{method: "HEAD", path: "/small.html", protoMajor: 1, protoMinor: 1, host: "127.0.0.1:8080"}},
	{"GET /a/b-c_d.~e?x=1&y=/z?w HTTP/1.0\r\nhOsT:\t h \t\r\nIf-Modified-Since: Mon, 02 Jan 2006 15:04:05 GMT\r\n\r\n",
		request{method: "GET", path: "/a/b-c_d.~e", rawQuery: "x=1&y=/z?w", protoMajor: 1, host: "h",
			ifModifiedSince: "Mon, 02 Jan 2006 15:04:05 GMT"}},
	{"GET /$&+,;=:@!'()* HTTP/1.1\r\nHost: x\r\nX-Odd_Name!#$%&'*+-.^_`|~: v\xff\r\n\r\n",
		request{method: "GET", path: "/$&+,;=:@!'()*", protoMajor: 1, protoMinor: 1, host: "x"}},
	// Each end of each letter and digit range, in a path and in header names.
	{"GET /azAZ09 HTTP/1.0\r\nAZ: 1\r\naz: 2\r\nX09: 3\r\n0: 4\r\n9: 5\r\n\r\n",
		request{method: "GET", path: "/azAZ09", protoMajor: 1}},
}

// notSimple are heads the fast path must leave to ReadRequest, valid or not.
var notSimple = []string{
	"",
	"GET / HTTP/1.0\r\n",             // incomplete
	"POST / HTTP/1.0\r\n\r\n",        // method
	"get / HTTP/1.0\r\n\r\n",         // method case
	"GET  / HTTP/1.0\r\n\r\n",        // two spaces
	"GET / HTTP/1.2\r\n\r\n",         // version
	"GET / HTTP/1.0 \r\n\r\n",        // trailing space
	"GET /a%20b HTTP/1.0\r\n\r\n",    // escape
	"GET /a b HTTP/1.0\r\n\r\n",      // space in the target
	"GET //a HTTP/1.0\r\n\r\n",       // looks like an authority
	"GET a HTTP/1.0\r\n\r\n",         // no slash
	"GET * HTTP/1.0\r\n\r\n",         // asterisk form
	"GET http://h/ HTTP/1.0\r\n\r\n", // absolute form
	"GET /a? HTTP/1.0\r\n\r\n",       // empty query
	"GET /a?b#c HTTP/1.0\r\n\r\n",    // fragment
	"GET /a#b HTTP/1.0\r\n\r\n",      // fragment
	"GET /\x7f HTTP/1.0\r\n\r\n",     // control byte
	"GET /a[b] HTTP/1.0\r\n\r\n",     // bytes next to the letter ranges
	"GET /a{b} HTTP/1.0\r\n\r\n",
	"GET /a`b HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.0\r\nX[: a\r\n\r\n", // not a token byte
	"GET / HTTP/1.0\r\nX{: a\r\n\r\n",
	"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",         // two Hosts
	"GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n",          // body framing
	"GET / HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n", // body framing
	"GET / HTTP/1.1\r\nHost: h\r\nTRANSFER-ENCODING: chunked\r\n\r\n", // upper case, with an A
	"GET / HTTP/1.0\r\n Host: a\r\n\r\n",                              // leading space
	"GET / HTTP/1.0\r\nHost : a\r\n\r\n",                              // space before the colon
	"GET / HTTP/1.0\r\n: a\r\n\r\n",                                   // empty name
	"GET / HTTP/1.0\r\nNoColon\r\n\r\n",                               // no colon
	"GET / HTTP/1.0\r\nX: a\x01b\r\n\r\n",                             // control byte in a value
	"GET / HTTP/1.0\r\nX: a\rb\r\n\r\n",                               // CR in a value
	"GET / HTTP/1.0\nHost: a\r\n\r\n",                                 // bare LF
	"GET / HTTP/1.0\r\nIf-Modified-Since: a\r\nIf-Modified-Since: b\r\n\r\n",
	"GET / HTTP/1.0\r\nIf-Modified-Since:\r\nIf-Modified-Since: b\r\n\r\n", // the first, empty, counts
	"GET / HTTP/1.0\r\n" + strings.Repeat("X: y\r\n", maxSimpleHeaders+1) + "\r\n",
}

func TestSimpleHeads(t *testing.T) {
	for _, c := range simpleHeads {
		var r request
		n := parseSimpleHead([]byte(c.head+"rest"), &r)
		if n != len(c.head) || r != c.want {
			t.Errorf("%q: length %d, read %+v; want %d, %+v", c.head, n, r, len(c.head), c.want)
		}
		agrees(t, []byte(c.head))
	}
	for _, h := range notSimple {
		var r request
		if n := parseSimpleHead([]byte(h), &r); n != 0 {
			t.Errorf("%q: fast path took %d bytes, want it left to ReadRequest", h, n)
		}
	}
}

// TestReadRequestFallsBack: what the fast path leaves is read by
// ReadRequest, with the same fields, the body flag included.
func TestReadRequestFallsBack(t *testing.T) {
	cases := []struct {
		head string
		want request
	}{
		{"GET /a%20b?q HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
			request{method: "GET", path: "/a%20b", rawQuery: "q", protoMajor: 1, protoMinor: 1, host: "h", body: true}},
		{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			request{method: "POST", path: "/", protoMajor: 1, protoMinor: 1, host: "h", body: true}},
		{"GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n", request{method: "GET", path: "/", protoMajor: 1}},
		{"GET / HTTP/1.0\nIf-Modified-Since: d\n\n", request{method: "GET", path: "/", protoMajor: 1, ifModifiedSince: "d"}},
	}
	for _, c := range cases {
		var r request
		err := readRequest(bufio.NewReader(strings.NewReader(c.head)), &r)
		if err != nil || r != c.want {
			t.Errorf("%q: %+v, %v; want %+v", c.head, r, err, c.want)
		}
	}
	var r request
	if err := readRequest(bufio.NewReader(strings.NewReader("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n")), &r); err == nil {
		t.Error("two Host headers: no error")
	}
}

// agrees checks that whenever the fast path takes a head, ReadRequest reads
// it the same way and consumes as many bytes.
func agrees(t *testing.T, b []byte) {
	t.Helper()
	var fast request
	n := parseSimpleHead(b, &fast)
	if n == 0 {
		return
	}
	br := bufio.NewReaderSize(bytes.NewReader(b), len(b)+16)
	req, err := http.ReadRequest(br)
	if err != nil {
		t.Fatalf("%q: fast path took it, ReadRequest refused it: %v", b, err)
	}
	if slow := fromHTTP(req); fast != slow {
		t.Fatalf("%q:\nfast path   %+v\nReadRequest %+v", b, fast, fromHTTP(req))
	}
	if used := len(b) - br.Buffered(); used != n {
		t.Fatalf("%q: fast path took %d bytes, ReadRequest %d", b, n, used)
	}
}

// FuzzSimpleHeadAgreesWithReadRequest: the fast path never reads a head
// differently from net/http. `go test -fuzz FuzzSimpleHead` explores;
// the seeds run with every `go test`.
func FuzzSimpleHeadAgreesWithReadRequest(f *testing.F) {
	for _, c := range simpleHeads {
		f.Add([]byte(c.head))
	}
	for _, h := range notSimple {
		f.Add([]byte(h))
	}
	f.Fuzz(func(t *testing.T, b []byte) { agrees(t, b) })
}

// TestReadRequestTakesTheFastPath: a common head costs one allocation (its
// path), where ReadRequest costs several.
func TestReadRequestTakesTheFastPath(t *testing.T) {
	head := []byte("GET /index.html?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n\r\n")
	var rd bytes.Reader
	br := bufio.NewReader(&rd)
	var r request
	allocs := testing.AllocsPerRun(100, func() {
		rd.Reset(head)
		br.Reset(&rd)
		if err := readRequest(br, &r); err != nil || r.path != "/index.html" {
			t.Fatalf("%+v, %v", r, err)
		}
	})
	if allocs > 1 {
		t.Errorf("%.0f allocations for a common head, want 1", allocs)
	}
}
