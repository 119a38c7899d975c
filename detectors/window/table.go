package window

import (
	"hash/maphash"
	"reflect"
)

// Table is a bounded map from K to V that keeps at most Max entries: when
// full, a least-recently-active entry is evicted (and counted), chosen by
// the CLOCK approximation of LRU: every hit sets a reference mark, and the
// eviction hand skips (and clears) marked entries. Values live in
// fixed-size pages that never move, the marks in one dense byte array, so
// steady-state lookups neither allocate nor touch other entries. Keys are
// found through a compact open-addressing index of 8-byte slots (see
// index), a fraction of the size of a Go map holding the keys, so that a
// lookup misses the cache once in the index and once in the entry.
type Table[K comparable, V any] struct {
	Max     int
	idx     index
	hash    func(K) uint64
	pages   pages[tEnt[K, V]] // fixed-size pages: growth never copies entries
	state   []uint8           // per entry: 0 free, 1 live, 2 live and referenced, 2+n referenced and held for n more passes of the hand
	hashes  []uint32          // per live entry: its key's 32-bit hash, once EvictByHash
	n       int32             // entries handed out
	hand    int32
	free    []int32
	evicted int64
	byHash  bool // EvictByHash
	// pointers: K or V holds pointers, which a freed entry must drop
	pointers bool
	dels     []int32 // scratch of Range
	// OnEvict, when set, sees an entry before it is evicted.
	OnEvict func(k K, v *V)
}

const (
	stFree = iota
	stLive
	stRef
)

func (t *Table[K, V]) ent(i int32) *tEnt[K, V] { return t.pages.at(i) }

type tEnt[K comparable, V any] struct {
	key K
	val V
}

// Stats are a table's counters.
type Stats struct {
	Tracked int   `json:"tracked"`
	Evicted int64 `json:"evicted"`
	Late    int64 `json:"late,omitempty"`
	// Suppressed counts notices a detector dropped on purpose (beacon:
	// shared services and a model's known periodic traffic).
	Suppressed int64 `json:"suppressed,omitempty"`
}

// NewTable returns a table of at most max entries (max <= 0 means 100000).
func NewTable[K comparable, V any](max int) *Table[K, V] {
	seed := maphash.MakeSeed()
	return NewTableHash[K, V](max, func(k K) uint64 { return maphash.Comparable(seed, k) })
}

// NewTableHash is NewTable with the key's hash function (faster than the
// generic one for keys that have a cheap hash of their own). The hash
// decides only where the index keeps a key, never an order: iteration and
// eviction follow the entries' slots.
func NewTableHash[K comparable, V any](max int, hash func(K) uint64) *Table[K, V] {
	if max <= 0 {
		max = 100000
	}
	return &Table[K, V]{Max: max, hash: hash,
		pointers: hasPointers(reflect.TypeFor[K]()) || hasPointers(reflect.TypeFor[V]())}
}

// find returns k's entry number and index slot, or -1 and the empty
// slot where k would go.
func (t *Table[K, V]) find(k K) (int32, uint32, uint32) {
	h := uint32(t.hash(k))
	if t.idx.slots == nil {
		return -1, h, 0
	}
	for i := h & t.idx.mask; ; i = (i + 1) & t.idx.mask {
		s := t.idx.slots[i]
		if s == 0 {
			return -1, h, i
		}
		if uint32(s>>32) == h {
			if e := int32(uint32(s)) - 1; t.ent(e).key == k {
				return e, h, i
			}
		}
	}
}

// PeekSlot reads the index slot where a key whose hash (the table's hash
// function's) is h is looked up first, and returns it (0: empty, or no
// index yet): a caller that reads the slots of several keys before
// finding them has their cache misses overlap instead of following one
// another.
func (t *Table[K, V]) PeekSlot(h uint64) uint64 {
	if t.idx.slots == nil {
		return 0
	}
	return t.idx.slots[uint32(h)&t.idx.mask]
}

// Len is the number of entries.
func (t *Table[K, V]) Len() int { return t.idx.n }

// Evicted is how many entries were evicted for room.
func (t *Table[K, V]) Evicted() int64 { return t.evicted }

