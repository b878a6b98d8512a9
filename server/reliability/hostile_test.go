//go:build linux

package reliability

import (
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"httplab/httplab-server/internal/server"
)

// closed, in hostileCase.want, accepts a connection the server closed
// without a response (FIN, not a reset).
const closed = 0

// hostileCase is one hostile or odd request. Unless close is set the client
// keeps its sending side open, as a client waiting for an answer does, so a
// head that never completes must be ended by the server's read timeout.
type hostileCase struct {
	name   string
	raw    string                       // sent in one write, concurrently with reading
	send   func(c *net.TCPConn) error   // sends instead of raw when set
	close  bool                         // half-close after sending
	method string                       // of the request, to parse the response (default GET)
	want   []int                        // acceptable outcomes: statuses, or closed
	body   string                       // when set, the 200 body must be exactly this
	check  func(t *testing.T, rp reply) // further checks
	// readDelay: the client reads only after this long, as a slow or
	// distant client does; a reset in the meantime would eat the answer.
	readDelay time.Duration
	// resetOK: the client sends more than the server's bounded lingering
	// close will read, so a reset after the complete response is expected.
	resetOK bool
}

// hostileReadTimeout is the catalogue server's head timeout: long enough
// that every whole head arrives in time on a loaded CI machine (race
// detector, image builds beside it: 500 ms once was not), short enough that
// the few cases that never finish their head cost seconds, not minutes.
const hostileReadTimeout = 2 * time.Second

func headerFlood(n int) string {
	var b strings.Builder
	b.WriteString("GET /a.html HTTP/1.0\r\n")
	for i := range n {
		fmt.Fprintf(&b, "X-Flood-%d: v\r\n", i)
	}
	b.WriteString("\r\n")
	return b.String()
}

