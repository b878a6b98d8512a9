//go:build darwin || freebsd || netbsd || dragonfly

package handler

import (
	"io/fs"
	"syscall"
)

// statID reads what fs.FileInfo does not carry: device, inode and the
// change time, which users cannot set, so a write after settling shows.
func statID(fi fs.FileInfo) (dev, ino uint64, ctime int64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 0, false
	}
	return uint64(st.Dev), uint64(st.Ino), st.Ctimespec.Nano(), true
}
