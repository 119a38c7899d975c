package window

import (
	"math"
	"unsafe"
)

// A detector that keeps a key's open windows in a Slab holds, per slot,
// the window number (wins) and the slab id of its state (ids, 0: free).
// SlotOf and Oldest search those two arrays.

// Win is a window number as a key keeps it: int64, or int32 where the
// windows are hours (rows' times are within zeekreader's ±9e9 seconds
// of 1970: ±2.5 million hours).
type Win interface{ ~int32 | ~int64 }

// maxWin is the largest W.
func maxWin[W Win]() W {
	m := int64(math.MaxInt64)
	if unsafe.Sizeof(W(0)) == 4 {
		m = math.MaxInt32
	}
	return W(m)
}

// OpenSlot returns the state of window w among a key's slots, taking a
// zeroed one from sl when the key has none (created). When every slot
// holds another window, closeSlot(i) is called first for the oldest one
// and must free it (Slab.Free, ids[i] = 0).
func OpenSlot[T any, W Win](sl *Slab[T], wins []W, ids []int32, w W, closeSlot func(i int)) (v *T, created bool) {
	i, found := SlotOf(wins, ids, w)
	if found {
		return sl.At(ids[i]), false
	}
	if i < 0 {
		i = Oldest(wins, ids, maxWin[W]())
		closeSlot(i)
	}
	ids[i], v = sl.New()
	wins[i] = w
	return v, true
}

// SlotOf returns the slot holding window w (found), else the first free
// slot, else -1: every slot holds another window.
func SlotOf[W Win](wins []W, ids []int32, w W) (i int, found bool) {
	i = -1
	for j, id := range ids {
		if id != 0 && wins[j] == w {
			return j, true
		}
		if id == 0 && i < 0 {
			i = j
		}
	}
	return i, false
}

// Oldest returns the used slot with the earliest window at or before upto
// (the first of equal ones), or -1.
func Oldest[W Win](wins []W, ids []int32, upto W) int {
	o := -1
	for j, id := range ids {
		if id != 0 && wins[j] <= upto && (o < 0 || wins[j] < wins[o]) {
			o = j
		}
	}
	return o
}
