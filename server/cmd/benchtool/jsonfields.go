//go:build linux

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// jsonFields prints, tab-separated on one line, the values at the dotted
// paths given as arguments ("runs.0.latency_ms.p99") of the JSON document on
// stdin, so that the shell script needs no jq. A missing value prints as
// -missing.
func jsonFields(args []string) error {
	fs := flag.NewFlagSet("json", flag.ContinueOnError)
	missing := fs.String("missing", "0", "printed for a path that is not there")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var doc any
	dec := json.NewDecoder(os.Stdin)
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("stdin: %w", err)
	}
	out := make([]string, 0, fs.NArg())
	for _, p := range fs.Args() {
		v, ok := lookup(doc, p)
		switch {
		case !ok:
			out = append(out, *missing)
		case v == nil:
			out = append(out, "null")
		default:
			switch t := v.(type) {
			case string:
				out = append(out, t)
			case json.Number:
				out = append(out, t.String())
			case bool:
				out = append(out, strconv.FormatBool(t))
			default:
				b, _ := json.Marshal(t)
				out = append(out, string(b))
			}
		}
	}
	fmt.Println(strings.Join(out, "\t"))
	return nil
}

func lookup(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	for key := range strings.SplitSeq(path, ".") {
		switch t := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = t[key]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			v = t[i]
		default:
			return nil, false
		}
	}
	return v, true
}
