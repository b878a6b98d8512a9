package response

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A trailing name without a value is dropped, not written half or read past.
func TestAppendHeadOddExtra(t *testing.T) {
	b := AppendHead(nil, Head{Status: 200, ContentType: "text/plain", ContentLength: 0,
		Extra: []string{"Allow", "GET, HEAD", "Dangling"}}, time.Now())
	if !bytes.Contains(b, []byte("\r\nAllow: GET, HEAD\r\n")) || bytes.Contains(b, []byte("Dangling")) {
		t.Fatalf("%q", b)
	}
	if !bytes.HasSuffix(b, []byte("\r\nConnection: close\r\n\r\n")) {
		t.Fatalf("head does not end with Connection: close and the blank line: %q", b)
	}
}

// Without a detail the page has no empty paragraph; a long detail (beyond
// the preallocated size) is kept whole, and the length header matches.
func TestErrorBodyDetail(t *testing.T) {
	if b := ErrorBody(404, ""); bytes.Contains(b, []byte("<p>")) ||
		string(b) != "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1></body></html>\n" {
		t.Fatalf("%q", b)
	}
	long := strings.Repeat("d", 500)
	if b := ErrorBody(503, long); !bytes.Contains(b, []byte("<p>"+long+"</p></body>")) {
		t.Fatalf("%q", b)
	}
	raw := Error(nil, 503, long, time.Now())
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 503 || resp.ContentLength != int64(len(body)) || !bytes.Contains(body, []byte(long)) {
		t.Fatalf("status %d length %d body %d bytes, %v", resp.StatusCode, resp.ContentLength, len(body), err)
	}
}

// The cached Date is reused within a second and replaced in the next one,
// whichever way the clock moves.
func TestDateCacheSameSecond(t *testing.T) {
	a := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	if got := string(date(a)); got != "Wed, 04 Mar 2026 05:06:07 GMT" {
		t.Fatal(got)
	}
	if got := string(date(a.Add(900 * time.Millisecond))); got != "Wed, 04 Mar 2026 05:06:07 GMT" {
		t.Fatal(got)
	}
	if got := string(date(a.Add(-time.Second))); got != "Wed, 04 Mar 2026 05:06:06 GMT" {
		t.Fatal(got)
	}
}
