package response

import (
	"bufio"
	"bytes"
	"io"
	"net"
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

// The client writes more than the server reads; a plain close would reset the
// connection and could discard the response. LingerClose must deliver it.
func TestLingerCloseDeliversDespiteUnreadInput(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		time.Sleep(50 * time.Millisecond) // let the client's bytes arrive unread
		_, _ = c.Write(Error(nil, 503, "full", time.Now(), "Retry-After", "1"))
		LingerClose(c, 2*time.Second, 1<<20)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write(bytes.Repeat([]byte("x"), 64<<10))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("response lost: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 503 || !bytes.Contains(body, []byte("full")) {
		t.Fatalf("status %d body %q err %v", resp.StatusCode, body, err)
	}
}

// A client that never stops sending must not hold LingerClose past its bound.
func TestLingerCloseIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan time.Duration, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		start := time.Now()
		LingerClose(c, 200*time.Millisecond, 1<<30)
		done <- time.Since(start)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stop := time.Now().Add(5 * time.Second)
	buf := make([]byte, 4096)
	for time.Now().Before(stop) {
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Write(buf); err != nil && !isTimeout(err) {
			break
		}
		select {
		case d := <-done:
			if d > 3*time.Second {
				t.Fatalf("lingered %v", d)
			}
			return
		default:
		}
	}
	select {
	case d := <-done:
		if d > 3*time.Second {
			t.Fatalf("lingered %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("LingerClose did not return")
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
