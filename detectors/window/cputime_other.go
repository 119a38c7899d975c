//go:build !unix

package window

import "time"

// cpuTime is 0 where there is no getrusage(2) (Windows): Bench then
// reports no rows/cpu-s.
func cpuTime() time.Duration { return 0 }
