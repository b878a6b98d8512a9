package hits

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
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
