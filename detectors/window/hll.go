package window

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// hllP is the precision: 2^7 = 128 one-byte registers, a standard error of
// about 9 %, with linear counting for small sets (exact-ish below ~30).
const hllP = 7
const hllM = 1 << hllP

// HLL is a HyperLogLog distinct counter in a fixed 128-byte array. The
// zero value is an empty set. It is a plain value: copy it, gob it.
type HLL struct {
	R [hllM]uint8
}

// Mix64 is a fast 64-bit mixer (splitmix64 finaliser) for HLL inputs.
func Mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Add inserts a hashed element (pass a well-mixed 64-bit hash).
func (h *HLL) Add(x uint64) {
	idx := x >> (64 - hllP)
	w := x<<hllP | 1<<(hllP-1)
	r := uint8(bits.LeadingZeros64(w)) + 1
	if r > h.R[idx] {
		h.R[idx] = r
	}
}

// hllReg is the register x goes to and the value it offers (1 to 58), as
// HLL.Add computes them.
func hllReg(x uint64) (idx, r uint8) {
	w := x<<hllP | 1<<(hllP-1)
	return uint8(x >> (64 - hllP)), uint8(bits.LeadingZeros64(w)) + 1
}

// Merge folds o into h.
func (h *HLL) Merge(o *HLL) {
	for i, r := range o.R {
		if r > h.R[i] {
			h.R[i] = r
		}
	}
}

// Reset empties the set.
func (h *HLL) Reset() { h.R = [hllM]uint8{} }

// Count estimates the number of distinct elements.
func (h *HLL) Count() float64 {
	var sum float64
	zeros := 0
	for _, r := range h.R {
		sum += pow2neg[r]
		if r == 0 {
			zeros++
		}
	}
	m := float64(hllM)
	if zeros == hllM {
		return 0
	}
	alpha := 0.7213 / (1 + 1.079/m)
	est := alpha * m * m / sum
	if est <= 2.5*m && zeros > 0 {
		est = m * math.Log(m/float64(zeros))
	}
	return est
}

// pow2neg is 2^-r for every register value: Add writes at most 58, but a
// damaged snapshot restores any byte (FuzzRestore: a 121 crashed the
// first window closed after a restart).
var pow2neg = func() (t [256]float64) {
	for i := range t {
		t[i] = math.Ldexp(1, -i)
	}
	return
}()

// HLLSparse is how many nonzero registers a SparseHLL keeps inline.
const HLLSparse = 16

// SparseHLL is an HLL for the many small sets of a table's open windows
// (40 bytes, where an HLL is 128): up to HLLSparse nonzero registers
// inline (index and value), and once one more is nonzero all 128 in an
// HLL of the slab its methods are given. A register not inline is 0, so
// it counts as the HLL of the same elements would, to the bit. The zero
// value is an empty set; its owner frees it (Free) before dropping it.
type SparseHLL struct {
	n   uint8 // inline registers (while d is 0)
	idx [HLLSparse]uint8
	r   [HLLSparse]uint8
	d   int32 // the HLL's id in the slab, 0: inline
}

// Add inserts a hashed element (as HLL.Add), moving the registers to an
// HLL from sl when one beyond HLLSparse becomes nonzero.
func (h *SparseHLL) Add(x uint64, sl *Slab[HLL]) {
	if h.d != 0 {
		sl.At(h.d).Add(x)
		return
	}
	h.addInline(x, sl)
}

func (h *SparseHLL) addInline(x uint64, sl *Slab[HLL]) {
	idx, r := hllReg(x)
	if j := h.find(idx); j < int(h.n) {
		h.r[j] = max(h.r[j], r)
		return
	}
	if h.n < HLLSparse {
		h.idx[h.n], h.r[h.n] = idx, r
		h.n++
		return
	}
	id, d := sl.New()
	for j := range h.n {
		d.R[h.idx[j]] = h.r[j]
	}
	*h = SparseHLL{d: id}
	d.R[idx] = max(d.R[idx], r)
}

// find is the first inline position whose register is idx, HLLSparse
// when none is: the positions past n hold 0, so a result from n on is
// none too. Eight positions at a time: a byte of w is 0 where idx is,
// and the lowest bit of m marks the first such byte (a borrow can only
// mark bytes above it).
func (h *SparseHLL) find(idx uint8) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for k := 0; k < HLLSparse; k += 8 {
		w := binary.LittleEndian.Uint64(h.idx[k:]) ^ uint64(idx)*ones
		if m := (w - ones) &^ w & highs; m != 0 {
			return k + bits.TrailingZeros64(m)/8
		}
	}
	return HLLSparse
}

// Count is the HLL's Count (of the HLL in sl, or of the registers inline).
func (h *SparseHLL) Count(sl *Slab[HLL]) float64 {
	if h.d != 0 {
		return sl.At(h.d).Count()
	}
	var d HLL
	h.Fill(&d, nil)
	return d.Count()
}

// Free returns h's HLL, if it has one, to sl, and empties h.
func (h *SparseHLL) Free(sl *Slab[HLL]) {
	if h.d != 0 {
		sl.Free(h.d)
	}
	*h = SparseHLL{}
}

// CopyOut is a Capture's copy of h (a copy of the one in the table): its
// HLL, if it has one, is appended to ds from sl, and h refers to it there
// (Fill).
func (h *SparseHLL) CopyOut(sl *Slab[HLL], ds []HLL) []HLL {
	if h.d != 0 {
		ds = append(ds, *sl.At(h.d))
		h.d = int32(len(ds))
	}
	return ds
}

// Fill writes the registers into d (zeroed); the HLL of one that has one
// is ds[id-1] (CopyOut made h and ds).
func (h *SparseHLL) Fill(d *HLL, ds []HLL) {
	if h.d != 0 {
		*d = ds[h.d-1]
		return
	}
	for j := range h.n {
		d.R[h.idx[j]] = h.r[j]
	}
}

// Set makes h (empty) the set d: inline when at most HLLSparse of its
// registers are nonzero, else an HLL from sl.
func (h *SparseHLL) Set(d *HLL, sl *Slab[HLL]) {
	if NonZero(d.R[:]) > HLLSparse {
		var p *HLL
		h.d, p = sl.New()
		*p = *d
		return
	}
	for i, r := range d.R {
		if r != 0 {
			h.idx[h.n], h.r[h.n] = uint8(i), r
			h.n++
		}
	}
}

// NonZero is how many of vs are not zero.
func NonZero[V comparable](vs []V) (n int) {
	var zero V
	for _, v := range vs {
		if v != zero {
			n++
		}
	}
	return n
}
