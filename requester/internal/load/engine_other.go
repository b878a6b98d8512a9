//go:build !linux

package load

import "context"

// hasEpoll is false where there is no epoll engine.
const hasEpoll = false

// runEpoll stands in for the Linux engine and uses the net one.
func runEpoll(ctx context.Context, p *plan) engineRun { return runNet(ctx, p) }
