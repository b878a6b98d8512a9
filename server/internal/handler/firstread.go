package handler

import (
	"io"
	"net"
	"sync"
)

// firstReadSize is enough for most request heads in one read (wrk sends
// under 100 bytes, browsers a few hundred); the rest follows through the
// head reader as usual.
const firstReadSize = 512

// firstBufs holds the buffers idle connections wait in: an idle connection
// costs its goroutine and one of these, not the pooled per-request state
// (some 40 KB of buffers) that 10,000 idle connections would multiply.
var firstBufs = sync.Pool{New: func() any { return new([firstReadSize]byte) }}

// readFirst waits for and reads the start of the request into a small
// pooled buffer. Its caller returns the buffer with putFirst once the head
// reader has taken the bytes.
func readFirst(c net.Conn) (*[firstReadSize]byte, []byte, error) {
	fb := firstBufs.Get().(*[firstReadSize]byte)
	n, err := c.Read(fb[:])
	return fb, fb[:n], err
}

func putFirst(fb *[firstReadSize]byte) { firstBufs.Put(fb) }

// prefixed reads p, then r: the bytes readFirst took, then the connection.
// An error that came with the first bytes is not lost: the connection
// returns it again (end of stream and deadlines persist on a socket).
//
// err keeps the connection's last error, so that a head cut off by the read
// deadline is known as such even when net/http reports it as malformed.
type prefixed struct {
	p   []byte
	r   io.Reader
	err error
}

func (x *prefixed) Read(b []byte) (int, error) {
	if len(x.p) > 0 {
		n := copy(b, x.p)
		x.p = x.p[n:]
		return n, nil
	}
	n, err := x.r.Read(b)
	if err != nil {
		x.err = err
	}
	return n, err
}
