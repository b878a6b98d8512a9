package server

import (
	"context"
	"net"
)

// Listen opens the main listener as the server wants it: TCP keep-alive
// probes off. Go's default (net.Listen) turns them on for every accepted
// connection, which costs four setsockopt calls per connection, about a
// fifth of the server's CPU time per request for a small file, for probes
// that would only start after 15 s of silence on a connection that the read
// and write timeouts already bound and that carries one request.
func Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	return lc.Listen(ctx, network, addr)
}
