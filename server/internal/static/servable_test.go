package static

import "testing"

// Each edge of the refused ranges, from both sides: C0 ends at 0x1f, DEL is
// 0x7f, C1 runs 0x80 to 0x9f; a space, '~' and 0xa0 (no-break space) name
// files like any other character.
func TestServableNameRangeEdges(t *testing.T) {
	for name, want := range map[string]bool{
		"a\x1fb": false, "a b": true,
		"a~b": true, "a\x7fb": false,
		"a\u0080b": false, "a\u009fb": false, "a\u00a0b": true,
		"a/b": false, `a\b`: false, ".a": false, "": false, "a.b": true,
	} {
		if got := ServableName(name); got != want {
			t.Errorf("ServableName(%q) = %v, want %v", name, got, want)
		}
	}
}
