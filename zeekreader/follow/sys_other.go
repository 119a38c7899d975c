//go:build !unix

package follow

import (
	"errors"
	"fmt"
	"os"
)

// The follower is for Unix systems: it tells a log by its inode across
// rotations, opens without blocking on a FIFO and locks its state
// directory with flock(2). Elsewhere (Windows) it builds, so that the
// batch commands do, but cannot lock a state directory: `zeekanom run`
// refuses to start there.

// oNonblock is 0: there is no O_NONBLOCK to open with.
const oNonblock = 0

// devIno returns 0, 0: the system gives no inode (a file is told by its
// fingerprint alone, as a compressed copy is).
func devIno(os.FileInfo) (uint64, uint64) { return 0, 0 }

// openLock fails: there is no flock(2) here.
func openLock(name string) (*os.File, error) {
	return nil, fmt.Errorf("lock %s: %w: the live follower needs flock(2) (Linux, macOS, BSD)", name, errors.ErrUnsupported)
}
