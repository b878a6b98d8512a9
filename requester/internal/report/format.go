package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Format is a file format a report can be written in.
type Format string

// The file formats, chosen by the file's extension.
const (
	JSON Format = "json"
	CSV  Format = "csv"
	HTML Format = "html"
)

// writers is every file format: the one place that says which extension
// gets which encoder.
var writers = map[string]struct {
	format Format
	write  func(io.Writer, Report) error
}{
	".json": {JSON, WriteJSON},
	".csv":  {CSV, WriteCSV},
	".html": {HTML, WriteHTML},
	".htm":  {HTML, WriteHTML},
}

// extensions lists the extensions the requester can write, for messages.
func extensions() string {
	exts := slices.Sorted(maps.Keys(writers))
	return strings.Join(exts, ", ")
}

// FormatOf picks the format from a file name's extension, so that a wrong
// name fails before a long run instead of after it.
func FormatOf(path string) (Format, error) {
	w, ok := writers[strings.ToLower(filepath.Ext(path))]
	if !ok {
		return "", fmt.Errorf("cannot tell the format of %q: use a file name ending in one of %s", path, extensions())
	}
	return w.format, nil
}

// Encode writes rep to w in format f.
func Encode(w io.Writer, f Format, rep Report) error {
	for _, wr := range writers {
		if wr.format == f {
			return wr.write(w, rep)
		}
	}
	return fmt.Errorf("unknown format %q", f)
}

// WriteFile writes rep to path in the format its extension names.
func WriteFile(path string, rep Report) error {
	f, err := FormatOf(path)
	if err != nil {
		return err
	}
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := Encode(file, f, rep); err != nil {
		file.Close()
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return file.Close()
}

// Wrote is the line that says where a report was written and what it holds.
func Wrote(path string, rep Report) string {
	f, _ := FormatOf(path)
	n := 0
	for _, r := range rep.Runs {
		n += len(r.Results)
	}
	size := ""
	if st, err := os.Stat(path); err == nil {
		size = fmt.Sprintf(", %d bytes", st.Size())
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return fmt.Sprintf("requester: wrote the %s report to %s (%d run(s), %d requests%s)", strings.ToUpper(string(f)), abs, len(rep.Runs), n, size)
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(r io.Reader) (Report, error) {
	var rep Report
	dec := json.NewDecoder(r)
	if err := dec.Decode(&rep); err != nil {
		return Report{}, err
	}
	if dec.More() {
		return Report{}, fmt.Errorf("more than one JSON document")
	}
	return rep, nil
}

// csvHeader names the CSV columns; one row per request follows, for every
// run in the report.
var csvHeader = []string{
	"target", "mode", "seq", "url", "local_addr",
	"scheduled_ms", "start_ms", "end_ms", "latency_ms", "lateness_ms",
	"status", "bytes", "error", "detail", "connect_ms", "first_byte_ms",
}

// WriteCSV writes one row per request, after a header row.
func WriteCSV(w io.Writer, rep Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
	for _, run := range rep.Runs {
		for _, r := range run.Results {
			status := ""
			if r.Status != 0 {
				status = strconv.Itoa(r.Status)
			}
			row := []string{
				run.Target, run.Mode, strconv.Itoa(r.Seq), r.URL, r.LocalAddr,
				f(r.ScheduledMs), f(r.StartMs), f(r.EndMs), f(r.LatencyMs), f(r.LatenessMs),
				status, strconv.FormatInt(r.Bytes, 10), r.Error, r.Detail, f(r.ConnectMs), f(r.FirstByteMs),
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
