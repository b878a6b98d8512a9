//go:build !linux

package server

import (
	"context"
	"net"

	"httplab/httplab-server/internal/admit"
	"httplab/httplab-server/internal/clientid"
)

// fdRefusals: bare descriptors are accepted on Linux only.
type fdRefusals struct{}

func (fdRefusals) close() {}

// acceptFDs: elsewhere every connection is accepted through net.
func (s *Server) acceptFDs(context.Context, net.Listener, func(net.Conn, *admit.Conn, clientid.Key)) (bool, error) {
	return false, nil
}
