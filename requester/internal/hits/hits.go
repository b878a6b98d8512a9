// Package hits compares the hits a server counted with the successful
// requests sent to it: the lab's lost-update experiment in one number.
//
// It reads the server's admin /stats JSON before and after the runs. The
// counted hits are the sum of the increases of every path's counter, which
// needs no knowledge of how the server names paths (percent-decoded,
// cleaned, folders as "/dir/"); it assumes no other client is loading the
// server meanwhile.
package hits

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"httplab/httplab-requester/internal/escape"
)

// Snapshot is the server's hit counters at one moment.
type Snapshot map[string]int64

// Check is the comparison reported to the user.
type Check struct {
	URL     string
	Sent    int   // requests answered 200
	Counted int64 // hits the server's counters went up by
	Lost    int64 // Sent - Counted; above 0 means updates were lost
	Err     string
}

// Client reads /stats.
type Client struct {
	URL     string
	HTTP    *http.Client
	Timeout time.Duration // for the whole fetch: connect, headers, body, decoding
}

// MaxBody is the largest /stats answer read: the lab's server sends a few
// kilobytes, and a hostile or mistaken one cannot make the requester read
// and decode more.
const MaxBody = 1 << 20

// maxHeader bounds the answer's head.
const maxHeader = 64 << 10

// NewClient returns a client for the /stats URL: the admin listener answers
// at once or not at all, so 5 s bound the whole fetch. It follows no
// redirect (a 3xx from the stats URL must not send traffic to a host the
// user never named) and keeps no connection.
func NewClient(url string) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	tr.MaxResponseHeaderBytes = maxHeader
	// Timeout before the function literal: coverage ends its block there,
	// and gremlins would count the bound as never run.
	return &Client{
		URL:     url,
		Timeout: 5 * time.Second,
		HTTP: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// Fetch reads the hit counters. Every error it returns is escaped and
// bounded: it may quote what the server sent.
func (c *Client) Fetch(ctx context.Context) (Snapshot, error) {
	snap, err := c.fetch(ctx)
	if err != nil {
		return nil, errors.New(escape.Detail(err.Error()))
	}
	return snap, nil
}

func (c *Client) fetch(ctx context.Context) (Snapshot, error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, fmt.Errorf("GET %s: %s to %s: redirects are not followed",
			c.URL, resp.Status, strconv.Quote(resp.Header.Get("Location")))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", c.URL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the answer: %v", c.URL, err)
	}
	if len(body) > MaxBody {
		return nil, fmt.Errorf("GET %s: answer larger than %d bytes", c.URL, MaxBody)
	}
	var doc struct {
		Hits map[string]int64 `json:"hits"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("GET %s: reading JSON: %v", c.URL, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("GET %s: %v", c.URL, err)
	}
	if doc.Hits == nil {
		return nil, fmt.Errorf("GET %s: no \"hits\" object in the JSON", c.URL)
	}
	return doc.Hits, nil
}

// Compare builds the check from the counters before and after and the
// number of 200 responses the requester received.
func Compare(url string, before, after Snapshot, sent int) Check {
	var counted int64
	for path, n := range after {
		counted += n - before[path]
	}
	// A path that vanished from the counters lowers the count, as it should:
	// the server forgot hits.
	for path, n := range before {
		if _, ok := after[path]; !ok {
			counted -= n
		}
	}
	return Check{URL: url, Sent: sent, Counted: counted, Lost: int64(sent) - counted}
}

// Failed is the check reported when the counters could not be read.
func Failed(url string, sent int, err error) Check {
	return Check{URL: url, Sent: sent, Err: escape.Detail(err.Error())}
}

// Check reads the counters after the runs and compares them with before,
// read (or not, beforeErr) ahead of the runs; sent is the number of 200s the
// runs received.
func (c *Client) Check(ctx context.Context, before Snapshot, beforeErr error, sent int) Check {
	if beforeErr != nil {
		return Failed(c.URL, sent, fmt.Errorf("before the run: %v", beforeErr))
	}
	after, err := c.Fetch(ctx)
	if err != nil {
		return Failed(c.URL, sent, fmt.Errorf("after the run: %v", err))
	}
	return Compare(c.URL, before, after, sent)
}
