// Package server owns the listeners: the accept loop with admission at
// accept, the three modes (concurrent, sequential, stock), refusals and
// graceful shutdown. Per-connection work is the handler package's.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/admin"
	"httplab/httplab-server/internal/admit"
	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/config"
	"httplab/httplab-server/internal/handler"
	"httplab/httplab-server/internal/hits"
	"httplab/httplab-server/internal/logging"
	"httplab/httplab-server/internal/ratelimit"
	"httplab/httplab-server/internal/response"
	"httplab/httplab-server/internal/static"
	"httplab/httplab-server/internal/tally"
)

const (
	// Where a refusal cannot be written without waiting (no raw descriptor),
	// this deadline guards the accept loop against the odd client that
	// advertises a zero window. It is generous because a deadline that
	// passes while the accept goroutine is descheduled loses the 503.
	refuseWriteTimeout = time.Second
	// At most this many refused sockets linger at once (each one goroutine
	// and one descriptor, for at most lingerTimeout). Past it a refused
	// socket is closed at once: its 503 may then be lost to a reset, which
	// is counted, but a flood cannot turn refusals into unbounded work.
	maxLingering  = 256
	lingerTimeout = 500 * time.Millisecond
	lingerBytes   = 64 << 10

	maxAcceptBackoff = time.Second
)

// Server is one configured server. Create it with New, run it with Serve.
type Server struct {
	cfg        config.Config
	log        zerolog.Logger
	refusalLog zerolog.Logger
	strategy   clientid.Strategy
	site       *static.Site
	admit      *admit.Admitter
	limiter    *ratelimit.Limiter
	hits       hits.Counter
	tally      tally.Requests
	handler    *handler.Handler
	started    time.Time

	refusal     [3][]byte // 503 bodies by admit.Verdict
	refuseBuf   []byte    // used by the accept goroutine only
	drainBuf    []byte    // likewise
	lingering   chan struct{}
	hardStop    chan struct{} // closed when the shutdown grace is over
	wg          sync.WaitGroup
	mu          sync.Mutex
	conns       map[net.Conn]struct{}
	lingerDrops atomic.Uint64
	unwritten   atomic.Uint64
	acceptErrs  atomic.Uint64

	// AfterAdmit, when set (tests only), is called on the accept goroutine
	// after each admission decision, with the admitter's state.
	AfterAdmit func(admit.Verdict, admit.Snapshot)
}

// New builds a server from a validated configuration.
func New(cfg config.Config, log zerolog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	strategy, err := clientid.ParseStrategy(cfg.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("-clientkey / SERVER_CLIENT_KEY: %w", err)
	}
	site, err := static.Open(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("-d / SERVER_ROOT: %w", err)
	}
	counter, err := hits.New(cfg.Counter)
	if err != nil {
		site.Close()
		return nil, fmt.Errorf("-counter / SERVER_COUNTER: %w", err)
	}
	limiter, err := ratelimit.New(ratelimit.Options{Limit: cfg.RateLimit, Window: cfg.RateWindow})
	if err != nil {
		site.Close()
		return nil, fmt.Errorf("-rate / -window: %w", err)
	}
	s := &Server{
		cfg:        cfg,
		log:        log,
		refusalLog: logging.Sampled(log, 20, time.Second, 1000),
		strategy:   strategy,
		site:       site,
		admit:      admit.New(cfg.MaxTotal, cfg.MaxPerClient),
		limiter:    limiter,
		hits:       counter,
		started:    time.Now(),
		refuseBuf:  make([]byte, 0, 1024),
		drainBuf:   make([]byte, 4096),
		lingering:  make(chan struct{}, maxLingering),
		hardStop:   make(chan struct{}),
		conns:      make(map[net.Conn]struct{}),
	}
	if cfg.Mode == "stock" {
		// Stock mode is the baseline without limits: only connections are tracked.
		s.admit = admit.New(0, 0)
	}
	s.refusal[admit.RefusedTotal] = response.ErrorBody(http.StatusServiceUnavailable,
		"The server is at its limit of "+strconv.Itoa(cfg.MaxTotal)+" simultaneous connections. Retry shortly.")
	s.refusal[admit.RefusedClient] = response.ErrorBody(http.StatusServiceUnavailable,
		"Your address already holds "+strconv.Itoa(cfg.MaxPerClient)+" connections, the most allowed per client. Retry shortly.")
	var lim *ratelimit.Limiter
	if cfg.RateLimit > 0 {
		lim = limiter
	}
	s.handler = handler.New(handler.Options{
		Site:         site,
		Limiter:      lim,
		Hits:         counter,
		Tally:        &s.tally,
		Delay:        cfg.Delay,
		ReadTimeout:  cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout,
		Log:          log,
		RefusalLog:   s.refusalLog,
		Stop:         s.hardStop,
	})
	return s, nil
}

