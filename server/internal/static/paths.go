package static

import (
	"net/url"
	"strings"
)

// The path rules, in one place: which names may be served, what a request
// path's hit key is, and which request paths are already their own hit key.
// Resolve applies them; the stock mode and the handler's file cache ask here
// instead of restating them.

// ServableName reports whether a single decoded path segment may be served.
// A leading dot covers ".", ".." and hidden names alike: traversal is
// refused, never cleaned away, so no encoding of it can slip through.
// Separators and control characters (C0, DEL and C1) never name a file
// here, whatever the file system allows.
func ServableName(name string) bool {
	if name == "" || name[0] == '.' {
		return false
	}
	for _, r := range name {
		if r == '/' || r == '\\' || r < 0x20 || r >= 0x7f && r <= 0x9f {
			return false
		}
	}
	return true
}

// ServablePath reports whether every segment of a decoded absolute path may
// be served (empty segments, from "//" or a trailing slash, are skipped).
func ServablePath(decoded string) bool {
	for seg := range strings.SplitSeq(decoded, "/") {
		if seg != "" && !ServableName(seg) {
			return false
		}
	}
	return true
}

// HitKey is the hit counter's key for a decoded path: absolute, without
// empty segments, a folder (a path ending in "/") as "/dir/". It is only
// meaningful for a ServablePath, which has no "." or ".." to clean.
func HitKey(decoded string) string {
	segs := make([]string, 0, strings.Count(decoded, "/"))
	for seg := range strings.SplitSeq(decoded, "/") {
		if seg != "" {
			segs = append(segs, seg)
		}
	}
	return hitKey(segs, strings.HasSuffix(decoded, "/"))
}

func hitKey(segs []string, folder bool) string {
	if len(segs) == 0 {
		return "/"
	}
	k := "/" + strings.Join(segs, "/")
	if folder {
		k += "/"
	}
	return k
}

// Canonical reports whether escaped, a request path as sent, is exactly the
// hit key of the file it would name: no percent-encoding, no empty, "." or
// ".." segments, no trailing slash, every name servable. Only such paths
// name exactly the components they spell, so a cache keyed by them is
// bounded by the files in the tree, not by the URLs clients invent.
func Canonical(escaped string) bool {
	if strings.IndexByte(escaped, '%') >= 0 {
		return false
	}
	segs, slashed, ok := splitPath(escaped)
	return ok && !slashed && len(segs) > 0 && hitKey(segs, false) == escaped
}

// splitPath splits an escaped absolute path into decoded segments, dropping
// empty ones, and reports whether it ended with a slash. It refuses any
// segment that could not be a servable name.
func splitPath(escaped string) (segs []string, slashed, ok bool) {
	if escaped == "" || escaped[0] != '/' || len(escaped) > maxPathLen ||
		strings.IndexByte(escaped, '\\') >= 0 {
		return nil, false, false
	}
	slashed = escaped[len(escaped)-1] == '/'
	segs = make([]string, 0, strings.Count(escaped, "/"))
	for seg := range strings.SplitSeq(escaped[1:], "/") {
		if seg == "" {
			continue
		}
		name, err := url.PathUnescape(seg)
		if err != nil || !ServableName(name) {
			return nil, false, false
		}
		segs = append(segs, name)
	}
	return segs, slashed, true
}
