// Package closing ends connections so that a TCP reset cannot eat the reply.
//
// Closing a socket that still holds unread input makes the kernel answer
// with a reset, and a reset can discard a response the client has not read
// yet. Every close of the server that follows a response goes through here:
// a plain close when nothing is unread and nothing more is due, otherwise a
// bounded lingering close (half-close, then read and discard), the same
// rule as nginx's lingering close and net/http's closeWriteAndWait.
// Every wait is bounded in time and bytes, so that closing cannot become
// the cheap way to hold the server's resources.
package closing

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// LingerTimeout bounds every lingering close: net/http waits 500 ms
// (rstAvoidanceDelay) for the same purpose.
const LingerTimeout = 500 * time.Millisecond

var discardBufs = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// Linger half-closes c (our FIN follows the response), then reads and
// discards what the client still sends until it closes, up to maxBytes or
// until timeout, and only then closes.
func Linger(c net.Conn, timeout time.Duration, maxBytes int64) {
	if closeWrite(c) {
		_ = c.SetReadDeadline(time.Now().Add(timeout))
		bp := discardBufs.Get().(*[]byte)
		_, _ = io.CopyBuffer(io.Discard, io.LimitReader(onlyReader{c}, maxBytes), *bp)
		discardBufs.Put(bp)
	}
	_ = c.Close()
}

// onlyReader hides net.Conn's WriteTo so io.CopyBuffer uses our buffer.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// CompleteHead reports whether b is exactly one request head, ending in the
// blank line, that announces no body (no Content-Length, no
// Transfer-Encoding): after it, a client has nothing more to send, so a
// close sends a FIN and no reset.
func CompleteHead(b []byte) bool {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 || i+4 != len(b) {
		return false
	}
	for line := range bytes.SplitSeq(b[:i], []byte("\r\n")) {
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if strings.EqualFold(string(name), "Content-Length") || strings.EqualFold(string(name), "Transfer-Encoding") {
			return false
		}
	}
	return true
}

// WriteNow makes one write of b that never waits and reports whether all of
// it went. A refusal is a few hundred bytes to a fresh socket, whose send
// buffer is empty, so the kernel takes it whole. Where the descriptor can
// be reached, no deadline is involved: with net.Conn.Write and a short
// write deadline, a goroutine descheduled past that deadline (a loaded
// machine, the race detector) would find it expired and write nothing.
//
// Like WriteHeld, it holds b for the close (Linux). The client's request
// arrives within microseconds of its connection, so the wait for it
// (AwaitHead) is short; for a client that sends nothing, AwaitHead sends b
// with a FIN after silentAfter.
func WriteNow(c net.Conn, b []byte) bool { return writeNow(c, b) }

// WriteHeld (raw_unix.go, raw_other.go) writes the end of a reply that the
// close, or more data, follows at once. On Linux the write carries
// MSG_MORE, so the kernel holds b for what comes next: a head then leaves in
// the body's first segment, and a reply's end in one segment with the
// close's FIN, one packet fewer each (and one acknowledgement fewer from the
// client). For a refusal under a flood that is about a seventh of its CPU
// (docs/performance.md). The caller must close the connection, shut down
// its sending side or write more without the flag soon after: any of these
// sends what is held (and the kernel does after 200 ms).

// writeTimeout guards the portable WriteNow against the odd client that
// advertises a zero window. It is generous because a deadline that passes
// while the writing goroutine is descheduled loses the write.
const writeTimeout = time.Second

func writeWithDeadline(c net.Conn, b []byte) bool {
	_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
	n, err := c.Write(b)
	_ = c.SetWriteDeadline(time.Time{})
	return err == nil && n == len(b)
}

// awaitHeadBytes is the most of a client's request head that AwaitHead
// waits for; a longer head, or one with a body, gets the full Linger.
const awaitHeadBytes = 2 << 10

var awaitBufs = sync.Pool{New: func() any { b := make([]byte, awaitHeadBytes); return &b }}

// AwaitHead ends a socket that was answered without reading its request:
// a refusal at accept, where the request has usually not arrived yet (and
// reading for it before the answer would mostly cost a read that finds
// nothing). A plain close would reset the connection once the request
// arrives. So it waits, at most LingerTimeout, for the request head; once
// one complete head without a body has been read there is nothing left to
// arrive and the close is clean; the client's end of input, too.
// That is cheaper than Linger (half-close, then read until the client
// closes), which remains for anything that fills the buffer without a
// complete head. maxBytes bounds that Linger.
//
// Where the reply is held for the close (Linux, WriteNow), a client that
// has sent nothing at all after silentAfter is one that reads before it
// writes (a telnet user, a probe): its reply would wait for the kernel's
// 200 ms ceiling. So the sending side is shut down then, which sends the
// reply with a FIN, and the wait for the head goes on. Not once any byte
// has arrived: a FIN before a partial head is complete would tell the
// client that its request was not read.
func AwaitHead(c net.Conn, maxBytes int64) {
	bp := awaitBufs.Get().(*[]byte)
	defer awaitBufs.Put(bp)
	b := (*bp)[:0]
	start := time.Now()
	silent := holdFlag != 0 // still to check for a client that sends nothing
	if silent {
		_ = c.SetReadDeadline(start.Add(silentAfter))
	} else {
		_ = c.SetReadDeadline(start.Add(LingerTimeout))
	}
	for len(b) < cap(b) {
		n, err := c.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if silent && errors.Is(err, os.ErrDeadlineExceeded) {
			silent = false
			// A deadline passed while the goroutine waited to run can
			// leave input unread: only an empty socket is silent.
			if len(b) == 0 && !PendingInput(c) {
				_ = closeWrite(c)
			}
			_ = c.SetReadDeadline(start.Add(LingerTimeout))
			continue
		}
		// A complete head: nothing more will come. An end of input, the
		// deadline or a reset: nothing worth waiting for.
		if CompleteHead(b) || err != nil {
			_ = c.Close()
			return
		}
	}
	Linger(c, LingerTimeout, maxBytes)
}

// silentAfter is how long AwaitHead waits for a refused client's first
// byte before it sends the held reply with a FIN. Real clients send their
// request within microseconds of the connection, but a loaded client can
// take longer: under a flood from a nice'd client on the same two cores,
// 20 ms caught a tenth of the refused sockets (each then cost a peek and a
// shutdown more), 50 ms one in 25,000. Tests shorten it.
var silentAfter = 50 * time.Millisecond

// closeWrite shuts down c's sending side (a FIN after what was written)
// and reports whether it could.
func closeWrite(c net.Conn) bool {
	cw, ok := c.(interface{ CloseWrite() error })
	return ok && cw.CloseWrite() == nil
}
