//go:build unix

package sysmon

import (
	"os"
	"syscall"
)

func reexec(env []string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	// Exec returns only on failure; the new image starts with env.
	return syscall.Exec(exe, os.Args, env)
}
