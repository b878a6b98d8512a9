package server

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestTemporaryErrors(t *testing.T) {
	for _, err := range []error{errors.New("accept: too many open files"), io.EOF} {
		if temporary(err) {
			t.Errorf("%v classed temporary", err)
		}
	}
	if !temporary(&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.EMFILE)}) {
		t.Error("EMFILE not temporary")
	}
}
