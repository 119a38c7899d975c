//go:build unix

package follow

import "syscall"

// mkfifo makes a named pipe at path.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }

// limitFileSize sets RLIMIT_FSIZE's soft limit to 64 KiB (a write past
// it fails with EFBIG) and returns a func that puts the old limit back.
func limitFileSize() (restore func() error, err error) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		return nil, err
	}
	lim := old
	lim.Cur = 64 << 10 // (int64 on FreeBSD, uint64 on Linux)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		return nil, err
	}
	return func() error { return syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old) }, nil
}
