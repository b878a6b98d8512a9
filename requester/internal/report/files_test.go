package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteFile writes what Encode does, in the format the extension names,
// and Wrote says where (absolute) and how much.
func TestWriteFileAndWrote(t *testing.T) {
	dir := t.TempDir()
	rep := sampleReport()
	for ext, w := range writers {
		path := filepath.Join(dir, "report"+ext)
		if err := WriteFile(path, rep); err != nil {
			t.Fatalf("%s: %v", ext, err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := Encode(&want, w.format, rep); err != nil {
			t.Fatal(err)
		}
		if w.format != HTML && !bytes.Equal(got, want.Bytes()) { // the HTML has the time it was made
			t.Errorf("%s: file differs from Encode's output", ext)
		}
		line := fmt.Sprintf("requester: wrote the %s report to %s (2 run(s), 20 requests, %d bytes)", strings.ToUpper(string(w.format)), path, len(got))
		if s := Wrote(path, rep); s != line {
			t.Errorf("Wrote: %q, want %q", s, line)
		}
	}
	// A relative name is said in full; a file that is not there has no size.
	t.Chdir(dir)
	if s, want := Wrote("gone.csv", rep), "requester: wrote the CSV report to "+filepath.Join(dir, "gone.csv")+" (2 run(s), 20 requests)"; s != want {
		t.Errorf("Wrote: %q, want %q", s, want)
	}
}

func TestWriteFileErrors(t *testing.T) {
	dir := t.TempDir()
	rep := sampleReport()
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "report.txt"), "cannot tell the format"},
		{filepath.Join(dir, "missing", "report.json"), "no such file or directory"},
	} {
		if err := WriteFile(c.path, rep); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.path, err, c.want)
		}
		if _, err := os.Stat(c.path); err == nil {
			t.Errorf("%s written", c.path)
		}
	}
	// A device that is always full (Linux): the encoder's write fails.
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	full := filepath.Join(dir, "full.json")
	if err := os.Symlink("/dev/full", full); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(full, rep); err == nil || !strings.Contains(err.Error(), "writing "+full+": ") {
		t.Errorf("write to a full device: %v", err)
	}
}

func TestReadJSONErrors(t *testing.T) {
	for _, in := range []string{"", "not json", `{"runs": 3}`, `{"runs": []} {"runs": []}`} {
		if rep, err := ReadJSON(strings.NewReader(in)); err == nil {
			t.Errorf("%q read as %+v", in, rep)
		}
	}
	if rep, err := ReadJSON(strings.NewReader(`{"runs": [{"target": "http://h:1"}]}`)); err != nil || len(rep.Runs) != 1 || rep.Runs[0].Target != "http://h:1" {
		t.Errorf("one run: %+v, %v", rep, err)
	}
}
