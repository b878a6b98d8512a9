package server

import (
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"httplab/httplab-server/internal/admit"
	"httplab/httplab-server/internal/clientid"
	"httplab/httplab-server/internal/closing"
	"httplab/httplab-server/internal/response"
)

// The refusal protocol. A connection refused at accept gets a complete 503
// with Retry-After, written on the accept goroutine in one write that never
// waits, and no goroutine of its own unless its close must wait:
//
//  1. Read, without waiting, what the client has sent so far.
//  2. Write the 503 (closing.WriteNow). A write the kernel would not take
//     whole is counted (unwritten).
//  3. If the input ended, or is one complete head with no body, close now:
//     nothing is unread and nothing more is due, so the close is a FIN.
//  4. Otherwise the close must wait, or a reset may eat the 503: for the
//     rest of a short head (closing.AwaitHead), or in a lingering close for
//     longer heads and bodies. At most maxLingering sockets wait at once;
//     past that a refused socket is drained and closed at once (counted:
//     unlingered), so a flood cannot turn refusals into unbounded work.
const (
	maxLingering = 256
	lingerBytes  = 64 << 10
)

type refusals struct {
	log        zerolog.Logger // sampled
	body       [3][]byte      // 503 bodies by admit.Verdict
	buf        []byte         // the response; used by the accept goroutine only
	drainBuf   []byte         // likewise
	lingering  chan struct{}
	unlingered atomic.Uint64
	unwritten  atomic.Uint64
}

func newRefusals(maxTotal, maxPerClient int, log zerolog.Logger) *refusals {
	r := &refusals{
		log:       log,
		buf:       make([]byte, 0, 1024),
		drainBuf:  make([]byte, 4096),
		lingering: make(chan struct{}, maxLingering),
	}
	r.body[admit.RefusedTotal] = response.ErrorBody(http.StatusServiceUnavailable,
		"The server is at its limit of "+strconv.Itoa(maxTotal)+" simultaneous connections. Retry shortly.")
	r.body[admit.RefusedClient] = response.ErrorBody(http.StatusServiceUnavailable,
		"Your address already holds "+strconv.Itoa(maxPerClient)+" connections, the most allowed per client. Retry shortly.")
	return r
}

// refuse answers c, refused with verdict v; it runs on the accept goroutine.
func (r *refusals) refuse(c net.Conn, v admit.Verdict, key clientid.Key) {
	got, clean := closing.ReadNow(c, r.drainBuf)
	body := r.body[v]
	b := response.AppendHead(r.buf[:0], response.Head{Status: http.StatusServiceUnavailable,
		ContentType: "text/html; charset=utf-8", ContentLength: int64(len(body)),
		Extra: []string{"Retry-After", "1"}}, time.Now())
	b = append(b, body...)
	r.buf = b
	if !closing.WriteNow(c, b) {
		r.unwritten.Add(1)
	}

	if e := r.log.Info(); e != nil { // key.String allocates: only for a logged refusal
		e.Str("client", key.String()).Str("reason", v.String()).Msg("connection refused")
	}
	if clean {
		_ = c.Close()
		return
	}
	select {
	case r.lingering <- struct{}{}:
		if got > closing.AwaitHeadBytes {
			go func() {
				closing.Linger(c, closing.LingerTimeout, lingerBytes)
				<-r.lingering
			}()
			return
		}
		early := append([]byte(nil), r.drainBuf[:got]...) // drainBuf is the accept goroutine's
		go func() {
			closing.AwaitHead(c, early, lingerBytes)
			<-r.lingering
		}()
	default:
		r.unlingered.Add(1)
		closing.Drain(c)
	}
}

// wait returns once no refused socket is lingering; each ends within
// closing.LingerTimeout.
func (r *refusals) wait() {
	for range cap(r.lingering) {
		r.lingering <- struct{}{}
	}
	for range cap(r.lingering) {
		<-r.lingering
	}
}

func (r *refusals) counts() (unlingered, unwritten uint64) {
	return r.unlingered.Load(), r.unwritten.Load()
}
