//go:build !linux

package servertest

// bindAddressNoPort: the option is Linux's; elsewhere binding picks the
// port, which is fine for the few connections tests make there.
func bindAddressNoPort(uintptr) error { return nil }
