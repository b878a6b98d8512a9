// Package progress draws a progress bar for a run on a terminal, and
// nothing anywhere else: a bar in a log file or a pipe is noise.
package progress

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Bar counts finished requests. The zero of *Bar (nil) draws nothing.
type Bar struct{ bar *progressbar.ProgressBar }

// New starts a bar of total requests on w, or returns nil when disabled.
func New(w io.Writer, enabled bool, total int, label string) *Bar {
	if !enabled {
		return nil
	}
	return &Bar{bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		// Redrawing at every request would cost more than the request at
		// tens of thousands per second.
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

// Add counts one finished request.
func (b *Bar) Add() {
	if b != nil {
		_ = b.bar.Add(1) // drawing errors must not stop a run
	}
}

// Finish removes the bar.
func (b *Bar) Finish() {
	if b != nil {
		_ = b.bar.Finish()
		_ = b.bar.Clear()
	}
}
