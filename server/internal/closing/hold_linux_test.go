package closing

import (
	"io"
	"net"
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
