//go:build unix

package follow

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// oNonblock opens a log without blocking (see openRegular).
const oNonblock = syscall.O_NONBLOCK

// devIno returns a file's device and inode (0, 0 where unsupported).
func devIno(fi os.FileInfo) (uint64, uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}

// openLock opens (creating) the lock file name and takes its flock
// without waiting: errHeld when another process holds it.
//
// O_NOFOLLOW: the file is truncated and written (LockState), and a lock
// that is a symlink (planted in a state directory others can write,
// such as one under /tmp) made this process truncate whatever it
// named and write its pid there (the follower's own files, or any
// file its user may write).
func openLock(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("lock %s: is a symbolic link, not zeekanom's lock file: remove it", name)
		}
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errHeld
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return f, nil
}
