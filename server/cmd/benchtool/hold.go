//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hold is the attacker of the "many" part: from many source addresses, it
// holds connections that do no work, reconnecting whenever the server
// closes one. -silent connections send half a request head and nothing
// more; -stalled ones ask for a large file through a 1 KiB receive window
// and never read it (a status other than 200 makes them reconnect at
// once). It stops after -d and prints what it did as JSON.
type holdReport struct {
	Addresses int     `json:"addresses"`
	PerAddr   int     `json:"per_addr"`
	Seconds   float64 `json:"seconds"`
	Opened    uint64  `json:"opened"`
	Closed    uint64  `json:"closed_by_server"`
}

func hold(args []string) error {
	fs := flag.NewFlagSet("hold", flag.ContinueOnError)
	target := fs.String("url", "", "`URL` of the large file the stalled connections ask for")
	from := fs.String("from", "127.0.1.1", "first source `address`; the others follow it")
	addrs := fs.Int("addrs", 5, "source addresses")
	per := fs.Int("per", 12, "connections held from each address")
	kind := fs.String("kind", "silent", "silent, stalled, or mixed (half of each address's connections each)")
	dur := fs.Duration("d", 10*time.Second, "how long to hold")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-url %q: want http://host:port/path", *target)
	}
	first := net.ParseIP(*from).To4()
	if first == nil || *addrs < 1 || *per < 1 || (*kind != "silent" && *kind != "stalled" && *kind != "mixed") {
		return errors.New("want an IPv4 -from, -addrs and -per of at least 1, -kind silent, stalled or mixed")
	}
	half := []byte("GET " + u.RequestURI() + " HTTP/1.0\r\n")
	full := []byte("GET " + u.RequestURI() + " HTTP/1.0\r\nHost: " + u.Host + "\r\n\r\n")
	end := time.Now().Add(*dur)
	var opened, closed atomic.Uint64
	var wg sync.WaitGroup
	for a := range *addrs {
		ip := make(net.IP, 4)
		copy(ip, first)
		ip[3] += byte(a)
		for c := range *per {
			stalled := *kind == "stalled" || (*kind == "mixed" && c%2 == 1)
			wg.Go(func() {
				for time.Now().Before(end) {
					conn, err := dialHold(u.Host, ip, stalled)
					if err != nil {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					opened.Add(1)
					if stalled {
						_, _ = conn.Write(full)
					} else {
						_, _ = conn.Write(half)
					}
					if holdUntilClosed(conn, stalled, end) {
						closed.Add(1)
					}
					conn.Close()
				}
			})
		}
	}
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(holdReport{Addresses: *addrs, PerAddr: *per,
		Seconds: dur.Seconds(), Opened: opened.Load(), Closed: closed.Load()})
}

// holdUntilClosed waits until the server closes conn (true) or the end. A
// stalled connection reads its status line, and gives up at once on anything
// but a 200; then it reads a byte every 200 ms, far too little for the
// response to move.
func holdUntilClosed(conn net.Conn, stalled bool, end time.Time) bool {
	var b [12]byte
	if stalled {
		_ = conn.SetReadDeadline(end)
		if _, err := io.ReadFull(conn, b[:]); err != nil || !strings.HasSuffix(string(b[:]), "200") {
			return err == nil
		}
	}
	for time.Now().Before(end) {
		if stalled {
			time.Sleep(200 * time.Millisecond)
		}
		_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := conn.Read(b[:1]); err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return true
			}
		}
	}
	return false
}

func dialHold(addr string, ip net.IP, smallWindow bool) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second,
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
				if serr == nil && smallWindow {
					serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 1024)
				}
			})
			return errors.Join(err, serr)
		}}
	return d.Dial("tcp", addr)
}
