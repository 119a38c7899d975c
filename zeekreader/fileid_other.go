//go:build !unix

package zeekreader

import "io/fs"

// fileID gives no identity where the system has no inodes in its
// FileInfo (Windows): a file is known by its absolute path (keyOf), so a
// file reached twice by a link is read twice there.
func fileID(fs.FileInfo) (dev, ino uint64, ok bool) { return 0, 0, false }
