// Command mkcontent writes the lab's sample site: the folder the server
// serves by default and the benchmarks fetch from. Its output is the same,
// byte for byte, on every run and every Go release, so the committed
// content/ can be checked against it.
//
// Usage, from the repository root:
//
//	go run ./server/cmd/mkcontent -o content
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is the command: it returns the exit code (2 for a bad command line, 1
// when writing fails).
func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("mkcontent", flag.ContinueOnError)
	fl.SetOutput(stderr)
	out := fl.String("o", "content", "output `directory`")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "usage: mkcontent [-o directory]\n\nWrites the sample site.\n\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() > 0 {
		fl.Usage()
		return 2
	}
	written, extra, err := write(*out, site())
	if err != nil {
		fmt.Fprintln(stderr, "mkcontent:", err)
		return 1
	}
	fmt.Fprintf(stdout, "mkcontent: %s: %d files, %d changed\n", *out, len(site()), written)
	for _, name := range extra {
		fmt.Fprintf(stderr, "mkcontent: %s is not generated; remove it if it should not be served\n",
			filepath.Join(*out, name))
	}
	return 0
}

// write puts files under dir and returns how many it changed and which
// files already there it did not generate. Files whose content is already
// right are left alone, so their modification times (and Last-Modified)
// stay put across runs.
func write(dir string, files []file) (changed int, extra []string, err error) {
	want := make(map[string]bool, len(files))
	for _, f := range files {
		want[f.name] = true
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return changed, nil, err
		}
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, f.data) {
			continue
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return changed, nil, err
		}
		changed++
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); !want[rel] {
			extra = append(extra, rel)
		}
		return nil
	})
	slices.Sort(extra)
	return changed, extra, err
}
