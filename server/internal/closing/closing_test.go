package closing

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// pair returns both ends of a loopback TCP connection.
func pair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

const reply = "HTTP/1.0 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nfull"

// readReply reads the whole reply and then expects a clean end of stream.
func readReply(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("response lost: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 503 || string(body) != "full" {
		t.Fatalf("status %d body %q err %v", resp.StatusCode, body, err)
	}
}

func TestCompleteHead(t *testing.T) {
	for _, tc := range []struct {
		head string
		want bool
	}{
		{"GET / HTTP/1.0\r\n\r\n", true},
		{"GET /a.html HTTP/1.1\r\nHost: x\r\nUser-Agent: y\r\n\r\n", true},
		{"GET / HTTP/1.0\r\n", false},                                      // half a head
		{"GET / HTTP/1.0\r\nHost: x\r\n", false},                           // half a head
		{"", false},                                                        // nothing yet
		{"POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\n", false},            // a body follows
		{"POST / HTTP/1.0\r\ncontent-length:0\r\n\r\n", false},             // any length: linger, to be safe
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", false},   // a body follows
		{"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n", false},            // more than one head
		{"POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", false},       // head and body
		{"GET / HTTP/1.0\r\nX-Content-Length-Note: 5\r\n\r\n", true},       // only the exact names count
		{"GET / HTTP/1.0\r\n  Transfer-Encoding : chunked\r\n\r\n", false}, // spaced name: still refused a fast close
	} {
		if got := CompleteHead([]byte(tc.head)); got != tc.want {
			t.Errorf("CompleteHead(%q) = %v, want %v", tc.head, got, tc.want)
		}
	}
}

// The client writes more than the server reads; a plain close would reset the
// connection and could discard the response. Linger must deliver it.
func TestLingerDeliversDespiteUnreadInput(t *testing.T) {
	client, server := pair(t)
	_, _ = client.Write(bytes.Repeat([]byte("x"), 64<<10))
	time.Sleep(50 * time.Millisecond) // let the client's bytes arrive unread
	_, _ = server.Write([]byte(reply))
	go Linger(server, 2*time.Second, 1<<20)
	readReply(t, client)
}

// A client that never stops sending must not hold Linger past its bound.
func TestLingerIsBounded(t *testing.T) {
	client, server := pair(t)
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		Linger(server, 200*time.Millisecond, 1<<30)
		done <- time.Since(start)
	}()
	stop := time.Now().Add(5 * time.Second)
	buf := make([]byte, 4096)
	for time.Now().Before(stop) {
		_ = client.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := client.Write(buf); err != nil && !isTimeout(err) {
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
		t.Fatal("Linger did not return")
	}
}

// Linger also stops after maxBytes, without waiting for its timeout.
func TestLingerStopsAtMaxBytes(t *testing.T) {
	client, server := pair(t)
	_, _ = client.Write(bytes.Repeat([]byte("x"), 8<<10))
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		Linger(server, time.Minute, 4<<10)
		done <- time.Since(start)
	}()
	select {
	case d := <-done:
		if d > 30*time.Second {
			t.Fatalf("Linger took %v with its byte budget spent", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Linger waited for its timeout although its byte budget was spent")
	}
}

// TestWriteNowIgnoresDeadlines: CI once saw a refused client read an empty
// reply, because the accept goroutine was descheduled past the 50 ms write
// deadline it had just set, and net.Conn.Write then gave up before writing.
// WriteNow goes through the descriptor, so even a connection whose write
// deadline has long expired gets its bytes.
func TestWriteNowIgnoresDeadlines(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("the portable WriteNow writes under a deadline")
	}
	client, server := pair(t)
	_ = server.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := server.Write([]byte("x")); err == nil {
		t.Fatal("net.Conn.Write wrote past its deadline: this test no longer shows the hazard")
	}
	if !WriteNow(server, []byte(reply)) {
		t.Fatal("WriteNow did not write")
	}
	_ = server.Close()
	readReply(t, client)
}

