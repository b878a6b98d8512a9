package report

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// steady is n requests of 1 ms, one per millisecond, all 200.
func steady(n int) []Result {
	results := make([]Result, n)
	for i := range results {
		results[i] = Result{Seq: i, StartMs: float64(i), EndMs: float64(i) + 1, Status: 200}
	}
	return results
}

func TestNiceStep(t *testing.T) {
	cases := []struct {
		span float64
		n    int
		want float64
	}{
		{0, 5, 1}, {-3, 5, 1}, // an empty span still steps
		{10, 10, 1}, {11, 10, 2}, {20, 10, 2}, {21, 10, 5}, {50, 10, 5}, {51, 10, 10},
		{9803.92, 10, 1000}, {0.3, 10, 0.05},
	}
	for _, c := range cases {
		if got := niceStep(c.span, c.n); got != c.want {
			t.Errorf("niceStep(%v, %d) = %v, want %v", c.span, c.n, got, c.want)
		}
	}
}

// A big run is drawn one request in step, step rounded up: 4000 requests
// are 2000 rows of 0.32 units, and the last row is that of request 3998,
// labelled with the last request's seq.
func TestTimelineSamplingGeometry(t *testing.T) {
	svg := string(timeline(Run{Results: steady(4000)}))
	if !strings.Contains(svg, "<p class=\"note\">4000 requests: one in 2 is drawn.</p>") {
		t.Errorf("sampling note: %s", svg[strings.LastIndex(svg, "</svg>"):])
	}
	bars := regexp.MustCompile(`<rect x="[0-9.]+" y="([0-9.]+)" width="[0-9.]+" height="([0-9.]+)" fill=`).FindAllStringSubmatch(svg, -1)
	if len(bars) != 2000 {
		t.Fatalf("%d bars", len(bars))
	}
	// row height 640/2000 = 0.32, bar height max(0.7·0.32, 0.6) = 0.6,
	// centred in its row: 12 + row·0.32 − 0.14.
	for _, c := range []struct {
		i    int
		y, h string
	}{{0, "11.86", "0.60"}, {1, "12.18", "0.60"}, {1999, "651.54", "0.60"}} {
		if bars[c.i][1] != c.y || bars[c.i][2] != c.h {
			t.Errorf("bar %d at y=%s height %s, want %s and %s", c.i, bars[c.i][1], bars[c.i][2], c.y, c.h)
		}
	}
	if !strings.Contains(svg, `<title>#3998 `) || strings.Contains(svg, `<title>#3999 `) {
		t.Error("the bars are not those of requests 0, 2, …, 3998")
	}
	for _, want := range []string{
		`<text x="60.0" y="15.2" text-anchor="end" class="tick">0</text>`,     // first row, centred + 3
		`<text x="60.0" y="654.8" text-anchor="end" class="tick">3999</text>`, // last row: 12 + 1999·0.32 + 0.16 + 3
		`viewBox="0 0 1100 688"`, // 12 + 640 + 36
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("timeline lacks %s", want)
		}
	}
}

// The timeline gives each row 8 units, within 160 and 640 in all.
func TestTimelineHeight(t *testing.T) {
	for _, c := range []struct{ n, height int }{{1, 208}, {20, 208}, {21, 216}, {50, 448}, {80, 688}, {500, 688}} {
		svg := string(timeline(Run{Results: steady(c.n)}))
		if want := fmt.Sprintf(`viewBox="0 0 1100 %d"`, c.height); !strings.Contains(svg, want) {
			t.Errorf("%d requests: %s, want %s", c.n, svg[:80], want)
		}
	}
}

// The time axis runs 2 % past the last mark, and a grid line and label sit
// on every tick up to its end, one on the end itself included: that one is
// kept even when floating-point arithmetic puts the end a hair below it.
func TestTimelineLastTick(t *testing.T) {
	for _, c := range []struct {
		name string
		span float64
		last string
	}{
		{"end exactly on a tick", 10000 / 1.02, "10000"},
		// span·1.02 + 1000/1e6 is exactly 10000: the tolerance's own bound.
		{"end a tolerance below a tick", 9803.9205882352944, "10000"},
		{"end between ticks", 9000, "9000"},
		{"end just below a tolerance", 9803.9, "9000"},
	} {
		svg := string(timeline(Run{Results: []Result{{EndMs: c.span, Status: 200}}}))
		labels := regexp.MustCompile(`class="tick">([0-9.]+)</text>`).FindAllStringSubmatch(svg, -1)
		var ticks []string
		for _, m := range labels {
			ticks = append(ticks, m[1])
		}
		// The time labels, then the seq labels of the first and last row.
		if len(ticks) < 3 || ticks[len(ticks)-3] != c.last || ticks[0] != "0" {
			t.Errorf("%s: tick labels %v, want 0 … %s", c.name, ticks, c.last)
		}
	}
}

