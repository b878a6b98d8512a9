//go:build !linux

package load

import "context"

// useEpoll is false where there is no epoll engine.
var useEpoll = false

// runEpoll stands in for the Linux engine and uses the net one.
func runEpoll(ctx context.Context, p *plan) engineRun { return runNet(ctx, p) }
