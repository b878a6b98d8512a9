//go:build linux

package reliability

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"httplab/httplab-server/internal/server"
)

// TestSlowloris opens 300 slowloris connections from 127.0.0.2, each
// trickling a header byte every 100 ms and never finishing its head, and
// meanwhile asks for a page from 127.0.0.3.
//
//   - maxclient 300, maxtotal 400: all 300 are admitted and hold their slots,
//     but 100 remain, so the other address is served throughout.
//   - defaults (maxclient 12, maxtotal 60): the per-client cap admits 12 of
//     them and refuses 288 with 503 at accept; the other address has 48
//     slots and is served. The per-client cap is what protects others.
//   - maxclient 0 (off), maxtotal 60: one address takes 54 slots, and no
//     more: the last tenth of the cap is kept for clients that hold no
//     idle connection (shedding's reserve), so the other address is served.
//   - the same without shedding: the other address is refused, but only
//     until the read timeout: the head deadline is absolute, so trickling
//     bytes does not extend it.
//
// In every configuration each admitted slow connection is answered 408 at
// the read timeout (1.5 s), every slot comes back, and the other address is
// then served.
func TestSlowloris(t *testing.T) {
	const slow = 300
	cases := []struct {
		name                   string
		maxPerClient, maxTotal int
		admitted               int  // slow connections that get a slot
		victimServed           bool // while the slow ones hold their slots
		noShed                 bool
	}{
		{"caps 300 of 400", 300, 400, 300, true, false},
		{"defaults 12 of 60", 12, 60, 12, true, false},
		{"no per-client cap, 60 total", 0, 60, 54, true, false},
		{"no per-client cap, 60 total, no shedding", 0, 60, 60, false, true},
	}
	raiseNoFile(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const readTimeout = 1500 * time.Millisecond
			r := startServer(t, func(c *server.Options) {
				c.MaxPerClient, c.MaxTotal = tc.maxPerClient, tc.maxTotal
				c.ReadTimeout = readTimeout
				c.Shed = !tc.noShed
			}, nil)

			stop := make(chan struct{})
			results := make(chan int, slow) // status each slow connection got
			var wg sync.WaitGroup
			opened := time.Now()
			for range slow {
				c := mustDial(t, r.addr, 2)
				wg.Add(2)
				go func() { // trickle until the server answers or the test ends
					defer wg.Done()
					_, _ = io.WriteString(c, "GET /a.html HTTP/1.0\r\n")
					tick := time.NewTicker(100 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
							if _, err := c.Write([]byte("X")); err != nil {
								return
							}
						}
					}
				}()
				go func() {
					defer wg.Done()
					defer c.Close()
					raw, _ := readAll(c, time.Now().Add(readTimeout+10*time.Second))
					rp, err := parseReply(raw, http.MethodGet)
					if err != nil {
						results <- -1
						return
					}
					results <- rp.Status
				}()
			}
			defer func() { close(stop); wg.Wait() }()
			eventually(t, "all slow connections decided", func() bool {
				c := r.Stats().Connections
				return c.Accepted+c.RejectedClientCap+c.RejectedTotalCap == slow
			})
			held := r.Stats().Connections
			if held.Active != tc.admitted {
				t.Fatalf("%d slow connections admitted, want %d (%+v)", held.Active, tc.admitted, held)
			}

			// The other address, while the slow ones hold their slots (the
			// first of them is due its 408 a read timeout after opening).
			victim := get(t, r.addr, 3, "/a.html")
			// Shedding happens only where the total cap was full.
			shed := 0
			if !tc.noShed && tc.admitted == tc.maxTotal {
				shed = 1
			}
			if n := r.Stats().Clients["127.0.0.2"]; n != tc.admitted-shed {
				t.Fatalf("after the other address's request the slow address holds %d slots, not %d: "+
					"setting up took %v, too close to the read timeout", n, tc.admitted-shed, time.Since(opened))
			}
			if got := r.Stats().Connections.ShedPending; got != uint64(shed) {
				t.Errorf("%d connections shed, want %d", got, shed)
			}
			if tc.victimServed && victim.Status != http.StatusOK {
				t.Errorf("other address got %d while slowloris held %d slots", victim.Status, held.Active)
			}
			if !tc.victimServed && victim.Status != http.StatusServiceUnavailable {
				t.Errorf("other address got %d with the total cap full; want 503", victim.Status)
			}

			// Every slow connection ends: 408 for the admitted, 503 for the rest.
			counts := map[int]int{}
			for range slow {
				counts[<-results]++
			}
			if counts[http.StatusRequestTimeout] != tc.admitted || counts[http.StatusServiceUnavailable] != slow-tc.admitted {
				t.Errorf("slow connections got %v; want %d × 408, %d × 503", counts, tc.admitted, slow-tc.admitted)
			}
			eventually(t, "slots released", func() bool {
				s := r.Stats()
				return s.Connections.Active == 0 && len(s.Clients) == 0
			})
			if rp := get(t, r.addr, 3, "/a.html"); rp.Status != http.StatusOK {
				t.Errorf("other address after the read timeout: %d", rp.Status)
			}
			t.Logf("held %d slots for the read timeout; slow connections got %v; other address %d during, 200 after",
				held.Active, counts, victim.Status)
		})
	}
}