// Close releases the served directory.
func (s *Server) Close() error { return s.site.Close() }

// Serve runs until ctx is done, then stops accepting, gives in-flight
// requests the shutdown grace to finish, closes what is left, and returns.
// It returns nil after a shutdown and an error if accepting failed for good.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stopSweep := s.sweepLimiter()
	defer stopSweep()
	if s.cfg.Mode == "stock" {
		return s.serveStock(ctx, ln)
	}

	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	err := s.acceptLoop(ctx, ln)

	// Graceful part: wait for handlers up to the grace, then cut them off.
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	grace := time.NewTimer(s.cfg.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		close(s.hardStop)
		n := s.closeAll()
		s.log.Warn().Int("connections", n).Dur("grace", s.cfg.ShutdownGrace).
			Msg("shutdown grace over; closed connections still in flight")
		<-done
	}
	// Refused sockets still lingering end within lingerTimeout; wait for them
	// so no goroutine outlives Serve.
	for i := 0; i < cap(s.lingering); i++ {
		s.lingering <- struct{}{}
	}
	for i := 0; i < cap(s.lingering); i++ {
		<-s.lingering
	}
	return err
}

func (s *Server) acceptLoop(ctx context.Context, ln net.Listener) error {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !temporary(err) {
				return fmt.Errorf("accept: %w", err)
			}
			// Out of descriptors or a transient kernel refusal: back off as
			// net/http does (5 ms doubling to 1 s) instead of spinning, and
			// resume as soon as accepting works again.
			s.acceptErrs.Add(1)
			backoff = max(5*time.Millisecond, min(2*backoff, maxAcceptBackoff))
			s.refusalLog.Error().Err(err).Dur("retry_in", backoff).Msg("accept failed; backing off")
			select {
			case <-time.After(backoff):
				continue
			case <-ctx.Done():
				return nil
			}
		}
		backoff = 0

		key, rateKey := s.keys(c.RemoteAddr())
		v := s.admit.Admit(key)
		if s.AfterAdmit != nil {
			s.AfterAdmit(v, s.admit.Snapshot())
		}
		if v != admit.Admitted {
			s.refuse(c, v, key)
			continue
		}
		s.track(c, true)
		s.wg.Add(1)
		if s.cfg.Mode == "sequential" {
			s.serveConn(c, key, rateKey)
			continue
		}
		go s.serveConn(c, key, rateKey)
		// Let the admitted connection run before accepting the next one.
		// Under a flood the accept queue never empties, so this goroutine
		// never blocks in Accept; with one P the new connection would wait
		// for the scheduler's 10 ms preemption behind hundreds of refusals.
		// A flood beside a polite client: its p99 16 ms → 2.5 ms (pinned,
		// scripts/bench --only attack); throughput unchanged.
		runtime.Gosched()
	}
}

// serveConn is the admitted connection's life; the release runs exactly once
// whichever way it ends.
func (s *Server) serveConn(c net.Conn, key, rateKey clientid.Key) {
	defer s.wg.Done()
	defer s.admit.Release(key)
	defer s.track(c, false)
	s.handler.Serve(c, rateKey)
}

func (s *Server) keys(addr net.Addr) (capKey, rateKey clientid.Key) {
	capKey, _ = clientid.OfAddr(s.strategy, addr)
	rateKey = capKey
	if s.strategy != clientid.ByIP {
		rateKey, _ = clientid.OfAddr(clientid.ByIP, addr)
	}
	return capKey, rateKey
}

// refuse answers a connection refused at accept: a complete 503 with
// Retry-After, written here with no goroutine of its own. If the client's
// request has all arrived already (a flood's usually has), the socket is
// closed at once; otherwise a bounded lingering close follows, so that the
// client reads the 503 instead of a reset.
func (s *Server) refuse(c net.Conn, v admit.Verdict, key clientid.Key) {
	clean, got := drainRequest(c, s.drainBuf)
	now := time.Now()
	body := s.refusal[v]
	b := response.AppendHead(s.refuseBuf[:0], response.Head{Status: http.StatusServiceUnavailable,
		ContentType: "text/html; charset=utf-8", ContentLength: int64(len(body)),
		Extra: []string{"Retry-After", "1"}}, now)
	b = append(b, body...)
	s.refuseBuf = b
	if !writeNow(c, b) {
		s.unwritten.Add(1)
	}

	if e := s.refusalLog.Info(); e != nil { // key.String allocates: only for a logged refusal
		e.Str("client", key.String()).Str("reason", v.String()).Msg("connection refused")
	}
	if clean {
		_ = c.Close()
		return
	}
	select {
	case s.lingering <- struct{}{}:
		if got > awaitBytes {
			go func() {
				response.LingerClose(c, lingerTimeout, lingerBytes)
				<-s.lingering
			}()
			return
		}
		early := append([]byte(nil), s.drainBuf[:got]...) // drainBuf is the accept goroutine's
		go func() {
			awaitRequestClose(c, early)
			<-s.lingering
		}()
	default:
		s.lingerDrops.Add(1)
		response.DrainClose(c)
	}
}

