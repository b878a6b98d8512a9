package closing

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// heldAfter writes with write to the server end of a fresh pair and
// reports how many bytes the kernel still holds unsent right after it;
// ok is false when that check came too late to mean anything (held data
// leaves by itself after 200 ms), and the caller tries again.
func heldAfter(t *testing.T, write func(server net.Conn)) (client, server net.Conn, unsent int, ok bool) {
	t.Helper()
	client, server = pair(t)
	begin := time.Now()
	write(server)
	unsent = -1
	rc, _ := server.(syscall.Conn).SyscallConn()
	_ = rc.Control(func(fd uintptr) { unsent, _ = unix.IoctlGetInt(int(fd), unix.SIOCOUTQNSD) })
	return client, server, unsent, time.Since(begin) <= 100*time.Millisecond
}

// TestWriteNowHoldsTheReply: on Linux the reply waits in the kernel's send
// queue until the close, which sends it with the FIN; the client then reads
// all of it.
func TestWriteNowHoldsTheReply(t *testing.T) {
	for range 5 {
		client, server, unsent, ok := heldAfter(t, func(server net.Conn) {
			if !WriteNow(server, []byte(reply)) {
				t.Fatal("WriteNow did not write")
			}
		})
		if !ok {
			continue
		}
		if unsent != len(reply) {
			t.Fatalf("%d bytes unsent right after WriteNow; want all %d held for the close", unsent, len(reply))
		}
		_ = server.Close()
		readReply(t, client)
		return
	}
	t.Skip("the machine was too slow for every check to come within 100 ms")
}

// TestWriteHeldHoldsItBack: what WriteHeld writes waits in the kernel's
// send queue for what follows it: more data, which then leaves with it in
// order, or the close, whose FIN then carries it.
func TestWriteHeldHoldsItBack(t *testing.T) {
	for _, then := range []string{"body", "close"} {
		t.Run(then, func(t *testing.T) {
			for range 5 {
				c, s, unsent, ok := heldAfter(t, func(server net.Conn) {
					if n, err := WriteHeld(server, []byte("head,")); n != 5 || err != nil {
						t.Fatalf("wrote %d, %v", n, err)
					}
				})
				if !ok {
					continue
				}
				if unsent != 5 {
					t.Fatalf("%d bytes unsent right after WriteHeld; want the 5 held back", unsent)
				}
				want, limit := "head,", int64(1<<10) // after a close: all, up to the FIN
				if then == "body" {
					if _, err := s.Write([]byte("body")); err != nil {
						t.Fatal(err)
					}
					want, limit = want+"body", 9
				} else {
					_ = s.Close()
				}
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if got, err := io.ReadAll(io.LimitReader(c, limit)); string(got) != want {
					t.Fatalf("read %q, %v; want %q", got, err, want)
				}
				return
			}
			t.Skip("the machine was too slow for every check to come within 100 ms")
		})
	}
}

// TestAwaitHeadSendsTheReplyToASilentClient: a client that sends nothing
// gets its held reply, and a FIN, long before the close's LingerTimeout
// (without the shutdown it would see the reply after the kernel's 200 ms
// and the FIN at 500 ms), while the server still waits for its head: a
// head sent after the FIN is read, and the close that follows it is clean.
func TestAwaitHeadSendsTheReplyToASilentClient(t *testing.T) {
	client, server := pair(t)
	begin := time.Now()
	if !WriteNow(server, []byte(reply)) {
		t.Fatal("WriteNow did not write")
	}
	done := make(chan struct{})
	go func() { AwaitHead(server, 1<<20); close(done) }()
	readReply(t, client)
	expectEOF(t, client, 10*time.Second)
	if d := time.Since(begin); d >= LingerTimeout/2 {
		t.Fatalf("reply and FIN after %v; want them about %v after the reply, well before %v", d, silentAfter, LingerTimeout)
	}
	select {
	case <-done:
		t.Fatal("AwaitHead returned before the client sent its head; want it still waiting")
	default:
	}
	if _, err := io.WriteString(client, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	returns(t, done, 10*time.Second, "AwaitHead after the late head")
	// The head was read before the close: no reset follows.
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	if n, err := client.Read(b[:]); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("after the late head: read %d, %v; want a clean EOF, not a reset", n, err)
	}
}

