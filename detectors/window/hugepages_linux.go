package window

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on amd64 and arm64 (4 KiB
// base pages).
const hugePage = 2 << 20

// HugePages asks the kernel to back the memory of s, and the rest of the
// 2 MiB blocks it touches, with transparent huge pages
// (madvise(MADV_HUGEPAGE)), for where /sys/kernel/mm/transparent_hugepage
// is "madvise", the default of most distributions ("always" needs no ask,
// "never" refuses it). A detector's tables are looked up at random over
// hundreds of MB, and with 4 KiB pages most lookups miss the TLB as well
// as the caches: see the root README's Performance section. The Go heap
// around s is other objects, for which huge pages are as harmless; a
// range the runtime has not mapped yet is left alone (the error is
// ignored: the advice is a hint). Call it on a new allocation, before
// its memory is first written, for a whole huge page to be faulted in;
// memory the runtime had handed out before is collapsed into huge pages
// later by the kernel's khugepaged (MADV_COLLAPSE, at once, cost more
// system time than it saved in score's runs).
func HugePages[T any](s []T) {
	if len(s) == 0 {
		return
	}
	size := uintptr(len(s)) * unsafe.Sizeof(s[0])
	if size < 16<<10 {
		return // small: in a span the runtime shares with other objects
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	lo := p &^ (hugePage - 1)
	hi := (p + size + hugePage - 1) &^ (hugePage - 1)
	unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_HUGEPAGE)
}
