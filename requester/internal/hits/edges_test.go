package hits

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The edges of Fetch: no timeout means none (not one already past); 300
// is a redirect and 400 is not; an answer of exactly MaxBody bytes is read.
func TestFetchEdges(t *testing.T) {
	full := `{"hits":{"/":1}}`
	full += strings.Repeat(" ", MaxBody-len(full))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/300":
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(http.StatusMultipleChoices)
		case "/400":
			http.Error(w, "bad", http.StatusBadRequest)
		case "/full":
			w.Write([]byte(full))
		default:
			w.Write([]byte(`{"hits":{"/":2}}`))
		}
	}))
	defer srv.Close()

	c := NewClient(srv.URL + "/stats")
	c.Timeout = 0
	if s, err := c.Fetch(context.Background()); err != nil || s["/"] != 2 {
		t.Errorf("no timeout: %v, %v", s, err)
	}
	if _, err := NewClient(srv.URL + "/300").Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "redirects are not followed") {
		t.Errorf("300: %v; want the redirect refusal", err)
	}
	if _, err := NewClient(srv.URL + "/400").Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "400") || strings.Contains(err.Error(), "redirect") {
		t.Errorf("400: %v; want a plain status error", err)
	}
	if s, err := NewClient(srv.URL + "/full").Fetch(context.Background()); err != nil || s["/"] != 1 {
		t.Errorf("exactly MaxBody bytes: %v, %v", s, err)
	}
}

// The client the requester uses bounds the whole fetch by 5 s (the admin
// listener answers at once or not at all); a fetch with no bound could hang
// the report on a server that accepts and never answers.
func TestNewClientIsBounded(t *testing.T) {
	if got := NewClient("http://127.0.0.1:1/stats").Timeout; got != 5*time.Second {
		t.Errorf("timeout %v, want 5s", got)
	}
}
