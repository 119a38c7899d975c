package window

import (
	"math/rand/v2"
	"testing"
)

// A table restored with its layout behaves as the saved one from then on:
// the same evictions, in the same order, under the same random workload
// (held entries included).
func TestImportLayoutSameEvictions(t *testing.T) {
	const max = 200
	mk := func(evicted *[]uint32) *Table[uint32, uint32] {
		tb := NewTableHash[uint32, uint32](max, func(k uint32) uint64 { return Mix64(uint64(k)) })
		tb.OnEvict = func(k uint32, _ *uint32) { *evicted = append(*evicted, k) }
		return tb
	}
	ops := func(tb *Table[uint32, uint32], r *rand.Rand, n int) {
		for op := 0; op < n; op++ {
			k := uint32(r.IntN(600))
			switch r.IntN(8) {
			case 0, 1, 2:
				v, _ := tb.Get(k)
				*v = uint32(op)
			case 3:
				v, _ := tb.GetHold(k, uint8(r.IntN(5)))
				*v = uint32(op)
			case 4:
				tb.Find(k)
			case 5:
				tb.FindHold(k, uint8(r.IntN(5)))
			case 6:
				tb.Delete(k)
			default:
				tb.Range(func(k uint32, _ *uint32) bool { return k%9 == 0 })
			}
		}
	}
	for _, withLayout := range []bool{true, false} {
		var ea, eb []uint32
		a := mk(&ea)
		ra := rand.New(rand.NewPCG(7, 8))
		ops(a, ra, 5000)
		b := mk(&eb)
		if withLayout {
			b.ImportLayout(a.Export(), a.Evicted(), a.Layout())
		} else {
			b.Import(a.Export(), a.Evicted())
		}
		ea, eb = ea[:0], eb[:0]
		ops(a, rand.New(rand.NewPCG(9, 10)), 5000)
		ops(b, rand.New(rand.NewPCG(9, 10)), 5000)
		same := len(ea) == len(eb)
		for i := 0; same && i < len(ea); i++ {
			same = ea[i] == eb[i]
		}
		if withLayout && (!same || len(ea) == 0) {
			t.Fatalf("with layout: %d and %d evictions, differing", len(ea), len(eb))
		}
		if !withLayout && same {
			t.Fatal("without layout the evictions should differ (test too easy)")
		}
		if withLayout {
			for _, e := range a.Export() {
				if v := b.Peek(e.K); v == nil || *v != e.V {
					t.Fatalf("key %d: %v, want %d", e.K, v, e.V)
				}
			}
		}
	}
}

func TestLayoutFits(t *testing.T) {
	for _, c := range []struct {
		l    Layout
		live int
		ok   bool
	}{
		{Layout{N: 3, Free: []int32{1}}, 2, true},
		{Layout{}, 0, false},                                         // an older snapshot: no layout
		{Layout{N: 3, Free: []int32{1}}, 3, false},                   // counts disagree
		{Layout{N: 3, Free: []int32{1, 1}}, 1, false},                // a slot twice
		{Layout{N: 3, Free: []int32{5}}, 2, false},                   // out of range
		{Layout{N: 3, Hand: 3}, 3, false},                            // hand out of range
		{Layout{N: 3, Free: []int32{1}, Cold: []int32{1}}, 2, false}, // cold and free
		{Layout{N: 300}, 300, false},                                 // over max
	} {
		if got := c.l.fits(c.live, 200); got != c.ok {
			t.Errorf("%+v with %d live: fits %v, want %v", c.l, c.live, got, c.ok)
		}
	}
}

// A damaged snapshot naming a key twice: with or without its layout, the
// later entry stands, reachable, and the earlier goes through OnEvict (the
// detectors free its slab parts there); they used to stay allocated, and
// laid out as saved the earlier stayed in the table, unreachable.
func TestImportKeyTwice(t *testing.T) {
	for _, withLayout := range []bool{true, false} {
		src := NewTable[uint32, uint32](16)
		for k := range uint32(4) {
			v, _ := src.Get(k)
			*v = k + 100
		}
		es := src.Export()
		l := src.Layout()
		es = append(es, Entry[uint32, uint32]{K: es[1].K, V: 7})
		l.N++ // (the layout of a table holding both)
		var freed []uint32
		tb := NewTable[uint32, uint32](16)
		tb.OnEvict = func(_ uint32, v *uint32) { freed = append(freed, *v) }
		if withLayout {
			tb.ImportLayout(es, 0, l)
		} else {
			tb.Import(es, 0)
		}
		if v := tb.Peek(es[1].K); v == nil || *v != 7 || tb.Len() != 4 {
			t.Errorf("layout %v: key %d is %v in a table of %d, want the later entry's 7 in 4", withLayout, es[1].K, v, tb.Len())
		}
		if len(freed) != 1 || freed[0] != es[1].V {
			t.Errorf("layout %v: OnEvict saw %v, want the earlier entry's %d", withLayout, freed, es[1].V)
		}
	}
}
