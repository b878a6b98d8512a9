package servertest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Reply is one parsed response.
type Reply struct {
	Status     int
	StatusLine string
	Header     http.Header
	Body       []byte
	Rest       []byte // bytes after the response (ParseReply only): must be none
}

// ParseReply parses raw as one complete response to a request of method
// (HEAD responses have no body), with the body sized by Content-Length.
func ParseReply(raw []byte, method string) (Reply, error) {
	br := bufio.NewReader(bytes.NewReader(raw))
	line, _, _ := bytes.Cut(raw, []byte("\r\n"))
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return Reply{}, fmt.Errorf("unparseable response %q: %v", Clip(raw), err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, fmt.Errorf("body of %q: %v", line, err)
	}
	rest, _ := io.ReadAll(br)
	return Reply{Status: resp.StatusCode, StatusLine: string(line), Header: resp.Header, Body: body, Rest: rest}, nil
}

// ReadReply reads one response to a request of method from c, within 10 s,
// without waiting for the close: only what its Content-Length announces.
func ReadReply(c net.Conn, method string) (Reply, error) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	peek, _ := br.Peek(64)
	line, _, _ := strings.Cut(string(peek), "\r\n") // a copy: body reads reuse the buffer
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return Reply{}, fmt.Errorf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, fmt.Errorf("read body: %v", err)
	}
	return Reply{Status: resp.StatusCode, StatusLine: line, Header: resp.Header, Body: body}, nil
}

// ContractProblems lists how rp breaks the contract every response keeps:
// HTTP/1.0 status line, Date, Server, Content-Type, Content-Length that
// matches the body (HEAD and 304 aside), Connection: close, nothing after it, no
// server error but the 503 of a refusal.
func ContractProblems(rp Reply, method string) []string {
	var p []string
	if !strings.HasPrefix(rp.StatusLine, "HTTP/1.0 ") {
		p = append(p, fmt.Sprintf("status line %q is not HTTP/1.0", rp.StatusLine))
	}
	for _, h := range []string{"Date", "Server", "Content-Type", "Content-Length"} {
		if len(rp.Header.Values(h)) != 1 {
			p = append(p, fmt.Sprintf("%s header %q, want exactly one", h, rp.Header.Values(h)))
		}
	}
	if rp.Header.Get("Connection") != "close" {
		p = append(p, fmt.Sprintf("Connection %q", rp.Header.Get("Connection")))
	}
	if cl, err := strconv.Atoi(rp.Header.Get("Content-Length")); err != nil {
		p = append(p, fmt.Sprintf("Content-Length %q", rp.Header.Get("Content-Length")))
	} else if method != http.MethodHead && rp.Status != http.StatusNotModified && cl != len(rp.Body) {
		// HEAD and 304 have no body; their Content-Length is the file's.
		p = append(p, fmt.Sprintf("Content-Length %d but %d body bytes", cl, len(rp.Body)))
	}
	if len(rp.Rest) > 0 {
		p = append(p, fmt.Sprintf("%d bytes after the response: %q", len(rp.Rest), Clip(rp.Rest)))
	}
	if rp.Status >= 500 && rp.Status != http.StatusServiceUnavailable {
		p = append(p, fmt.Sprintf("server error %d", rp.Status))
	}
	return p
}

// Clip shortens b for a failure message.
func Clip(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
