package follow

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLockState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state") // created by LockState
	l, err := LockState(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock is per open file: a second open is refused, in-process too.
	_, err = LockState(dir)
	var le *LockedError
	if !errors.As(err, &le) || le.Dir != dir || le.PID != os.Getpid() {
		t.Fatalf("second lock: %v, want a LockedError naming %s and pid %d", err, dir, os.Getpid())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := LockState(dir)
	if err != nil {
		t.Fatalf("lock after Close: %v", err)
	}
	l2.Close()
}
