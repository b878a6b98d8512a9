//go:build !linux

package handler

import (
	"net"
	"os"
	"syscall"
)

// canSendFile: no sendfile by offset here; cached files go out from memory.
const canSendFile = false

func sendFileAt(syscall.Conn, *os.File, int64, int64) (int64, error) { return 0, errFileGone }

// fileSink: with no sendfile, only net's TCP connections qualify (and the
// cache keeps no file open to send from).
func fileSink(c net.Conn) (syscall.Conn, bool) {
	tc, ok := c.(*net.TCPConn)
	return tc, ok
}

func openFileBudget() int { return 0 }
