//go:build unix

package zeekfeed

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFeed takes the feed's lock, without waiting. The lock file is opened
// read-only (a flock needs no more), so a lock file that root's score
// created is still taken by the service's user, and the other way round;
// O_NOFOLLOW, so that a planted link names nothing else.
func lockFeed(path string) (*os.File, error) {
	name := path + LockSuffix
	f, err := os.OpenFile(name, os.O_RDONLY|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("zeekfeed: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Path: path}
		}
		return nil, fmt.Errorf("zeekfeed: lock %s: %w", name, err)
	}
	return f, nil
}
