//go:build linux

package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"httplab/httplab-requester/internal/escape"
)

// The epoll engine runs event loops over non-blocking sockets, the design
// of ab and wrk: no goroutine, timer or allocation per request, and no lock
// on the hot path, since each loop keeps the results of its own requests
// and they are merged once the run is over. It is what lets the requester
// keep up with the servers it measures (see docs/requester.md for the
// figures). The loops also pace: each sleeps in epoll_pwait2, whose timeout
// has nanosecond resolution, with its thread's timer slack at 1 µs, so
// requests leave within the kernel's wake-up latency of their due time
// without spinning.

// hasEpoll: Execute uses the epoll engine here (see withPortableEngine).
const hasEpoll = true

// epollConn is one request in flight.
type epollConn struct {
	fd        int
	gen       uint32 // bumped on reuse, so that stale queue entries are skipped
	seq       int
	start     time.Time
	deadline  time.Time
	local     netip.AddrPort
	req       []byte // bytes still to write
	connected bool
	connectAt time.Time // when the connection was established
	firstAt   time.Time // when the first response byte arrived
	done      bool      // the result is recorded; lingering for the server's close
	lingering bool      // done, no longer holds a slot, in the linger queue
	resp      response
}

// lingerer is an entry of the linger queue.
type lingerer struct {
	c     *epollConn
	gen   uint32
	until time.Time
}

// queued is an entry of the deadline queue.
type queued struct {
	c   *epollConn
	gen uint32
}

type loop struct {
	p        *plan
	ep       int
	wake     int        // eventfd written when ctx is cancelled
	mu       sync.Mutex // guards wake against a late interrupt
	closed   bool
	stopped  atomic.Bool // ctx is done: send no more
	byFD     []*epollConn
	free     []*epollConn
	queue    []queued // in flight, in start order, hence in deadline order
	qhead    int
	flying   int        // requests in flight: each holds a slot
	lingerQ  []lingerer // complete, waiting for the server's FIN, oldest first
	lhead    int
	lingered int // sockets in lingerQ still open
	aborted  int // requests in flight when the run was interrupted
	limit    int // this loop's share of the in-flight limit
	next     int // the next request to send
	step     int // the number of loops: this one sends next, next+step, ...
	sent     int
	began    time.Time
	onResult func(Result)
	events   []unix.EpollEvent
	buf      []byte
	out      []Result
	pwait2   bool   // epoll_pwait2 is available
	timedOut string // the detail of a request that reached its deadline
}

// runEpoll performs a run with the epoll engine, or with the net engine if
// epoll cannot be set up.
//
// A concurrent run is split over one loop per processor (at most
// maxLoops): loop k sends requests k, k+L, k+2L, ... on the common
// schedule, with its share of the in-flight limit. One loop on one core is
// what ab is; a second one lets the requester use the share of the other
// core that the server leaves idle.
func runEpoll(ctx context.Context, p *plan) engineRun {
	shards := min(runtime.GOMAXPROCS(0), maxLoops, p.limit)
	loops := make([]*loop, 0, shards)
	defer func() {
		for _, l := range loops {
			l.close()
		}
	}()
	onResult := p.opts.OnResult
	if onResult != nil && shards > 1 {
		var mu sync.Mutex // OnResult is promised never to run concurrently
		onResult = func(r Result) {
			mu.Lock()
			defer mu.Unlock()
			p.opts.OnResult(r)
		}
	}
	for k := range shards {
		l, err := newLoop(p, k, shards)
		if err != nil {
			return runNet(ctx, p)
		}
		l.onResult = onResult
		loops = append(loops, l)
	}
	stop := context.AfterFunc(ctx, func() {
		for _, l := range loops {
			l.interrupt()
		}
	})
	defer stop()

	began := p.start(time.Now())
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			// Timer slack is per thread: ask the kernel to wake this one
			// on time.
			if old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); err == nil {
				_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1000, 0, 0, 0)
				defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0)
			}
			l.run(began)
		})
	}
	wg.Wait()

	r := engineRun{engine: "epoll", began: began, results: loops[0].out}
	for _, l := range loops[1:] {
		r.results = append(r.results, l.out...)
	}
	for _, l := range loops {
		r.sent += l.sent
		r.aborted += l.aborted
	}
	slices.SortFunc(r.results, func(a, b Result) int { return a.Seq - b.Seq })
	return r
}

