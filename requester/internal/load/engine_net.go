package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"httplab/httplab-requester/internal/escape"
)

// The net engine uses the standard library: a goroutine per request in
// flight, net.Dialer and the runtime's poller. It runs anywhere Go does and
// is the engine where the epoll one is not available. Each request's
// Result goes over one channel to one collector goroutine, so the hot path
// takes no lock.

// runNet performs a run with the net engine.
func runNet(ctx context.Context, p *plan) engineRun {
	c := &netClient{plan: p, ctx: ctx, lingerSlots: make(chan struct{}, maxLingering)}
	r := &runner{
		plan:     p,
		clk:      realClock{},
		exchange: c.do,
	}
	run := r.run(ctx)
	run.aborted = int(c.aborted.Load())
	return run
}

// runner paces requests and collects results; exchange and clk are
// swapped in tests.
type runner struct {
	plan     *plan
	clk      clock
	exchange func(i int, start time.Time, buf *exchangeBuf) outcome

	began   time.Time
	results chan Result
}

// exchangeBuf is the per-worker memory an exchange reuses, so that a request
// allocates little.
type exchangeBuf struct {
	read []byte
	resp response
}

var buffers = sync.Pool{New: func() any { return &exchangeBuf{read: make([]byte, readSize)} }}

// readSize fits a typical response several times over.
const readSize = 16 << 10

func (r *runner) run(ctx context.Context) engineRun {
	n := r.plan.opts.Requests
	// A buffer big enough that a slow collector (a progress bar being drawn)
	// never holds up a request.
	r.results = make(chan Result, min(n, 8192))
	done := make(chan []Result, 1)
	go func() { done <- collect(r.results, n, r.plan.opts.OnResult) }()

	r.began = r.plan.start(r.clk.Now())
	var sent int
	if r.plan.limit == 1 {
		sent = r.sequential(ctx)
	} else if r.plan.limit < n && r.plan.opts.Spread == 0 {
		sent = r.drain(ctx)
	} else if r.plan.limit < n {
		sent = r.workers(ctx)
	} else {
		sent = r.unbounded(ctx)
	}
	close(r.results)
	return engineRun{engine: "net", began: r.began, results: <-done, sent: sent}
}

// one performs request i now and builds its Result.
func (r *runner) one(i int, buf *exchangeBuf) Result {
	start := r.clk.Now()
	o := r.exchange(i, start, buf)
	return Result{
		Seq:       r.plan.sched.Seq(i),
		LocalAddr: o.local,
		Scheduled: r.plan.sched.Due(i),
		Start:     start.Sub(r.began),
		End:       o.end.Sub(r.began),
		Connect:   phase(start, o.connected, o.end),
		FirstByte: phase(start, o.firstByte, o.end),
		Status:    o.status,
		Bytes:     o.bytes,
		Err:       o.err,
		Detail:    escape.Detail(o.detail),
	}
}

// wait sleeps until request i is due; false if ctx ended first.
func (r *runner) wait(ctx context.Context, i int) bool {
	if ctx.Err() != nil {
		return false
	}
	due := r.began.Add(r.plan.sched.Due(i))
	if r.clk.Now().Before(due) {
		return r.clk.SleepUntil(ctx, due)
	}
	return true
}

// sequential sends each request at its due time or when the one before has
// finished, whichever is later, from this one goroutine.
func (r *runner) sequential(ctx context.Context) int {
	buf := buffers.Get().(*exchangeBuf)
	defer buffers.Put(buf)
	for i := range r.plan.opts.Requests {
		if !r.wait(ctx, i) {
			return i
		}
		r.results <- r.one(i, buf)
	}
	return r.plan.opts.Requests
}

// workers paces requests from this goroutine and hands each, when due, to
// one of a fixed pool of workers, as many as the in-flight limit. A request that finds every worker busy is sent late,
// and its lateness shows it.
func (r *runner) workers(ctx context.Context) int {
	var wg sync.WaitGroup
	defer wg.Wait()
	tickets := make(chan int)
	defer close(tickets)
	for range r.plan.limit {
		wg.Go(func() {
			buf := buffers.Get().(*exchangeBuf)
			defer buffers.Put(buf)
			for i := range tickets {
				r.results <- r.one(i, buf)
			}
		})
	}
	for i := range r.plan.opts.Requests {
		if !r.wait(ctx, i) {
			return i
		}
		select {
		case tickets <- i:
		case <-ctx.Done():
			return i
		}
	}
	return r.plan.opts.Requests
}

// drain runs as many workers as the limit, each taking the next request as
// soon as it is free: with every request due at once there is nothing to
// pace, and handing requests over a channel would cost a wake-up each.
func (r *runner) drain(ctx context.Context) int {
	var next, sent atomic.Int64
	var wg sync.WaitGroup
	for range r.plan.limit {
		wg.Go(func() {
			buf := buffers.Get().(*exchangeBuf)
			defer buffers.Put(buf)
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= r.plan.opts.Requests {
					return
				}
				sent.Add(1)
				r.results <- r.one(i, buf)
			}
		})
	}
	wg.Wait()
	return int(sent.Load())
}

// unbounded starts each request in a goroutine of its own when it is due.
func (r *runner) unbounded(ctx context.Context) int {
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range r.plan.opts.Requests {
		if !r.wait(ctx, i) {
			return i
		}
		wg.Go(func() {
			buf := buffers.Get().(*exchangeBuf)
			r.results <- r.one(i, buf)
			buffers.Put(buf)
		})
	}
	return r.plan.opts.Requests
}

