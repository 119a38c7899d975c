package window

import (
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
