package load

import (
	"net/netip"
	"time"
)

// ErrorKind says how a request that got no complete response ended.
type ErrorKind string

// The error categories. Every request ends with either a status code or
// exactly one of these.
const (
	NoError ErrorKind = ""
	// Refused: the connection attempt was refused (ECONNREFUSED): nothing listens.
	Refused ErrorKind = "refused"
	// Reset: the peer reset the connection (ECONNRESET, EPIPE, ECONNABORTED)
	// before a complete response was read.
	Reset ErrorKind = "reset"
	// Timeout: the per-request timeout expired (dial, write or read), or the
	// kernel gave up connecting (ETIMEDOUT).
	Timeout ErrorKind = "timeout"
	// Other: everything else, including an orderly close before a complete
	// response, a malformed response, a truncated body and local errors such as
	// a source address that cannot be bound.
	Other ErrorKind = "other"
)

// ErrorKinds lists the categories in report order.
var ErrorKinds = []ErrorKind{Refused, Reset, Timeout, Other}

// Result is what happened to one request. Times are offsets from the run's
// start, so a run can be read without knowing the wall clock.
type Result struct {
	Seq       int
	URL       string
	LocalAddr netip.AddrPort // zero when the connection was never made

	Scheduled time.Duration // when the schedule said to send
	Start     time.Duration // when the request was actually sent (dial began)
	End       time.Duration // when the response was complete, or the error seen

	// Phases, as durations from Start; 0 when the request never got there
	// (Connect 0: it failed before the connection was established), else
	// positive and at most the latency.
	Connect   time.Duration // the TCP connection was established
	FirstByte time.Duration // the first byte of the response arrived

	Status int   // HTTP status code; 0 when Err is set
	Bytes  int64 // body bytes received, also when the request failed
	Err    ErrorKind
	Detail string // the underlying error, for people: escaped, at most 256 bytes
}

// Latency is the time from actual send to the end of the request.
func (r Result) Latency() time.Duration { return r.End - r.Start }

// Lateness is how much later than planned the request was sent.
func (r Result) Lateness() time.Duration { return r.Start - r.Scheduled }

// Mode says how the requests of one run relate to each other.
type Mode string

// The modes a run can have.
const (
	// Concurrent sends each request at its due time, whether or not earlier
	// ones have finished (up to the in-flight cap).
	Concurrent Mode = "concurrent"
	// Sequential sends request i at its due time or when request i-1 has
	// finished, whichever is later.
	Sequential Mode = "sequential"
)

// Run is the outcome of one run against one target.
type Run struct {
	Target      string // scheme://host:port
	Address     string // the IP:port the host name resolved to, before the run
	Mode        Mode
	Requests    int           // requests planned
	Spread      time.Duration // the -t the schedule was built from
	Concurrency int           // in-flight cap; 0 = none
	Began       time.Time     // wall clock at the run's start
	Wall        time.Duration // from start to the end of the last request
	// LastDue is when the schedule's last request was due: (r−1)·t/r, not
	// t, since request i is due at i·t/r and the first at 0.
	LastDue time.Duration
	// Results holds one entry per request sent, in Seq order. When the run
	// was interrupted it is shorter than Requests: requests never sent are not
	// invented.
	Results     []Result
	Interrupted bool
	// A shard of a run: Requests counts this shard's requests, RunRequests
	// the undivided schedule's, and each result's Seq is its index there.
	// Shards is 1 for a whole run.
	Shard, Shards, RunRequests int
	// Anchored: Began is the -start-at instant, shared by every shard.
	Anchored bool
	// Engine is the engine that ran: "epoll" (Linux) or "net" (portable,
	// and the fallback where epoll cannot be set up).
	Engine string
}

// Served is the number of requests answered 200.
func (r Run) Served() int {
	n := 0
	for _, res := range r.Results {
		if res.Err == NoError && res.Status == 200 {
			n++
		}
	}
	return n
}