func randomBytes(seed uint64, n int) string {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

// headOfSize is a GET of target whose head is exactly n bytes.
func headOfSize(n int, target string) string {
	pre, post := "GET "+target+" HTTP/1.0\r\nX-Pad: ", "\r\n\r\n"
	return pre + strings.Repeat("p", n-len(pre)-len(post)) + post
}

var (
	helloOnce sync.Once
	hello     string
)

// clientHello is the first flight of a real TLS client: what a browser sends
// when someone types https:// in front of the server's address.
func clientHello(t testing.TB) string {
	helloOnce.Do(func() {
		a, b := net.Pipe()
		go func() {
			_ = tls.Client(a, &tls.Config{ServerName: "localhost", MinVersion: tls.VersionTLS12}).Handshake()
		}()
		rec := make([]byte, 5)
		if _, err := io.ReadFull(b, rec); err == nil {
			body := make([]byte, int(rec[3])<<8|int(rec[4]))
			if _, err := io.ReadFull(b, body); err == nil {
				hello = string(rec) + string(body)
			}
		}
		a.Close()
		b.Close()
	})
	if hello == "" || hello[0] != 0x16 {
		t.Fatal("could not capture a TLS ClientHello")
	}
	return hello
}

// http2Preface is the connection preface of a prior-knowledge HTTP/2 client
// followed by its empty SETTINGS frame.
const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\x00\x00\x00\x04\x00\x00\x00\x00\x00"

func hostileCatalogue(t testing.TB) []hostileCase {
	noLocation := func(t *testing.T, rp reply) {
		if v := rp.Header.Values("Location"); len(v) > 0 {
			t.Errorf("Location %q on a %d", v, rp.Status)
		}
	}
	return []hostileCase{
		// Protocol confusion.
		// 400 if the hello's random bytes hold a line end, else 408.
		{name: "tls ClientHello", raw: clientHello(t), want: []int{400, 408}},
		{name: "tls ClientHello then close", raw: clientHello(t), close: true, want: []int{400}},
		{name: "http2 prior-knowledge preface", raw: http2Preface, want: []int{400}},
		{name: "h2c upgrade is served as HTTP/1.0", raw: "GET /a.html HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "websocket upgrade is served as HTTP/1.0", raw: "GET /a.html HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "version HTTP/2.0 on GET", raw: "GET /a.html HTTP/2.0\r\n\r\n", want: []int{400}},
		{name: "version HTTP/3.0", raw: "GET /a.html HTTP/3.0\r\n\r\n", want: []int{400}},
		{name: "version HTTP/1.0x", raw: "GET /a.html HTTP/1.0x\r\n\r\n", want: []int{400}},
		{name: "version lowercase", raw: "GET /a.html http/1.0\r\n\r\n", want: []int{400}},
		{name: "version missing (HTTP/0.9)", raw: "GET /a.html\r\n\r\n", want: []int{400}},
		{name: "CONNECT authority", raw: "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n", want: []int{405}},
		{name: "CONNECT path", raw: "CONNECT /a.html HTTP/1.0\r\n\r\n", want: []int{405}},
		{name: "OPTIONS *", raw: "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", want: []int{405}},
		{name: "GET *", raw: "GET * HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "TRACE", raw: "TRACE / HTTP/1.1\r\nHost: x\r\nCookie: " + secrets[1] + "\r\n\r\n", want: []int{405}}, // an echoed cookie would show as a leak
		{name: "absolute-form GET", raw: "GET http://evil.example/a.html HTTP/1.1\r\nHost: x\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "absolute-form with userinfo", raw: "GET http://user:pw@evil.example:8080/a.html HTTP/1.0\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "absolute-form traversal", raw: "GET http://evil.example/../.env HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "absolute-form file scheme", raw: "GET file:///etc/passwd HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "scheme-relative target", raw: "GET //evil.example/a.html HTTP/1.0\r\n\r\n", want: []int{404}, check: noLocation},
		{name: "double-slash folder redirects on-site", raw: "GET //books HTTP/1.0\r\n\r\n", want: []int{301}, check: func(t *testing.T, rp reply) {
			if loc := rp.Header.Get("Location"); loc != "/books/" {
				t.Errorf("Location %q, want /books/ (never //host)", loc)
			}
		}},
		{name: "encoded CRLF header injection", raw: "GET /books%0d%0aSet-Cookie:%20x=1 HTTP/1.0\r\n\r\n", want: []int{404}, check: func(t *testing.T, rp reply) {
			if len(rp.Header.Values("Set-Cookie")) > 0 {
				t.Error("injected Set-Cookie header")
			}
		}},
		{name: "raw CR in target", raw: "GET /a\rb HTTP/1.0\r\n\r\n", want: []int{400}},

		// Traversal and hidden names.
		{name: "dot-dot", raw: "GET /../outside/secret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "dot-dot below a folder", raw: "GET /docs/../../outside/secret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "encoded dot-dot", raw: "GET /%2e%2e/outside/secret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "encoded dot-dot mixed case", raw: "GET /%2E%2e/%2e%2E/outside/secret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "half-encoded dot-dot", raw: "GET /.%2e/outside/secret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "double-encoded dot-dot is a literal name", raw: "GET /%252e%252e HTTP/1.0\r\n\r\n", want: []int{200}, body: "a file literally named %2e%2e"},
		{name: "double-encoded traversal", raw: "GET /%252e%252e/outside/secret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "double-encoded slash", raw: "GET /docs%252f..%252f..%252foutside%252fsecret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "overlong UTF-8 dots", raw: "GET /%c0%ae%c0%ae/outside/secret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "overlong UTF-8 slash", raw: "GET /..%c0%af..%c0%afoutside%c0%afsecret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "overlong UTF-8 raw bytes", raw: "GET /\xc0\xae\xc0\xae/outside/secret.txt HTTP/1.0\r\n\r\n", want: []int{400, 404}},
		{name: "fullwidth dots", raw: "GET /%ef%bc%8e%ef%bc%8e/outside/secret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "encoded slash", raw: "GET /docs%2f..%2f..%2foutside%2fsecret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "encoded backslash", raw: "GET /docs%5c..%5c..%5coutside%5csecret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "raw backslash", raw: "GET /docs\\..\\..\\outside\\secret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "raw backslash to dotfile", raw: "GET /\\.env HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "encoded NUL", raw: "GET /a.html%00.png HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "encoded NUL alone", raw: "GET /%00 HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "raw NUL in target", raw: "GET /a.html\x00 HTTP/1.0\r\n\r\n", want: []int{400}},
		{name: "dotfile", raw: "GET /.env HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "encoded dotfile", raw: "GET /%2eenv HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "dot folder", raw: "GET /.private/key.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "dot folder listing", raw: "GET /.private/ HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "nested dot folder", raw: "GET /docs/.git/config HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "dot segment before dotfile", raw: "GET /./.env HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "trailing dot", raw: "GET /a.html. HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "trailing slash on a file", raw: "GET /a.html/ HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "semicolon parameter", raw: "GET /a.html;.css HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "query is not a path", raw: "GET /a.html?../../.env HTTP/1.0\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "fragment in target", raw: "GET /a.html#../.env HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "absolute file system path", raw: "GET /proc/self/environ HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "path longer than PATH_MAX", raw: "GET /" + strings.Repeat("a", 8<<10) + " HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "a thousand segments", raw: "GET " + strings.Repeat("/a", 1000) + " HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "a thousand dot-dots", raw: "GET /docs" + strings.Repeat("/..", 1000) + "/outside/secret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "repeated slashes", raw: "GET /////a.html HTTP/1.0\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "symlink out of the root", raw: "GET /escape HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "absolute symlink out of the root", raw: "GET /escape-abs HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "symlinked folder out of the root", raw: "GET /outdir/secret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "symlinked folder out, listing", raw: "GET /outdir/ HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "absolute symlinked folder out", raw: "GET /outdir-abs/secret.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "symlink climbing from a subfolder", raw: "GET /docs/up HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "symlink to a file in a dot folder", raw: "GET /hidden-link HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "symlink to a dot folder", raw: "GET /hidden-dir-link/key.txt HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "symlink to a dotfile", raw: "GET /env-link HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "symlink to a nested dot folder", raw: "GET /git-link/config HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "symlink loop", raw: "GET /loop HTTP/1.0\r\n\r\n", want: []int{404}},
		{name: "symlink inside the root is served", raw: "GET /books-link/ HTTP/1.0\r\n\r\n", want: []int{200}, body: "<h1>books</h1>"},
		{name: "listing hides dot entries", raw: "GET /docs/ HTTP/1.0\r\n\r\n", want: []int{200}, check: func(t *testing.T, rp reply) {
			if strings.Contains(string(rp.Body), ".git") || !strings.Contains(string(rp.Body), "read%20me.txt") {
				t.Errorf("listing %q", clip(rp.Body))
			}
		}},

		// Framing: lengths, chunking, pipelining.
		{name: "huge Content-Length", raw: "GET /a.html HTTP/1.0\r\nContent-Length: 99999999999999999999\r\n\r\n", want: []int{400}},
		{name: "negative Content-Length", raw: "GET /a.html HTTP/1.0\r\nContent-Length: -1\r\n\r\n", want: []int{400}},
		{name: "non-numeric Content-Length", raw: "GET /a.html HTTP/1.0\r\nContent-Length: 1e3\r\n\r\n", want: []int{400}},
		{name: "conflicting Content-Lengths", raw: "GET /a.html HTTP/1.0\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", want: []int{400}},
		{name: "repeated equal Content-Lengths", raw: "GET /a.html HTTP/1.0\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", want: []int{200}, body: "<p>a</p>"},
		{name: "GET with a body", raw: "GET /a.html HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", want: []int{200}, body: "<p>a</p>"},
		{name: "body promised, never sent", raw: "GET /a.html HTTP/1.0\r\nContent-Length: 100000\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "POST with a body", raw: "POST /a.html HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", want: []int{405}, check: func(t *testing.T, rp reply) {
			if rp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", rp.Header.Get("Allow"))
			}
		}},
		{name: "chunked GET", raw: "GET /a.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "chunked POST", raw: "POST /a.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", want: []int{405}},
		{name: "chunked with bad chunk size", raw: "GET /a.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "chunked and Content-Length", raw: "GET /a.html HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: []int{200, 400}},
		{name: "unknown Transfer-Encoding", raw: "GET /a.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", want: []int{400}},
		{name: "doubled Transfer-Encoding", raw: "GET /a.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: []int{400}},
		{name: "Transfer-Encoding on HTTP/1.0", raw: "GET /a.html HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "Expect 100-continue", raw: "GET /a.html HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "two pipelined requests get one answer", raw: "GET /a.html HTTP/1.0\r\n\r\nGET /.env HTTP/1.0\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "a hundred pipelined requests", raw: strings.Repeat("GET /a.html HTTP/1.1\r\nHost: x\r\n\r\n", 100), want: []int{200}, body: "<p>a</p>"},
		// A head ending exactly where the 4 KiB read buffer does leaves the
		// next request in the kernel, unseen by the reader.
		{name: "pipelined after a head filling the read buffer", raw: headOfSize(4096, "/a.html") + "GET /a.html HTTP/1.0\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "pipelined after a head filling the read buffer, large file, slow reader", raw: headOfSize(4096, "/big.bin") + "GET /a.html HTTP/1.0\r\n\r\n",
			readDelay: 300 * time.Millisecond, want: []int{200}, check: func(t *testing.T, rp reply) {
				if len(rp.Body) != bigSize {
					t.Errorf("%d body bytes of %d", len(rp.Body), bigSize)
				}
			}},
		{name: "HEAD of a missing file has no body", raw: "HEAD /nope HTTP/1.0\r\n\r\n", method: http.MethodHead, want: []int{404}},
		{name: "HEAD in HTTP/2.0 has no body", raw: "HEAD / HTTP/2.0\r\n\r\n", method: http.MethodHead, want: []int{400}},
		{name: "HEAD of a folder without slash has no body", raw: "HEAD /books HTTP/1.0\r\n\r\n", method: http.MethodHead, want: []int{301}},
		{name: "HEAD of a large file", raw: "HEAD /big.bin HTTP/1.0\r\n\r\n", method: http.MethodHead, want: []int{200}, check: func(t *testing.T, rp reply) {
			if len(rp.Body) != 0 || rp.Header.Get("Content-Length") != fmt.Sprint(bigSize) {
				t.Errorf("HEAD: %d body bytes, Content-Length %s", len(rp.Body), rp.Header.Get("Content-Length"))
			}
		}},

		// Header floods and malformed header lines.
		{name: "a thousand small headers", raw: headerFlood(1000), want: []int{200}, body: "<p>a</p>"},
		{name: "five thousand headers", raw: headerFlood(5000), want: []int{400}},
		{name: "one 15 KiB header", raw: "GET /a.html HTTP/1.0\r\nX-Big: " + strings.Repeat("b", 15<<10) + "\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "one 17 KiB header", raw: "GET /a.html HTTP/1.0\r\nX-Big: " + strings.Repeat("b", 17<<10) + "\r\n\r\n", want: []int{400}},
		{name: "one 1 MiB header", raw: "GET /a.html HTTP/1.0\r\nX-Big: " + strings.Repeat("b", 1<<20) + "\r\n\r\n", want: []int{400}, resetOK: true},
		{name: "oversized request line", raw: "GET /" + strings.Repeat("a", 20<<10) + " HTTP/1.0\r\n\r\n", want: []int{400}},
		{name: "request line of exactly the head limit", raw: "GET /" + strings.Repeat("a", 16<<10), close: true, want: []int{400}},
		{name: "header without colon", raw: "GET /a.html HTTP/1.0\r\nBogus\r\n\r\n", want: []int{400}},
		// net/http keeps a name with a space as it is; nothing here reads it.
		{name: "space before colon", raw: "GET /a.html HTTP/1.0\r\nHost : x\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "leading whitespace on first header", raw: "GET /a.html HTTP/1.0\r\n X: y\r\n\r\n", want: []int{400}},
		{name: "obsolete line folding", raw: "GET /a.html HTTP/1.0\r\nX: a\r\n b\r\n\r\n", want: []int{200, 400}},
		{name: "NUL in header value", raw: "GET /a.html HTTP/1.0\r\nX: a\x00b\r\n\r\n", want: []int{400}},
		{name: "NUL in header name", raw: "GET /a.html HTTP/1.0\r\nX\x00Y: a\r\n\r\n", want: []int{400}},
		{name: "CR in header value", raw: "GET /a.html HTTP/1.0\r\nX: a\rb\r\n\r\n", want: []int{400}},
		{name: "non-ASCII header value", raw: "GET /a.html HTTP/1.0\r\nX: caf\xc3\xa9\r\n\r\n", want: []int{200}, body: "<p>a</p>"},
		{name: "non-ASCII header name", raw: "GET /a.html HTTP/1.0\r\nX\xc3\xa9: a\r\n\r\n", want: []int{400}},
		{name: "HTTP/1.1 without Host", raw: "GET /a.html HTTP/1.1\r\n\r\n", want: []int{400}}, // RFC 9112 §3.2
		{name: "HTTP/1.1 with two Hosts", raw: "GET /a.html HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", want: []int{200, 400}},
		{name: "forged X-Forwarded-For is only a header", raw: "GET /a.html HTTP/1.0\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n", want: []int{200}, body: "<p>a</p>"},

		// Methods.
		{name: "non-ASCII method", raw: "G\xc3\x8bT /a.html HTTP/1.0\r\n\r\n", want: []int{400}},
		{name: "control character in method", raw: "G\x01T /a.html HTTP/1.0\r\n\r\n", want: []int{400}},
		{name: "lowercase method", raw: "get /a.html HTTP/1.0\r\n\r\n", want: []int{405}},
		{name: "8 KiB method", raw: strings.Repeat("M", 8<<10) + " /a.html HTTP/1.0\r\n\r\n", want: []int{405}},
		{name: "empty method", raw: " /a.html HTTP/1.0\r\n\r\n", want: []int{400}},
		{name: "extra spaces", raw: "GET  /a.html  HTTP/1.0\r\n\r\n", want: []int{400}},

		// Line endings, timing, silence.
		{name: "bare LF line ends", raw: "GET /a.html HTTP/1.0\n\n", want: []int{200}, body: "<p>a</p>"},
		{name: "mixed line ends", raw: "GET /a.html HTTP/1.0\r\nX: y\n\r\n", want: []int{200}, body: "<p>a</p>"},
		// The request line never ends: at the deadline net/http parses the
		// fragment it holds as the line and fails, which is still a 408.
		{name: "bare CR line ends never end the head", raw: "GET /a.html HTTP/1.0\r\r", want: []int{408}},
		{name: "unfinished header line at the deadline", raw: "GET /a.html HTTP/1.0\r\nX-Slo", want: []int{408}},
		{name: "leading blank line", raw: "\r\nGET /a.html HTTP/1.0\r\n\r\n", want: []int{400}},
		{name: "one byte per write", send: func(c *net.TCPConn) error {
			for _, b := range []byte("GET /a.html HTTP/1.0\r\nUser-Agent: trickle\r\n\r\n") {
				if _, err := c.Write([]byte{b}); err != nil {
					return err
				}
				time.Sleep(2 * time.Millisecond)
			}
			return nil
		}, want: []int{200}, body: "<p>a</p>"},
		{name: "head never finished", raw: "GET /a.html HTTP/1.0\r\nX: y", want: []int{408}},
		{name: "silent client", raw: "", want: []int{408}},
		{name: "connect and close", raw: "", close: true, want: []int{closed}},
		{name: "half a head then close", raw: "GET /a.html HTTP/1.0\r\nX: ", close: true, want: []int{400}},

		// Noise.
		{name: "random 64 bytes", raw: randomBytes(1, 64), close: true, want: []int{400}},
		{name: "random 4 KiB", raw: randomBytes(2, 4<<10), close: true, want: []int{400}},
		{name: "random 64 KiB", raw: randomBytes(3, 64<<10), close: true, want: []int{400}},
		{name: "random 1 KiB, left open", raw: randomBytes(4, 1<<10), want: []int{400}},
		{name: "NUL flood", raw: strings.Repeat("\x00", 32<<10), want: []int{400}},
		{name: "CRLF flood", raw: strings.Repeat("\r\n", 16<<10), want: []int{400}},
	}
}

// TestHostileInputs sends every case of the catalogue over its own
// connection and holds each outcome to the contract: an expected 4xx (or the
// 2xx/3xx of a request that is in fact legitimate) that parses as a complete
// HTTP/1.0 response with the contract's headers, or a plain close where
// listed; never a 5xx, a reset that eats the answer, a connection left open
// past the timeouts, or a byte of the secrets planted outside the root and
// in hidden files.
func TestHostileInputs(t *testing.T) {
	r := startServer(t, func(c *server.Options) { c.ReadTimeout = hostileReadTimeout }, nil)
	cases := hostileCatalogue(t)
	if len(cases) < 40 {
		t.Fatalf("catalogue has %d cases", len(cases))
	}
	names := map[string]bool{}
	for _, tc := range cases {
		if names[tc.name] {
			t.Fatalf("duplicate case %q", tc.name)
		}
		names[tc.name] = true
	}
	t.Run("catalogue", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				runHostile(t, r, tc)
			})
		}
	})

	// Seen from the server: no 5xx was ever produced, and every connection
	// was released.
	eventually(t, "connections released", func() bool { return r.Stats().Connections.Active == 0 })
	st := r.Stats()
	for code, n := range st.Requests.Status {
		if code[0] == '5' {
			t.Errorf("server answered %d × %s", n, code)
		}
	}
	t.Logf("%d cases; server tallied %v", len(cases), st.Requests.Status)
}

func runHostile(t *testing.T, r *inproc, tc hostileCase) {
	c := mustDial(t, r.addr, 2)
	defer c.Close()
	sent := make(chan error, 1)
	go func() {
		var err error
		switch {
		case tc.send != nil:
			err = tc.send(c)
		case tc.raw != "":
			_, err = io.WriteString(c, tc.raw)
		}
		if err == nil && tc.close {
			err = c.CloseWrite()
		}
		sent <- err
	}()
	// The server must have answered and closed well within its read
	// timeout plus a write: anything longer is a hang.
	time.Sleep(tc.readDelay)
	raw, err := readAll(c, time.Now().Add(hostileReadTimeout+5*time.Second))
	if serr := <-sent; serr != nil && !isReset(serr) {
		t.Errorf("send: %v", serr)
	}
	if s := leaks(raw); s != "" {
		t.Fatalf("response leaks %q", s)
	}
	switch {
	case isTimeout(err):
		t.Fatalf("connection still open after %v (got %d bytes: %q)", hostileReadTimeout+5*time.Second, len(raw), clip(raw))
	case err != nil && len(raw) == 0:
		t.Fatalf("no response, %v", err)
	case len(raw) == 0:
		if !wanted(tc.want, closed) {
			t.Fatalf("closed without a response; want %v", tc.want)
		}
		return
	}
	method := tc.method
	if method == "" {
		method = http.MethodGet
	}
	rp, perr := parseReply(raw, method)
	if perr != nil {
		t.Fatalf("%v (read error %v)", perr, err)
	}
	if err != nil && !tc.resetOK {
		t.Errorf("reset after a complete %d: %v", rp.Status, err)
	}
	for _, p := range contractProblems(rp, method) {
		t.Error(p)
	}
	if !wanted(tc.want, rp.Status) {
		t.Errorf("status %d, want one of %v (body %q)", rp.Status, tc.want, clip(rp.Body))
	}
	if tc.body != "" && rp.Status == 200 && string(rp.Body) != tc.body {
		t.Errorf("body %q, want %q", clip(rp.Body), tc.body)
	}
	if tc.check != nil {
		tc.check(t, rp)
	}
}

func wanted(want []int, got int) bool {
	for _, w := range want {
		if w == got {
			return true
		}
	}
	return false
}
