package server_test

import (
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/server"
)

// On Linux every test above runs the bare-descriptor accept (fdconn,
// closing.WaitSet); the other systems accept through net.Listener. These
// are the tests of caps, refusals and shutdown again on that portable path.
func TestPortableAcceptPath(t *testing.T) {
	*server.RawAccept = false
	defer func() { *server.RawAccept = true }()
	for name, test := range map[string]func(*testing.T){
		"ConnectionCaps":                   TestConnectionCaps,
		"CapsUnderConcurrentLoad":          TestCapsUnderConcurrentLoad,
		"RefusalWithoutReset":              TestRefusalWithoutReset,
		"RefusalAwaitsTheRestOfAShortHead": TestRefusalAwaitsTheRestOfAShortHead,
		"GracefulShutdown":                 TestGracefulShutdown,
		"Shedding":                         TestShedding,
		"StatusCodes":                      TestStatusCodes,
	} {
		t.Run(name, test)
	}
}

// Out of descriptors, accept4 fails with EMFILE while the connection waits
// in the queue: the bare-descriptor accept backs off, counts and logs it as
// the portable one does (TestAcceptBacksOffOnTemporaryErrors), and serves
// the connection once descriptors are free again.
func TestBareAcceptBacksOffWhenOutOfDescriptors(t *testing.T) {
	var log logBuffer
	r := start(t, func(o *server.Options) { o.Log = zerolog.New(&log) })
	if rp := r.get(t, 2, "/a.html"); rp.Status != 200 {
		t.Fatalf("before: %d", rp.Status)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	highest := 0
	for _, e := range entries {
		var n int
		for _, ch := range e.Name() {
			n = n*10 + int(ch-'0')
		}
		highest = max(highest, n)
	}
	low := lim
	low.Cur = uint64(highest + 8)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skipf("cannot lower the descriptor limit: %v", err)
	}
	restore := func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) }
	defer restore()
	// Take every free number below the limit, then give one back for the
	// client's socket: the server's accept then finds none.
	var fillers []int
	for range low.Cur {
		fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			break
		}
		fillers = append(fillers, fd)
	}
	release := func() {
		for _, fd := range fillers {
			syscall.Close(fd)
		}
		fillers = nil
	}
	defer release()
	if len(fillers) == 0 || uint64(len(fillers)) == low.Cur {
		t.Skipf("could not exhaust descriptors (%d taken)", len(fillers))
	}
	syscall.Close(fillers[len(fillers)-1])
	fillers = fillers[:len(fillers)-1]
	before := r.Stats().Connections.AcceptErrors
	c := r.dial(t, 2)
	defer c.Close()
	eventually(t, "accept errors counted", func() bool { return r.Stats().Connections.AcceptErrors > before })
	release()
	restore()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /a.html HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if rp := readReply(t, c); rp.Status != 200 {
		t.Fatalf("after the descriptors came back: %d", rp.Status)
	}
	if !strings.Contains(log.String(), "accept failed; backing off") {
		t.Errorf("the accept errors were not logged:\n%s", log.String())
	}
}

// The refused connection's stand-in reported to ConnState (it has no
// socket of its own) carries the client's address.
func TestRefusedConnStateKnowsThePeer(t *testing.T) {
	got := make(chan string, 4)
	r := start(t, func(o *server.Options) {
		o.MaxPerClient = 1
		o.ConnState = func(c net.Conn, st server.ConnState) {
			if st == server.StateRefusedClient {
				got <- c.RemoteAddr().String()
			}
		}
	})
	held := r.hold(t, 3)
	defer held.Close()
	c := r.dial(t, 3)
	defer c.Close()
	select {
	case a := <-got:
		if want := c.LocalAddr().String(); a != want {
			t.Errorf("ConnState's refused connection is from %s, want %s", a, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no refusal reported")
	}
}
