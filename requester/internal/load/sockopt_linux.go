package load

import "syscall"

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (Linux 4.2+), missing from
// package syscall.
const ipBindAddressNoPort = 24

// bindAddressNoPort lets the kernel choose the source port at connect time
// rather than at bind time. Bound to an address with port 0, a socket
// otherwise gets a port that must be unique for that address alone, which
// runs out after some 28,000 connections and costs a search each time; at
// connect the port need only be unique for the whole four-tuple.
func bindAddressNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	_ = serr // an older kernel without the option still works, only slower
	return nil
}
