// Package load sends paced HTTP/1.0 requests and collects one Result per
// request.
//
// It has three parts, each with one job: a schedule that says when request i
// is due (start + i·t/r, absolute, so waiting never drifts), a client that
// performs one request on its own TCP connection and classifies how it
// ended, and a runner that starts requests on time, respects the in-flight
// cap and hands every Result over one channel to one collector, so the hot
// path takes no lock.
package load
