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
// waits:
//
//  1. Write the 503 (closing.WriteNow). A write the kernel would not take
//     whole is counted (unwritten). On Linux the kernel holds it for the
//     close's FIN, so that both leave in one segment.
//  2. Close once nothing more is due, or a reset may eat the 503: a
//     goroutine waits for the request head (closing.AwaitHead) and closes
//     when it is complete or the input ends, or lingers for longer heads
//     and bodies. At most maxLingering sockets wait at once; past that a
//     refused socket is drained and closed at once (counted: unlingered),
//     so a flood cannot turn refusals into unbounded work.
//
// The request is not read before the 503: under a flood it has not arrived
// at accept for most refused sockets (95 % with a nice'd flooder), so that
// read found nothing and the wait read again. Reading only in the wait
// saves one system call per refusal (docs/performance.md).
const (
	maxLingering = 256
	lingerBytes  = 64 << 10
)

type refusals struct {
	log        zerolog.Logger // sampled
	body       [3][]byte      // 503 bodies by admit.Verdict
	buf        []byte         // the response; used by the accept goroutine only
	lingering  chan struct{}
	unlingered atomic.Uint64
	unwritten  atomic.Uint64
	fds        fdRefusals // refusals of bare descriptors (accept_linux.go)
}

func newRefusals(maxTotal, maxPerClient int, log zerolog.Logger) *refusals {
	r := &refusals{
		log:       log,
		buf:       make([]byte, 0, 1024),
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
	if !closing.WriteNow(c, r.reply(v, time.Now())) {
		r.unwritten.Add(1)
	}
	r.logRefusal(v, key)
	select {
	case r.lingering <- struct{}{}:
		go func() {
			closing.AwaitHead(c, lingerBytes)
			<-r.lingering
		}()
	default:
		r.unlingered.Add(1)
		closing.Drain(c)
	}
}

// reply is the 503 for verdict v, in a buffer that only the accept
// goroutine uses.
func (r *refusals) reply(v admit.Verdict, now time.Time) []byte {
	body := r.body[v]
	b := response.AppendHead(r.buf[:0], response.Head{Status: http.StatusServiceUnavailable,
		ContentType: "text/html; charset=utf-8", ContentLength: int64(len(body)),
		Extra: []string{"Retry-After", "1"}}, now)
	b = append(b, body...)
	r.buf = b
	return b
}

func (r *refusals) logRefusal(v admit.Verdict, key clientid.Key) {
	if e := r.log.Info(); e != nil { // key.String allocates: only for a logged refusal
		e.Str("client", key.String()).Str("reason", v.String()).Msg("connection refused")
	}
}

// wait returns once no refused socket is lingering; each ends within
// closing.LingerTimeout.
func (r *refusals) wait() {
	r.fds.close()
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
