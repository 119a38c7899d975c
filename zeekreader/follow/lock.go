package follow

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile is the lock file's name inside the state directory.
const LockFile = "lock"

// StateLock is the exclusive lock of a state directory: one process at a
// time writes its checkpoints (two would overwrite each other's and write
// every notice twice). It is a flock(2) on LockFile, held while the file
// is open: the kernel releases it when the process ends, however it ends
// (SIGKILL, crash), so a lock is never stale. The file stays in place.
type StateLock struct {
	dir string
	f   *os.File
}

// LockedError is LockState's error when another process holds the lock.
type LockedError struct {
	Dir string
	PID int // the holder's, as it wrote it in LockFile (0: unknown)
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who += " (pid " + strconv.Itoa(e.PID) + ")"
	}
	return fmt.Sprintf("state directory %s is in use by %s: one zeekanom run per state directory", e.Dir, who)
}

// errHeld is openLock's error when another process holds the lock.
var errHeld = errors.New("lock held")

// LockState creates dir if needed and takes its lock without waiting: a
// *LockedError if another process holds it. The caller keeps the lock for
// its lifetime (Close releases it).
func LockState(dir string) (*StateLock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	name := filepath.Join(dir, LockFile)
	f, err := openLock(name)
	if errors.Is(err, errHeld) {
		b, _ := os.ReadFile(name)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return nil, &LockedError{Dir: dir, PID: pid}
	}
	if err != nil {
		return nil, err
	}
	// Our pid, for the error of whoever tries next (best effort: the lock
	// is the flock, not the content).
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &StateLock{dir: dir, f: f}, nil
}

// RemoveStaleTemps removes SaveState's temp files (StateFile + ".tmp",
// or "snapshot.tmp", and the digits os.CreateTemp adds) from the locked directory and returns
// their names. Only the lock holder saves, so under the lock every one is
// left over from a save cut short (SIGKILL, crash, full disk): a
// checkpoint's size each, which nothing else removes.
func (l *StateLock) RemoveStaleTemps() ([]string, error) {
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range ents {
		if !e.Type().IsRegular() || !isStateTemp(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(l.dir, e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, e.Name())
	}
	return removed, errors.Join(errs...)
}

// RemoveUnnamedSnapshots removes the snapshot files of the locked
// directory that st, its checkpoint as LoadState read it, does not name,
// and returns their names: a save cut short (SIGKILL) or failed after
// some of its files were in place leaves files no checkpoint names, which
// only a later save would remove. Call it before restoring st (Forget
// drops names).
func (l *StateLock) RemoveUnnamedSnapshots(st *State) ([]string, error) {
	return removeUnnamedSnapshots(l.dir, st.Snapshots)
}

// isStateTemp reports whether name is one of SaveState's temp files (the
// checkpoint's or a snapshot file's).
func isStateTemp(name string) bool {
	for _, pattern := range []string{stateTempPattern, snapshotTempPattern} {
		digits, ok := strings.CutPrefix(name, strings.TrimSuffix(pattern, "*"))
		if ok && digits != "" && strings.Trim(digits, "0123456789") == "" {
			return true
		}
	}
	return false
}

// Close releases the lock.
func (l *StateLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
