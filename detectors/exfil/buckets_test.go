package exfil

import (
	"math"
	"math/rand"
	"testing"

	"github.com/zeekanom/zeekanom/detectors/window"
)

// denseOf is b's 64 buckets, from its dense array in sl or inline.
func denseOf(b *buckets, sl *window.Slab[dense]) (a dense) {
	if b.D != 0 {
		return *sl.At(b.D)
	}
	b.fill(&a, nil)
	return a
}

// The sparse buckets read as the dense [64]uint32 they replaced would,
// after every row of random windows: a few destinations' buckets (kept
// inline), many (dense, switched to in the middle of the window), counts
// of 0 kB and counts that saturate at 2^32 - 1. A window is dense exactly
// when more than nSparse buckets are nonzero, and set (Restore) makes
// the same form from the dense one.
func TestBucketsAsDense(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var sl window.Slab[dense]
	switched := 0
	for round := range 2000 {
		var b buckets
		var want dense
		spread := 1 + r.Intn(64) // how many buckets the window's destinations hash to
		idx := r.Perm(64)[:spread]
		for row := range r.Intn(300) {
			i := uint8(idx[r.Intn(spread)])
			var kB uint64
			switch r.Intn(8) {
			case 0:
				kB = 0 // under 512 bytes
			case 1:
				kB = uint64(r.Int63n(1 << 33)) // past a bucket's 2^32 - 1
			default:
				kB = uint64(r.Intn(5000))
			}
			wasDense := b.D != 0
			b.add(i, kB, &sl)
			want[i] = uint32(min(uint64(want[i])+kB, math.MaxUint32))
			if b.D != 0 && !wasDense {
				switched++
			}
			got := denseOf(&b, &sl)
			if got != want {
				t.Fatalf("round %d row %d: bucket %d += %d kB: buckets %v, want %v", round, row, i, kB, got, want)
			}
			var top uint32
			for _, v := range want {
				top = max(top, v)
			}
			if b.top(&sl) != top {
				t.Fatalf("round %d row %d: top %d, want %d", round, row, b.top(&sl), top)
			}
			if (b.D != 0) != (window.NonZero(want[:]) > nSparse) {
				t.Fatalf("round %d row %d: %d nonzero buckets, dense %v", round, row, window.NonZero(want[:]), b.D != 0)
			}
		}
		var c buckets
		c.set(&want, &sl)
		if denseOf(&c, &sl) != want || (c.D != 0) != (b.D != 0) {
			t.Fatalf("round %d: set makes %v (dense %v) of %v", round, denseOf(&c, &sl), c.D != 0, want)
		}
		for _, id := range []int32{b.D, c.D} {
			if id != 0 {
				sl.Free(id)
			}
		}
	}
	if switched < 500 || sl.Len() != 0 {
		t.Fatalf("%d windows went dense, %d dense arrays left in use", switched, sl.Len())
	}
}