// WriteNow never waits: against a peer that reads nothing, it gives up once
// the kernel's buffers are full and says so.
func TestWriteNowGivesUpOnAFullWindow(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("the portable WriteNow writes under a deadline")
	}
	_, server := pair(t)
	big := make([]byte, 64<<20)
	done := make(chan bool, 1)
	go func() { done <- WriteNow(server, big) }()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("WriteNow claims 64 MiB went to a peer that reads nothing")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WriteNow waited")
	}
}

func TestPendingInput(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("PendingInput always says yes without unix sockets")
	}
	client, server := pair(t)
	if PendingInput(server) {
		t.Fatal("input pending on a fresh connection")
	}
	_, _ = io.WriteString(client, "x")
	deadline := time.Now().Add(10 * time.Second)
	for !PendingInput(server) {
		if time.Now().After(deadline) {
			t.Fatal("the byte sent never shows as pending")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A peek takes nothing: the byte is still there to read.
	var b [1]byte
	_ = server.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := server.Read(b[:]); n != 1 || err != nil || b[0] != 'x' {
		t.Fatalf("read %d %v %q after the peek", n, err, b[:n])
	}
	// A FIN is no pending input: close answers it without a reset.
	_ = client.(*net.TCPConn).CloseWrite()
	time.Sleep(20 * time.Millisecond)
	if PendingInput(server) {
		t.Fatal("end of input counted as pending input")
	}
}

// Drain takes what already arrived, so the close is a FIN and the reply
// survives.
func TestDrainDeliversTheReply(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("Drain only closes without unix sockets")
	}
	client, server := pair(t)
	_, _ = io.WriteString(client, "GET / HTTP/1.0\r\nX-Pad: "+string(bytes.Repeat([]byte("p"), 8000))+"\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	_, _ = server.Write([]byte(reply))
	Drain(server)
	readReply(t, client)
	var b [1]byte
	if n, err := client.Read(b[:]); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("after the reply: %d, %v; want a clean EOF", n, err)
	}
}

// AwaitHead: the rest of the head arrives after the reply; the close waits
// for it and is clean. A client that sends nothing more costs at most
// LingerTimeout.
func TestAwaitHead(t *testing.T) {
	t.Run("rest of head arrives", func(t *testing.T) {
		client, server := pair(t)
		_, _ = io.WriteString(client, "GET / HTTP/1.0\r\n")
		time.Sleep(20 * time.Millisecond)
		_, _ = server.Write([]byte(reply))
		go AwaitHead(server, 1<<20)
		readReply(t, client)
		_, _ = io.WriteString(client, "Host: x\r\n\r\n")
		var b [1]byte
		if n, err := client.Read(b[:]); n != 0 || !errors.Is(err, io.EOF) {
			t.Fatalf("after the reply: %d, %v; want a clean EOF", n, err)
		}
	})
	t.Run("silent client", func(t *testing.T) {
		_, server := pair(t)
		start := time.Now()
		AwaitHead(server, 1<<20)
		if d := time.Since(start); d < LingerTimeout/2 || d > 10*time.Second {
			t.Fatalf("AwaitHead returned after %v; want about %v", d, LingerTimeout)
		}
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestWriteHeldWaitsAndFails: WriteHeld waits for a slow reader as a Write
// does, and reports the error of a connection the peer has reset.
func TestWriteHeldWaitsAndFails(t *testing.T) {
	client, server := pair(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB: more than the socket buffers hold
	got := make(chan []byte, 1)
	go func() {
		_ = client.SetReadDeadline(time.Now().Add(20 * time.Second))
		b, _ := io.ReadAll(client)
		got <- b
	}()
	if n, err := WriteHeld(server, big); n != len(big) || err != nil {
		t.Fatalf("wrote %d of %d, %v", n, len(big), err)
	}
	_ = server.Close()
	if b := <-got; !bytes.Equal(b, big) {
		t.Fatalf("%d bytes arrived, not the %d written", len(b), len(big))
	}

	client, server = pair(t)
	_ = client.(*net.TCPConn).SetLinger(0)
	_ = client.Close() // a reset
	var err error
	for range 100 { // the reset arrives at once on loopback; a few tries cover a slow one
		if _, err = WriteHeld(server, []byte("x")); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err == nil {
		t.Fatal("WriteHeld reported no error on a reset connection")
	}
}
