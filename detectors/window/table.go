package window

// Table is a bounded map from K to V that keeps at most Max entries: when
// full, the least recently active entry is evicted (and counted). Values
// live in one preallocated slice, so steady-state lookups do not allocate.
type Table[K comparable, V any] struct {
	Max     int
	idx     map[K]int32
	pages   [][]tEnt[K, V] // fixed-size pages: growth never copies entries
	n       int32          // entries handed out
	head    int32          // most recently active
	tail    int32          // least recently active
	free    []int32
	evicted int64
	// OnEvict, when set, sees an entry before it is evicted.
	OnEvict func(k K, v *V)
}

const pageBits = 8
const pageSize = 1 << pageBits

func (t *Table[K, V]) ent(i int32) *tEnt[K, V] { return &t.pages[i>>pageBits][i&(pageSize-1)] }

type tEnt[K comparable, V any] struct {
	key        K
	val        V
	prev, next int32
	live       bool
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
	return &Table[K, V]{Max: max, idx: make(map[K]int32), head: -1, tail: -1}
}

// Len is the number of entries.
func (t *Table[K, V]) Len() int { return len(t.idx) }

// Evicted is how many entries were evicted for room.
func (t *Table[K, V]) Evicted() int64 { return t.evicted }

// Stats reports tracked entries and evictions.
func (t *Table[K, V]) Stats() Stats { return Stats{Tracked: len(t.idx), Evicted: t.evicted} }

func (t *Table[K, V]) unlink(i int32) {
	e := t.ent(i)
	if e.prev >= 0 {
		t.ent(e.prev).next = e.next
	} else {
		t.head = e.next
	}
	if e.next >= 0 {
		t.ent(e.next).prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (t *Table[K, V]) pushFront(i int32) {
	e := t.ent(i)
	e.prev, e.next = -1, t.head
	if t.head >= 0 {
		t.ent(t.head).prev = i
	}
	t.head = i
	if t.tail < 0 {
		t.tail = i
	}
}

// Peek returns the value of k without touching its recency.
func (t *Table[K, V]) Peek(k K) *V {
	if i, ok := t.idx[k]; ok {
		return &t.ent(i).val
	}
	return nil
}

// Get returns the value of k, creating a zero value when absent (evicting
// the least recently active entry when full), and marks it active. created
// reports a new entry.
func (t *Table[K, V]) Get(k K) (v *V, created bool) {
	if i, ok := t.idx[k]; ok {
		if t.head != i {
			t.unlink(i)
			t.pushFront(i)
		}
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
		}
		t.n++
	default:
		i = t.tail
		old := t.ent(i)
		if t.OnEvict != nil {
			t.OnEvict(old.key, &old.val)
		}
		delete(t.idx, old.key)
		t.unlink(i)
		t.evicted++
	}
	e := t.ent(i)
	var zero V
	e.key, e.val, e.live = k, zero, true
	t.idx[k] = i
	t.pushFront(i)
	return &e.val, true
}

// Delete removes k.
func (t *Table[K, V]) Delete(k K) {
	i, ok := t.idx[k]
	if !ok {
		return
	}
	delete(t.idx, k)
	t.unlink(i)
	e := t.ent(i)
	var zk K
	var zv V
	e.key, e.val, e.live = zk, zv, false
	t.free = append(t.free, i)
}

// Range calls f for every entry, least recently active first; f may not
// add entries but may ask for the current one to be deleted by returning
// true.
func (t *Table[K, V]) Range(f func(k K, v *V) (del bool)) {
	for i := t.tail; i >= 0; {
		e := t.ent(i)
		prev := e.prev
		if f(e.key, &e.val) {
			t.Delete(e.key)
		}
		i = prev
	}
}

// Entry is one table entry in a snapshot.
type Entry[K comparable, V any] struct {
	K K
	V V
}

// Export lists the entries, least recently active first (for snapshots).
func (t *Table[K, V]) Export() []Entry[K, V] {
	out := make([]Entry[K, V], 0, len(t.idx))
	for i := t.tail; i >= 0; i = t.ent(i).prev {
		e := t.ent(i)
		out = append(out, Entry[K, V]{e.key, e.val})
	}
	return out
}

// Import replaces the content with entries (as Export returned them) and
// sets the eviction counter.
func (t *Table[K, V]) Import(es []Entry[K, V], evicted int64) {
	t.idx = make(map[K]int32, len(es))
	t.pages, t.n = nil, 0
	t.free = t.free[:0]
	t.head, t.tail = -1, -1
	for _, e := range es {
		v, _ := t.Get(e.K)
		*v = e.V
	}
	t.evicted = evicted
}

// Find returns the value of k and marks it active, or nil (no insert).
func (t *Table[K, V]) Find(k K) *V {
	i, ok := t.idx[k]
	if !ok {
		return nil
	}
	if t.head != i {
		t.unlink(i)
		t.pushFront(i)
	}
	return &t.ent(i).val
}
