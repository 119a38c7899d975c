package main

import "golang.org/x/sys/unix"

// noHugePages turns transparent huge pages off for the process
// (PR_SET_THP_DISABLE, Linux 3.15 on): the kernel then ignores the
// detectors' MADV_HUGEPAGE ([memory] huge_pages = false).
func noHugePages() error { return unix.Prctl(unix.PR_SET_THP_DISABLE, 1, 0, 0, 0) }

// hugePagesOff reports whether they are off for the process.
func hugePagesOff() (bool, error) {
	r, err := unix.PrctlRetInt(unix.PR_GET_THP_DISABLE, 0, 0, 0, 0)
	return r == 1, err
}
