//go:build !linux

package window

// HugePages does nothing where transparent huge pages are not Linux's
// (see hugepages_linux.go).
func HugePages[T any](s []T) {}
