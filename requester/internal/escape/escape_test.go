package escape

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	cases := map[string]string{
		"plain text, unchanged":  "plain text, unchanged",
		"tab\there":              `tab\there`,
		"title \x1b]0;pwned\x07": `title \x1b]0;pwned\a`,
		"clear \x1b[2J":          `clear \x1b[2J`,
		"C1 CSI \u009b31m":       `C1 CSI \u009b31m`,
		"invalid \xff\xfe":       `invalid \xff\xfe`,
		"bidi \u202e override":   `bidi \u202e override`,
		"unicode é ü 漢字 kept":    "unicode é ü 漢字 kept",
		"new\nline\r":            `new\nline\r`,
		`already \x1b escaped`:   `already \x1b escaped`,
	}
	for in, want := range cases {
		if got := Detail(in); got != want {
			t.Errorf("Detail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextIsBounded(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("a", 1000),
		strings.Repeat("\x1b", 1000),
		strings.Repeat("漢", 1000),
		strings.Repeat("\xff", 300),
		strings.Repeat("a", 255) + "\x00",
	} {
		got := Detail(in)
		if len(got) > DetailMax {
			t.Errorf("%d bytes from %q...", len(got), in[:10])
		}
		if !utf8.ValidString(got) {
			t.Errorf("invalid UTF-8: %q", got)
		}
		for _, r := range got {
			if !unicode.IsPrint(r) && r != ' ' {
				t.Errorf("unprintable %U in %q", r, got)
			}
		}
		if Detail(got) != got {
			t.Errorf("escaping twice changed %q", got)
		}
	}
	if got := Detail(strings.Repeat("b", 256)); got != strings.Repeat("b", 256) {
		t.Errorf("256 bytes cut to %d", len(got))
	}
}

func TestQuote(t *testing.T) {
	if got := Quote([]byte("SSH-2.0\x1b"), 64); got != `"SSH-2.0\x1b"` {
		t.Errorf("got %s", got)
	}
	if got := Quote([]byte(strings.Repeat("x", 100)), 4); got != `"xxxx"...` {
		t.Errorf("got %s", got)
	}
}
