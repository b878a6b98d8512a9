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

func TestAppendHeadParses(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	b := Error(nil, 429, "slow down", now, "Retry-After", "3")
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(string(b), "HTTP/1.0 429 Too Many Requests\r\n") {
		t.Errorf("status line: %q", b[:40])
	}
	h := resp.Header
	if h.Get("Date") != "Mon, 23 Nov 2026 12:00:00 GMT" || h.Get("Server") != ServerName ||
		h.Get("Connection") != "close" || h.Get("Retry-After") != "3" ||
		h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("headers: %v", h)
	}
	if resp.ContentLength != int64(len(body)) || !bytes.Contains(body, []byte("slow down")) {
		t.Errorf("length %d, body %q", resp.ContentLength, body)
	}
}

func TestDateCacheFollowsClock(t *testing.T) {
	a := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := string(date(a)); got != "Thu, 01 Jan 2026 00:00:00 GMT" {
		t.Fatal(got)
	}
	if got := string(date(a.Add(time.Second))); got != "Thu, 01 Jan 2026 00:00:01 GMT" {
		t.Fatal(got)
	}
}

func TestUnknownStatusHasReason(t *testing.T) {
	b := AppendHead(nil, Head{Status: 599, ContentType: "text/plain"}, time.Now())
	if !strings.HasPrefix(string(b), "HTTP/1.0 599 Status 599\r\n") {
		t.Fatalf("%q", b)
	}
}
