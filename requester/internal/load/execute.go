package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Options describe one run.
type Options struct {
	Requests    int           // exactly this many requests are planned
	Spread      time.Duration // request i is due at i·Spread/Requests
	Concurrency int           // most requests in flight; 0 = no cap
	Mode        Mode
	Timeout     time.Duration // per request, from send to complete response
	Bind        []netip.Addr  // source addresses, used in turn; empty = the kernel's choice
	// Addr is the target's address, resolved once before the schedule
	// (see Resolve); when it is not valid, Execute resolves the host itself.
	Addr netip.AddrPort
	// Shard and Shards select one slice of the schedule (see Schedule): this
	// run sends the requests i of the Requests-long schedule with i mod
	// Shards = Shard, at their undivided due times. Shards 0 or 1: all.
	Shard, Shards int
	// StartAt, when set, is the schedule's zero: the wall-clock instant
	// every shard of one run shares. The run waits for it; a request whose
	// due time is already past is sent at once, and is late by that much.
	StartAt time.Time
	// OnResult, when set, is called once per finished request, never
	// concurrently, e.g. to move a progress bar. It must be quick: on Linux
	// it runs on the loop that sends the requests.
	OnResult func(Result)
}

// Execute performs one run against t and returns every result, in Seq
// order. It stops sending when ctx is cancelled; requests already sent are
// awaited (each bounded by the timeout) and reported, and the run is marked
// interrupted.
func Execute(ctx context.Context, t Target, o Options) Run {
	p := newPlan(ctx, t, o)
	var r engineRun
	if p.addrErr == nil && hasEpoll && ctx.Value(portableEngine{}) == nil {
		r = runEpoll(ctx, p)
	} else {
		r = runNet(ctx, p)
	}
	count := p.sched.Count()
	run := Run{
		Target:      t.Name(),
		Address:     p.address(),
		Mode:        o.Mode,
		Requests:    count,
		Spread:      o.Spread,
		Concurrency: o.Concurrency,
		Began:       r.began,
		LastDue:     p.sched.Due(max(count-1, 0)),
		Results:     r.results,
		Interrupted: r.sent < count || r.aborted > 0,
		Shard:       o.Shard,
		Shards:      max(o.Shards, 1),
		RunRequests: o.Requests,
		Anchored:    !o.StartAt.IsZero(),
		Engine:      r.engine,
	}
	if o.Mode == Sequential {
		run.Concurrency = 1
	}
	for i := range run.Results {
		res := &run.Results[i]
		res.URL = t.URL(res.Seq)
		run.Wall = max(run.Wall, res.End)
	}
	return run
}

// portableEngine, as a context key, makes Execute use the net engine where
// the epoll one exists: the tests run every behaviour through both, at once.
type portableEngine struct{}

// withPortableEngine returns ctx asking Execute for the net engine.
func withPortableEngine(ctx context.Context) context.Context {
	return context.WithValue(ctx, portableEngine{}, true)
}

// engineRun is what an engine hands back: results sorted by Seq, how many
// requests it sent and when the run began.
type engineRun struct {
	engine  string // "epoll" or "net"
	began   time.Time
	results []Result
	sent    int
	aborted int // requests in flight ended by the interrupt
}

// plan is everything an engine needs, prepared once per run.
type plan struct {
	opts    Options
	sched   Schedule
	limit   int            // most in flight: 1 when sequential, Requests when uncapped
	addr    netip.AddrPort // the target, resolved
	addrErr error          // why the target could not be resolved
	locals  []netip.Addr   // source addresses, used in turn; may be empty
	reqs    [][]byte       // the bytes of each path's request, built once
}

const userAgent = "httplab-requester"

