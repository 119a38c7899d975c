package window

// Table is a bounded map from K to V that keeps at most Max entries: when
// full, a least-recently-active entry is evicted (and counted), chosen by
// the CLOCK approximation of LRU: every hit sets a reference mark, and the
// eviction hand skips (and clears) marked entries. Values live in
// fixed-size pages that never move, the marks in one dense byte array, so
// steady-state lookups neither allocate nor touch other entries.
type Table[K comparable, V any] struct {
	Max     int
	idx     map[K]int32
	pages   [][]tEnt[K, V] // fixed-size pages: growth never copies entries
	state   []uint8        // per entry: 0 free, 1 live, 2 live and referenced
	n       int32          // entries handed out
	hand    int32
	free    []int32
	evicted int64
	// OnEvict, when set, sees an entry before it is evicted.
	OnEvict func(k K, v *V)
}

const (
	stFree = iota
	stLive
	stRef
)

const pageBits = 8
const pageSize = 1 << pageBits

func (t *Table[K, V]) ent(i int32) *tEnt[K, V] { return &t.pages[i>>pageBits][i&(pageSize-1)] }

type tEnt[K comparable, V any] struct {
	key K
	val V
}

// Stats are a table's counters.
type Stats struct {
	Tracked int   `json:"tracked"`
	Evicted int64 `json:"evicted"`
	Late    int64 `json:"late,omitempty"`
}

// NewTable returns a table of at most max entries (max <= 0 means 100000).
func NewTable[K comparable, V any](max int) *Table[K, V] {
	if max <= 0 {
		max = 100000
	}
	return &Table[K, V]{Max: max, idx: make(map[K]int32)}
}

// Len is the number of entries.
func (t *Table[K, V]) Len() int { return len(t.idx) }

// Evicted is how many entries were evicted for room.
func (t *Table[K, V]) Evicted() int64 { return t.evicted }

// Stats reports tracked entries and evictions.
func (t *Table[K, V]) Stats() Stats { return Stats{Tracked: len(t.idx), Evicted: t.evicted} }

// Peek returns the value of k without marking it active.
func (t *Table[K, V]) Peek(k K) *V {
	if i, ok := t.idx[k]; ok {
		return &t.ent(i).val
	}
	return nil
}

// Find returns the value of k and marks it active, or nil (no insert).
func (t *Table[K, V]) Find(k K) *V {
	i, ok := t.idx[k]
	if !ok {
		return nil
	}
	t.state[i] = stRef
	return &t.ent(i).val
}

// Get returns the value of k, creating a zero value when absent (evicting
// a least recently active entry when full), and marks it active. created
// reports a new entry.
func (t *Table[K, V]) Get(k K) (v *V, created bool) {
	if i, ok := t.idx[k]; ok {
		t.state[i] = stRef
		return &t.ent(i).val, false
	}
	var i int32
	switch {
	case len(t.free) > 0:
		i = t.free[len(t.free)-1]
		t.free = t.free[:len(t.free)-1]
	case int(t.n) < t.Max:
		i = t.n
		if int(i>>pageBits) == len(t.pages) {
			t.pages = append(t.pages, make([]tEnt[K, V], pageSize))
			t.state = append(t.state, make([]uint8, pageSize)...)
		}
		t.n++
	default:
		i = t.victim()
		old := t.ent(i)
		if t.OnEvict != nil {
			t.OnEvict(old.key, &old.val)
		}
		delete(t.idx, old.key)
		t.evicted++
	}
	e := t.ent(i)
	var zero V
	e.key, e.val = k, zero
	t.state[i] = stRef
	t.idx[k] = i
	return &e.val, true
}

// victim runs the clock hand to an unreferenced live entry.
func (t *Table[K, V]) victim() int32 {
	for {
		i := t.hand
		t.hand++
		if t.hand >= t.n {
			t.hand = 0
		}
		switch t.state[i] {
		case stRef:
			t.state[i] = stLive
		case stLive:
			return i
		}
	}
}

// Delete removes k.
func (t *Table[K, V]) Delete(k K) {
	i, ok := t.idx[k]
	if !ok {
		return
	}
	delete(t.idx, k)
	e := t.ent(i)
	var zk K
	var zv V
	e.key, e.val = zk, zv
	t.state[i] = stFree
	t.free = append(t.free, i)
}

// Range calls f for every entry in slot order; f may not add entries but
// may ask for the current one to be deleted by returning true.
func (t *Table[K, V]) Range(f func(k K, v *V) (del bool)) {
	for i := int32(0); i < t.n; i++ {
		if t.state[i] == stFree {
			continue
		}
		e := t.ent(i)
		if f(e.key, &e.val) {
			t.Delete(e.key)
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
	out := make([]Entry[K, V], 0, len(t.idx))
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
	t.idx = make(map[K]int32, len(es))
	t.pages, t.state, t.n, t.hand = nil, nil, 0, 0
	t.free = t.free[:0]
	for _, e := range es {
		v, _ := t.Get(e.K)
		*v = e.V
	}
	t.evicted = evicted
}
