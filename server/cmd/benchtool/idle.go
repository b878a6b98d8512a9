//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type idleReport struct {
	Target   string  `json:"target"`
	Wanted   int     `json:"wanted"`
	Opened   int     `json:"opened"`
	Failed   int     `json:"failed"`
	Open     int     `json:"open_at_measure"` // still open when RSS was read
	BaseKB   int64   `json:"rss_base_kb"`     // before connecting
	HeldKB   int64   `json:"rss_held_kb"`     // with the connections held
	PerConnB float64 `json:"bytes_per_conn"`
	FirstErr string  `json:"first_error,omitempty"`
}

// idle opens -n connections that send nothing and holds them, then reads the
// server's resident memory (the process given by -pid and its children) and
// reports it beside the figure before connecting. Connections the server
// closes meanwhile are noticed and not counted as held.
func idle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "server `address`")
	n := fs.Int("n", 10000, "connections to hold")
	bind := fs.String("bind", "127.0.0.4", "source `address`")
	pid := fs.Int("pid", 0, "server process `id` (children included)")
	settle := fs.Duration("settle", 2*time.Second, "wait after connecting before reading RSS")
	dialFor := fs.Duration("dial-for", 20*time.Second, "stop opening connections after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pid == 0 {
		return errors.New("-pid is required")
	}
	src, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(*bind, "0"))
	if err != nil {
		return fmt.Errorf("-bind: %w", err)
	}
	rep := idleReport{Target: *addr, Wanted: *n}
	if rep.BaseKB, err = rssKB(*pid); err != nil {
		return err
	}
	d := net.Dialer{LocalAddr: src, Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		})
		return errors.Join(err, serr)
	}}

	var (
		mu      sync.Mutex
		conns   []net.Conn
		failed  int
		closed  atomic.Int64
		next    atomic.Int64
		workers sync.WaitGroup
	)
	// Parallel dialing, but not so wide that the listen backlog overflows
	// and dials wait out SYN retransmits.
	// A server that drops connection attempts (python's listen backlog of
	// 5) would otherwise keep this going for minutes of SYN retransmits.
	stopAt := time.Now().Add(*dialFor)
	d.Deadline = stopAt
	for range 32 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for next.Add(1) <= int64(*n) && time.Now().Before(stopAt) {
				c, err := d.Dial("tcp", *addr)
				mu.Lock()
				if err != nil {
					failed++
					if rep.FirstErr == "" {
						rep.FirstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				conns = append(conns, c)
				mu.Unlock()
				go func() {
					var b [1]byte
					if _, err := c.Read(b[:]); err != nil {
						closed.Add(1)
					}
				}()
			}
		}()
	}
	workers.Wait()
	time.Sleep(*settle)
	rep.Opened, rep.Failed = len(conns), failed
	rep.Open = len(conns) - int(closed.Load())
	if rep.HeldKB, err = rssKB(*pid); err != nil {
		return err
	}
	rep.PerConnB = perConnBytes(rep.BaseKB, rep.HeldKB, rep.Open)
	for _, c := range conns {
		_ = c.Close()
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// perConnBytes is the memory each held connection added, in bytes: the growth
// of the resident set (in KiB) shared among the open connections.
func perConnBytes(baseKB, heldKB int64, open int) float64 {
	if open <= 0 {
		return 0
	}
	return float64(heldKB-baseKB) * 1024 / float64(open)
}
