package report

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestErrorsTotal(t *testing.T) {
	if got := (Errors{Refused: 1, Reset: 2, Timeout: 4, Other: 8}).Total(); got != 15 {
		t.Fatalf("Total = %d, want 15", got)
	}
}

// A run of one shard, not anchored, carries no shard section; two shards
// or an anchored start do.
func TestShardSection(t *testing.T) {
	runs := sampleRuns()
	runs[1].Shards = 1
	if sh := Build(runs, nil).Runs[1].Shard; sh != nil {
		t.Errorf("one shard: %+v, want none", sh)
	}
	runs[1].Shards, runs[1].Shard = 2, 1
	if sh := Build(runs, nil).Runs[1].Shard; sh == nil || sh.Count != 2 || sh.Index != 1 {
		t.Errorf("shard 1/2: %+v", sh)
	}
}

// A concurrent run that took no measurable time gives no speedup rather
// than an infinite one.
func TestSpeedupOfZeroWall(t *testing.T) {
	runs := sampleRuns()
	runs[1].Wall = 0
	sp := Build(runs, nil).Speedup
	if len(sp) != 1 || sp[0].Speedup != 0 || sp[0].Efficiency != 0 {
		t.Fatalf("speedup %+v; want 0 for a zero wall time", sp)
	}
}

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		s     string
		width int
		want  []string
	}{
		{"exactly ten", 11, []string{"exactly ten"}},
		{"aaaa bbbb cccc", 10, []string{"aaaa bbbb", "  cccc"}},
		// The only space is in the first half of the line: no cut there
		// (too short a line), the line is cut at the width.
		{"aaaa bbbbbbbbbbbb", 10, []string{"aaaa bbbbb", "  bbbbbbb"}},
		{"aaaaa bbbbbbbbbbb", 10, []string{"aaaaa bbbb", "  bbbbbbb"}},
		{"aaaaaa bbbbbbbbbb", 10, []string{"aaaaaa", "  bbbbbbbb", "  bb"}},
	} {
		got := wrap(c.s, c.width)
		if !slices.Equal(got, c.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.s, c.width, got, c.want)
		}
		for _, l := range got {
			if utf8.RuneCountInString(l) > c.width {
				t.Errorf("wrap(%q, %d): line %q too long", c.s, c.width, l)
			}
		}
	}
}

func TestMiddle(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"abcdef", 6, "abcdef"},
		{"abcdef", 7, "abcdef"},
		{"abcdefg", 5, "ab…fg"},
		{"abcdefgh", 6, "ab…fgh"},
		{"ééééééé", 4, "é…éé"},
	} {
		got := middle(c.s, c.n)
		if got != c.want {
			t.Errorf("middle(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
		if utf8.RuneCountInString(got) > c.n {
			t.Errorf("middle(%q, %d) = %q: longer than %d", c.s, c.n, got, c.n)
		}
	}
}

func TestStatusCodesNumericOrder(t *testing.T) {
	runs := []Run{
		{Status: map[string]int{"503": 1, "200": 1, "1000": 1}},
		{Status: map[string]int{"429": 1, "99": 1, "200": 2}},
	}
	if got := statusCodes(runs); strings.Join(got, ",") != "99,200,429,503,1000" {
		t.Fatalf("statusCodes = %v", got)
	}
}

// A report with no run prints nothing; a single run has no speedup table.
func TestTextWithoutPairs(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, Build(nil, nil), TextOptions{}); err != nil || b.Len() != 0 {
		t.Errorf("empty report: %v, %q", err, b.String())
	}
	b.Reset()
	if err := WriteText(&b, Build(sampleRuns()[1:], nil), TextOptions{}); err != nil || strings.Contains(b.String(), "Speedup") {
		t.Errorf("single run: %v, speedup shown:\n%s", err, b.String())
	}
}

// An efficiency of exactly 1 needs no explanation; only one above 1 does.
func TestEfficiencyNoteAboveOneOnly(t *testing.T) {
	runs := sampleRuns()
	runs[1].Concurrency = 8 // 200 ms / 25 ms = 8 with 8 workers: efficiency 1
	rep := Build(runs, nil)
	if rep.Speedup[0].Efficiency != 1 {
		t.Fatalf("efficiency %v, want 1", rep.Speedup[0].Efficiency)
	}
	var b bytes.Buffer
	_ = WriteText(&b, rep, TextOptions{})
	if strings.Contains(b.String(), "Efficiency above 1") {
		t.Errorf("note on an efficiency of exactly 1:\n%s", b.String())
	}
}
