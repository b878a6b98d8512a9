//go:build linux

package load

import (
	"testing"
	"time"
)

type waited struct {
	k   int
	err error
}

// The loop's wait, with epoll_pwait2 (nanoseconds) and with the epoll_wait
// it falls back to on kernels older than 5.11 (milliseconds): a timed wait
// with nothing to report ends by itself, an untimed one lasts until an
// event (here the loop's wake-up).
func TestLoopWait(t *testing.T) {
	for _, pwait2 := range []bool{true, false} {
		l, err := newLoop(fakePlan(Options{Requests: 1, Concurrency: 1}), 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		l.pwait2 = pwait2
		wait := func(d time.Duration, timed bool) waited {
			done := make(chan waited, 1)
			go func() {
				k, err := l.wait(d, timed)
				done <- waited{k, err}
			}()
			select {
			case w := <-done:
				return w
			case <-time.After(5 * time.Second):
				l.interrupt()
				<-done
				t.Fatalf("pwait2 %v: a wait of %v (timed %v) went on for 5 s", pwait2, d, timed)
				return waited{}
			}
		}
		if w := wait(20*time.Millisecond, true); w.k != 0 || w.err != nil {
			t.Errorf("pwait2 %v: a timed wait with nothing to report: %d events, %v", pwait2, w.k, w.err)
		}
		time.AfterFunc(100*time.Millisecond, l.interrupt)
		if w := wait(0, false); w.k != 1 || w.err != nil || int(l.events[0].Fd) != l.wake {
			t.Errorf("pwait2 %v: an untimed wait: %d events, %v; want the wake-up", pwait2, w.k, w.err)
		}
		l.close()
	}
}
