//go:build !unix

package sysmon

// A process cannot replace itself here (Windows): the program runs with the
// runtime's default, sysmon's deep sleep included.
func reexec([]string) error { return nil }
