package logging

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewJSONWritesOneObjectPerLineAtTheLevel(t *testing.T) {
	var out bytes.Buffer
	log, err := New(&out, "INFO", "json") // the level is case-insensitive
	if err != nil {
		t.Fatal(err)
	}
	log.Debug().Msg("hidden")
	log.Info().Str("k", "v").Msg("shown")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1 (debug is below info): %q", len(lines), out.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("not JSON: %q: %v", lines[0], err)
	}
	if rec["level"] != "info" || rec["message"] != "shown" || rec["k"] != "v" {
		t.Errorf("record %v, want level info, message shown, k v", rec)
	}
	if _, ok := rec["time"]; !ok {
		t.Errorf("record %v has no time", rec)
	}
}

func TestNewConsoleIsForPeople(t *testing.T) {
	var out bytes.Buffer
	log, err := New(&out, "debug", "console")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug().Str("k", "v").Msg("hello")
	s := out.String()
	if strings.HasPrefix(s, "{") || !strings.Contains(s, "hello") || !strings.Contains(s, "k=") {
		t.Errorf("console line %q: want text with the message and k=v, not JSON", s)
	}
}

// auto writes JSON to anything that is not a terminal: a buffer, or a file.
func TestNewAutoIsJSONWhenNotATerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	for _, out := range []io.Writer{&buf, f} {
		log, err := New(out, "info", "auto")
		if err != nil {
			t.Fatal(err)
		}
		log.Info().Msg("x")
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"buffer": buf.String(), "file": string(got)} {
		if !json.Valid(bytes.TrimSpace([]byte(s))) {
			t.Errorf("auto to a %s wrote %q, want JSON", name, s)
		}
	}
}

func TestNewRefusesUnknownLevelAndFormat(t *testing.T) {
	for _, c := range []struct{ level, format, want string }{
		{"loud", "json", `log level "loud"`},
		{"info", "xml", `log format "xml"`},
		{"info", "", `log format ""`},
	} {
		var out bytes.Buffer
		log, err := New(&out, c.level, c.format)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q, %q): error %v, want one containing %s", c.level, c.format, err, c.want)
		}
		log.Error().Msg("dropped") // the logger returned with an error writes nothing
		if out.Len() != 0 {
			t.Errorf("New(%q, %q) returned a logger that writes %q", c.level, c.format, out.String())
		}
	}
}

// The first burst of a period in full, then one in every n: 2 + 1 of each 3 after.
func TestSampledLogsTheBurstThenOneInN(t *testing.T) {
	var out bytes.Buffer
	log, err := New(&out, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	s := Sampled(log, 2, time.Hour, 3) // an hour: the period never ends within the test
	for i := range 11 {
		s.Info().Int("i", i).Msg("refused")
	}
	var got []int
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var rec struct{ I int }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = append(got, rec.I)
	}
	want := []int{0, 1, 2, 5, 8} // the burst 0 and 1, then the 1st, 4th and 7th of the rest
	if len(got) != len(want) {
		t.Fatalf("logged %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("logged %v, want %v", got, want)
		}
	}
}
