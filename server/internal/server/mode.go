package server

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// Mode is how the server serves admitted connections: the lab compares
// them. Adding one is a file with its serve function, and a case in each
// of the two switches below.
type Mode uint8

const (
	// Concurrent: a goroutine per admitted connection.
	Concurrent Mode = iota
	// Sequential: one connection at a time, the classic iterative server.
	Sequential
	// Stock: Go's net/http file server, the baseline without limits.
	Stock
)

var modeNames = map[Mode]string{Concurrent: "concurrent", Sequential: "sequential", Stock: "stock"}

func (m Mode) String() string {
	if n, ok := modeNames[m]; ok {
		return n
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ModeNames lists the modes' names, for usage texts and messages.
func ModeNames() []string {
	names := make([]string, 0, len(modeNames))
	for m := range len(modeNames) {
		names = append(names, Mode(m).String())
	}
	return names
}

// ParseMode returns the mode named s.
func ParseMode(s string) (Mode, error) {
	for m, n := range modeNames {
		if n == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown mode %q: must be one of %s", s, strings.Join(ModeNames(), ", "))
}

// limited reports whether the caps and the rate limit apply in m.
func (m Mode) limited() bool {
	switch m {
	case Stock:
		return false
	}
	return true
}

func (s *Server) serveMode(ctx context.Context, ln net.Listener) error {
	switch s.o.Mode {
	case Sequential:
		return s.serveSequential(ctx, ln)
	case Stock:
		return s.serveStock(ctx, ln)
	}
	return s.serveConcurrent(ctx, ln)
}