// writeWithDeadline is the portable refusal write.
func writeWithDeadline(c net.Conn, b []byte) bool {
	_ = c.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
	n, err := c.Write(b)
	_ = c.SetWriteDeadline(time.Time{})
	return err == nil && n == len(b)
}

// awaitBytes is the most of a refused client's request head that
// awaitRequestClose waits for; a longer head or one with a body gets the
// full lingering close.
const awaitBytes = 2 << 10

var awaitBufs = sync.Pool{New: func() any { b := make([]byte, awaitBytes); return &b }}

// awaitRequestClose ends a refused socket whose request had not all arrived
// when its 503 was written. A plain close now would reset the connection
// once the request arrives, and a reset can destroy the 503 unread. So it
// waits, at most lingerTimeout, for the rest of the request head; once one
// complete head without a body has been read there is nothing left to
// arrive and the close is clean. That is cheaper than the general
// lingering close (half-close, then read until the client closes), which
// remains (in refuse) for heads over awaitBytes, and here for bodies and
// anything else that fills the buffer without a complete head. Under a
// flood from a slow client almost every refusal takes this path.
func awaitRequestClose(c net.Conn, early []byte) {
	bp := awaitBufs.Get().(*[]byte)
	defer awaitBufs.Put(bp)
	b := append((*bp)[:0], early...)
	_ = c.SetReadDeadline(time.Now().Add(lingerTimeout))
	for len(b) < cap(b) {
		n, err := c.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		// A complete head: nothing more will come. An end of input, the
		// deadline or a reset: nothing worth waiting for.
		if completeHead(b) || err != nil {
			_ = c.Close()
			return
		}
	}
	response.LingerClose(c, lingerTimeout, lingerBytes)
}

func (s *Server) track(c net.Conn, add bool) {
	s.mu.Lock()
	if add {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
	s.mu.Unlock()
}

func (s *Server) closeAll() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.Close()
	}
	return len(s.conns)
}

// sweepLimiter evicts replenished rate-limit keys in the background so idle
// clients cost no memory even when no new client arrives to trigger it.
func (s *Server) sweepLimiter() (stop func()) {
	if s.cfg.RateLimit == 0 {
		return func() {}
	}
	t := time.NewTicker(max(s.cfg.RateWindow, time.Second))
	done := make(chan struct{})
	go func() {
		for {
			select {
			case now := <-t.C:
				s.limiter.Sweep(now)
			case <-done:
				return
			}
		}
	}()
	return func() { t.Stop(); close(done) }
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

// Stats is the /stats document.
func (s *Server) Stats() admin.Stats {
	a := s.admit.Snapshot()
	t := s.tally.Snapshot()
	return admin.Stats{
		Mode: s.cfg.Mode,
		Connections: admin.Connections{
			Active: a.Active, Peak: a.Peak, PeakPerClient: a.PeakPerClient, Accepted: a.Accepted,
			RejectedTotalCap: a.RejectedTotal, RejectedClientCap: a.RejectedClient,
			RefusalsUnlingered: s.lingerDrops.Load(), RefusalsUnwritten: s.unwritten.Load(), AcceptErrors: s.acceptErrs.Load(),
		},
		Clients: a.Clients,
		Requests: admin.Requests{
			Total: t.Total, RateLimited: t.RateLimited, Status: t.Status,
		},
		Hits: s.hits.Snapshot(),
		Limits: admin.Limits{
			MaxTotal: s.cfg.MaxTotal, MaxPerClient: s.cfg.MaxPerClient, ClientKey: s.cfg.ClientKey,
			Rate: s.cfg.RateLimit, WindowS: s.cfg.RateWindow.Seconds(), RateKeys: s.limiter.Len(),
		},
		Counter: s.cfg.Counter,
		DelayMS: float64(s.cfg.Delay) / float64(time.Millisecond),
		UptimeS: time.Since(s.started).Seconds(),
	}
}
