package config

import (
	"strings"
	"testing"
	"time"
)

// Each limit at its edge: the last value accepted and the first refused.
func TestLimitEdges(t *testing.T) {
	for _, c := range []struct {
		args []string
		bad  string // what the message must name; "" when accepted
	}{
		{[]string{"-r", "1"}, ""},
		{[]string{"-r", "0"}, "-r (REQUESTER_REQUESTS)"},
		{[]string{"-t", "0"}, ""},
		{[]string{"-t", "1000000"}, ""},
		{[]string{"-t", "1000000.001"}, "-t (REQUESTER_SPREAD)"},
		{[]string{"-c", "0"}, ""},
		{[]string{"-c", "-1"}, "-c (REQUESTER_CONCURRENCY)"},
		{[]string{"-p", "1"}, ""},
		{[]string{"-p", "0"}, "-p (REQUESTER_PORT)"},
		{[]string{"-p", "65535"}, ""},
		{[]string{"-p", "65536"}, "-p (REQUESTER_PORT)"},
		{[]string{"-timeout", "1ns"}, ""},
		{[]string{"-stats", "https://server:9090/stats"}, ""},
		{[]string{"-stats", "http:///stats"}, "-stats (REQUESTER_STATS)"},
		{[]string{"-stats", "ftp://server/stats"}, "-stats (REQUESTER_STATS)"},
		{[]string{"-start-at", "1"}, ""},
		{[]string{"-start-at", "0"}, "-start-at"},
		{[]string{"-start-at", "1099511627775"}, ""},
		{[]string{"-start-at", "1099511627776"}, "-start-at"},
		{[]string{"-start-at", "1796104800."}, "-start-at"},
		{[]string{"-r", "4", "-shard", "3/4"}, ""},
		{[]string{"-r", "3", "-shard", "3/4"}, "would send no request"},
	} {
		clearEnv(t)
		_, out, err := parse(t, c.args...)
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%v refused: %v", c.args, err)
		case c.bad != "" && err == nil:
			t.Errorf("%v accepted", c.args)
		case c.bad != "" && !strings.Contains(out, c.bad):
			t.Errorf("%v: message %q does not name %q", c.args, out, c.bad)
		}
	}
}

// Unix seconds carry up to nine fraction digits (nanoseconds), each kept.
func TestStartAtFraction(t *testing.T) {
	for s, want := range map[string]time.Time{
		"1796104800.123456789": time.Unix(1796104800, 123456789),
		"1796104800.5":         time.Unix(1796104800, 5e8),
		"1796104800":           time.Unix(1796104800, 0),
		"1796104800.000000001": time.Unix(1796104800, 1),
	} {
		got, err := ParseStartAt(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseStartAt(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
}
