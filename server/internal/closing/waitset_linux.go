package closing

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
)

// WaitSet ends refused sockets as AwaitHead does, for sockets that are bare
// descriptors (the server's own accept on Linux): the reply's send with a
// FIN to a client that stays silent for silentAfter, the close once a
// complete head has arrived or the input ended, the half-close and
// discarding read for anything longer, and the close at LingerTimeout
// whatever happened. One epoll set and one goroutine wait for all of them,
// where AwaitHead needs a goroutine, a registration in Go's poller and its
// removal for each: under a flood that is most of what a refusal costs
// beyond the kernel's own work (docs/performance.md).
//
// The set owns the descriptors it takes: it alone closes them. A
// descriptor's number is reused by the kernel as soon as it is closed, so
// every socket carries a generation, in its epoll event and in its entry in
// the deadline queue, and anything that names an older generation is
// ignored.
type WaitSet struct {
	ep       *os.File // the epoll descriptor, itself waited on in Go's poller
	epfd     int
	rc       syscall.RawConn
	max      int
	maxBytes int64
	done     chan struct{}

	mu      sync.Mutex
	socks   []waiting // by descriptor
	queue   []queued  // in order of arrival, so in order of both deadlines
	head    int       // the next socket whose final deadline is due
	silent  int       // the next socket whose silent deadline is due
	n       int       // sockets waiting
	gen     uint32
	closing bool

	// The waiting goroutine's own.
	evs     [64]syscall.EpollEvent
	scratch [awaitHeadBytes]byte
}

type waiting struct {
	gen    uint32
	open   bool
	quiet  bool    // nothing read yet, and the silent deadline not passed
	linger bool    // half-closed: discarding input until its end or maxBytes
	got    int64   // bytes discarded while lingering
	part   *[]byte // a head that arrived in pieces so far
}

type queued struct {
	fd  int32
	gen uint32
	at  time.Time
}

// NewWaitSet starts a set that holds at most max sockets at once and
// discards at most maxBytes of a lingering socket's input.
func NewWaitSet(max int, maxBytes int64) (*WaitSet, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// Non-blocking, so that os.NewFile puts it in Go's poller: the set's
	// goroutine then waits for it as for a socket, with a deadline.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	ep := os.NewFile(uintptr(epfd), "epoll")
	rc, err := ep.SyscallConn()
	if err != nil {
		ep.Close()
		return nil, err
	}
	w := &WaitSet{ep: ep, epfd: epfd, rc: rc, max: max, maxBytes: maxBytes, done: make(chan struct{})}
	go w.run()
	return w, nil
}

// Add hands the set a socket, answered at now, to end; from then on the set
// owns fd. It reports false, and leaves fd to the caller, when the set is
// full or closed.
func (w *WaitSet) Add(fd int, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing || w.n >= w.max {
		return false
	}
	w.gen++
	if fd >= len(w.socks) {
		w.socks = append(w.socks, make([]waiting, fd+1-len(w.socks))...)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd), Pad: int32(w.gen)}
	if err := syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return false
	}
	w.socks[fd] = waiting{gen: w.gen, open: true, quiet: true}
	// Every socket in the queue is due before this one, so the waiting
	// goroutine's deadline only moves when the queue was empty.
	wasEmpty := w.head == len(w.queue)
	w.queue = append(w.queue, queued{fd: int32(fd), gen: w.gen, at: now})
	w.n++
	if wasEmpty {
		w.setDeadlineLocked()
	}
	return true
}

// Len is the number of sockets waiting.
func (w *WaitSet) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// Close takes no more sockets, waits until those waiting have ended (each
// within LingerTimeout), and releases the set.
func (w *WaitSet) Close() {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		<-w.done
		return
	}
	w.closing = true
	w.setDeadlineLocked()
	w.mu.Unlock()
	<-w.done
	_ = w.ep.Close()
}

func (w *WaitSet) run() {
	defer close(w.done)
	var n int
	var perr error // epoll_wait's own failure
	poll := func(fd uintptr) bool {
		for {
			m, err := syscall.EpollWait(int(fd), w.evs[:], 0)
			if err == syscall.EINTR {
				continue
			}
			n = max(m, 0)
			perr = os.NewSyscallError("epoll_wait", err) // nil when err is
			return n > 0 || err != nil
		}
	}
	for {
		n = 0
		err := w.rc.Read(poll)
		if perr != nil {
			err = perr
		}
		w.mu.Lock()
		for _, ev := range w.evs[:n] {
			w.readLocked(int(ev.Fd), uint32(ev.Pad))
		}
		w.expireLocked(time.Now())
		if w.closing && w.n == 0 {
			w.mu.Unlock()
			return
		}
		w.setDeadlineLocked()
		w.mu.Unlock()
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			// The epoll descriptor failed: end what waits rather than
			// leak it, and stop. Drained, as past the bound: a socket
			// whose input was not all read yet would close with a reset.
			w.mu.Lock()
			for fd := range w.socks {
				if s := &w.socks[fd]; s.open {
					w.release(s)
					s.open = false
					DrainFD(fd)
					w.n--
				}
			}
			w.mu.Unlock()
			return
		}
	}
}

