//go:build linux

package handler

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// ackedBytes is how many bytes of c's output the peer has acknowledged so
// far (TCP_INFO's tcpi_bytes_acked), for telling a slow reader from a
// stopped one. Asked only after a write timed out, never per response.
func ackedBytes(c net.Conn) (uint64, bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info *unix.TCPInfo
	var ierr error
	cerr := rc.Control(func(fd uintptr) { info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
	if cerr != nil || ierr != nil {
		return 0, false
	}
	return info.Bytes_acked, true
}
