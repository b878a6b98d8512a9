package server

import (
	"context"
	"fmt"
	"net"
)

// Listen opens the main listener as the server wants it: TCP keep-alive
// probes off, and the accept queue as long as backlog asks (0: the system's
// maximum, Go's default).
//
// Keep-alive: Go's default (net.Listen) turns the probes on for every
// accepted connection, which costs four setsockopt calls per connection,
// about a fifth of the server's CPU time per request for a small file, for
// probes that would only start after 15 s of silence on a connection that
// the read and write timeouts already bound and that carries one request.
//
// Backlog: net.Listen takes none, so the listening socket is given the
// length asked for by a second listen(2), which Linux and the BSDs (macOS
// included) accept on a listening socket to change its queue. Where that
// is not possible, Listen fails with ErrBacklogUnsupported and says why.
func Listen(ctx context.Context, network, addr string, backlog int) (net.Listener, error) {
	if backlog < 0 {
		return nil, fmt.Errorf("backlog must be >= 0 (0 = the system's maximum), got %d", backlog)
	}
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(ctx, network, addr)
	if err != nil || backlog == 0 {
		return ln, err
	}
	if err := setBacklog(ln, backlog); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
