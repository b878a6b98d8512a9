// Package escape makes text that came from a peer safe to store and print:
// bounded in length and with every byte that a terminal could act on
// written as a Go escape. A server's status line, a /stats reason phrase or
// an error message quoting either is data, never terminal input.
package escape

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DetailMax is the most bytes an error detail may have, escapes included.
const DetailMax = 256

// Detail is Text(s, DetailMax): the form every error detail is stored in.
func Detail(s string) string { return Text(s, DetailMax) }

// Text returns s with every rune that is not printable (control characters,
// C1 controls such as U+009B CSI, invalid UTF-8, format characters) written
// as a Go escape (\x1b, \u009b, \n), and cut to at most limit bytes, ending
// in "..." when cut. The result is printable and valid UTF-8, and escaping it
// again changes nothing.
func Text(s string, limit int) string {
	if fits(s, limit) {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), limit) + 8)
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		// An if chain, not a switch: gremlins counts a case's condition as
		// never covered, so its mutants would go unmeasured.
		var piece string
		if r == utf8.RuneError && size == 1 {
			piece = `\x` + hex2(s[i])
		} else if unicode.IsPrint(r) || r == ' ' {
			piece = s[i : i+size]
		} else {
			q := strconv.QuoteRune(r) // 'x' with the escape inside
			piece = q[1 : len(q)-1]
		}
		if b.Len()+len(piece) > limit-3 && (b.Len()+len(piece) > limit || i+size < len(s)) {
			b.WriteString("...")
			return b.String()
		}
		b.WriteString(piece)
	}
	return b.String()
}

// fits reports whether s needs neither escaping nor cutting.
func fits(s string, limit int) bool {
	if len(s) > limit {
		return false
	}
	for _, r := range s {
		if r == utf8.RuneError || !(unicode.IsPrint(r) || r == ' ') {
			return false
		}
	}
	return true
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

// Quote is strconv.Quote of at most the first limit bytes of b, with "..."
// after the closing quote when b was longer: a bounded picture of bytes a
// peer sent, for an error message.
func Quote(b []byte, limit int) string {
	if len(b) <= limit {
		return strconv.Quote(string(b))
	}
	return strconv.Quote(string(b[:limit])) + "..."
}
