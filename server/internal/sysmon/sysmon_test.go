package sysmon

import (
	"slices"
	"strconv"
	"testing"
)

var setting = "schedtrace=" + strconv.Itoa(Period)

func TestEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []string
		want    []string
		changed bool
	}{
		{"no GODEBUG", []string{"A=1"}, []string{"A=1", "GODEBUG=" + setting}, true},
		{"empty GODEBUG", []string{"GODEBUG=", "B=2"}, []string{"GODEBUG=" + setting, "B=2"}, true},
		{"other settings kept", []string{"GODEBUG=gctrace=0,madvdontneed=1"},
			[]string{"GODEBUG=gctrace=0,madvdontneed=1," + setting}, true},
		{"schedtrace already set", []string{"GODEBUG=schedtrace=1000"}, []string{"GODEBUG=schedtrace=1000"}, false},
		{"schedtrace=0 is the way out", []string{"GODEBUG=gctrace=0,schedtrace=0"},
			[]string{"GODEBUG=gctrace=0,schedtrace=0"}, false},
		{"a similar name is another setting", []string{"GODEBUG=xschedtrace=1,schedtracex=1"},
			[]string{"GODEBUG=xschedtrace=1,schedtracex=1," + setting}, true},
		{"only the first GODEBUG counts", []string{"GODEBUG=a=1", "GODEBUG=schedtrace=5"},
			[]string{"GODEBUG=a=1," + setting, "GODEBUG=schedtrace=5"}, true},
		{"a variable ending in GODEBUG is another variable", []string{"XGODEBUG=schedtrace=1"},
			[]string{"XGODEBUG=schedtrace=1", "GODEBUG=" + setting}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			got, changed := Env(in)
			if changed != tc.changed || !slices.Equal(got, tc.want) {
				t.Errorf("Env(%q) = %q, %v; want %q, %v", tc.in, got, changed, tc.want, tc.changed)
			}
			if !slices.Equal(in, tc.in) {
				t.Errorf("Env changed its argument: %q", in)
			}
		})
	}
}

func TestAwake(t *testing.T) {
	for godebug, want := range map[string]bool{
		"":                          false,
		setting:                     true,
		"gctrace=0," + setting:      true,
		"schedtrace=1":              true,
		"schedtrace=0":              false,
		"schedtrace=-5":             false,
		"schedtrace=abc":            false,
		"schedtrace=1,schedtrace=0": false, // the last one wins, as in the runtime
		"schedtrace=0,schedtrace=7": true,
		"schedtrace=0,schedtrace=x": false, // one that does not parse changes nothing
		"schedtrace=99999999999":    false, // over an int32: the runtime ignores it
		"xschedtrace=1":             false,
	} {
		if got := awake(godebug); got != want {
			t.Errorf("awake(%q) = %v, want %v", godebug, got, want)
		}
	}
}

// A period the runtime cannot parse as an int32 would be ignored, and
// sysmon would sleep as before: Period must be the largest that parses.
func TestPeriodIsTheLargestTheRuntimeTakes(t *testing.T) {
	if _, err := strconv.ParseInt(strconv.Itoa(Period), 10, 32); err != nil {
		t.Errorf("Period %d does not parse as the runtime parses it: %v", Period, err)
	}
	if _, err := strconv.ParseInt(strconv.FormatInt(Period+1, 10), 10, 32); err == nil {
		t.Errorf("Period %d is not the largest: %d parses too", Period, int64(Period)+1)
	}
	if !awake("schedtrace=" + strconv.Itoa(Period)) {
		t.Error("awake does not count Period as set")
	}
}
