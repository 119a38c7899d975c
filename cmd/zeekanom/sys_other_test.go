//go:build !unix

package main

import (
	"os"
	"testing"
	"time"
)

// The tests build on Windows, where run (the live follower) refuses to
// start: what needs Unix skips.

func sighup(t *testing.T) { t.Skip("no SIGHUP here") }

func umask(int) int { return 0 }

func devIno(os.FileInfo) (uint64, uint64) { return 0, 0 }

// cpuNanos is the wall clock where syscall has no getrusage (Windows): the
// benchmarks' cpu-ns/row there is wall time per row, so the tests build.
func cpuNanos() int64 { return time.Now().UnixNano() }
