//go:build unix

package zeekreader

import (
	"io/fs"
	"syscall"
)

// fileID is a file's device and inode (ok false for an inode of 0).
func fileID(fi fs.FileInfo) (dev, ino uint64, ok bool) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Ino != 0 {
		return uint64(st.Dev), uint64(st.Ino), true
	}
	return 0, 0, false
}
