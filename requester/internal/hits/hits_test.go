package hits

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFetchAndCompare(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stats" {
			http.NotFound(w, r)
			return
		}
		if calls.Add(1) == 1 {
			w.Write([]byte(`{"mode":"concurrent","hits":{"/index.html":5,"/books/":1}}`))
			return
		}
		// 20 sent: /index.html +12, /books/ +5, a new path +1: 18 counted.
		w.Write([]byte(`{"mode":"concurrent","hits":{"/index.html":17,"/books/":6,"/a b.html":1}}`))
	}))
	defer srv.Close()

	c := NewClient(srv.URL + "/stats")
	before, err := c.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	after, err := c.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := Compare(c.URL, before, after, 20)
	want := Check{URL: srv.URL + "/stats", Sent: 20, Counted: 18, Lost: 2}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestCompareForgottenPath(t *testing.T) {
	got := Compare("u", Snapshot{"/a": 3, "/b": 4}, Snapshot{"/a": 5}, 2)
	if got.Counted != -2 || got.Lost != 4 {
		t.Errorf("got %+v", got)
	}
}

func TestFetchErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/nohits":
			w.Write([]byte(`{"mode":"concurrent"}`))
		case "/garbage":
			w.Write([]byte(`<html>`))
		default:
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	for path, want := range map[string]string{
		"/nohits":  `no "hits"`,
		"/garbage": "reading JSON",
		"/broken":  "500",
	} {
		_, err := NewClient(srv.URL + path).Fetch(context.Background())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", path, err, want)
		}
	}
	srv.Close()
	if _, err := NewClient(srv.URL + "/stats").Fetch(context.Background()); err == nil {
		t.Error("no error from a closed server")
	}
	chk := Failed("u", 3, context.DeadlineExceeded)
	if chk.Err == "" || chk.Sent != 3 {
		t.Errorf("failed check %+v", chk)
	}
}

func TestCheck(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if n > 1 {
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"hits":{"/":1}}`))
	}))
	defer srv.Close()
	c := NewClient(srv.URL)
	if chk := c.Check(context.Background(), nil, context.Canceled, 4); !strings.Contains(chk.Err, "before the run") || chk.Sent != 4 {
		t.Errorf("check after a failed first read: %+v", chk)
	}
	before, err := c.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if chk := c.Check(context.Background(), before, nil, 4); !strings.Contains(chk.Err, "after the run") {
		t.Errorf("check after a failed second read: %+v", chk)
	}
}

// rawServer answers every connection with raw bytes, then keeps writing
// more for at most a few seconds if more is given.
func rawServer(t *testing.T, head string, more []byte, pause time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				var b [4096]byte
				_, _ = c.Read(b[:])
				if _, err := c.Write([]byte(head)); err != nil {
					return
				}
				for end := time.Now().Add(3 * time.Second); more != nil && time.Now().Before(end); {
					if _, err := c.Write(more); err != nil {
						return
					}
					time.Sleep(pause)
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/stats"
}

// A /stats URL is a side request to a server that may be anyone's: its
// answer is bounded in time and size, never followed elsewhere, and never
// printed raw.
func TestFetchFromHostileServers(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.Write([]byte(`{"hits":{"/":1}}`))
	}))
	defer other.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/stats", http.StatusFound)
	}))
	defer redirect.Close()

	cases := []struct {
		name, url, want string
	}{
		{"redirect", redirect.URL + "/stats", "302 Found to \"" + other.URL + "/stats\": redirects are not followed"},
		{"escapes in the reason phrase", rawServer(t,
			"HTTP/1.0 500 \x1b]0;pwned\x07\x1b[2J\u009b31mgotcha\r\nContent-Length: 0\r\n\r\n", nil, 0),
			`500 \x1b]0;pwned\a\x1b[2J\u009b31mgotcha`},
		{"60 MB of JSON", rawServer(t,
			"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"hits\":{\"/\":1},\"pad\":\"",
			bytes.Repeat([]byte("x"), 1<<20), 0), "answer larger than 1048576 bytes"},
		{"a body that drips", rawServer(t,
			"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"hits\":{",
			[]byte(" "), 20*time.Millisecond), "deadline exceeded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClient(tc.url)
			c.Timeout = 500 * time.Millisecond
			began := time.Now()
			_, err := c.Fetch(context.Background())
			if took := time.Since(began); took > 3*time.Second {
				t.Errorf("fetch took %v with a timeout of 500ms", took)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if msg := err.Error(); len(msg) > 256 || strings.ContainsAny(msg, "\x1b\x07\u009b") {
				t.Errorf("error not bounded and escaped: %q", msg)
			}
		})
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect was followed: %d requests elsewhere", n)
	}
}
