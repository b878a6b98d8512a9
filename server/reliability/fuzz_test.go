//go:build linux

package reliability

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"httplab/httplab-server/internal/handler"
)

// FuzzHandler sends arbitrary bytes as a request to the real server over
// loopback (the client half-closes after them, so every input ends) and
// checks what any input must get: a single complete HTTP/1.0 response with
// the contract's headers, whose status is the one the request deserves
// (decided here by parsing the same bytes with the same parser under the
// same limit), never a 5xx, never a reset that eats it, never a byte of the
// planted secrets, and a close within the timeouts. Only input with no
// bytes at all may be answered by a bare close.
//
// Its seed corpus is the hostile catalogue, so plain go test runs it.
// Longer runs: go test -run '^$' -fuzz=FuzzHandler -fuzztime=5m ./server/reliability
func FuzzHandler(f *testing.F) {
	for _, tc := range hostileCatalogue(f) {
		if tc.raw != "" && len(tc.raw) <= 64<<10 {
			f.Add([]byte(tc.raw))
		}
	}
	f.Add([]byte(""))
	f.Add([]byte("GET /docs/read%20me.txt HTTP/1.0\r\n\r\n"))
	f.Add([]byte("HEAD /docs/ HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("GET /books HTTP/1.0\r\n\r\n"))

	r := startServer(f, nil, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := dialFrom(r.addr, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			if _, err := c.Write(data); err == nil {
				_ = c.CloseWrite()
			}
		}()
		raw, rerr := readAll(c, time.Now().Add(10*time.Second))
		<-sent
		if s := leaks(raw); s != "" {
			t.Fatalf("response leaks %q", s)
		}
		if isTimeout(rerr) {
			t.Fatalf("no close within 10 s (%d bytes: %q)", len(raw), clip(raw))
		}
		method, want := expectedFor(data)
		if len(raw) == 0 {
			if rerr != nil || !wanted(want, closed) {
				t.Fatalf("no response (%v); want %v", rerr, want)
			}
			return
		}
		rp, err := parseReply(raw, method)
		if err != nil {
			t.Fatalf("%v (read error %v)", err, rerr)
		}
		if rerr != nil {
			t.Fatalf("reset after a complete %d: %v", rp.Status, rerr)
		}
		for _, p := range contractProblems(rp, method) {
			t.Error(p)
		}
		if !wanted(want, rp.Status) {
			t.Errorf("status %d, want one of %v", rp.Status, want)
		}
	})
}

// expectedFor decides what the server owes a request of these bytes, by
// parsing them as the handler does: net/http.ReadRequest under the same
// head limit.
func expectedFor(data []byte) (method string, want []int) {
	req, err := http.ReadRequest(bufio.NewReader(io.LimitReader(bytes.NewReader(data), handler.MaxHeadBytes)))
	switch {
	case errors.Is(err, io.EOF) && len(data) == 0:
		return http.MethodGet, []int{closed}
	case err != nil:
		return http.MethodGet, []int{http.StatusBadRequest}
	case req.ProtoMajor != 1:
		return req.Method, []int{http.StatusBadRequest}
	case req.ProtoMinor >= 1 && req.Host == "": // RFC 9112 §3.2
		return req.Method, []int{http.StatusBadRequest}
	case req.Method != http.MethodGet && req.Method != http.MethodHead:
		return req.Method, []int{http.StatusMethodNotAllowed}
	}
	return req.Method, []int{http.StatusOK, http.StatusMovedPermanently, http.StatusNotFound}
}
