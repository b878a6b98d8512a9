//go:build unix

package server

import (
	"fmt"
	"net"
	"syscall"
)

// ErrBacklogUnsupported is returned by Listen where the backlog cannot be set.
var ErrBacklogUnsupported = fmt.Errorf("setting the listen backlog is not supported on this platform")

func setBacklog(ln net.Listener, backlog int) error {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return ErrBacklogUnsupported
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), backlog) }); err != nil {
		return err
	}
	if lerr != nil {
		return fmt.Errorf("listen backlog %d: %w", backlog, lerr)
	}
	return nil
}