// setDeadlineLocked points the waiting goroutine's deadline at the next
// socket due, or far away when none is.
func (w *WaitSet) setDeadlineLocked() {
	var next time.Time
	if w.closing && w.n == 0 {
		next = time.Unix(1, 0) // wake it now, to end
	} else {
		if w.silent < len(w.queue) {
			next = w.queue[w.silent].at.Add(silentAfter)
		}
		if w.head < len(w.queue) {
			if at := w.queue[w.head].at.Add(LingerTimeout); next.IsZero() || at.Before(next) {
				next = at
			}
		}
	}
	_ = w.ep.SetReadDeadline(next)
}

// readLocked takes what fd's socket has sent, as AwaitHead's reads do.
func (w *WaitSet) readLocked(fd int, gen uint32) {
	s := &w.socks[fd] // events come only for descriptors Add took

	if !s.open || s.gen != gen {
		return // an event for an earlier socket of that number
	}
	for {
		buf := w.scratch[:]
		if s.part != nil {
			buf = (*s.part)[len(*s.part):cap(*s.part)]
		}
		m, err := syscall.Read(fd, buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return
		case err != nil || m <= 0:
			w.closeLocked(fd) // the end of input, or a reset
			return
		}
		s.quiet = false
		if s.linger {
			if s.got += int64(m); s.got >= w.maxBytes {
				w.closeLocked(fd)
				return
			}
			continue
		}
		var head []byte
		if s.part != nil {
			*s.part = (*s.part)[:len(*s.part)+m]
			head = *s.part
		} else {
			head = buf[:m]
		}
		if CompleteHead(head) {
			w.closeLocked(fd)
			return
		}
		if len(head) >= awaitHeadBytes {
			// A longer head, or a body: Linger's half-close and discard.
			s.linger = true
			w.release(s)
			if !shutdownWrite(fd) {
				w.closeLocked(fd)
				return
			}
			continue
		}
		if s.part == nil {
			s.part = awaitBufs.Get().(*[]byte)
			*s.part = append((*s.part)[:0], head...)
		}
	}
}

// expireLocked applies the deadlines that have passed by now.
func (w *WaitSet) expireLocked(now time.Time) {
	for ; w.silent < len(w.queue); w.silent++ {
		q := w.queue[w.silent]
		if q.at.Add(silentAfter).After(now) {
			break
		}
		s := &w.socks[q.fd]
		if !s.open || s.gen != q.gen || !s.quiet {
			continue
		}
		s.quiet = false
		// Input that arrived after the last epoll_wait is not silence.
		if !peekFD(int(q.fd)) {
			_ = shutdownWrite(int(q.fd))
		}
	}
	for ; w.head < len(w.queue); w.head++ {
		q := w.queue[w.head]
		if q.at.Add(LingerTimeout).After(now) {
			break
		}
		if s := &w.socks[q.fd]; s.open && s.gen == q.gen {
			w.closeLocked(int(q.fd))
		}
	}
	w.silent = max(w.silent, w.head)
	// Reuse the queue's space once its live part is the smaller half.
	if w.head > 0 && w.head >= len(w.queue)/2 {
		k := copy(w.queue, w.queue[w.head:])
		w.queue = w.queue[:k]
		w.silent -= w.head
		w.head = 0
	}
}

func (w *WaitSet) closeLocked(fd int) {
	s := &w.socks[fd]
	w.release(s)
	s.open = false
	_ = syscall.Close(fd) // also takes it out of the epoll set
	w.n--
}

func (w *WaitSet) release(s *waiting) {
	if s.part != nil {
		*s.part = (*s.part)[:0]
		awaitBufs.Put(s.part)
		s.part = nil
	}
}

// WriteNowFD is WriteNow for a bare non-blocking descriptor.
func WriteNowFD(fd int, b []byte) bool {
	n := 0
	for n < len(b) {
		m, err := syscall.SendmsgN(fd, b[n:], nil, nil, holdFlag)
		if err == syscall.EINTR {
			continue
		}
		if m <= 0 || err != nil {
			return false // EAGAIN (a zero window) or an error: never wait
		}
		n += m
	}
	return true
}

// DrainFD is Drain for a bare descriptor, which it closes.
func DrainFD(fd int) {
	_ = shutdownWrite(fd)
	var b [4096]byte
	for range 16 {
		n, _, err := syscall.Recvfrom(fd, b[:], syscall.MSG_DONTWAIT)
		if err != nil || n <= 0 {
			break
		}
	}
	_ = syscall.Close(fd)
}

func shutdownWrite(fd int) bool { return syscall.Shutdown(fd, syscall.SHUT_WR) == nil }

func peekFD(fd int) bool {
	var b [1]byte
	n, _, err := syscall.Recvfrom(fd, b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err == nil && n > 0
}
