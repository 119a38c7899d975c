package window

import (
	"math"
	"testing"
)

func TestSlotOfOldest(t *testing.T) {
	for _, c := range []struct {
		name        string
		wins        []int64
		ids         []int32
		w, upto     int64
		slot        int
		found       bool
		oldest      int
		oldestUnder int
	}{
		{"empty", []int64{0, 0, 0}, []int32{0, 0, 0}, 5, 10, 0, false, -1, -1},
		{"hit", []int64{4, 5, 0}, []int32{1, 2, 0}, 5, 4, 1, true, 0, 0},
		{"free after used", []int64{4, 0, 6}, []int32{3, 0, 9}, 5, 5, 1, false, 0, 0},
		{"full", []int64{7, 4, 6}, []int32{1, 2, 3}, 5, 3, -1, false, 1, -1},
		{"free slot keeps a stale window", []int64{5, 5}, []int32{0, 2}, 5, 9, 1, true, 1, 1},
		{"ties: first", []int64{4, 4}, []int32{1, 2}, 9, 4, -1, false, 0, 0},
	} {
		i, found := SlotOf(c.wins, c.ids, c.w)
		if i != c.slot || found != c.found {
			t.Errorf("%s: SlotOf = %d, %v; want %d, %v", c.name, i, found, c.slot, c.found)
		}
		if o := Oldest(c.wins, c.ids, math.MaxInt64); o != c.oldest {
			t.Errorf("%s: Oldest = %d, want %d", c.name, o, c.oldest)
		}
		if o := Oldest(c.wins, c.ids, c.upto); o != c.oldestUnder {
			t.Errorf("%s: Oldest(≤%d) = %d, want %d", c.name, c.upto, o, c.oldestUnder)
		}
	}
}

func TestOpenSlot(t *testing.T) {
	var sl Slab[int]
	var wins [2]int64
	var ids [2]int32
	closed := -1
	closeSlot := func(i int) { closed = i; sl.Free(ids[i]); ids[i] = 0 }
	open := func(w int64) (*int, bool) { return OpenSlot(&sl, wins[:], ids[:], w, closeSlot) }
	a, created := open(7)
	*a = 70
	if !created || wins[0] != 7 || ids[0] == 0 {
		t.Fatalf("first window: created %v, wins %v, ids %v", created, wins, ids)
	}
	if b, created := open(7); created || b != a {
		t.Fatal("the same window opened twice")
	}
	b, _ := open(5)
	*b = 50
	if c, created := open(9); !created || closed != 1 || wins[1] != 9 || *c != 0 || *a != 70 {
		t.Fatalf("full: closed slot %d (want 1, window 5), wins %v, new value %d", closed, wins, *c)
	}
	if sl.Len() != 2 {
		t.Fatalf("%d values in use", sl.Len())
	}
}
