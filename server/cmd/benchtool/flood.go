//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// floodReport is flood's JSON output.
type floodReport struct {
	URL        string            `json:"url"`
	Bind       string            `json:"bind"`
	Workers    int               `json:"workers"`
	Seconds    float64           `json:"seconds"`
	Attempts   uint64            `json:"attempts"`
	Status     map[string]int    `json:"status"`
	Errors     map[string]int    `json:"errors"`
	ServedPS   float64           `json:"served_per_s"`
	RefusedPS  float64           `json:"refused_per_s"`
	RefusedPSs []uint64          `json:"refused_each_s"`
	FirstErrs  map[string]string `json:"first_error,omitempty"`
}

// flood is the attacker: from one source address, -c workers each open a
// connection, send a request, read the whole answer and start again, as
// fast as the server lets them. It reports what came back, per second.
func flood(args []string) error {
	fs := flag.NewFlagSet("flood", flag.ContinueOnError)
	target := fs.String("url", "", "`URL` to request")
	bind := fs.String("bind", "127.0.0.2", "source `address`")
	workers := fs.Int("c", 256, "connections kept in flight")
	dur := fs.Duration("d", 10*time.Second, "how long to flood")
	timeout := fs.Duration("timeout", 5*time.Second, "per connection")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-url %q: want http://host:port/path", *target)
	}
	src, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(*bind, "0"))
	if err != nil {
		return fmt.Errorf("-bind: %w", err)
	}
	req := []byte("GET " + u.RequestURI() + " HTTP/1.0\r\nHost: " + u.Host + "\r\n\r\n")
	// The flood ends at a fixed time checked by every worker. A context
	// deadline would not do: its cancel runs on a goroutine of its own, which
	// 256 busy workers on one CPU can starve for seconds, while every dial
	// past the deadline fails at once. The dialer's deadline is that same
	// instant: one even a microsecond earlier fails every dial in between at
	// once, and a worker counts them as timeouts by the thousand.
	start := time.Now()
	end := start.Add(*dur)
	d := net.Dialer{LocalAddr: src, Deadline: end, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		})
		return errors.Join(err, serr)
	}}

	var (
		codes    [600]atomic.Uint64
		errs     [4]atomic.Uint64 // refused, reset, timeout, other
		firstErr [4]atomic.Pointer[string]
		attempts atomic.Uint64
		refused  atomic.Uint64
	)
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 32<<10)
			for time.Now().Before(end) {
				attempts.Add(1)
				code, err := fetch(&d, u.Host, req, buf, min(*timeout, time.Until(end)))
				if !time.Now().Before(end) {
					break // cut off by the end of the flood: not the server's doing
				}
				if err != nil {
					k := errKind(err)
					errs[k].Add(1)
					if firstErr[k].Load() == nil {
						s := err.Error()
						firstErr[k].CompareAndSwap(nil, &s)
					}
					continue
				}
				codes[code].Add(1)
				if code == 503 || code == 429 {
					refused.Add(1)
				}
			}
		}()
	}
	var series []uint64
	var last uint64
	for next := start.Add(time.Second); !next.After(end); next = next.Add(time.Second) {
		time.Sleep(time.Until(next))
		n := refused.Load()
		series = append(series, n-last)
		last = n
	}
	wg.Wait()
	secs := dur.Seconds()

	rep := floodReport{URL: *target, Bind: *bind, Workers: *workers, Seconds: secs,
		Attempts: attempts.Load(), Status: map[string]int{}, Errors: map[string]int{}, RefusedPSs: series}
	var served, ref uint64
	for c := range codes {
		if n := codes[c].Load(); n > 0 {
			rep.Status[strconv.Itoa(c)] = int(n)
			if c == 503 || c == 429 {
				ref += n
			} else {
				served += n
			}
		}
	}
	for i, name := range []string{"refused", "reset", "timeout", "other"} {
		rep.Errors[name] = int(errs[i].Load())
		if s := firstErr[i].Load(); s != nil {
			if rep.FirstErrs == nil {
				rep.FirstErrs = map[string]string{}
			}
			rep.FirstErrs[name] = *s
		}
	}
	rep.ServedPS = float64(served) / secs
	rep.RefusedPS = float64(ref) / secs
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// fetch makes one request on a fresh connection and returns the status code.
func fetch(d *net.Dialer, host string, req, buf []byte, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	c, err := d.Dial("tcp", host)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	if _, err := c.Write(req); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(c, buf[:12]); err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(buf, []byte("HTTP/1.")) {
		return 0, fmt.Errorf("not an HTTP response: %q", buf[:12])
	}
	code, err := strconv.Atoi(string(buf[9:12]))
	if err != nil || code < 100 || code > 599 {
		return 0, fmt.Errorf("bad status line %q", buf[:12])
	}
	// Read to the end, as a real client would, so the server's close is clean.
	for {
		if _, err := c.Read(buf); err != nil {
			if errors.Is(err, io.EOF) {
				return code, nil
			}
			return 0, err
		}
	}
}

func errKind(err error) int {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return 0
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return 1
	case errors.As(err, &ne) && ne.Timeout():
		return 2
	}
	return 3
}