// maxLoops bounds the event loops of one run: past the cores that the
// server leaves free, more loops only contend.
const maxLoops = 4

func newLoop(p *plan, shard, shards int) (*loop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(ep)
		unix.Close(wake)
		return nil, err
	}
	limit := p.limit / shards
	if shard < p.limit%shards {
		limit++
	}
	return &loop{
		p:        p,
		ep:       ep,
		wake:     wake,
		next:     shard,
		step:     shards,
		limit:    limit,
		events:   make([]unix.EpollEvent, 256),
		buf:      make([]byte, readSize),
		out:      make([]Result, 0, p.opts.Requests/shards+1),
		pwait2:   true,
		timedOut: fmt.Sprintf("timeout: no complete response within %v", p.opts.Timeout),
	}, nil
}

func (l *loop) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	unix.Close(l.ep)
	unix.Close(l.wake)
}

// interrupt wakes the loop from any wait; called once when ctx ends, from
// another goroutine.
func (l *loop) interrupt() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped.Store(true)
	if !l.closed {
		_, _ = unix.Write(l.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	}
}

// run sends, reads and expires until every request is over. Every wait is
// bounded by an absolute time (the next request due, the next deadline, the
// next lingering socket's grace), and one already past means "now", so the
// loop ends within the schedule plus one timeout whatever the server does.
func (l *loop) run(began time.Time) {
	l.began = began
	defer l.closeLingering()
	for {
		if l.stopped.Load() {
			l.abort(time.Now())
			return
		}
		// Expire first, so that a slot freed by a timeout is filled by the
		// request already due, in this same round.
		now := time.Now()
		l.expire(now)
		l.expireLingering(now)
		now = l.sendDue(now)
		sending := l.next < l.p.opts.Requests && !l.stopped.Load()
		if !sending && l.flying == 0 {
			return
		}
		// The earliest timed event; with none, the wait is for a socket.
		var wait time.Duration
		timed := false
		at := func(t time.Time) {
			if d := max(t.Sub(now), 0); !timed || d < wait {
				wait, timed = d, true
			}
		}
		if sending && l.flying < l.limit {
			at(l.began.Add(l.p.sched.Due(l.next)))
		}
		if d, ok := l.nextDeadline(); ok {
			at(d)
		}
		if l.lingered > 0 {
			at(l.lingerQ[l.lhead].until)
		}
		k, err := l.wait(wait, timed)
		if err != nil {
			continue // EINTR
		}
		for _, ev := range l.events[:k] {
			if l.handle(int(ev.Fd), ev.Events) && l.flying < l.limit {
				// A slot came free: fill it now rather than after the
				// batch, as a request waiting for it is already late.
				l.sendDue(time.Now())
			}
		}
	}
}

// sendDue sends every request that is due, while slots are free, and
// returns the time after the last send.
func (l *loop) sendDue(now time.Time) time.Time {
	for l.next < l.p.opts.Requests && l.flying < l.limit && !l.stopped.Load() {
		if l.began.Add(l.p.sched.Due(l.next)).After(now) {
			break
		}
		l.send(l.next, now)
		l.next += l.step
		l.sent++
		now = time.Now() // a send takes microseconds: keep start times honest
	}
	return now
}