// Stats reports tracked entries and evictions.
func (t *Table[K, V]) Stats() Stats { return Stats{Tracked: t.idx.n, Evicted: t.evicted} }

// Peek returns the value of k without marking it active.
func (t *Table[K, V]) Peek(k K) *V {
	if i, _, _ := t.find(k); i >= 0 {
		return &t.ent(i).val
	}
	return nil
}

// Find returns the value of k and marks it active, or nil (no insert).
func (t *Table[K, V]) Find(k K) *V { return t.FindHold(k, 0) }

// FindHold is Find that also holds the entry for passes more passes of
// the eviction hand (see GetHold).
func (t *Table[K, V]) FindHold(k K, passes uint8) *V {
	i, _, _ := t.find(k)
	if i < 0 {
		return nil
	}
	t.touch(i, passes)
	return &t.ent(i).val
}

// FindHoldFor is Find that holds an entry found for the passes its value
// has earned, held(v), as GetHoldFor does.
func (t *Table[K, V]) FindHoldFor(k K, held func(*V) uint8) *V {
	i, _, _ := t.find(k)
	if i < 0 {
		return nil
	}
	v := &t.ent(i).val
	t.touch(i, held(v))
	return v
}

// MaxHold is the most passes an entry can be held for.
const MaxHold = 250

// touch marks entry i referenced, held for at least passes more passes
// of the hand; a hold already longer stays.
func (t *Table[K, V]) touch(i int32, passes uint8) {
	t.state[i] = max(t.state[i], stRef+min(passes, MaxHold))
}

// Get returns the value of k, creating a zero value when absent (evicting
// a least recently active entry when full), and marks it active. created
// reports a new entry.
func (t *Table[K, V]) Get(k K) (v *V, created bool) { return t.GetHold(k, 0) }

// GetHold is Get that also holds the entry: the eviction hand passes it
// passes more times before it can be evicted (each pass takes one away),
// so an entry worth keeping (a key with failed connections, for the scan
// detector) outlives the many one-off keys churning through a full table.
// Holds cost the hand at most one step per pass granted, so eviction stays
// cheap on average whatever the holds, and one eviction from a table whose
// every entry is held costs at most two turns of the hand and two scans of
// the states, not a turn per pass held (clockVictim; 0.43 ms against 41 ms
// at 200,000 entries).
func (t *Table[K, V]) GetHold(k K, passes uint8) (v *V, created bool) {
	i, h, slot := t.find(k)
	if i >= 0 {
		t.touch(i, passes)
		return &t.ent(i).val, false
	}
	return t.insert(k, h, slot, passes), true
}

// GetHoldFor is Get that holds an entry found for the passes its value
// has earned, held(v) (see GetHold): for tables whose entries become
// worth keeping by what they accumulate (a host's profile), which is
// known only once the entry is found. A new entry is not held.
func (t *Table[K, V]) GetHoldFor(k K, held func(*V) uint8) (v *V, created bool) {
	i, h, slot := t.find(k)
	if i >= 0 {
		v = &t.ent(i).val
		t.touch(i, held(v))
		return v, false
	}
	return t.insert(k, h, slot, 0), true
}

// insert adds k (absent; h and slot from find), evicting when full.
func (t *Table[K, V]) insert(k K, h, slot uint32, passes uint8) *V {
	var i int32
	switch {
	case len(t.free) > 0:
		i = t.free[len(t.free)-1]
		t.free = t.free[:len(t.free)-1]
	case int(t.n) < t.Max:
		i = t.n
		if added, size := t.pages.grow(i); added {
			t.state = append(t.state, make([]uint8, size)...)
			if t.byHash {
				t.hashes = append(t.hashes, make([]uint32, size)...)
			}
		}
		t.n++
	default:
		i = t.victim()
		old := t.ent(i)
		if t.OnEvict != nil {
			t.OnEvict(old.key, &old.val)
		}
		if t.byHash {
			t.unindexAt(i)
		} else {
			t.unindex(old.key)
		}
		t.evicted++
		slot = t.idx.empty(h) // the removal may have moved keys
	}
	e := t.ent(i)
	var zero V
	e.key, e.val = k, zero
	t.state[i] = stRef + min(passes, MaxHold)
	if t.byHash {
		t.hashes[i] = h
	}
	if t.idx.put(slot, h, i) {
		t.reindex()
	}
	return &e.val
}

