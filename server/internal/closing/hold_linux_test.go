package closing

import (
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWriteNowHoldsTheReply: on Linux the reply waits in the kernel's send
// queue until the close, which sends it with the FIN; the client then reads
// all of it. (Held data leaves by itself after 200 ms, so a check that took
// longer than that proves nothing and is made again.)
func TestWriteNowHoldsTheReply(t *testing.T) {
	for range 5 {
		client, server := pair(t)
		begin := time.Now()
		if !WriteNow(server, []byte(reply)) {
			t.Fatal("WriteNow did not write")
		}
		unsent := -1
		rc, _ := server.(syscall.Conn).SyscallConn()
		_ = rc.Control(func(fd uintptr) { unsent, _ = unix.IoctlGetInt(int(fd), unix.SIOCOUTQNSD) })
		if time.Since(begin) > 100*time.Millisecond {
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
