//go:build !unix

package handler_test

// setRcvbuf: the default buffer only makes the stall take longer to show.
func setRcvbuf(uintptr, int) error { return nil }
