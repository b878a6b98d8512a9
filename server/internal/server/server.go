// Package server owns the main listener: the accept loop with admission at
// accept, refusals, the serving modes and graceful shutdown. Per-connection
// work is the handler package's. It knows nothing of flags or variables:
// the command maps those to Options.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/admin"
	"httplab/httplab-server/internal/admit"
	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/handler"
	"httplab/httplab-server/internal/hits"
	"httplab/httplab-server/internal/logging"
	"httplab/httplab-server/internal/ratelimit"
	"httplab/httplab-server/internal/static"
	"httplab/httplab-server/internal/tally"
)

// Options configure a Server. Every field is explicit: New rejects a
// timeout of zero rather than guessing one.
type Options struct {
	Root string // the directory served
	Mode Mode

	MaxTotal     int // simultaneous connections in all; 0 = unlimited
	MaxPerClient int // simultaneous connections per client; 0 = unlimited
	ClientKey    clientid.Strategy

	RateLimit  int // requests admitted per client IP per window; 0 = off
	RateWindow time.Duration

	Delay   time.Duration // simulated processing time per request
	Counter string        // hits.Locked or hits.Naive

	ReadTimeout   time.Duration // for the request head
	WriteTimeout  time.Duration // for the response
	ShutdownGrace time.Duration // in-flight requests' time to finish after Serve's ctx ends

	// Shedding (admit/shed.go): when the total cap is full, a newcomer may
	// take the slot of an idle connection, one that has not delivered its
	// head or whose response has stopped moving. HeadGrace protects a
	// client's only pending connection that long; StallTimeout is how long
	// a response may move no byte before its connection counts as idle. A
	// client that lost a connection cannot shed others for ReadTimeout, and
	// the last tenth of the total cap is kept for clients holding no idle
	// connection.
	Shed         bool
	HeadGrace    time.Duration
	StallTimeout time.Duration

	Log zerolog.Logger

	// ConnState, when set, is called as a connection on the main listener
	// changes state, like net/http's Server.ConnState. StateAdmitted and
	// StateRefused are reported on the accept goroutine right after the
	// admission decision, before anything else happens to the connection,
	// so the admitter's state read there (Server.Admission) is the state
	// that decision left. StateClosed follows the release of the slot.
	ConnState func(net.Conn, ConnState)
}

// ConnState is a step in the life of a connection on the main listener.
type ConnState uint8

const (
	// StateAdmitted: both caps had room; the connection has its slot.
	StateAdmitted ConnState = iota
	// StateRefusedTotal: refused at accept, the total cap was full.
	StateRefusedTotal
	// StateRefusedClient: refused at accept, the client's cap was full.
	StateRefusedClient
	// StateClosed: an admitted connection ended and released its slot.
	StateClosed
	// StateShed: an idle admitted connection lost its slot to a newcomer
	// (reported on the accept goroutine, before the newcomer's
	// StateAdmitted); it ends with a 408 or a cut-off response.
	StateShed
)

func (s ConnState) String() string {
	switch s {
	case StateAdmitted:
		return "admitted"
	case StateRefusedTotal:
		return "refused_total_cap"
	case StateRefusedClient:
		return "refused_client_cap"
	case StateClosed:
		return "closed"
	case StateShed:
		return "shed"
	}
	return fmt.Sprintf("ConnState(%d)", uint8(s))
}

func (o Options) validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if _, ok := modeNames[o.Mode]; !ok {
		bad("unknown mode %v", o.Mode)
	}
	if o.MaxTotal < 0 || o.MaxPerClient < 0 {
		bad("connection caps must be >= 0 (0 = unlimited), got total %d, per client %d", o.MaxTotal, o.MaxPerClient)
	}
	if o.RateLimit < 0 {
		bad("rate limit must be >= 0 (0 = off), got %d", o.RateLimit)
	}
	if o.RateWindow <= 0 {
		bad("rate window must be > 0, got %v", o.RateWindow)
	}
	if o.Delay < 0 {
		bad("delay must be >= 0, got %v", o.Delay)
	}
	if o.ReadTimeout <= 0 || o.WriteTimeout <= 0 {
		bad("read and write timeouts must be > 0, got %v and %v", o.ReadTimeout, o.WriteTimeout)
	}
	if o.ShutdownGrace < 0 {
		bad("shutdown grace must be >= 0, got %v", o.ShutdownGrace)
	}
	if o.Shed && (o.HeadGrace < 0 || o.StallTimeout <= 0) {
		bad("shedding needs a head grace >= 0 and a stall timeout > 0, got %v and %v", o.HeadGrace, o.StallTimeout)
	}
	return errors.Join(errs...)
}

// Server is one configured server. Create it with New, run it with Serve.
type Server struct {
	o          Options
	log        zerolog.Logger
	refusalLog zerolog.Logger
	site       *static.Site
	admit      *admit.Admitter
	limiter    *ratelimit.Limiter
	hits       hits.Counter
	tally      tally.Requests
	handler    *handler.Handler
	refusals   *refusals
	started    time.Time

	hardStop   chan struct{} // closed when the shutdown grace is over
	wg         sync.WaitGroup
	mu         sync.Mutex
	conns      map[net.Conn]struct{}
	acceptErrs atomic.Uint64
}

