package server

import (
	"context"
	"net"
	"time"

	"httplab/httplab-server/internal/admit"
	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/closing"
	"httplab/httplab-server/internal/fdconn"
)

// rawAccept: on a TCP listener, accept bare descriptors (fdconn) and keep
// refused sockets out of Go's poller (closing.WaitSet). A refusal then
// costs an accept4, the 503's sendmsg, an epoll registration in the set and
// the close, with no goroutine: what nginx's refusal costs, where net's
// accept adds getsockname, TCP_NODELAY, its own registration and removal,
// and a goroutine to wait for the request (docs/performance.md). Tests turn
// it off to run the portable path on Linux too.
var rawAccept = true

// fdRefusals ends refused bare descriptors.
type fdRefusals struct{ set *closing.WaitSet }

func (f *fdRefusals) close() {
	if f.set != nil {
		f.set.Close()
		f.set = nil
	}
}

// refuseFD is refuse for a bare descriptor, which it takes over.
func (r *refusals) refuseFD(fd int, v admit.Verdict, key clientid.Key, now time.Time) {
	if !closing.WriteNowFD(fd, r.reply(v, now)) {
		r.unwritten.Add(1)
	}
	r.logRefusal(v, key)
	if !r.fds.set.Add(fd, now) {
		r.unlingered.Add(1)
		closing.DrainFD(fd)
	}
}

// acceptFDs is acceptLoop on bare descriptors, for a *net.TCPListener; it
// reports false, having accepted nothing, where it cannot run, and the
// caller then accepts through ln.
func (s *Server) acceptFDs(ctx context.Context, ln net.Listener, dispatch func(c net.Conn, slot *admit.Conn, rateKey clientid.Key)) (bool, error) {
	tl, ok := ln.(*net.TCPListener)
	if !rawAccept || !ok {
		return false, nil
	}
	fl, err := fdconn.Listen(tl)
	if err != nil {
		s.log.Warn().Err(err).Msg("accepting through net instead of bare descriptors")
		return false, nil
	}
	set, err := closing.NewWaitSet(maxLingering, lingerBytes)
	if err != nil {
		fl.Close()
		s.log.Warn().Err(err).Msg("accepting through net instead of bare descriptors")
		return false, nil
	}
	s.refusals.fds.set = set
	defer fl.Close()
	stop := context.AfterFunc(ctx, func() { fl.Close(); ln.Close() })
	defer stop()
	var backoff time.Duration
	for {
		fd, peer, err := fl.Accept()
		if err != nil {
			if stop, err := s.acceptFailed(ctx, err, &backoff); stop {
				return true, err
			}
			continue
		}
		backoff = 0
		now := time.Now()
		key, rateKey := s.keysOf(peer)
		// Until Open, c is only its peer's address: enough for the admitter
		// and ConnState, and a refusal never needs more.
		c := fdconn.New(peer)
		if slot, v := s.decide(c, key, now); v == admit.Admitted {
			c.Open(fd)
			s.start(c, slot, rateKey, dispatch)
		} else {
			s.refusals.refuseFD(fd, v, key, now)
		}
	}
}
