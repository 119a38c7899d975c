package window

import "math"

// A detector that keeps a key's open windows in a Slab holds, per slot,
// the window number (wins) and the slab id of its state (ids, 0: free).
// SlotOf and Oldest search those two arrays.

// OpenSlot returns the state of window w among a key's slots, taking a
// zeroed one from sl when the key has none (created). When every slot
// holds another window, closeSlot(i) is called first for the oldest one
// and must free it (Slab.Free, ids[i] = 0).
func OpenSlot[T any](sl *Slab[T], wins []int64, ids []int32, w int64, closeSlot func(i int)) (v *T, created bool) {
	i, found := SlotOf(wins, ids, w)
	if found {
		return sl.At(ids[i]), false
	}
	if i < 0 {
		i = Oldest(wins, ids, math.MaxInt64)
		closeSlot(i)
	}
	ids[i], v = sl.New()
	wins[i] = w
	return v, true
}

// SlotOf returns the slot holding window w (found), else the first free
// slot, else -1: every slot holds another window.
func SlotOf(wins []int64, ids []int32, w int64) (i int, found bool) {
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
func Oldest(wins []int64, ids []int32, upto int64) int {
	o := -1
	for j, id := range ids {
		if id != 0 && wins[j] <= upto && (o < 0 || wins[j] < wins[o]) {
			o = j
		}
	}
	return o
}