func newPlan(ctx context.Context, t Target, o Options) *plan {
	p := &plan{
		opts:   o,
		sched:  Schedule{N: o.Requests, Spread: o.Spread, Shard: o.Shard, Shards: o.Shards},
		locals: o.Bind,
	}
	// From here on, Requests is what this run sends: its shard's count.
	p.opts.Requests = p.sched.Count()
	p.limit = p.opts.Requests
	if o.Concurrency > 0 && o.Concurrency < p.opts.Requests {
		p.limit = o.Concurrency
	}
	if o.Mode == Sequential {
		p.limit = 1
	}
	for _, path := range t.Paths {
		p.reqs = append(p.reqs, []byte("GET "+path+" HTTP/1.0\r\nHost: "+t.hostHeader()+
			"\r\nUser-Agent: "+userAgent+"\r\n\r\n"))
	}
	if o.Addr.IsValid() {
		p.addr = o.Addr
		return p
	}
	ip, err := Resolve(ctx, t.Host, o.Bind)
	if err != nil {
		p.addrErr = err
	} else {
		p.addr = netip.AddrPortFrom(ip, uint16(t.Port))
	}
	return p
}

// address is the resolved target as IP:port, or "" if it did not resolve.
func (p *plan) address() string {
	if !p.addr.IsValid() {
		return ""
	}
	return p.addr.String()
}

// request is the bytes of the run's request i: the path is that of its
// index in the undivided schedule, so a shard asks what the whole run would.
func (p *plan) request(i int) []byte { return p.reqs[p.sched.Seq(i)%len(p.reqs)] }

// start is the run's zero: -start-at's instant, or now.
func (p *plan) start(now time.Time) time.Time {
	if !p.opts.StartAt.IsZero() {
		return p.opts.StartAt
	}
	return now
}

// local is the source address of request i; invalid for "any".
func (p *plan) local(i int) netip.Addr {
	if len(p.locals) == 0 {
		return netip.Addr{}
	}
	return p.locals[i%len(p.locals)]
}

// lookupNetIP is the resolver, replaced in tests so that they send no DNS
// query anywhere.
var lookupNetIP = net.DefaultResolver.LookupNetIP

// Resolve looks a host up, once before a run, so that name resolution is
// neither timed nor repeated per request. It prefers the address family of
// the source addresses, else IPv4, which is what a host name like
// "localhost" is most often served on.
func Resolve(ctx context.Context, host string, bind []netip.Addr) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), nil
	}
	ips, err := lookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("lookup %s: no addresses", host)
	}
	want4 := len(bind) == 0 || bind[0].Is4()
	for _, ip := range ips {
		if ip.Unmap().Is4() == want4 {
			return ip.Unmap(), nil
		}
	}
	return ips[0].Unmap(), nil
}

// lingerGrace is how long a socket whose response is complete waits for the
// server's FIN before the requester closes it. The result is recorded when
// the response is complete, and the socket no longer holds a slot, so the
// wait is never part of a latency, a wall time or the peak in flight; it
// only decides which side keeps the TIME_WAIT state. A server that closes
// (HTTP/1.0 with Connection: close) does so with or right after its last
// byte, so its FIN arrives within the grace and TIME_WAIT stays on the
// server; see docs/requester.md for the measurement.
const lingerGrace = 100 * time.Millisecond

// maxLingering bounds the sockets one loop keeps lingering: past it the
// oldest is closed at once, so a server that never closes cannot make the
// requester hold thousands of descriptors.
const maxLingering = 512

// outcome is what an engine learns about one request.
type outcome struct {
	local     netip.AddrPort
	end       time.Time
	connected time.Time // zero if the connection was never established
	firstByte time.Time // zero if no response byte arrived
	status    int
	bytes     int64
	err       ErrorKind
	detail    string
	lingering bool // complete, the socket still open: wait for the FIN
	timedOut  bool // reading stopped at the request's deadline
}

// failed is the outcome of an error, classified.
func failed(err error, during string) outcome {
	return outcome{end: time.Now(), err: classify(err), detail: during + ": " + err.Error()}
}

// errInterrupted ends the requests in flight when the run is interrupted.
var errInterrupted = errors.New("interrupted: the run was stopped before the response was complete")

// phase is the offset of at from start, for a phase of a request that
// ended at end: 0 when the phase was never reached, else at least 1 ns (so
// that 0 only ever means "not reached") and never past the end.
func phase(start, at, end time.Time) time.Duration {
	if at.IsZero() {
		return 0
	}
	return max(min(at.Sub(start), end.Sub(start)), 1)
}
