//go:build unix

package zeekreader_test

import "syscall"

// cpuTime is this process's user+system CPU time in nanoseconds, for the
// benchmarks' cpu-ns/row.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
