//go:build !unix

package follow

import "errors"

// mkfifo: no named pipes in the file system here (Windows); the tests
// that need one skip.
func mkfifo(string) error { return errors.ErrUnsupported }

// limitFileSize: no RLIMIT_FSIZE here; the test that needs it skips.
func limitFileSize() (func() error, error) { return nil, errors.ErrUnsupported }
