package clientid

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestParseStrategy(t *testing.T) {
	for _, s := range []Strategy{ByIP, ByIPPort} {
		got, err := ParseStrategy(s.String())
		if err != nil || got != s {
			t.Errorf("ParseStrategy(%q) = %v, %v; want %v", s.String(), got, err, s)
		}
	}
	for _, bad := range []string{"", "IP", "port", "ip_port", "ip-port "} {
		_, err := ParseStrategy(bad)
		if err == nil {
			t.Errorf("ParseStrategy(%q): no error", bad)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "ip, ip-port") {
			t.Errorf("ParseStrategy(%q) error %q does not list the valid values", bad, msg)
		}
	}
	if got := Strategy(7).String(); got != "Strategy(7)" {
		t.Errorf("Strategy(7).String() = %q", got)
	}
}

func TestOf(t *testing.T) {
	cases := []struct {
		remote string
		s      Strategy
		want   Key
		str    string
	}{
		{"1.2.3.4:5678", ByIP, Key{netip.MustParseAddr("1.2.3.4"), 0, 32}, "1.2.3.4"},
		{"1.2.3.4:5678", ByIPPort, Key{netip.MustParseAddr("1.2.3.4"), 5678, 32}, "1.2.3.4:5678"},
		// A dual-stack listener reports IPv4 clients as mapped addresses.
		{"[::ffff:1.2.3.4]:5678", ByIP, Key{netip.MustParseAddr("1.2.3.4"), 0, 32}, "1.2.3.4"},
		{"[::ffff:1.2.3.4]:5678", ByIPPort, Key{netip.MustParseAddr("1.2.3.4"), 5678, 32}, "1.2.3.4:5678"},
		{"127.0.0.1:1", ByIP, Key{netip.MustParseAddr("127.0.0.1"), 0, 32}, "127.0.0.1"},
		{"[::1]:5678", ByIP, Key{netip.IPv6Loopback(), 0, 128}, "::1"},
		{"[::1]:5678", ByIPPort, Key{netip.IPv6Loopback(), 5678, 128}, "[::1]:5678"},
		{"[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:80", ByIP, Key{netip.MustParseAddr("2001:db8:1:2::"), 0, 64}, "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:80", ByIPPort,
			Key{netip.MustParseAddr("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), 80, 128}, "[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:80"},
		{"[fe80::1%eth0]:80", ByIP, Key{netip.MustParseAddr("fe80::1%eth0"), 0, 128}, "fe80::1%eth0"},
	}
	for _, c := range cases {
		ap := netip.MustParseAddrPort(c.remote)
		got := Of(c.s, ap)
		if got != c.want {
			t.Errorf("Of(%v, %s) = %#v; want %#v", c.s, c.remote, got, c.want)
		}
		if s := got.String(); s != c.str {
			t.Errorf("Of(%v, %s).String() = %q; want %q", c.s, c.remote, s, c.str)
		}
	}
}

func TestOfGroupsIPv6By64(t *testing.T) {
	a := Of(ByIP, netip.MustParseAddrPort("[2001:db8:1:2::1]:1000"))
	b := Of(ByIP, netip.MustParseAddrPort("[2001:db8:1:2:ffff:ffff:ffff:ffff]:2000"))
	c := Of(ByIP, netip.MustParseAddrPort("[2001:db8:1:3::1]:1000"))
	if a != b {
		t.Errorf("same /64 gave different keys: %v, %v", a, b)
	}
	if a == c {
		t.Errorf("different /64s gave the same key: %v", a)
	}
	// Link-local neighbours share fe80::/64 but are different hosts.
	l1 := Of(ByIP, netip.MustParseAddrPort("[fe80::1%eth0]:1"))
	l2 := Of(ByIP, netip.MustParseAddrPort("[fe80::2%eth0]:1"))
	l3 := Of(ByIP, netip.MustParseAddrPort("[fe80::1%eth1]:1"))
	if l1 == l2 || l1 == l3 {
		t.Errorf("link-local hosts merged: %v %v %v", l1, l2, l3)
	}
}

func TestOfByIPIgnoresPort(t *testing.T) {
	a := Of(ByIP, netip.MustParseAddrPort("10.0.0.1:40000"))
	b := Of(ByIP, netip.MustParseAddrPort("10.0.0.1:40001"))
	if a != b {
		t.Errorf("ByIP keys differ by port: %v, %v", a, b)
	}
	a = Of(ByIPPort, netip.MustParseAddrPort("10.0.0.1:40000"))
	b = Of(ByIPPort, netip.MustParseAddrPort("10.0.0.1:40001"))
	if a == b {
		t.Errorf("ByIPPort keys equal across ports: %v", a)
	}
}

func TestOfInvalid(t *testing.T) {
	if k := Of(ByIP, netip.AddrPort{}); k != (Key{}) {
		t.Errorf("Of(invalid) = %#v; want zero Key", k)
	}
	if s := (Key{}).String(); s != "invalid IP" {
		t.Errorf("zero Key String = %q", s)
	}
}

type otherAddr struct{}

func (otherAddr) Network() string { return "unix" }
func (otherAddr) String() string  { return "/tmp/sock" }

func TestOfAddr(t *testing.T) {
	k, ok := OfAddr(ByIP, &net.TCPAddr{IP: net.ParseIP("1.2.3.4"), Port: 99})
	if !ok || k.String() != "1.2.3.4" {
		t.Errorf("OfAddr(tcp 1.2.3.4) = %v, %v", k, ok)
	}
	// net.ParseIP returns the 16-byte (mapped) form for IPv4; it must unmap.
	k, ok = OfAddr(ByIPPort, &net.TCPAddr{IP: net.ParseIP("1.2.3.4").To16(), Port: 99})
	if !ok || k.String() != "1.2.3.4:99" {
		t.Errorf("OfAddr(tcp mapped) = %v, %v", k, ok)
	}
	for _, a := range []net.Addr{nil, (*net.TCPAddr)(nil), &net.TCPAddr{}, &net.UDPAddr{IP: net.ParseIP("1.2.3.4")}, otherAddr{}} {
		if k, ok := OfAddr(ByIP, a); ok {
			t.Errorf("OfAddr(%#v) = %v, true; want ok=false", a, k)
		}
	}
}

// TestOfAllocs holds the "allocation-free" promise: Of runs on every accept.
func TestOfAllocs(t *testing.T) {
	addrs := []netip.AddrPort{
		netip.MustParseAddrPort("1.2.3.4:5"),
		netip.MustParseAddrPort("[::ffff:1.2.3.4]:5"),
		netip.MustParseAddrPort("[2001:db8::1]:5"),
		netip.MustParseAddrPort("[::1]:5"),
	}
	m := map[Key]int{}
	for _, s := range []Strategy{ByIP, ByIPPort} {
		for _, a := range addrs {
			m[Of(s, a)]++ // pre-populate so the measured loop only reads
			n := testing.AllocsPerRun(100, func() {
				m[Of(s, a)]++
			})
			if n != 0 {
				t.Errorf("Of(%v, %v) + map update: %v allocs; want 0", s, a, n)
			}
		}
	}
}

var sink Key

func BenchmarkOf(b *testing.B) {
	for _, bc := range []struct {
		name string
		s    Strategy
		a    netip.AddrPort
	}{
		{"ipv4/ip", ByIP, netip.MustParseAddrPort("1.2.3.4:5678")},
		{"mapped/ip", ByIP, netip.MustParseAddrPort("[::ffff:1.2.3.4]:5678")},
		{"ipv6/ip", ByIP, netip.MustParseAddrPort("[2001:db8:1:2::99]:5678")},
		{"ipv6/ip-port", ByIPPort, netip.MustParseAddrPort("[2001:db8:1:2::99]:5678")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = Of(bc.s, bc.a)
			}
		})
	}
}

func BenchmarkOfAddr(b *testing.B) {
	a := &net.TCPAddr{IP: net.ParseIP("1.2.3.4"), Port: 5678}
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = OfAddr(ByIP, a)
	}
}
