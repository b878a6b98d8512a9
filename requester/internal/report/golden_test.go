package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// update rewrites the golden files from the current output, as vegeta's
// plot tests do:
//
//	go test ./requester/internal/report -run Golden -update
//
// Review the diff of testdata/ before committing it.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or writes it there with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		diffAt := 0
		for diffAt < min(len(got), len(want)) && got[diffAt] == want[diffAt] {
			diffAt++
		}
		lo := max(diffAt-200, 0)
		t.Errorf("%s differs from the golden file at byte %d (run with -update if the change is meant):\ngot:  %q\nwant: %q",
			name, diffAt, got[lo:min(diffAt+200, len(got))], want[lo:min(diffAt+200, len(want))])
	}
}

// Every format of one fixed report, byte for byte.
func TestGolden(t *testing.T) {
	saved := now
	now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	t.Cleanup(func() { now = saved })
	rep := sampleReport()

	var text bytes.Buffer
	if err := WriteText(&text, rep, TextOptions{Requests: true, Detail: true}); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", text.Bytes())

	for ext := range writers {
		if ext == ".htm" {
			continue // the same writer as .html
		}
		f, err := FormatOf("report" + ext)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Encode(&buf, f, rep); err != nil {
			t.Fatal(err)
		}
		golden(t, "report"+ext, buf.Bytes())
	}
}
