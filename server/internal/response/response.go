// Package response writes HTTP/1.0 responses: the status line, the
// contract's headers and error pages. Closing the connection after them is
// the closing package's job.
package response

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// ServerName is the Server header's value.
const ServerName = "httplab"

// Head describes a response head. Extra holds additional header lines as
// name, value pairs (Retry-After, Allow, Location, Last-Modified).
type Head struct {
	Status        int
	ContentType   string
	ContentLength int64
	Extra         []string
}

// AppendHead appends the complete head, ending in the blank line, to dst.
// Every response carries Date, Server, Content-Type, Content-Length and
// Connection: close, whatever version the client spoke.
func AppendHead(dst []byte, h Head, now time.Time) []byte {
	dst = append(dst, "HTTP/1.0 "...)
	dst = strconv.AppendInt(dst, int64(h.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason(h.Status)...)
	dst = append(dst, "\r\nDate: "...)
	dst = append(dst, date(now)...)
	dst = append(dst, "\r\nServer: "+ServerName+"\r\nContent-Type: "...)
	dst = append(dst, h.ContentType...)
	dst = append(dst, "\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, h.ContentLength, 10)
	for i := 0; i+1 < len(h.Extra); i += 2 {
		dst = append(dst, "\r\n"...)
		dst = append(dst, h.Extra[i]...)
		dst = append(dst, ": "...)
		dst = append(dst, h.Extra[i+1]...)
	}
	dst = append(dst, "\r\nConnection: close\r\n\r\n"...)
	return dst
}

func reason(status int) string {
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Status " + strconv.Itoa(status)
}

// The Date header changes once a second; formatting it for every response
// would cost an allocation and ~100 ns, so the formatted value is cached.
type dateCache struct {
	sec int64
	b   []byte
}

var lastDate atomic.Pointer[dateCache]

func date(now time.Time) []byte {
	sec := now.Unix()
	if d := lastDate.Load(); d != nil && d.sec == sec {
		return d.b
	}
	d := &dateCache{sec: sec, b: now.UTC().AppendFormat(make([]byte, 0, 29), http.TimeFormat)}
	lastDate.Store(d)
	return d.b
}

// ErrorBody is a small HTML page for a status, with an optional explanation.
func ErrorBody(status int, detail string) []byte {
	b := make([]byte, 0, 160+len(detail))
	b = append(b, "<!DOCTYPE html>\n<html><head><title>"...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, reason(status)...)
	b = append(b, "</title></head><body><h1>"...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, reason(status)...)
	b = append(b, "</h1>"...)
	if detail != "" {
		b = append(b, "<p>"...)
		b = append(b, detail...) // detail is ours, never the client's: no escaping needed
		b = append(b, "</p>"...)
	}
	b = append(b, "</body></html>\n"...)
	return b
}

// Error builds a complete error response (head and HTML body) in one slice,
// so it goes out in one write.
func Error(dst []byte, status int, detail string, now time.Time, extra ...string) []byte {
	body := ErrorBody(status, detail)
	dst = AppendHead(dst, Head{Status: status, ContentType: "text/html; charset=utf-8",
		ContentLength: int64(len(body)), Extra: extra}, now)
	return append(dst, body...)
}
