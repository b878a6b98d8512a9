package handler_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"httplab/httplab-server/internal/handler"
)

// The close after a response: a FIN when nothing is left unread, a
// lingering close (FIN, then read and discard) when input is left, so that
// the client's late bytes never draw a reset that can eat the response.
// Over loopback TCP: a socket that closed without lingering answers late
// bytes with a reset, which the client reads as ECONNRESET.

// readResponse reads one whole response and then the end of the stream.
func readResponse(t *testing.T, r *bufio.Reader) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("body: %v", err)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("after the response: %v, want the end of the stream", err)
	}
	return resp
}

// lateBytes sends late after the response and reports what the
// connection then says: nil for a clean end of stream, else the error.
func lateBytes(t *testing.T, f *fixture, raw, late string) error {
	t.Helper()
	client, done := tcpServe(t, f, nil, raw)
	_ = client.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(client)
	if resp := readResponse(t, r); resp.StatusCode != 200 {
		t.Fatalf("%q: status %d", raw, resp.StatusCode)
	}
	if _, err := io.WriteString(client, late); err != nil {
		return err
	}
	// A reset for the late bytes arrives within the write on loopback, so
	// the next write reports it; a lingering close takes both.
	if _, err := io.WriteString(client, "y"); err != nil {
		return err
	}
	_ = client.CloseWrite()
	<-done
	_, err := r.ReadByte()
	if err == io.EOF {
		return nil
	}
	return err
}

func TestCloseWithNothingUnreadDoesNotLinger(t *testing.T) {
	site, _ := testSite(t)
	f := newFixture(t, site, nil)
	err := lateBytes(t, f, "GET /a.html HTTP/1.0\r\n\r\n", "x")
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("late bytes after a plain request: %v, want a reset (the handler closed at once)", err)
	}
}

func TestCloseLingersForAnAnnouncedBody(t *testing.T) {
	site, _ := testSite(t)
	f := newFixture(t, site, nil)
	// The body comes after the response: the head alone said it would.
	if err := lateBytes(t, f, "GET /a.html HTTP/1.0\r\nContent-Length: 5\r\n\r\n", "hello"); err != nil {
		t.Fatalf("the announced body after the response: %v, want a clean end (a lingering close)", err)
	}
}

func TestCloseLingersForInputInTheKernel(t *testing.T) {
	site, _ := testSite(t)
	// The delay lets the second request arrive, in its own segment, after
	// the first head was read and before the response.
	f := newFixture(t, site, func(o *handler.Options) { o.Delay = 300 * time.Millisecond })
	client, done := tcpServe(t, f, nil, "GET /a.html HTTP/1.0\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	if _, err := io.WriteString(client, "GET /a.html HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = client.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(client)
	if resp := readResponse(t, r); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	_ = client.CloseWrite()
	<-done
}

func TestCloseLingersForPipelinedInput(t *testing.T) {
	site, _ := testSite(t)
	f := newFixture(t, site, nil)
	two := strings.Repeat("GET /a.html HTTP/1.0\r\n\r\n", 2)
	if err := lateBytes(t, f, two, "x"); err != nil {
		t.Fatalf("late bytes after a pipelined pair: %v, want a clean end (a lingering close)", err)
	}
}
