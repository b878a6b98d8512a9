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
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

func main() {
	out := flag.String("o", "content", "output `directory`")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: mkcontent [-o directory]\n\nWrites the sample site.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	written, extra, err := write(*out, site())
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkcontent:", err)
		os.Exit(1)
	}
	fmt.Printf("mkcontent: %s: %d files, %d changed\n", *out, len(site()), written)
	for _, name := range extra {
		fmt.Fprintf(os.Stderr, "mkcontent: %s is not generated; remove it if it should not be served\n",
			filepath.Join(*out, name))
	}
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