// TestAwaitHeadKeepsAPartialHeadFromAFIN: bytes of a head that are in the
// kernel when the silent check comes, unread because the deadline passed
// before the waiting goroutine read (here: silentAfter is zero), stop the
// shutdown; the head is read and the close is clean.
func TestAwaitHeadKeepsAPartialHeadFromAFIN(t *testing.T) {
	defer func(d time.Duration) { silentAfter = d }(silentAfter)
	silentAfter = 0
	client, server := pair(t)
	if !WriteNow(server, []byte(reply)) {
		t.Fatal("WriteNow did not write")
	}
	if _, err := io.WriteString(client, "GET / HTTP/1.0\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // on loopback the bytes are in the server's kernel by now
	done := make(chan struct{})
	go func() { AwaitHead(server, 1<<20); close(done) }()
	// The reply comes after the kernel's 200 ms; no FIN may follow it
	// before the head is complete.
	br := bufio.NewReader(client)
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reply lost: %v", err)
	}
	if body, err := io.ReadAll(io.LimitReader(resp.Body, resp.ContentLength)); err != nil || string(body) != "full" {
		t.Fatalf("body %q, %v", body, err)
	}
	_ = client.SetReadDeadline(time.Now().Add(100 * time.Millisecond)) // the close's LingerTimeout is 500 ms
	if n, err := br.ReadByte(); !isTimeout(err) {
		t.Fatalf("before the rest of the head: read %d, %v; want nothing (no FIN)", n, err)
	}
	if _, err := io.WriteString(client, "Host: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	returns(t, done, 10*time.Second, "AwaitHead")
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the head: read %d, %v; want a clean EOF", n, err)
	}
}

// TestDrainSendsTheHeldReplyBeforeAReset: Drain takes at most 64 KiB, so a
// client that sent more still has input unread at the close, which then
// sends a reset. The reply held for the close (WriteNow) must have left
// before it: a reset discards what the server's kernel still holds.
func TestDrainSendsTheHeldReplyBeforeAReset(t *testing.T) {
	client, server := pair(t)
	// All of it must fit the server's receive buffer: input still arriving
	// after the reply would make the kernel send the held reply by itself.
	if err := server.(*net.TCPConn).SetReadBuffer(1 << 20); err != nil {
		t.Fatal(err)
	}
	drainAfter(t, client, server, make([]byte, 80<<10))
	readReply(t, client)
}

// drainAfter sends input from the client, lets it reach the server's
// kernel, then answers with a held reply and Drain, as a refusal past the
// waiting sockets' bound does.
func drainAfter(t *testing.T, client, server net.Conn, input []byte) {
	t.Helper()
	if _, err := client.Write(input); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // on loopback it is all in the server's kernel by now
	if !WriteNow(server, []byte(reply)) {
		t.Fatal("WriteNow did not write")
	}
	Drain(server)
}

// TestDrainEndsWithoutAReset: what the client sent before Drain is taken,
// so the close is a FIN, not a reset: the client's socket stays in
// CLOSE_WAIT (a reset would move it to CLOSE). The reply left first either
// way (TestDrainSendsTheHeldReplyBeforeAReset); this is the drain's part.
func TestDrainEndsWithoutAReset(t *testing.T) {
	client, server := pair(t)
	drainAfter(t, client, server, []byte("GET / HTTP/1.0\r\nX-Pad: "+strings.Repeat("p", 8000)+"\r\n\r\n"))
	readReply(t, client)
	expectEOF(t, client, 10*time.Second)
	time.Sleep(50 * time.Millisecond) // a reset would have come with the close
	if s := tcpState(t, client); s != unix.BPF_TCP_CLOSE_WAIT {
		t.Fatalf("client socket in TCP state %d, want CLOSE_WAIT (%d): the server's close was a reset", s, unix.BPF_TCP_CLOSE_WAIT)
	}
}
