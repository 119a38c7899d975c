package window

import (
	"math"
	"math/rand"
	"testing"
)

// registers is h's HLL: its own in sl, or its registers inline.
func registers(h *SparseHLL, sl *Slab[HLL]) (d HLL) {
	if h.d != 0 {
		return *sl.At(h.d)
	}
	h.Fill(&d, nil)
	return d
}

// A SparseHLL holds the registers of the HLL of the same elements after
// every Add, and counts as it does to the bit, on random sets from one
// element to thousands (inline, switched to an HLL of the slab in the
// middle, and from the start of a large set), with repeats. It keeps
// them inline exactly while at most HLLSparse are nonzero; Set makes
// the same form from an HLL, and CopyOut and Fill copy it.
func TestSparseHLLAsHLL(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var sl Slab[HLL]
	switched := 0
	for round := range 3000 {
		var h SparseHLL
		var want HLL
		distinct := 1 + r.Intn([]int{4, 16, 40, 300, 5000}[round%5])
		for i := range r.Intn(2 * distinct) {
			x := Mix64(uint64(round)<<32 | uint64(r.Intn(distinct)))
			wasDense := h.d != 0
			h.Add(x, &sl)
			want.Add(x)
			if h.d != 0 && !wasDense {
				switched++
			}
			if got := registers(&h, &sl); got != want {
				t.Fatalf("round %d add %d: registers %v, want %v", round, i, got.R, want.R)
			}
			if (h.d != 0) != (NonZero(want.R[:]) > HLLSparse) {
				t.Fatalf("round %d add %d: %d nonzero registers, in the slab %v", round, i, NonZero(want.R[:]), h.d != 0)
			}
			if c, w := h.Count(&sl), want.Count(); math.Float64bits(c) != math.Float64bits(w) {
				t.Fatalf("round %d add %d: count %v, want %v", round, i, c, w)
			}
		}
		var s SparseHLL
		s.Set(&want, &sl)
		if registers(&s, &sl) != want || (s.d != 0) != (h.d != 0) || math.Float64bits(s.Count(&sl)) != math.Float64bits(want.Count()) {
			t.Fatalf("round %d: Set makes %v (in the slab %v) of %v", round, registers(&s, &sl).R, s.d != 0, want.R)
		}
		c := h
		ds := c.CopyOut(&sl, []HLL{{}})
		var got HLL
		c.Fill(&got, ds)
		if got != want {
			t.Fatalf("round %d: a copy fills %v, want %v", round, got.R, want.R)
		}
		h.Free(&sl)
		s.Free(&sl)
	}
	if switched < 1000 || sl.Len() != 0 {
		t.Fatalf("%d sets went to the slab, %d HLLs left in use", switched, sl.Len())
	}
}

// A damaged snapshot can restore any register value: set from one, a
// SparseHLL counts as the HLL.
func TestSparseHLLDamaged(t *testing.T) {
	var sl Slab[HLL]
	for _, n := range []int{1, HLLSparse, HLLSparse + 1, hllM} {
		var d HLL
		for i := range n {
			d.R[i*7%hllM] = uint8(255 - i)
		}
		var h SparseHLL
		h.Set(&d, &sl)
		if c, w := h.Count(&sl), d.Count(); math.Float64bits(c) != math.Float64bits(w) {
			t.Fatalf("%d registers: count %v, want %v", n, c, w)
		}
		h.Add(Mix64(1), &sl)
		h.Free(&sl)
	}
}