// wait blocks in epoll until an event, and when timed for at most d.
func (l *loop) wait(d time.Duration, timed bool) (int, error) {
	if l.pwait2 {
		var ts *unix.Timespec
		if timed {
			t := unix.NsecToTimespec(int64(d))
			ts = &t
		}
		k, err := epollPwait2(l.ep, l.events, ts)
		if !errors.Is(err, unix.ENOSYS) {
			return k, err
		}
		l.pwait2 = false // kernel older than 5.11
	}
	// Whole milliseconds only: round down, so the loop wakes early and
	// polls the last fraction rather than sending late.
	ms := -1 // forever
	if timed {
		ms = int(d / time.Millisecond)
	}
	return unix.EpollWait(l.ep, l.events, ms)
}

// send starts request i: socket, bind, connect, register.
func (l *loop) send(i int, now time.Time) {
	c := l.get()
	c.seq, c.start, c.deadline = i, now, now.Add(l.p.opts.Timeout)
	c.req = l.p.request(i)
	c.connected, c.done, c.lingering = false, false, false
	c.connectAt, c.firstAt = time.Time{}, time.Time{}
	c.resp.reset()

	family := unix.AF_INET
	if l.p.addr.Addr().Is6() {
		family = unix.AF_INET6
	}
	fd, err := rawSocket(family)
	if err != nil {
		l.record(c, outcome{err: classify(err), detail: "socket: " + err.Error()}, time.Now())
		l.put(c)
		return
	}
	c.fd = fd
	if local := l.p.local(i); local.IsValid() {
		// See bindAddressNoPort: the port is chosen at connect, not here.
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(local, 0))); err != nil {
			l.fail(c, err, "bind "+local.String())
			return
		}
	}
	connectErr := rawConnect(fd, l.p.addr)
	if connectErr != nil && !errors.Is(connectErr, unix.EINPROGRESS) {
		l.fail(c, connectErr, "connect")
		return
	}
	c.local = rawLocalAddr(fd)
	if err := rawEpollAdd(l.ep, fd, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP|unix.EPOLLET); err != nil {
		l.fail(c, err, "epoll")
		return
	}
	l.register(c)
	l.queue = append(l.queue, queued{c, c.gen})
	if connectErr == nil { // connected at once
		c.connected, c.connectAt = true, time.Now()
		l.write(c)
	}
}

// register makes c, whose socket is open, one of the loop's requests in
// flight: events on its fd now find it, and it holds a slot.
func (l *loop) register(c *epollConn) {
	for c.fd >= len(l.byFD) {
		l.byFD = append(l.byFD, nil)
	}
	l.byFD[c.fd] = c
	l.flying++
}

// handle advances the connection on fd after an event, and reports whether
// that ended it, freeing a slot.
func (l *loop) handle(fd int, events uint32) bool {
	before := l.flying
	l.advance(fd, events)
	return l.flying < before
}

func (l *loop) advance(fd int, events uint32) {
	if fd == l.wake {
		var b [8]byte
		_, _ = unix.Read(l.wake, b[:])
		return
	}
	if fd >= len(l.byFD) || l.byFD[fd] == nil {
		return
	}
	c := l.byFD[fd]
	if c.lingering {
		// The response was complete: whatever comes now (the FIN, more
		// bytes, a reset) ends the wait.
		l.release(c)
		return
	}
	if !c.connected {
		if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		// Writable without an error condition means connected; only a
		// failure needs SO_ERROR to say why, which saves a system call per
		// request.
		if events&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if err == nil && soerr != 0 {
				err = unix.Errno(soerr)
			} else if err == nil {
				err = unix.ECONNRESET // hung up, yet no error recorded
			}
			l.fail(c, err, "connect")
			return
		}
		c.connected, c.connectAt = true, time.Now()
	}
	if len(c.req) > 0 {
		if !l.write(c) {
			return
		}
	}
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		// An error condition (a reset) is left for read to report.
		l.read(c, events&(unix.EPOLLRDHUP|unix.EPOLLERR) == unix.EPOLLRDHUP)
	}
}

