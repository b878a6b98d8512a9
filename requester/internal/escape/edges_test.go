package escape

import "testing"

// Cutting at small limits, exactly: a piece that brings the text to
// limit-3 is kept when more follows, the last piece is kept when it ends
// exactly at the limit, and one byte more cuts it.
func TestTextCutsExactly(t *testing.T) {
	for _, c := range []struct {
		in    string
		limit int
		want  string
	}{
		{"abcdefgh\x00", 6, "abc..."}, // "abc" is limit-3: kept, "d" does not fit before "..."
		{"ab\x00", 6, `ab\x00`},       // the last piece ends exactly at the limit
		{"abc\x00", 6, "abc..."},      // one byte more: cut
		{"a\x00", 6, `a\x00`},         // short: no cut
		{"\x00", 4, `\x00`},           // shorter than the Grow slack
		{"\x1b", 256, `\x1b`},         // likewise
		{"ab\x00c", 6, "ab..."},       // the escape fits the limit but not with more to come
	} {
		if got := Text(c.in, c.limit); got != c.want {
			t.Errorf("Text(%q, %d) = %q; want %q", c.in, c.limit, got, c.want)
		}
	}
}

// Exactly limit bytes are quoted whole, with no "...".
func TestQuoteAtLimit(t *testing.T) {
	if got := Quote([]byte("abcd"), 4); got != `"abcd"` {
		t.Errorf("Quote of exactly the limit = %s; want \"abcd\"", got)
	}
	if got := Quote([]byte("abcde"), 4); got != `"abcd"...` {
		t.Errorf("Quote of one byte more = %s", got)
	}
}
