package window

import (
	"math/rand/v2"
	"testing"
)

// TestTableAgainstMap drives a small table and a plain map with the same
// random inserts, lookups, deletes and range-deletes; a weak hash forces
// long probe runs and collisions, so backward-shift deletion is exercised.
func TestTableAgainstMap(t *testing.T) {
	for _, hash := range []struct {
		name string
		f    func(uint32) uint64
	}{{"mixed", func(k uint32) uint64 { return Mix64(uint64(k)) }}, {"weak", func(k uint32) uint64 { return uint64(k % 7) }}} {
		t.Run(hash.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			const max = 300
			tb := NewTableHash[uint32, uint32](max, hash.f)
			ref := map[uint32]uint32{}
			var evicted []uint32
			tb.OnEvict = func(k uint32, v *uint32) {
				if ref[k] != *v {
					t.Fatalf("evicting %d: value %d, want %d", k, *v, ref[k])
				}
				evicted = append(evicted, k)
			}
			for op := 0; op < 200000; op++ {
				k := uint32(r.IntN(1000))
				switch r.IntN(10) {
				case 0, 1, 2, 3:
					v, created := tb.Get(k)
					if _, ok := ref[k]; ok == created {
						t.Fatalf("op %d: Get(%d) created=%v, in map %v", op, k, created, ok)
					}
					for _, e := range evicted {
						delete(ref, e)
					}
					evicted = evicted[:0]
					*v = uint32(op)
					ref[k] = uint32(op)
				case 4, 5, 6:
					v := tb.Peek(k)
					if want, ok := ref[k]; ok != (v != nil) || ok && *v != want {
						t.Fatalf("op %d: Peek(%d) = %v, want %d (%v)", op, k, v, want, ok)
					}
				case 7, 8:
					tb.Delete(k)
					delete(ref, k)
				default:
					tb.Range(func(k uint32, v *uint32) bool {
						if ref[k] != *v {
							t.Fatalf("op %d: range %d = %d, want %d", op, k, *v, ref[k])
						}
						if k%5 == 0 {
							delete(ref, k)
							return true
						}
						return false
					})
				}
				if tb.Len() != len(ref) || tb.Len() > max {
					t.Fatalf("op %d: len %d, want %d (max %d)", op, tb.Len(), len(ref), max)
				}
			}
			for k, want := range ref {
				if v := tb.Find(k); v == nil || *v != want {
					t.Fatalf("Find(%d) = %v, want %d", k, v, want)
				}
			}
			if tb.Evicted() == 0 {
				t.Fatal("the test never filled the table")
			}
		})
	}
}

func TestTableImportExport(t *testing.T) {
	a := NewTable[[2]uint64, int](0)
	for i := 0; i < 5000; i++ {
		v, _ := a.Get([2]uint64{uint64(i), 7})
		*v = i
	}
	for i := 0; i < 5000; i += 3 {
		a.Delete([2]uint64{uint64(i), 7})
	}
	b := NewTable[[2]uint64, int](0)
	b.Import(a.Export(), a.Evicted())
	if b.Len() != a.Len() {
		t.Fatalf("len %d, want %d", b.Len(), a.Len())
	}
	for i := 0; i < 5000; i++ {
		v := b.Peek([2]uint64{uint64(i), 7})
		if (i%3 == 0) != (v == nil) || v != nil && *v != i {
			t.Fatalf("key %d: %v", i, v)
		}
	}
}
