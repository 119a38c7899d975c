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
)

// vmFlags returns the VmFlags of the mapping of /proc/self/smaps that
// holds address p.
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
	t.Fatalf("no mapping holds %#x", p)
	return nil
}

// A table's pages are advised for transparent huge pages (VmFlags hg),
// and so are the 2 MiB blocks around them.
func TestHugePagesAdvised(t *testing.T) {
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || strings.Contains(string(b), "[never]") {
		t.Skip("no transparent huge pages here")
	}
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
