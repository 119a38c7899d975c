package window

import "unsafe"

// pageBitsOf is the log2 of how many values of T a page of a Table or a
// Slab holds: at least 256, and so many that a page fills whole 8 KiB
// pages of the runtime's, which hands a large object out in them (256
// contextual slots of 168 bytes, 43,008 bytes, took 49,152: 24 bytes a
// slot unused; 1,024 take 21 exactly). Any size a multiple of 8 needs at
// most 1,024.
func pageBitsOf[T any]() uint8 {
	size := unsafe.Sizeof(*new(T))
	b := uint8(8)
	for b < 13 && (size<<b)%8192 != 0 {
		b++
	}
	return b
}

// pages is where the values of a Table or a Slab live: pages of 1<<bits
// values each that never move.
type pages[T any] struct {
	p    [][]T
	bits uint8
}

// at is value i.
func (p *pages[T]) at(i int32) *T { return &p.p[i>>p.bits][i&(1<<p.bits-1)] }

// grow adds a page when value i would be past the last, and reports how
// many values a page holds.
func (p *pages[T]) grow(i int32) (added bool, size int) {
	if p.bits == 0 {
		p.bits = pageBitsOf[T]()
	}
	size = 1 << p.bits
	if int(i>>p.bits) < len(p.p) {
		return false, size
	}
	pg := make([]T, size)
	HugePages(pg)
	p.p = append(p.p, pg)
	return true, size
}