// collect is the only reader of the results channel: it owns the slice, so
// no request ever waits on a lock to report.
func collect(in <-chan Result, n int, onResult func(Result)) []Result {
	out := make([]Result, 0, n)
	for res := range in {
		out = append(out, res)
		if onResult != nil {
			onResult(res)
		}
	}
	slices.SortFunc(out, func(a, b Result) int { return a.Seq - b.Seq })
	return out
}

// netClient performs one request per connection with package net: dial,
// write an HTTP/1.0 GET, read the response until it is complete or the
// server closes, close.
type netClient struct {
	plan *plan
	ctx  context.Context // the run's: its end aborts the requests in flight
	// lingerSlots bounds the sockets left waiting for the server's FIN.
	lingerSlots chan struct{}
	aborted     atomic.Int64
}

// do performs request i, which was sent at start.
func (c *netClient) do(i int, start time.Time, buf *exchangeBuf) outcome {
	if c.plan.addrErr != nil {
		return outcome{end: time.Now(), err: Other, detail: c.plan.addrErr.Error()}
	}
	deadline := start.Add(c.plan.opts.Timeout)
	// Keep-alive probes are pointless on a connection that carries one
	// request, and turning them on costs four system calls per connection.
	d := net.Dialer{KeepAlive: -1, Deadline: deadline}
	if local := c.plan.local(i); local.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(local, 0))
		d.Control = bindAddressNoPort
	}
	conn, err := d.DialContext(c.ctx, "tcp", c.plan.addr.String())
	if err != nil {
		if c.interrupted() && time.Now().Before(deadline) {
			c.aborted.Add(1)
			return outcome{end: time.Now(), err: Other, detail: "connect: " + errInterrupted.Error()}
		}
		o := failed(err, "connect")
		if errors.Is(err, os.ErrDeadlineExceeded) {
			o.detail = "connect: " + c.timedOut()
		}
		return o
	}
	connected := time.Now()
	// An interrupt ends the exchange at once: the deadline moves to the past.
	stop := context.AfterFunc(c.ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	var local netip.AddrPort
	if a, ok := conn.LocalAddr().(*net.TCPAddr); ok {
		local = a.AddrPort()
	}
	o := c.exchange(conn, i, deadline, buf)
	o.local, o.connected = local, connected
	if o.err == Timeout && o.timedOut {
		o.detail = buf.resp.during() + ": " + c.timedOut() // as the epoll engine says it
	}
	if !stop() && o.err != NoError && o.end.Before(deadline) {
		c.aborted.Add(1)
		o.err, o.detail = Other, buf.resp.during()+": "+errInterrupted.Error()
	}
	if o.err == NoError && o.lingering {
		c.linger(conn, deadline)
	} else {
		conn.Close()
	}
	o.lingering = false
	return o
}

// interrupted reports whether the run's context has ended. A dial takes
// the context's deadline as its own, and may report it a moment before the
// context itself does.
func (c *netClient) interrupted() bool {
	if c.ctx.Err() != nil {
		return true
	}
	dl, ok := c.ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// exchange writes request i and reads its response.
func (c *netClient) exchange(conn net.Conn, i int, deadline time.Time, buf *exchangeBuf) outcome {
	p := &buf.resp
	p.reset()
	_ = conn.SetDeadline(deadline) // fails only on a closed conn, which the write reports
	if _, err := conn.Write(c.plan.request(i)); err != nil {
		return failed(err, "send request")
	}
	var readErr error
	var first time.Time
	for {
		n, err := conn.Read(buf.read)
		if n > 0 && first.IsZero() {
			first = time.Now()
		}
		if n > 0 && p.feed(buf.read[:n]) {
			// Complete or malformed. Unless the server has closed already
			// (a short read with the FIN is not visible here), a complete
			// response's socket waits for the FIN: see lingerGrace.
			o := p.verdict(nil)
			o.end, o.firstByte = time.Now(), first
			o.lingering = o.err == NoError && n < len(buf.read)
			return o
		}
		if err != nil {
			readErr = err
			break
		}
	}
	o := p.verdict(readErr)
	o.end, o.firstByte = time.Now(), first
	o.timedOut = errors.Is(readErr, os.ErrDeadlineExceeded)
	return o
}

// timedOut is the detail of a request that reached its deadline.
func (c *netClient) timedOut() string {
	return fmt.Sprintf("timeout: no complete response within %v", c.plan.opts.Timeout)
}

// linger waits, off the request's slot, for the server to close conn after
// a complete response, at most lingerGrace and never past the request's
// deadline, then closes it: see lingerGrace. When too many sockets linger
// already, conn is closed at once.
func (c *netClient) linger(conn net.Conn, deadline time.Time) {
	select {
	case c.lingerSlots <- struct{}{}:
	default:
		conn.Close()
		return
	}
	go func() {
		defer func() { <-c.lingerSlots }()
		defer conn.Close()
		until := time.Now().Add(lingerGrace)
		if deadline.Before(until) {
			until = deadline
		}
		_ = conn.SetDeadline(until)
		stop := context.AfterFunc(c.ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
		defer stop()
		var b [512]byte
		for {
			if _, err := conn.Read(b[:]); err != nil {
				return
			}
		}
	}()
}