// A run that sent nothing (interrupted at once) still gets its page: an
// empty timeline without row labels.
func TestTimelineOfNoRequests(t *testing.T) {
	svg := string(timeline(Run{}))
	if strings.Contains(svg, `text-anchor="end"`) || strings.Count(svg, "<rect") != 1 {
		t.Errorf("empty timeline: %s", svg)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, Report{Runs: []Run{{Target: "http://h:1", Mode: "concurrent"}}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "0 of 0 requests sent") {
		t.Errorf("page of an empty run: %s", buf.String())
	}
}

// The HTML lists each request of runs up to htmlRequestRows long.
func TestHTMLRequestsTableLimit(t *testing.T) {
	for _, c := range []struct {
		n    int
		want bool
	}{{htmlRequestRows, true}, {htmlRequestRows + 1, false}} {
		var buf bytes.Buffer
		if err := WriteHTML(&buf, Report{Runs: []Run{{Target: "http://h:1", Mode: "concurrent", Results: steady(c.n)}}}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "<h3>Requests</h3>"); got != c.want {
			t.Errorf("%d requests: table listed %v, want %v", c.n, got, c.want)
		}
	}
}

// The bars' scale counts every outcome class: ten "other" answers make a
// bar of 10 on an axis to 12 in ticks of 2 (10·1.08 rounded up to a tick).
func TestStackedBarsScale(t *testing.T) {
	for k, name := range outcomeOrder {
		var c [5]int
		c[k] = 10
		svg := string(stackedBars("x", "x", []string{"0"}, [][5]int{c}, []string{"tip"}))
		ticks := regexp.MustCompile(`class="tick">([0-9]+)</text>`).FindAllStringSubmatch(svg, -1)
		if len(ticks) != 8 || ticks[6][1] != "12" || ticks[7][1] != "0" {
			t.Errorf("%s: axis ticks %v, want 0, 2, …, 12 and the bar's label", name, ticks)
		}
		// 10 of 12 on a plot 220 high: from y = 232 − 183.33 to 232.
		if want := `y="48.67" width="80.00" height="183.33" fill="` + classColors[name]; !strings.Contains(svg, want) {
			t.Errorf("%s: no bar %s in %s", name, want, svg)
		}
	}
}

// Histogram labels get up to three more digits than usual to tell close
// edges apart, and no more.
func TestEdgeLabelsExtraDigits(t *testing.T) {
	for _, c := range []struct {
		from []float64
		want []string
	}{
		{[]float64{100.0012, 100.0016}, []string{"100.001", "100.002"}},
		{[]float64{100.00011, 100.00012}, []string{"100.000", "100.000"}}, // past three: left alike
		{[]float64{0.5, 1.5}, []string{"0.500", "1.50"}},
	} {
		var buckets []Bucket
		for _, v := range c.from {
			buckets = append(buckets, Bucket{FromMs: v})
		}
		if got := edgeLabels(buckets); !slices.Equal(got, c.want) {
			t.Errorf("edgeLabels(%v) = %v, want %v", c.from, got, c.want)
		}
	}
}

// Labels keep about three significant digits, one decimal less at each
// power of ten.
func TestShortMs(t *testing.T) {
	for v, want := range map[float64]string{
		1234.6: "1235", 100: "100", 99.96: "100.0", 99.94: "99.9", 10: "10.0", 9.999: "10.00", 1: "1.00", 0.9999: "1.000", 0.0125: "0.013", 0: "0.000",
	} {
		if got := shortMs(v); got != want {
			t.Errorf("shortMs(%v) = %q, want %q", v, got, want)
		}
	}
	if got := shortMsDigits(10, 2); got != "10.000" {
		t.Errorf("shortMsDigits(10, 2) = %q", got)
	}
}
