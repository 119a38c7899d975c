package follow

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// A lock file that is a symlink is refused, and what it names is left as
// it was: it was truncated and given the pid (a state directory others can
// write, such as one under /tmp, let them plant one).
func TestLockStateRefusesASymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, LockFile)); err != nil {
		t.Fatal(err)
	}
	l, err := LockState(dir)
	if err == nil {
		l.Close()
		t.Fatal("a symlinked lock file was taken")
	}
	if !strings.Contains(err.Error(), "is a symbolic link") {
		t.Errorf("error %q, want it to say the lock is a symbolic link", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me\n" {
		t.Errorf("the symlink's target holds %q now", b)
	}
}

// A SIGKILL during SaveState leaves its temp file (the checkpoint's, or a
// snapshot file's, MBs with detector windows); nothing removed it. Under the lock, every
// one is stale; other files stay.
func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	var stale []string
	for _, pattern := range []string{stateTempPattern, stateTempPattern, snapshotTempPattern} {
		f, err := os.CreateTemp(dir, pattern) // as SaveState names them
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(`{"version":1,"files":[`) // cut short
		f.Close()
		stale = append(stale, filepath.Base(f.Name()))
	}
	keep := []string{StateFile + ".tmp", StateFile + ".tmpx1", StateFile + ".bak", "notes.tmp123", "snapshot.tmp", "snapshot.tmp12a"}
	for _, n := range keep {
		os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600)
	}
	if err := SaveState(dir, &State{}); err != nil {
		t.Fatal(err)
	}
	l, err := LockState(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	gone, err := l.RemoveStaleTemps()
	if err != nil || len(gone) != len(stale) {
		t.Fatalf("removed %v (%v), want %v", gone, err, stale)
	}
	for _, n := range stale {
		if _, err := os.Stat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("%s still there (%v)", n, err)
		}
	}
	for _, n := range append(keep, StateFile, LockFile) {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s removed: %v", n, err)
		}
	}
}
