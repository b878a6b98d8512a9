package server

import (
	"context"
	"net"
)

// serveSequential serves one connection at a time, on the accept goroutine:
// the classic iterative server. Clients that arrive meanwhile wait in the
// kernel's accept queue; the caps still apply to them at accept.
func (s *Server) serveSequential(ctx context.Context, ln net.Listener) error {
	err := s.acceptLoop(ctx, ln, s.serveConn)
	s.finish()
	return err
}
