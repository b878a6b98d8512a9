//go:build linux

package load

import (
	"testing"

	"golang.org/x/sys/unix"
)

// At most maxLingering sockets wait for the server's FIN: one more closes
// the oldest, and the newcomer takes its place.
func TestLingeringIsCapped(t *testing.T) {
	l, err := newLoop(fakePlan(Options{Requests: 1, Concurrency: 1}), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	defer l.closeLingering()
	conn := func() *epollConn {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fds[1]) })
		c := l.get()
		c.fd = fds[0]
		l.register(c)
		return c
	}
	first := conn()
	firstGen := first.gen
	l.linger(first)
	for range maxLingering - 1 {
		l.linger(conn())
	}
	if l.lingered != maxLingering || l.flying != 0 || first.gen != firstGen {
		t.Fatalf("%d lingering, %d flying, first released %v; want %d, 0, false", l.lingered, l.flying, first.gen != firstGen, maxLingering)
	}
	last := conn()
	l.linger(last)
	if l.lingered != maxLingering || l.flying != 0 {
		t.Errorf("one past the cap: %d lingering, %d flying; want %d, 0", l.lingered, l.flying, maxLingering)
	}
	if first.gen == firstGen {
		t.Error("the oldest lingering socket was not closed for the newcomer")
	}
	if !last.lingering || last.fd < 0 {
		t.Error("the newcomer does not linger")
	}
}
