package handler

import (
	"net"
	"os"
	"syscall"

	"httplab/httplab-server/internal/fdconn"
)

// canSendFile: sendFileAt works here, so the file cache keeps large files open.
const canSendFile = true

// openFileBudget is how many descriptors the file cache may hold open: a
// sixteenth of the descriptor limit, at most cacheMaxOpenFiles, so that under
// a low limit (ulimit -n 64) the cache never takes the descriptors that
// connections need.
func openFileBudget() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return budgetFor(lim.Cur)
}

func budgetFor(limit uint64) int {
	return int(min(limit/16, cacheMaxOpenFiles))
}

// fileSink is c when sendFileAt can send to it: net's TCP connections and
// the server's own (fdconn, accepted as bare descriptors).
func fileSink(c net.Conn) (syscall.Conn, bool) {
	switch c := c.(type) {
	case *net.TCPConn:
		return c, true
	case *fdconn.Conn:
		return c, true
	}
	return nil, false
}

// sendFileAt sends n bytes of src from offset off to dst with sendfile(2),
// which reads at the offset given and leaves the file's own offset alone,
// so that any number of responses can send one open file at once. It waits
// for dst as a Write does, under its write deadline. errFileGone: src was
// closed, or ended before off+n; nothing was sent after that point.
func sendFileAt(dst syscall.Conn, src *os.File, off, n int64) (int64, error) {
	srcRC, err := src.SyscallConn()
	if err != nil {
		return 0, errFileGone
	}
	dstRC, err := dst.SyscallConn()
	if err != nil {
		return 0, err
	}
	var sent int64
	var werr, serr error // waiting for dst; sendfile itself
	cerr := srcRC.Control(func(sfd uintptr) {
		werr = dstRC.Write(func(dfd uintptr) bool {
			for sent < n {
				o := off + sent
				m, e := syscall.Sendfile(int(dfd), int(sfd), &o, int(min(n-sent, 1<<30)))
				if m > 0 {
					sent += int64(m)
				}
				switch {
				case e == syscall.EAGAIN:
					return false // wait until dst takes more
				case e == syscall.EINTR:
				case e != nil:
					serr = os.NewSyscallError("sendfile", e)
					return true
				case m == 0:
					serr = errFileGone // the file is shorter than it was
					return true
				}
			}
			return true
		})
	})
	if cerr != nil {
		return sent, errFileGone
	}
	if serr != nil {
		return sent, serr
	}
	return sent, werr
}
