package config

import (
	"strings"
	"testing"
	"time"
)

func TestShardAndStartAt(t *testing.T) {
	clearEnv(t)
	c, _, err := parse(t, "-r", "400", "-t", "10", "-shard", "3/4", "-start-at", "2026-12-01T06:00:00.25Z")
	if err != nil {
		t.Fatal(err)
	}
	if c.Shard != 3 || c.Shards != 4 || !c.StartAt.Equal(time.Date(2026, 12, 1, 6, 0, 0, 250e6, time.UTC)) {
		t.Errorf("shard %d/%d start %v", c.Shard, c.Shards, c.StartAt)
	}
	// Unix seconds with a fraction, from the environment.
	t.Setenv("REQUESTER_SHARD", "0/2")
	t.Setenv("REQUESTER_START_AT", "1796104800.5")
	c, _, err = parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.Shard != 0 || c.Shards != 2 || !c.StartAt.Equal(time.Unix(1796104800, 5e8)) {
		t.Errorf("from the environment: shard %d/%d start %v", c.Shard, c.Shards, c.StartAt)
	}
	clearEnv(t)
	// No -shard: the whole run.
	if c, _, _ := parse(t); c.Shard != 0 || c.Shards != 1 || !c.StartAt.IsZero() {
		t.Errorf("defaults: shard %d/%d start %v", c.Shard, c.Shards, c.StartAt)
	}
	for _, c := range []struct {
		args []string
		name string // the flag the message must name
	}{
		{[]string{"-shard", "-1/4"}, "-shard"}, {[]string{"-shard", "1"}, "-shard"}, {[]string{"-shard", "x/4"}, "-shard"},
		{[]string{"-shard", "a/b"}, "-shard"}, {[]string{"-shard", "0/0"}, "-shard"},
		{[]string{"-r", "3", "-shard", "3/5"}, "would send no request"},
		{[]string{"-start-at", "tomorrow"}, "-start-at"}, {[]string{"-start-at", "1796104800.1234567891"}, "-start-at"},
		{[]string{"-start-at", "-5"}, "-start-at"}, {[]string{"-start-at", "12.5.3"}, "-start-at"},
		{[]string{"-start-at", "1796104800", "-mode", "both"}, "anchors one run"},
		{[]string{"-start-at", "1796104800", "-url", "http://a:1/,http://b:1/"}, "anchors one run"},
	} {
		_, out, err := parse(t, c.args...)
		if err == nil || !strings.Contains(out, c.name) {
			t.Errorf("%v: %v, message %q does not say %q", c.args, err, out, c.name)
		}
	}
}

// k is taken mod n, and a Swarm node ID (what {{.Task.Slot}} renders for
// one task of a replicated job) is shard 0: the slots of n tasks cover
// every shard once.
func TestShardFromSwarmSlots(t *testing.T) {
	for in, want := range map[string][2]int{
		"4/4": {0, 4}, "1/4": {1, 4}, "9/4": {1, 4}, " 2 / 3 ": {2, 3}, "0/1": {0, 1},
		"k5x2m9q0w7e3r1t8y6u4i2o0p/4": {0, 4},
	} {
		k, n, err := ParseShard(in)
		if err != nil || k != want[0] || n != want[1] {
			t.Errorf("%q: %d/%d %v, want %v", in, k, n, err, want)
		}
	}
}

func TestParseMerge(t *testing.T) {
	m, err := ParseMerge([]string{"-json", "-o", "all.html", "a.json", "b.json"}, new(strings.Builder))
	if err != nil || !m.JSON || m.Output != "all.html" || len(m.Files) != 2 {
		t.Errorf("%+v %v", m, err)
	}
	for _, bad := range [][]string{{}, {"-o", "x.txt", "a.json"}, {"-nope", "a.json"}} {
		var out strings.Builder
		if _, err := ParseMerge(bad, &out); err == nil || !strings.Contains(out.String(), "Usage: requester merge") {
			t.Errorf("%v: %v, %s", bad, err, out.String())
		}
	}
}
