// Package logging builds the server's zerolog loggers: the main one, and a
// sampled one for refusals so that a flood of 503s or 429s cannot flood the log.
package logging

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// New returns a logger writing to out at level in format ("json", "console"
// or "auto": console when out is a terminal, JSON otherwise, so container logs
// stay machine-readable).
func New(out io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("log level %q: %w", level, err)
	}
	switch format {
	case "auto":
		if isTerminal(out) {
			out = console(out)
		}
	case "console":
		out = console(out)
	case "json":
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: must be json, console or auto", format)
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

func console(out io.Writer) io.Writer {
	return zerolog.ConsoleWriter{Out: out, TimeFormat: "15:04:05.000"}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Sampled wraps l so that refusals are logged in bursts: the first burst of
// each period in full, then one in every n. Counters in /stats stay exact;
// only the log lines are thinned.
func Sampled(l zerolog.Logger, burst uint32, period time.Duration, n uint32) zerolog.Logger {
	return l.Sample(&zerolog.BurstSampler{
		Burst:       burst,
		Period:      period,
		NextSampler: &zerolog.BasicSampler{N: n},
	})
}
