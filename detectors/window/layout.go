package window

// Layout is where a table's entries sit and how its eviction clock stands:
// saved with Export's entries, it lets a restored table evict exactly what
// the saved one would have (Import alone packs the entries, restarts the
// clock hand and marks every entry referenced, so that under eviction a
// restored run would drift from one that never stopped).
type Layout struct {
	N    int32   // entry numbers handed out
	Hand int32   // the clock hand
	Free []int32 // free entry numbers, in the order they will be reused
	Cold []int32 // live entries without a reference mark
	// Held entries and how many passes of the hand each is held for
	// (older snapshots have none: their entries come back referenced)
	Held  []int32
	Holds []uint8
}

// Layout returns the table's layout (for snapshots, with Export).
func (t *Table[K, V]) Layout() Layout {
	l := Layout{N: t.n, Hand: t.hand, Free: append([]int32(nil), t.free...)}
	for i := int32(0); i < t.n; i++ {
		switch st := t.state[i]; {
		case st == stLive:
			l.Cold = append(l.Cold, i)
		case st > stRef:
			l.Held = append(l.Held, i)
			l.Holds = append(l.Holds, st-stRef)
		}
	}
	return l
}

// ImportLayout is Import that puts the entries back where l says they were.
// A layout that does not fit the entries or this table's Max (an older
// snapshot without one, or a smaller max_hosts) falls back to Import.
func (t *Table[K, V]) ImportLayout(es []Entry[K, V], evicted int64, l Layout) {
	if !l.fits(len(es), t.Max) || repeats(es) {
		t.Import(es, evicted)
		return
	}
	t.idx = index{}
	t.pages.p, t.state, t.hashes, t.free = nil, nil, nil, t.free[:0]
	for i := int32(0); i < l.N; {
		_, size := t.pages.grow(i)
		t.state = append(t.state, make([]uint8, size)...)
		if t.byHash {
			t.hashes = append(t.hashes, make([]uint32, size)...)
		}
		i += int32(size)
	}
	t.n, t.hand = l.N, l.Hand
	hole := make([]bool, l.N)
	for _, i := range l.Free {
		hole[i] = true
	}
	next := 0
	for i := int32(0); i < t.n; i++ {
		if hole[i] {
			continue // stays stFree
		}
		t.state[i] = stRef
		e := t.ent(i)
		e.key, e.val = es[next].K, es[next].V
		next++
	}
	for _, i := range l.Cold {
		t.state[i] = stLive
	}
	for k, i := range l.Held {
		t.state[i] = stRef + min(l.Holds[k], MaxHold)
	}
	t.free = append(t.free, l.Free...)
	for t.idx.slots == nil || len(es)*2 > len(t.idx.slots) {
		t.idx.grow()
	}
	t.rebuild()
	t.evicted = evicted
}

// fits reports whether l can place live entries in a table of at most max.
func (l Layout) fits(live, max int) bool {
	if l.N <= 0 || int(l.N) > max || int(l.N) != live+len(l.Free) || l.Hand < 0 || l.Hand >= l.N {
		return false
	}
	seen := make(map[int32]bool, len(l.Free))
	for _, i := range l.Free {
		if i < 0 || i >= l.N || seen[i] {
			return false
		}
		seen[i] = true
	}
	for _, i := range l.Cold {
		if i < 0 || i >= l.N || seen[i] {
			return false
		}
	}
	if len(l.Holds) != len(l.Held) {
		return false
	}
	for _, i := range l.Held {
		if i < 0 || i >= l.N || seen[i] {
			return false
		}
	}
	return true
}

// repeats reports whether a key appears twice in es (a damaged snapshot):
// laid out as they are, both would be indexed, one of them for ever
// unreachable, with whatever it holds elsewhere.
func repeats[K comparable, V any](es []Entry[K, V]) bool {
	seen := make(map[K]struct{}, len(es))
	for _, e := range es {
		if _, ok := seen[e.K]; ok {
			return true
		}
		seen[e.K] = struct{}{}
	}
	return false
}