// victim runs the clock hand to an unreferenced live entry.
func (t *Table[K, V]) victim() int32 {
	var i int32
	t.hand, i = clockVictim(t.state[:t.n], t.hand)
	return i
}

// clockVictim runs a clock hand from hand over the entries' states to the
// first unreferenced live one, taking a reference or one pass of a hold
// from each entry it passes; it returns the hand's next position and the
// victim (state has a live entry). When a whole turn finds none (every
// entry referenced and held: a full table of held keys), the turns the
// hand would make before some entry is free of its hold, up to MaxHold of
// them, are taken in one step: every state loses what the least held
// entry still has (two scans of the states), so the hand turns at most
// once more, with the same victim and states as turn by turn.
func clockVictim(state []uint8, hand int32) (int32, int32) {
	n := int32(len(state))
	for steps := int32(0); ; steps++ {
		if steps == n {
			least := uint8(255)
			for _, st := range state {
				if st != stFree {
					least = min(least, st)
				}
			}
			if least > stLive {
				for k, st := range state {
					if st != stFree {
						state[k] = st - (least - stLive)
					}
				}
			}
		}
		i := hand
		hand++
		if hand >= n {
			hand = 0
		}
		switch st := state[i]; {
		case st == stLive:
			return hand, i
		case st >= stRef:
			state[i]-- // a reference, or one pass of a hold
		}
	}
}

// Delete removes k.
func (t *Table[K, V]) Delete(k K) {
	i := t.unindex(k)
	if i < 0 {
		return
	}
	t.free1(i)
}

// free1 frees entry i (already out of the index).
func (t *Table[K, V]) free1(i int32) {
	if t.pointers {
		// drop what the entry references; entries without pointers are
		// zeroed when reused (Get), not twice
		e := t.ent(i)
		var zk K
		var zv V
		e.key, e.val = zk, zv
	}
	t.state[i] = stFree
	t.free = append(t.free, i)
}

// Range calls f for every entry in slot order; f may not add entries but
// may ask for the current one to be deleted by returning true. Deleted
// entries go when the pass ends (f still finds them): when they are many,
// as when a window's first stages all close, the index is rebuilt from
// the entries that stay instead of being unpicked key by key.
func (t *Table[K, V]) Range(f func(k K, v *V) (del bool)) {
	dels := t.dels[:0]
	for i := int32(0); i < t.n; i++ {
		if t.state[i] == stFree {
			continue
		}
		e := t.ent(i)
		if f(e.key, &e.val) {
			dels = append(dels, i)
		}
	}
	if len(dels) > t.idx.n/4 {
		for _, i := range dels {
			t.free1(i)
		}
		t.rebuild()
	} else {
		for _, i := range dels {
			t.Delete(t.ent(i).key)
		}
	}
	t.dels = dels[:0]
}

// rebuild puts every live entry into an emptied index of the same size.
func (t *Table[K, V]) rebuild() {
	clear(t.idx.slots)
	t.idx.n = 0
	for i := int32(0); i < t.n; i++ {
		if t.state[i] != stFree {
			h := uint32(t.hash(t.ent(i).key))
			if t.byHash {
				t.hashes[i] = h
			}
			t.idx.put(t.idx.empty(h), h, i)
		}
	}
}

// Entry is one table entry in a snapshot.
type Entry[K comparable, V any] struct {
	K K
	V V
}

// Export lists the entries in slot order (for snapshots).
func (t *Table[K, V]) Export() []Entry[K, V] {
	out := make([]Entry[K, V], 0, t.idx.n)
	for i := int32(0); i < t.n; i++ {
		if t.state[i] != stFree {
			e := t.ent(i)
			out = append(out, Entry[K, V]{e.key, e.val})
		}
	}
	return out
}