// write sends what is left of the request; false if the connection failed.
func (l *loop) write(c *epollConn) bool {
	for len(c.req) > 0 {
		n, err := rawWrite(c.fd, c.req)
		if errors.Is(err, unix.EAGAIN) {
			return true // EPOLLOUT will say when to go on
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			l.fail(c, err, "send request")
			return false
		}
		c.req = c.req[n:]
	}
	return true
}

// read reads until the socket is empty or the connection over. peerClosed
// says the event reported the server's FIN (EPOLLRDHUP).
//
// A read shorter than the buffer has emptied the socket: with edge-triggered
// events, new data will raise a new event, so the loop does not spend a
// system call on the EAGAIN that would follow. And if the server had already
// closed when the event was raised, that short read took the last bytes:
// the response ends there, without waiting for a read to return 0.
func (l *loop) read(c *epollConn, peerClosed bool) {
	for {
		n, err := rawRead(c.fd, l.buf)
		if n > 0 {
			if c.firstAt.IsZero() {
				c.firstAt = time.Now()
			}
			if c.resp.feed(l.buf[:n]) {
				o := c.resp.verdict(nil)
				l.record(c, o, time.Now())
				if o.err != NoError || peerClosed || n == len(l.buf) {
					// Malformed, or closed already, or more bytes past
					// the response: nothing worth waiting for.
					l.release(c)
					return
				}
				l.linger(c)
				return
			}
			if n == len(l.buf) {
				continue
			}
			if !peerClosed {
				return
			}
			err = io.EOF
		} else if errors.Is(err, unix.EAGAIN) {
			return
		} else if errors.Is(err, unix.EINTR) {
			continue
		} else if n == 0 && err == nil {
			err = io.EOF
		}
		if !c.done {
			l.record(c, c.resp.verdict(err), time.Now())
		}
		l.release(c)
		return
	}
}

// fail records a failure of c and releases it.
func (l *loop) fail(c *epollConn, err error, during string) {
	l.record(c, outcome{err: classify(err), detail: during + ": " + err.Error(), bytes: c.resp.bodyBytes()}, time.Now())
	l.release(c)
}

// record adds c's result; later events on c change nothing.
func (l *loop) record(c *epollConn, o outcome, end time.Time) {
	if c.done {
		return
	}
	c.done = true
	res := Result{
		Seq:       l.p.sched.Seq(c.seq),
		LocalAddr: c.local,
		Scheduled: l.p.sched.Due(c.seq),
		Start:     c.start.Sub(l.began),
		End:       end.Sub(l.began),
		Connect:   phase(c.start, c.connectAt, end),
		FirstByte: phase(c.start, c.firstAt, end),
		Status:    o.status,
		Bytes:     o.bytes,
		Err:       o.err,
		Detail:    escape.Detail(o.detail),
	}
	l.out = append(l.out, res)
	if l.onResult != nil {
		l.onResult(res)
	}
}

// expire ends the requests whose deadline has passed.
func (l *loop) expire(now time.Time) {
	for l.qhead < len(l.queue) {
		q := l.queue[l.qhead]
		if q.c.gen == q.gen {
			if q.c.deadline.After(now) {
				break
			}
			if !q.c.done {
				during := "connect"
				if q.c.connected {
					during = q.c.resp.during()
				}
				l.record(q.c, outcome{err: Timeout, bytes: q.c.resp.bodyBytes(),
					detail: during + ": " + l.timedOut}, now)
			}
			l.release(q.c)
		}
		l.queue[l.qhead] = queued{}
		l.qhead++
	}
	// Reclaim the consumed front of the queue now and then.
	if l.qhead > 1024 && l.qhead*2 > len(l.queue) {
		l.queue = l.queue[:copy(l.queue, l.queue[l.qhead:])]
		l.qhead = 0
	}
}

