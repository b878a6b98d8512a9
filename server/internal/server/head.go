package server

import (
	"bytes"
	"strings"
)

// completeHead reports whether b is exactly one request head, ending in the
// blank line, that announces no body (no Content-Length, no
// Transfer-Encoding): after it, a client has nothing more to send.
func completeHead(b []byte) bool {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 || i+4 != len(b) {
		return false
	}
	for line := range bytes.SplitSeq(b[:i], []byte("\r\n")) {
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if strings.EqualFold(string(name), "Content-Length") || strings.EqualFold(string(name), "Transfer-Encoding") {
			return false
		}
	}
	return true
}
