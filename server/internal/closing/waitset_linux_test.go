package closing

import (
	"bytes"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"httplab/httplab-server/internal/fdconn"
)

// rawPair is a connected pair whose server end is a bare descriptor, as the
// server's own accept hands it over, answered with the held reply.
func rawPair(t *testing.T) (fd int, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fl, err := fdconn.Listen(ln.(*net.TCPListener))
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	fd, _, err = fl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if !WriteNowFD(fd, []byte(reply)) {
		t.Fatal("WriteNowFD did not write")
	}
	return fd, client
}

func newSet(t *testing.T, max int, maxBytes int64) *WaitSet {
	t.Helper()
	w, err := NewWaitSet(max, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

func add(t *testing.T, w *WaitSet, fd int) time.Time {
	t.Helper()
	now := time.Now()
	if !w.Add(fd, now) {
		t.Fatal("Add refused a socket with room in the set")
	}
	return now
}

// waitLen waits up to d for the set to hold n sockets.
func waitLen(t *testing.T, w *WaitSet, n int, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); w.Len() != n; {
		if time.Now().After(end) {
			t.Fatalf("the set holds %d sockets after %v, want %d", w.Len(), d, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// tcpState is the TCP state of the client's socket: CLOSE_WAIT once the
// server's FIN came, CLOSE after a reset.
func tcpState(t *testing.T, c net.Conn) uint8 {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info *unix.TCPInfo
	var ierr error
	_ = rc.Control(func(fd uintptr) { info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
	if ierr != nil {
		t.Fatal(ierr)
	}
	return info.State
}

// A complete head ends the wait at once, with a clean close: the client
// reads the whole reply, then EOF, and its socket holds no reset.
func TestWaitSetClosesAfterACompleteHead(t *testing.T) {
	w := newSet(t, 8, 1<<20)
	fd, client := rawPair(t)
	began := add(t, w, fd)
	if _, err := io.WriteString(client, "GET / HTTP/1.0\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	readReply(t, client)
	expectEOF(t, client, 10*time.Second)
	waitLen(t, w, 0, 10*time.Second)
	if d := time.Since(began); d >= LingerTimeout {
		t.Errorf("closed %v after the head; a complete head ends the wait, not the timeout", d)
	}
	time.Sleep(50 * time.Millisecond)
	if s := tcpState(t, client); s != unix.BPF_TCP_CLOSE_WAIT {
		t.Errorf("client in TCP state %d, want CLOSE_WAIT: the close was a reset", s)
	}
}

// A client that sends nothing gets the held reply with a FIN after
// silentAfter, long before LingerTimeout, while the set still waits for
// its head; a head sent after that is read and the close is clean.
func TestWaitSetSendsTheReplyToASilentClient(t *testing.T) {
	w := newSet(t, 8, 1<<20)
	fd, client := rawPair(t)
	began := add(t, w, fd)
	readReply(t, client)
	expectEOF(t, client, 10*time.Second)
	if d := time.Since(began); d >= LingerTimeout/2 {
		t.Fatalf("reply and FIN after %v; want them about %v after the reply", d, silentAfter)
	}
	if n := w.Len(); n != 1 {
		t.Fatalf("the set holds %d sockets after the FIN, want the silent one still waiting for its head", n)
	}
	if _, err := io.WriteString(client, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitLen(t, w, 0, 10*time.Second)
	time.Sleep(50 * time.Millisecond)
	if s := tcpState(t, client); s != unix.BPF_TCP_CLOSE_WAIT {
		t.Errorf("client in TCP state %d after the late head, want CLOSE_WAIT (no reset)", s)
	}
}

// A head that arrives in pieces is put together across reads: no FIN goes
// while it is partial (past silentAfter too), and the close follows its
// last piece.
func TestWaitSetWaitsForTheRestOfAHead(t *testing.T) {
	w := newSet(t, 8, 1<<20)
	fd, client := rawPair(t)
	began := add(t, w, fd)
	if _, err := io.WriteString(client, "GET / HTTP/1.0\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * silentAfter)
	if s := tcpState(t, client); s != unix.BPF_TCP_ESTABLISHED {
		t.Fatalf("client in TCP state %d with half a head sent, want ESTABLISHED: a FIN went before the head was complete", s)
	}
	if n := w.Len(); n != 1 {
		t.Fatalf("the set holds %d sockets with half a head read, want 1", n)
	}
	if _, err := io.WriteString(client, "Host: x\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if n := w.Len(); n != 1 {
		t.Fatalf("the set holds %d sockets with the head still one line short, want 1", n)
	}
	if _, err := io.WriteString(client, "\r\n"); err != nil {
		t.Fatal(err)
	}
	readReply(t, client)
	expectEOF(t, client, 10*time.Second)
	// About 170 ms in: the pieces were put together, and the close is the
	// complete head's, not the deadline's.
	if d := time.Since(began); d >= LingerTimeout {
		t.Errorf("closed %v after it was added, at the deadline: the pieces did not make a head", d)
	}
	waitLen(t, w, 0, 10*time.Second)
}

// More than awaitHeadBytes without a complete head (a long head, a body):
// the reply goes at once with a FIN, and the set reads and discards what
// follows until the client closes, so that the close is clean.
func TestWaitSetLingersOverALongHead(t *testing.T) {
	w := newSet(t, 8, 1<<20)
	fd, client := rawPair(t)
	add(t, w, fd)
	if _, err := client.Write(append([]byte("POST / HTTP/1.0\r\nContent-Length: 9000\r\n\r\n"), bytes.Repeat([]byte("b"), 3000)...)); err != nil {
		t.Fatal(err)
	}
	readReply(t, client)
	expectEOF(t, client, 10*time.Second)
	if n := w.Len(); n != 1 {
		t.Fatalf("the set holds %d sockets after the half-close, want the lingering one", n)
	}
	// The client goes on sending its body after the FIN: still read.
	if _, err := client.Write(bytes.Repeat([]byte("b"), 6000)); err != nil {
		t.Fatal(err)
	}
	client.(*net.TCPConn).CloseWrite()
	waitLen(t, w, 0, 10*time.Second)
}

// A lingering socket is closed once maxBytes are discarded, without
// waiting for the client's end or the timeout.
func TestWaitSetLingerStopsAtMaxBytes(t *testing.T) {
	w := newSet(t, 8, 8<<10)
	fd, client := rawPair(t)
	began := add(t, w, fd)
	go func() { _, _ = client.Write(make([]byte, 256<<10)) }()
	waitLen(t, w, 0, 10*time.Second)
	if d := time.Since(began); d >= LingerTimeout {
		t.Errorf("closed %v after it began; maxBytes should end it before the timeout", d)
	}
}

// A client that sends part of a head and stops is closed at
// LingerTimeout, not before.
func TestWaitSetClosesAtTheDeadline(t *testing.T) {
	w := newSet(t, 8, 1<<20)
	fd, client := rawPair(t)
	began := add(t, w, fd)
	if _, err := io.WriteString(client, "GET"); err != nil {
		t.Fatal(err)
	}
	readReply(t, client) // held until the close (or the kernel's 200 ms)
	expectEOF(t, client, 10*time.Second)
	if d := time.Since(began); d < LingerTimeout {
		t.Fatalf("EOF %v after the socket was added; a partial head is awaited for %v", d, LingerTimeout)
	}
	waitLen(t, w, 0, 10*time.Second)
}

// A descriptor's number comes back with the next socket once it is closed.
// The queue still holds the closed socket's deadline; it must not end the
// new socket of that number before that one's own deadline.
func TestWaitSetIgnoresAReusedDescriptorsOldDeadline(t *testing.T) {
	w := newSet(t, 8, 1<<20)
	// Both sockets get the same high number, which the kernel's lowest-free
	// allocation gives nothing else in between.
	const number = 900
	fdA, clientA := rawPair(t)
	fdA = moveTo(t, fdA, number)
	add(t, w, fdA)
	if _, err := io.WriteString(clientA, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitLen(t, w, 0, 10*time.Second)
	time.Sleep(LingerTimeout / 2)
	fdB, clientB := rawPair(t)
	fdB = moveTo(t, fdB, number)
	began := add(t, w, fdB)
	if _, err := io.WriteString(clientB, "GET"); err != nil {
		t.Fatal(err)
	}
	readReply(t, clientB)
	expectEOF(t, clientB, 10*time.Second)
	if d := time.Since(began); d < LingerTimeout {
		t.Fatalf("B closed %v after it was added, at A's deadline; want its own, %v", d, LingerTimeout)
	}
}

// moveTo gives the socket fd the descriptor number to, which must be free.
func moveTo(t *testing.T, fd, to int) int {
	t.Helper()
	if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(to), syscall.F_GETFD, 0); e != syscall.EBADF {
		t.Skipf("descriptor %d is in use", to)
	}
	if err := syscall.Dup3(fd, to, syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	syscall.Close(fd)
	return to
}

// The set takes at most max sockets; a full set refuses more, leaving the
// descriptor to the caller, and takes one again once a socket has ended.
func TestWaitSetIsBounded(t *testing.T) {
	w := newSet(t, 2, 1<<20)
	fd1, c1 := rawPair(t)
	fd2, _ := rawPair(t)
	fd3, c3 := rawPair(t)
	add(t, w, fd1)
	add(t, w, fd2)
	if w.Add(fd3, time.Now()) {
		t.Fatal("a full set took a third socket")
	}
	DrainFD(fd3)
	readReply(t, c3)
	if _, err := io.WriteString(c1, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitLen(t, w, 1, 10*time.Second)
	fd4, _ := rawPair(t)
	add(t, w, fd4)
}

// waitingOnAPartialHead is a new set holding one socket whose client has
// sent part of a head, so that only its deadline would end it.
func waitingOnAPartialHead(t *testing.T) (w *WaitSet, client net.Conn, added time.Time) {
	t.Helper()
	w, err := NewWaitSet(8, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	fd, client := rawPair(t)
	added = add(t, w, fd)
	if _, err := io.WriteString(client, "GET"); err != nil {
		t.Fatal(err)
	}
	return w, client, added
}

// Close waits for the sockets still waiting, which end by their deadline,
// and takes no more.
func TestWaitSetCloseWaitsForItsSockets(t *testing.T) {
	w, _, began := waitingOnAPartialHead(t)
	done := make(chan struct{})
	go func() { w.Close(); close(done) }()
	returns(t, done, 10*time.Second, "Close")
	if d := time.Since(began); d < LingerTimeout {
		t.Errorf("Close returned %v after the socket was added, before its deadline", d)
	}
	if n := w.Len(); n != 0 {
		t.Errorf("%d sockets after Close", n)
	}
	fd2, _ := rawPair(t)
	if w.Add(fd2, time.Now()) {
		t.Error("a closed set took a socket")
	}
	syscall.Close(fd2)
	w.Close() // a second Close returns at once
}

// DrainFD takes what the client sent and closes with a FIN after the held
// reply: the client reads the reply, then EOF, and its socket is in
// CLOSE_WAIT, not reset.
func TestDrainFD(t *testing.T) {
	fd, client := rawPair(t)
	if _, err := io.WriteString(client, "GET / HTTP/1.0\r\nX-Pad: "+strings.Repeat("p", 8000)+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	DrainFD(fd)
	readReply(t, client)
	expectEOF(t, client, 10*time.Second)
	time.Sleep(50 * time.Millisecond)
	if s := tcpState(t, client); s != unix.BPF_TCP_CLOSE_WAIT {
		t.Fatalf("client in TCP state %d, want CLOSE_WAIT: the close was a reset", s)
	}
}

// WriteNowFD gives up, never waits, on a socket the client has reset.
func TestWriteNowFDOnAResetSocket(t *testing.T) {
	fd, client := rawPair(t)
	defer syscall.Close(fd)
	_ = client.(*net.TCPConn).SetLinger(0)
	client.Close()
	time.Sleep(50 * time.Millisecond) // the reset has arrived
	if WriteNowFD(fd, []byte(reply)) {
		t.Fatal("WriteNowFD reported success on a reset socket")
	}
}

// The waiting goroutine sleeps in Go's poller when nothing is due: a set
// holding a socket that sends nothing more costs no CPU between its
// deadlines (a poll that reported "ready" with nothing ready would spin).
func TestWaitSetSleepsWhenIdle(t *testing.T) {
	w := newSet(t, 8, 1<<20)
	fd, client := rawPair(t)
	add(t, w, fd)
	if _, err := io.WriteString(client, "GET"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	time.Sleep(300 * time.Millisecond)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	used := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	if used > 100*time.Millisecond {
		t.Fatalf("the process used %v of CPU in 300 ms with one socket waiting quietly: the set spins", used)
	}
}

// If epoll_wait itself fails (here: the set's descriptor number now names
// /dev/null), the set closes every socket it holds at once, rather than
// leave them to their deadlines, and its goroutine ends.
func TestWaitSetEndsItsSocketsWhenEpollFails(t *testing.T) {
	w, client, began := waitingOnAPartialHead(t)
	null, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(null, w.epfd, syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	syscall.Close(null)
	returns(t, w.done, 10*time.Second, "the set's goroutine after epoll_wait failed")
	readReply(t, client)
	expectEOF(t, client, 10*time.Second)
	if d := time.Since(began); d >= LingerTimeout {
		t.Errorf("the socket was closed %v after it was added, at its deadline; want at once", d)
	}
	if n := w.Len(); n != 0 {
		t.Errorf("%d sockets left", n)
	}
	w.Close() // closes what now stands at the set's number: the /dev/null duplicate
}

// Descriptors handed over in consecutive numbers (each one past the end of
// what the set has seen) are all taken.
func TestWaitSetTakesConsecutiveDescriptors(t *testing.T) {
	w := newSet(t, 8, 1<<20)
	var clients []net.Conn
	for i := range 3 {
		fd, client := rawPair(t)
		add(t, w, moveTo(t, fd, 940+i))
		clients = append(clients, client)
	}
	for _, c := range clients {
		if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		readReply(t, c)
	}
	waitLen(t, w, 0, 10*time.Second)
}

// The deadline queue gives back its space: once half of it or more has
// passed its final deadline, what is left moves to the front.
func TestWaitSetQueueIsCompacted(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct{ n, due, wantLen, wantHead int }{
		{4, 4, 0, 0}, // all passed
		{4, 2, 2, 0}, // exactly half
		{4, 1, 4, 1}, // less than half: kept as it is
	} {
		w := &WaitSet{socks: make([]waiting, 1)}
		for i := range tc.n {
			at := now.Add(-2 * LingerTimeout)
			if i >= tc.due {
				at = now
			}
			w.queue = append(w.queue, queued{fd: 0, gen: 1, at: at})
		}
		w.expireLocked(now)
		if len(w.queue) != tc.wantLen || w.head != tc.wantHead {
			t.Errorf("%d of %d due: queue %d long, head at %d; want %d and %d", tc.due, tc.n, len(w.queue), w.head, tc.wantLen, tc.wantHead)
		}
	}
}

// The silent check looks at the socket itself: input that arrived after
// the last epoll_wait (here: never registered, so never seen) means the
// client is not silent and gets no FIN; an empty socket gets one, and so
// does one whose client has only sent its FIN.
func TestWaitSetSilentCheckPeeks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		send  func(c net.Conn)
		state uint8 // the client's TCP state after the check
	}{
		{"input pending", func(c net.Conn) { _, _ = io.WriteString(c, "GET") }, unix.BPF_TCP_ESTABLISHED},
		{"nothing", func(net.Conn) {}, unix.BPF_TCP_CLOSE_WAIT},
		// Both FINs exchanged: the client's socket leaves its state to the
		// kernel's TIME_WAIT entry and reads CLOSE (without ours, FIN_WAIT2).
		{"only a FIN", func(c net.Conn) { _ = c.(*net.TCPConn).CloseWrite() }, unix.BPF_TCP_CLOSE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd, client := rawPair(t)
			defer syscall.Close(fd)
			tc.send(client)
			time.Sleep(20 * time.Millisecond)
			now := time.Now()
			w := &WaitSet{socks: make([]waiting, fd+1)}
			w.socks[fd] = waiting{gen: 1, open: true, quiet: true}
			w.queue = []queued{{fd: int32(fd), gen: 1, at: now.Add(-silentAfter)}}
			w.expireLocked(now)
			time.Sleep(50 * time.Millisecond)
			if s := tcpState(t, client); s != tc.state {
				t.Errorf("client in TCP state %d after the silent check, want %d", s, tc.state)
			}
		})
	}
}