// New builds a server. Errors say what is wrong in the options' own terms;
// the command adds which flag or variable it came from.
func New(o Options) (*Server, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	counter, err := hits.New(o.Counter)
	if err != nil {
		return nil, err
	}
	limiter, err := ratelimit.New(ratelimit.Options{Limit: o.RateLimit, Window: o.RateWindow})
	if err != nil {
		return nil, err
	}
	site, err := static.Open(o.Root)
	if err != nil {
		return nil, err
	}
	s := &Server{
		o:          o,
		log:        o.Log,
		refusalLog: logging.Sampled(o.Log, 20, time.Second, 1000),
		site:       site,
		admit:      admit.New(o.MaxTotal, o.MaxPerClient),
		limiter:    limiter,
		hits:       counter,
		started:    time.Now(),
		hardStop:   make(chan struct{}),
		conns:      make(map[net.Conn]struct{}),
	}
	if !o.Mode.limited() {
		s.admit = admit.New(0, 0) // only connections are tracked
	}
	if o.Shed && o.Mode.limited() {
		sh := admit.Shedding{On: true, HeadGrace: o.HeadGrace, Penalty: o.ReadTimeout, MinIdle: minIdle,
			Reserve: max(1, o.MaxTotal/10)}
		if o.RateLimit > 0 {
			sh.RateFull = func(k clientid.Key, now time.Time) bool {
				// The cap's key may carry a port; the limiter's is the IP.
				return limiter.Full(clientid.Of(clientid.ByIP, netip.AddrPortFrom(k.Addr, 0)), now)
			}
		}
		s.admit.SetShedding(sh)
	}
	s.refusals = newRefusals(o.MaxTotal, o.MaxPerClient, s.refusalLog)
	var lim *ratelimit.Limiter
	if o.RateLimit > 0 {
		lim = limiter
	}
	s.handler = handler.New(handler.Options{
		Site:         site,
		Limiter:      lim,
		Hits:         counter,
		Tally:        &s.tally,
		Delay:        o.Delay,
		ReadTimeout:  o.ReadTimeout,
		WriteTimeout: o.WriteTimeout,
		Log:          o.Log,
		RefusalLog:   s.refusalLog,
		Stop:         s.hardStop,
		StallTimeout: stallTimeout(o),
	})
	return s, nil
}

// minIdle: a pending connection younger than this is never shed. A busy
// server (a flood, the race detector) can take that long to read a head
// that has arrived; an attacker's idle connections are older than that.
const minIdle = time.Second

func stallTimeout(o Options) time.Duration {
	if !o.Shed {
		return 0
	}
	return o.StallTimeout
}

// Close releases the served directory.
func (s *Server) Close() error { return s.site.Close() }

// Serve runs the mode until ctx is done, then stops accepting, gives
// in-flight requests the shutdown grace to finish, closes what is left, and
// returns. It returns nil after a shutdown and an error if accepting failed
// for good.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stopSweep := s.sweepLimiter()
	defer stopSweep()
	return s.serveMode(ctx, ln)
}

// Admission is the admitter's state now: active connections, per client,
// peaks and decision counters.
func (s *Server) Admission() admit.Snapshot { return s.admit.Snapshot() }

func (s *Server) report(c net.Conn, st ConnState) {
	if s.o.ConnState != nil {
		s.o.ConnState(c, st)
	}
}

// keys are the client's keys for the caps and for the rate limiter; an
// address that is not TCP gives the zero keys, as clientid.OfAddr does.
func (s *Server) keys(addr net.Addr) (capKey, rateKey clientid.Key) {
	var peer netip.AddrPort
	if ta, ok := addr.(*net.TCPAddr); ok {
		peer = ta.AddrPort()
	}
	return s.keysOf(peer)
}

func (s *Server) keysOf(peer netip.AddrPort) (capKey, rateKey clientid.Key) {
	capKey = clientid.Of(s.o.ClientKey, peer)
	rateKey = capKey
	if s.o.ClientKey != clientid.ByIP {
		rateKey = clientid.Of(clientid.ByIP, peer)
	}
	return capKey, rateKey
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
	if s.o.RateLimit == 0 || !s.o.Mode.limited() {
		return func() {}
	}
	t := time.NewTicker(max(s.o.RateWindow, time.Second))
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

// Stats is the /stats document.
func (s *Server) Stats() admin.Stats {
	a := s.admit.Snapshot()
	t := s.tally.Snapshot()
	unlingered, unwritten := s.refusals.counts()
	return admin.Stats{
		Mode: s.o.Mode.String(),
		Connections: admin.Connections{
			Active: a.Active, Peak: a.Peak, PeakPerClient: a.PeakPerClient, Accepted: a.Accepted,
			RejectedTotalCap: a.RejectedTotal, RejectedClientCap: a.RejectedClient,
			RefusalsUnlingered: unlingered, RefusalsUnwritten: unwritten, AcceptErrors: s.acceptErrs.Load(),
			ShedPending: a.ShedPending, ShedStalled: a.ShedStalled, Idle: a.Idle,
		},
		Clients: a.Clients,
		Requests: admin.Requests{
			Total: t.Total, RateLimited: t.RateLimited, Status: t.Status,
		},
		Hits: s.hits.Snapshot(),
		Limits: admin.Limits{
			MaxTotal: s.o.MaxTotal, MaxPerClient: s.o.MaxPerClient, ClientKey: s.o.ClientKey.String(),
			Rate: s.o.RateLimit, WindowS: s.o.RateWindow.Seconds(), RateKeys: s.limiter.Len(),
		},
		Counter: s.o.Counter,
		DelayMS: float64(s.o.Delay) / float64(time.Millisecond),
		UptimeS: time.Since(s.started).Seconds(),
	}
}
