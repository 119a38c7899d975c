//go:build linux

package window

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// vmFlags returns the VmFlags of the mapping of /proc/self/smaps that
// holds address p; it skips the test where smaps gives no VmFlags (a
// kernel before 3.8, gVisor and other emulated /proc).
func vmFlags(t *testing.T, p uintptr) []string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(l, "%x-%x ", &lo, &hi); n == 2 && !strings.HasSuffix(strings.Fields(l)[0], ":") {
			in = lo <= p && p < hi
			continue
		}
		if in && strings.HasPrefix(l, "VmFlags:") {
			return strings.Fields(strings.TrimPrefix(l, "VmFlags:"))
		}
	}
	if err := sc.Err(); err != nil {
		t.Skip(err)
	}
	t.Skipf("/proc/self/smaps gives no VmFlags for the mapping of %#x", p)
	return nil
}

// advisedShows skips the test unless this kernel shows a mapping advised
// MADV_HUGEPAGE as such (VmFlags hg): a sandbox may take the call and do
// nothing (gVisor), a seccomp filter refuse it, s390 KVM guests ignore
// it. Probed on memory of its own, outside the Go heap.
func advisedShows(t *testing.T) {
	t.Helper()
	m, err := unix.Mmap(-1, 0, 2*hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Skip(err)
	}
	defer unix.Munmap(m)
	if err := unix.Madvise(m, unix.MADV_HUGEPAGE); err != nil {
		t.Skipf("madvise(MADV_HUGEPAGE): %v", err)
	}
	if !slices.Contains(vmFlags(t, uintptr(unsafe.Pointer(&m[0]))), "hg") {
		t.Skip("this kernel does not show MADV_HUGEPAGE in VmFlags")
	}
}

// A table's pages are advised for transparent huge pages (VmFlags hg),
// and so are the 2 MiB blocks around them.
func TestHugePagesAdvised(t *testing.T) {
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || strings.Contains(string(b), "[never]") {
		t.Skip("no transparent huge pages here")
	}
	advisedShows(t)
	tb := NewTable[uint64, [1024]byte](100000)
	for k := range uint64(3000) {
		v, _ := tb.Get(k)
		v[0] = 1
	}
	p := uintptr(unsafe.Pointer(tb.Peek(2999)))
	if fl := vmFlags(t, p); !slices.Contains(fl, "hg") {
		t.Errorf("a table page's mapping has VmFlags %v, want hg among them", fl)
	}
	var s Slab[[256]byte]
	_, v := s.New()
	if fl := vmFlags(t, uintptr(unsafe.Pointer(v))); !slices.Contains(fl, "hg") {
		t.Errorf("a slab page's mapping has VmFlags %v, want hg among them", fl)
	}
}
