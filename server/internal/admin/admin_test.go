package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func sample() Stats {
	return Stats{
		Mode:        "concurrent",
		Connections: Connections{Active: 2, Peak: 12, Accepted: 120, RejectedTotalCap: 1, RejectedClientCap: 3},
		Clients:     map[string]int{"172.18.0.3": 2},
		Requests:    Requests{Total: 117, RateLimited: 15, Status: map[string]uint64{"200": 100, "404": 2, "429": 15}},
		Hits:        map[string]uint64{"/index.html": 50, "/books/": 3},
	}
}

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Result(), string(body)
}

func TestHealthz(t *testing.T) {
	resp, _ := get(t, Handler(sample), "/healthz")
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
}

// The /stats document has the contract's shape, read back generically as a
// script would.
func TestStatsContractShape(t *testing.T) {
	resp, body := get(t, Handler(sample), "/stats")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["mode"] != "concurrent" {
		t.Errorf("mode %v", doc["mode"])
	}
	conn := doc["connections"].(map[string]any)
	for _, k := range []string{"active", "peak", "accepted", "rejected_total_cap", "rejected_client_cap"} {
		if _, ok := conn[k].(float64); !ok {
			t.Errorf("connections.%s missing or not a number", k)
		}
	}
	if conn["rejected_client_cap"] != 3.0 || conn["accepted"] != 120.0 {
		t.Errorf("connections %v", conn)
	}
	if doc["clients"].(map[string]any)["172.18.0.3"] != 2.0 {
		t.Errorf("clients %v", doc["clients"])
	}
	req := doc["requests"].(map[string]any)
	if req["total"] != 117.0 || req["rate_limited"] != 15.0 || req["status"].(map[string]any)["429"] != 15.0 {
		t.Errorf("requests %v", req)
	}
	if doc["hits"].(map[string]any)["/books/"] != 3.0 {
		t.Errorf("hits %v", doc["hits"])
	}
}

func TestMetrics(t *testing.T) {
	resp, body := get(t, Handler(sample), "/metrics")
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	for _, want := range []string{
		"httplab_connections_active 2",
		`httplab_connections_rejected_total{reason="client_cap"} 3`,
		`httplab_connections_rejected_total{reason="total_cap"} 1`,
		`httplab_requests_total{code="429"} 15`,
		"httplab_requests_rate_limited_total 15",
		`httplab_hits_total{path="/index.html"} 50`,
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestUnknownPathAndMethod(t *testing.T) {
	if resp, _ := get(t, Handler(sample), "/nope"); resp.StatusCode != 404 {
		t.Errorf("/nope: %s", resp.Status)
	}
	rec := httptest.NewRecorder()
	Handler(sample).ServeHTTP(rec, httptest.NewRequest("POST", "/stats", nil))
	if rec.Code != 405 {
		t.Errorf("POST /stats: %d", rec.Code)
	}
}
