// Package clientid derives the identity of a client from its remote address,
// for the per-client connection cap and the rate limiter.
//
// The canonical identity is the address, not the port: every TCP connection
// has its own ephemeral port, so keying on (address, port) turns a per-client
// cap into a per-connection cap that limits nothing (nginx limit_conn keys on
// $binary_remote_addr, HAProxy tracks src). ByIPPort exists only so the lab
// can demonstrate exactly that.
//
// Addresses are Unmap()ped first, because a dual-stack listener reports an
// IPv4 client as ::ffff:1.2.3.4 and the same client must get the same key
// on either kind of listener.
//
// An IPv6 client is keyed by its /64: a single subscriber is routinely handed
// a whole /64 and can pick any of its 2^64 addresses at will, so a per-address
// key would let one client multiply its allowance (zulip#21544). Two
// exceptions keep the full address, because there the /64 is shared by
// unrelated hosts rather than owned by one: loopback ::1, and link-local
// fe80::/10, where every neighbour on the link shares fe80::/64 (the zone is
// kept too, since the same link-local address on two interfaces is two hosts).
package clientid

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// Strategy selects how a remote address maps to a client key.
type Strategy uint8

const (
	// ByIP keys on the address (an IPv6 client on its /64).
	ByIP Strategy = iota
	// ByIPPort keys on address and port: one connection is one client.
	ByIPPort
)

// ParseStrategy parses the configuration spelling of a Strategy.
func ParseStrategy(s string) (Strategy, error) {
	switch s {
	case "ip":
		return ByIP, nil
	case "ip-port":
		return ByIPPort, nil
	}
	return 0, fmt.Errorf("unknown client key %q: valid values are ip, ip-port", s)
}

// StrategyNames lists the configuration spellings, for usage and messages.
func StrategyNames() []string { return []string{ByIP.String(), ByIPPort.String()} }

// String returns the configuration spelling ("ip", "ip-port").
func (s Strategy) String() string {
	switch s {
	case ByIP:
		return "ip"
	case ByIPPort:
		return "ip-port"
	}
	return "Strategy(" + strconv.Itoa(int(s)) + ")"
}

// Key identifies a client. It is comparable and small (32 bytes); making,
// copying and hashing one never allocates, so it serves as a map key on the
// accept path for free.
//
// Bits is the prefix length that Addr was masked to: 32 for IPv4, 64 for an
// IPv6 /64, 128 for a full IPv6 address. Port is zero unless the key was made
// ByIPPort.
type Key struct {
	Addr netip.Addr
	Port uint16
	Bits uint8
}

// Of derives the key of a remote address. An invalid address yields the zero
// Key (which is still a valid, if shared, map key).
func Of(s Strategy, remote netip.AddrPort) Key {
	a := remote.Addr().Unmap()
	if !a.IsValid() {
		return Key{}
	}
	if a.Is4() {
		k := Key{Addr: a, Bits: 32}
		if s == ByIPPort {
			k.Port = remote.Port()
		}
		return k
	}
	if s == ByIPPort {
		return Key{Addr: a, Port: remote.Port(), Bits: 128}
	}
	if a.IsLoopback() || a.IsLinkLocalUnicast() {
		return Key{Addr: a, Bits: 128}
	}
	// Prefix cannot fail here: a is a valid IPv6 address and 64 <= 128. It
	// also drops any zone, which a global address should not carry anyway.
	p, _ := a.Prefix(64)
	return Key{Addr: p.Addr(), Bits: 64}
}

// OfAddr is Of for a net.Addr as returned by net.Conn.RemoteAddr. It reports
// ok=false for anything but a *net.TCPAddr with a valid IP.
func OfAddr(s Strategy, remote net.Addr) (Key, bool) {
	ta, isTCP := remote.(*net.TCPAddr)
	if !isTCP {
		return Key{}, false
	}
	ap := ta.AddrPort()
	if !ap.Addr().IsValid() {
		return Key{}, false
	}
	return Of(s, ap), true
}

// String renders the key for logs and /stats: "1.2.3.4", "::1",
// "2001:db8:1:2::/64", "1.2.3.4:5678", "[::1]:5678".
func (k Key) String() string {
	if !k.Addr.IsValid() {
		return k.Addr.String()
	}
	if int(k.Bits) < k.Addr.BitLen() {
		return netip.PrefixFrom(k.Addr, int(k.Bits)).String()
	}
	if k.Port != 0 {
		return netip.AddrPortFrom(k.Addr, k.Port).String()
	}
	return k.Addr.String()
}
