//go:build !linux

package closing

// Only Linux holds a write back for what follows it (MSG_MORE); elsewhere
// every write leaves at once, and nothing waits for the close.
const holdFlag = 0