// nextDeadline is the earliest deadline of a request in flight.
func (l *loop) nextDeadline() (time.Time, bool) {
	for i := l.qhead; i < len(l.queue); i++ {
		if q := l.queue[i]; q.c.gen == q.gen && !q.c.lingering {
			return q.c.deadline, true
		}
	}
	return time.Time{}, false
}

// linger keeps c, whose result is recorded, open for the server's FIN
// without holding a slot: see lingerGrace.
func (l *loop) linger(c *epollConn) {
	if l.lingered >= maxLingering {
		l.expireLingering(time.Time{}) // full: closes the oldest
		if l.lingered >= maxLingering {
			l.release(c)
			return
		}
	}
	c.lingering = true
	l.flying--
	l.lingered++
	l.lingerQ = append(l.lingerQ, lingerer{c, c.gen, time.Now().Add(lingerGrace)})
}

// expireLingering closes the lingering sockets whose grace has passed, or,
// when the queue is full, the oldest one.
func (l *loop) expireLingering(now time.Time) {
	full := l.lingered >= maxLingering
	for l.lhead < len(l.lingerQ) {
		q := l.lingerQ[l.lhead]
		if q.c.gen == q.gen {
			if !full && q.until.After(now) {
				break
			}
			l.release(q.c)
			full = false
		}
		l.lingerQ[l.lhead] = lingerer{}
		l.lhead++
	}
	if l.lhead > 1024 && l.lhead*2 > len(l.lingerQ) {
		l.lingerQ = l.lingerQ[:copy(l.lingerQ, l.lingerQ[l.lhead:])]
		l.lhead = 0
	} else if l.lhead == len(l.lingerQ) {
		l.lingerQ, l.lhead = l.lingerQ[:0], 0
	}
}

// closeLingering closes every lingering socket when the loop ends, so that
// waiting for FINs never makes a run longer than its last request.
func (l *loop) closeLingering() {
	for ; l.lhead < len(l.lingerQ); l.lhead++ {
		if q := l.lingerQ[l.lhead]; q.c.gen == q.gen {
			l.release(q.c)
		}
	}
}

// abort ends every request in flight when the run is interrupted: each is
// reported as it stood (category other, with its bytes), so an interrupted
// run reports at once and counts every request it sent.
func (l *loop) abort(now time.Time) {
	for ; l.qhead < len(l.queue); l.qhead++ {
		q := l.queue[l.qhead]
		if q.c.gen != q.gen {
			continue
		}
		if !q.c.done {
			during := "connect"
			if q.c.connected {
				during = q.c.resp.during()
			}
			l.record(q.c, outcome{err: Other, bytes: q.c.resp.bodyBytes(),
				detail: during + ": " + errInterrupted.Error()}, now)
			l.aborted++
		}
		l.release(q.c)
	}
}

// get takes a connection record from the free list.
func (l *loop) get() *epollConn {
	if k := len(l.free); k > 0 {
		c := l.free[k-1]
		l.free = l.free[:k-1]
		return c
	}
	return &epollConn{fd: -1}
}

// release closes c's socket (which also removes it from epoll) and
// recycles the record.
func (l *loop) release(c *epollConn) {
	if c.fd >= 0 {
		if c.fd < len(l.byFD) && l.byFD[c.fd] == c {
			l.byFD[c.fd] = nil
			if c.lingering {
				l.lingered--
			} else {
				l.flying--
			}
		}
		rawClose(c.fd)
		c.fd = -1
	}
	l.put(c)
}

func (l *loop) put(c *epollConn) {
	c.gen++
	c.fd = -1
	c.local = netip.AddrPort{}
	l.free = append(l.free, c)
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

// epollPwait2 is epoll_pwait2(2), which golang.org/x/sys/unix does not wrap.
func epollPwait2(ep int, events []unix.EpollEvent, timeout *unix.Timespec) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(ep),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(unsafe.Pointer(timeout)), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
