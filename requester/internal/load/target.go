package load

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Target is one server to load: where to connect and which paths to ask for.
// Request i asks for Paths[i % len(Paths)].
type Target struct {
	Host  string   // host name or IP, as given
	Port  int      // TCP port
	Paths []string // request targets as sent on the request line, e.g. "/a%20b?x=1"
}

// Resolve looks the target's host up: see the package-level Resolve.
func (t Target) Resolve(ctx context.Context, bind []netip.Addr) (netip.AddrPort, error) {
	ip, err := Resolve(ctx, t.Host, bind)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(ip, uint16(t.Port)), nil
}

// Name is the target as shown in reports: "http://host:port".
func (t Target) Name() string { return "http://" + t.HostPort() }

// HostPort is host:port, bracketing IPv6 literals.
func (t Target) HostPort() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// URL is the full URL of request i.
func (t Target) URL(i int) string { return t.Name() + t.Path(i) }

// Path is the request target of request i.
func (t Target) Path(i int) string { return t.Paths[i%len(t.Paths)] }

// hostHeader is the Host header value: the port is left out when it is 80,
// as browsers do.
func (t Target) hostHeader() string {
	if t.Port == 80 {
		if strings.Contains(t.Host, ":") {
			return "[" + t.Host + "]"
		}
		return t.Host
	}
	return t.HostPort()
}

// ValidatePath reports whether p can be sent on an HTTP/1.0 request line.
// Paths are sent byte for byte (so a lab can ask for "/%2e%2e/secret"), which
// is why anything that would break the request line is refused here.
func ValidatePath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q must start with /", p)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("path %q has a space or control character; percent-encode it", p)
		}
	}
	return nil
}

// TargetsFromURLs groups full URLs by scheme://host:port, in order of first
// appearance. URLs that share a host and port become the paths of one target;
// different hosts or ports become separate targets, run one after another.
func TargetsFromURLs(raw []string) ([]Target, error) {
	var targets []Target
	index := map[string]int{}
	for _, s := range raw {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("bad URL %q: %v", s, err)
		}
		if u.Scheme != "http" {
			return nil, fmt.Errorf("bad URL %q: only http:// is supported (each request is a plain HTTP/1.0 connection)", s)
		}
		if u.Hostname() == "" {
			return nil, fmt.Errorf("bad URL %q: no host", s)
		}
		if u.User != nil || u.Fragment != "" {
			return nil, fmt.Errorf("bad URL %q: user info and fragments cannot be sent", s)
		}
		port := 80
		if p := u.Port(); p != "" {
			port, err = strconv.Atoi(p)
			if err != nil || port < 1 || port > 65535 {
				return nil, fmt.Errorf("bad URL %q: port must be 1-65535", s)
			}
		}
		path := u.RequestURI() // keeps the escaping the user wrote
		if err := ValidatePath(path); err != nil {
			return nil, fmt.Errorf("bad URL %q: %v", s, err)
		}
		t := Target{Host: u.Hostname(), Port: port}
		if k, ok := index[t.Name()]; ok {
			targets[k].Paths = append(targets[k].Paths, path)
			continue
		}
		index[t.Name()] = len(targets)
		t.Paths = []string{path}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("no URL given")
	}
	return targets, nil
}
