//go:build !unix

package server

import (
	"errors"
	"net"
)

// ErrBacklogUnsupported is returned by Listen where the backlog cannot be set:
// Windows fixes the queue when the socket starts listening, and Go's
// net.Listen gives no way in before that.
var ErrBacklogUnsupported = errors.New("setting the listen backlog is not supported on this platform (Windows): leave -backlog at 0")

func setBacklog(net.Listener, int) error { return ErrBacklogUnsupported }
