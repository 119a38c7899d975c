//go:build unix

package main

import (
	"os"
	"syscall"
	"testing"
)

// sighup sends this process SIGHUP (run's reload).
func sighup(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}

// umask sets the process's umask and returns the old one.
func umask(mask int) int { return syscall.Umask(mask) }

// devIno is a file's device and inode, as the follower's checkpoint
// records them.
func devIno(fi os.FileInfo) (uint64, uint64) {
	st := fi.Sys().(*syscall.Stat_t)
	return uint64(st.Dev), uint64(st.Ino)
}

// cpuNanos is this process's user+system CPU time in nanoseconds, for the
// benchmarks' cpu-ns/row.
func cpuNanos() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
