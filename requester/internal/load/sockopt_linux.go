package load

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// bindAddressNoPort lets the kernel choose the source port at connect time
// rather than at bind time (IP_BIND_ADDRESS_NO_PORT, Linux 4.2+). Bound to
// an address with port 0, a socket otherwise gets a port that must be
// unique for that address alone, which runs out after some 28,000
// connections and costs a search each time; at connect the port need only
// be unique for the whole four-tuple.
func bindAddressNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	_ = serr // an older kernel without the option still works, only slower
	return nil
}
