package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"httplab/httplab-server/internal/admit"
	"httplab/httplab-server/internal/clientid"
)

const maxAcceptBackoff = time.Second

// acceptLoop is the accept half shared by the concurrent and sequential
// modes: accept, decide admission at once, refuse or hand the admitted
// connection to dispatch, which must call serveConn. It returns when ctx is
// done or accepting fails for good.
func (s *Server) acceptLoop(ctx context.Context, ln net.Listener, dispatch func(c net.Conn, slot *admit.Conn, rateKey clientid.Key)) error {
	if ok, err := s.acceptFDs(ctx, ln, dispatch); ok {
		return err
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if stop, err := s.acceptFailed(ctx, err, &backoff); stop {
				return err
			}
			continue
		}
		backoff = 0
		key, rateKey := s.keys(c.RemoteAddr())
		if slot, v := s.decide(c, key, time.Now()); v == admit.Admitted {
			s.start(c, slot, rateKey, dispatch)
		} else {
			s.refusals.refuse(c, v, key)
		}
	}
}

// acceptFailed handles an accept's error: stop (with the loop's result)
// once ctx is done, the listener closed or the error permanent; otherwise
// back off.
func (s *Server) acceptFailed(ctx context.Context, err error, backoff *time.Duration) (stop bool, result error) {
	if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
		return true, nil
	}
	if !temporary(err) {
		return true, fmt.Errorf("accept: %w", err)
	}
	// Out of descriptors or a transient kernel refusal: back off as
	// net/http does (5 ms doubling to 1 s) instead of spinning, and resume
	// as soon as accepting works again.
	s.acceptErrs.Add(1)
	*backoff = max(5*time.Millisecond, min(2**backoff, maxAcceptBackoff))
	s.refusalLog.Error().Err(err).Dur("retry_in", *backoff).Msg("accept failed; backing off")
	select {
	case <-time.After(*backoff):
		return false, nil
	case <-ctx.Done():
		return true, nil
	}
}

// decide admits c or refuses it (the caller answers the refusal), and
// reports a refusal to ConnState at once.
func (s *Server) decide(c net.Conn, key clientid.Key, now time.Time) (*admit.Conn, admit.Verdict) {
	slot, v, shed := s.admit.AdmitConn(key, c, now)
	if shed.Peer != nil {
		s.shed(shed)
	}
	switch v {
	case admit.Admitted:
	case admit.RefusedTotal:
		s.report(c, StateRefusedTotal)
	default:
		s.report(c, StateRefusedClient)
	}
	return slot, v
}

// start hands an admitted connection to dispatch.
func (s *Server) start(c net.Conn, slot *admit.Conn, rateKey clientid.Key, dispatch func(c net.Conn, slot *admit.Conn, rateKey clientid.Key)) {
	s.report(c, StateAdmitted)
	s.track(c, true)
	s.wg.Add(1)
	dispatch(c, slot, rateKey)
}

// serveConn is the admitted connection's life; the release runs exactly once
// (and does nothing if the slot was shed). No defers: they would add 136
// bytes to this frame, which lies under every idle connection's wait for
// its request, and that wait must fit in a goroutine's initial 2 KiB stack
// (reliability.TestIdleConnectionStack). A handler that panics ends the
// process, so there is nothing for a defer to release.
func (s *Server) serveConn(c net.Conn, slot *admit.Conn, rateKey clientid.Key) {
	s.handler.Serve(c, rateKey, slot)
	s.track(c, false)
	slot.Release()
	s.report(c, StateClosed)
	s.wg.Done()
}

// shed reports a connection that lost its slot to a newcomer; the admitter
// has woken it already.
func (s *Server) shed(sh admit.Shed) {
	if c, ok := sh.Peer.(net.Conn); ok {
		s.report(c, StateShed)
	}
	if e := s.refusalLog.Info(); e != nil {
		e.Str("client", sh.Key.String()).Str("reason", sh.Reason).Dur("idle", sh.Idle).
			Msg("connection shed for a newcomer")
	}
}

// finish is the graceful end of an accept loop's mode: wait for handlers up
// to the shutdown grace, then cut them off; then wait for the refused
// sockets still lingering, so no goroutine outlives Serve.
func (s *Server) finish() {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	grace := time.NewTimer(s.o.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		close(s.hardStop)
		n := s.closeAll()
		s.log.Warn().Int("connections", n).Dur("grace", s.o.ShutdownGrace).
			Msg("shutdown grace over; closed connections still in flight")
		<-done
	}
	s.refusals.wait()
}

func temporary(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.EAGAIN, syscall.EINTR, syscall.EPROTO, syscall.EPERM} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
