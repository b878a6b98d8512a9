//go:build !linux

package handler

import (
	"net"
	"os"
)

// canSendFile: no sendfile by offset here; cached files go out from memory.
const canSendFile = false

func sendFileAt(*net.TCPConn, *os.File, int64, int64) (int64, error) { return 0, errFileGone }

func openFileBudget() int { return 0 }
