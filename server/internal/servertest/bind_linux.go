//go:build linux

package servertest

import "golang.org/x/sys/unix"

func bindAddressNoPort(fd uintptr) error {
	return unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
}