// Import replaces the content with entries (as Export returned them) and
// sets the eviction counter.
func (t *Table[K, V]) Import(es []Entry[K, V], evicted int64) {
	t.idx = index{}
	t.pages.p, t.state, t.hashes, t.n, t.hand = nil, nil, nil, 0, 0
	t.free = t.free[:0]
	for _, e := range es {
		v, created := t.Get(e.K)
		if !created && t.OnEvict != nil {
			// a key named twice (a damaged snapshot): the later entry
			// stands, and what the earlier holds elsewhere goes back
			t.OnEvict(e.K, v)
		}
		*v = e.V
	}
	t.evicted = evicted
}

// unindex removes k from the index and returns its entry number (-1 when
// absent).
func (t *Table[K, V]) unindex(k K) int32 {
	i, _, slot := t.find(k)
	if i < 0 {
		return -1
	}
	t.idx.remove(slot)
	return i
}

// EvictByHash makes the table keep each entry's 32-bit hash (4 bytes an
// entry), from which an eviction finds the victim's index slot
// (unindexAt), for a table that evicts at most rows, as scan's
// first stages do on a busy sensor.
func (t *Table[K, V]) EvictByHash() {
	if t.byHash {
		return
	}
	t.byHash = true
	t.hashes = make([]uint32, len(t.state))
	for i := int32(0); i < t.n; i++ {
		if t.state[i] != stFree {
			t.hashes[i] = uint32(t.hash(t.ent(i).key))
		}
	}
}

// unindexAt removes live entry i from the index, its slot found from the
// hash kept for it (EvictByHash): the victim's key, a cache miss as the
// least recently used entry, need not be read and hashed before the index
// can be read, so the two misses are no longer one after the other.
func (t *Table[K, V]) unindexAt(i int32) {
	h := t.hashes[i]
	for s := h & t.idx.mask; ; s = (s + 1) & t.idx.mask {
		if uint32(t.idx.slots[s]) == uint32(i)+1 {
			t.idx.remove(s)
			return
		}
	}
}

// reindex doubles the index and puts every live entry back.
func (t *Table[K, V]) reindex() {
	t.idx.grow()
	for i := int32(0); i < t.n; i++ {
		if t.state[i] != stFree {
			var h uint32
			if t.byHash {
				h = t.hashes[i]
			} else {
				h = uint32(t.hash(t.ent(i).key))
			}
			t.idx.put(t.idx.empty(h), h, i)
		}
	}
}

// index maps a key's 32-bit hash to an entry number by linear probing over
// 8-byte slots (hash << 32 | entry+1; 0 is empty), kept at most half full.
// Deletion shifts the following run back, so there are no tombstones and
// lookups never slow down with churn.
type index struct {
	slots []uint64
	mask  uint32
	n     int
}

// empty returns the first empty slot on h's probe path (the table holds
// no key equal to the one being placed).
func (x *index) empty(h uint32) uint32 {
	if x.slots == nil {
		return 0
	}
	i := h & x.mask
	for x.slots[i] != 0 {
		i = (i + 1) & x.mask
	}
	return i
}

// put fills slot (from find or empty); it returns true when the index has
// to grow (the caller reindexes everything).
func (x *index) put(slot, h uint32, e int32) bool {
	if x.slots == nil {
		x.grow()
		slot = h & x.mask
	}
	x.slots[slot] = uint64(h)<<32 | uint64(uint32(e)+1)
	x.n++
	return x.n*2 > len(x.slots)
}

func (x *index) grow() {
	size := max(64, 2*len(x.slots))
	x.slots, x.mask = make([]uint64, size), uint32(size-1)
	HugePages(x.slots)
	x.n = 0
}

// remove empties slot and shifts back the entries after it that would no
// longer be found (backward-shift deletion).
func (x *index) remove(slot uint32) {
	x.n--
	i := slot
	for j := (i + 1) & x.mask; x.slots[j] != 0; j = (j + 1) & x.mask {
		home := uint32(x.slots[j]>>32) & x.mask
		// move j to i when its home is not in (i, j] (cyclically)
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = 0
}

// hasPointers reports whether values of t hold pointers (which the garbage
// collector follows).
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	}
	return true // pointer, string, slice, map, interface, func, chan
}
