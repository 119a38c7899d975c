package window

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

// TestTableAgainstMap drives a small table and a plain map with the same
// random inserts, lookups, deletes and range-deletes; a weak hash forces
// long probe runs and collisions, so backward-shift deletion is exercised,
// and evictions by key and by kept hash (EvictByHash).
func TestTableAgainstMap(t *testing.T) {
	for _, hash := range []struct {
		name   string
		f      func(uint32) uint64
		byHash bool
	}{
		{"mixed", func(k uint32) uint64 { return Mix64(uint64(k)) }, false},
		{"weak", func(k uint32) uint64 { return uint64(k % 7) }, false},
		{"mixed by hash", func(k uint32) uint64 { return Mix64(uint64(k)) }, true},
		{"weak by hash", func(k uint32) uint64 { return uint64(k % 7) }, true},
	} {
		t.Run(hash.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			const max = 300
			tb := NewTableHash[uint32, uint32](max, hash.f)
			if hash.byHash {
				tb.EvictByHash()
			}
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
						// 1/3 to 1/6 of the keys: past a quarter the
						// index is rebuilt, below it unpicked key by key
						if k%uint32(3+op%4) == 0 {
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

func TestHasPointers(t *testing.T) {
	type flat struct {
		A [4]uint64
		B IP
		C UIDs
	}
	type withPtr struct {
		A [2]int
		S []byte
	}
	for _, c := range []struct {
		t    reflect.Type
		want bool
	}{
		{reflect.TypeFor[IP](), false},
		{reflect.TypeFor[flat](), false},
		{reflect.TypeFor[[0]*int](), false},
		{reflect.TypeFor[withPtr](), true},
		{reflect.TypeFor[netip.Addr](), true},
		{reflect.TypeFor[string](), true},
		{reflect.TypeFor[[3]map[int]int](), true},
	} {
		if got := hasPointers(c.t); got != c.want {
			t.Errorf("hasPointers(%v) = %v, want %v", c.t, got, c.want)
		}
	}
}

// A deleted entry of a pointer-free table is not cleared at once; the
// next key that takes its place must still start from the zero value.
func TestDeletedEntryReusedZero(t *testing.T) {
	tb := NewIPTable[[8]uint64](4)
	a, b := IPOf(netip.MustParseAddr("10.0.0.1")), IPOf(netip.MustParseAddr("10.0.0.2"))
	v, _ := tb.Get(a)
	v[3] = 7
	tb.Delete(a)
	if tb.pointers {
		t.Fatal("[8]uint64 counted as holding pointers")
	}
	w, created := tb.Get(b)
	if !created || *w != ([8]uint64{}) {
		t.Fatalf("reused entry: created %v, value %v", created, *w)
	}
	if tb.Peek(a) != nil {
		t.Fatal("deleted key still found")
	}
}

// A held entry outlives the one-off keys churning through a full table for
// as many passes of the hand as it is held; touched with Get or Find
// meanwhile it keeps its hold, and once the passes are spent it goes like
// any other. One-off keys come in referenced, so a pass of the hand evicts
// between half the table and all of it.
func TestHoldOutlivesChurn(t *testing.T) {
	const size = 100
	for _, c := range []struct {
		hold     uint8
		touch    bool // Find the key halfway
		survives int  // one-off inserts it must outlive
		gone     int  // inserts by which it must be gone (0: not checked)
	}{
		{0, false, 0, 2 * size},
		{3, false, 2 * size / 2, 5 * size},
		{3, true, 2 * size / 2, 0},
		{MaxHold, false, (MaxHold - 1) * size / 2, 0},
	} {
		tb := NewTableHash[uint32, uint32](size, func(k uint32) uint64 { return Mix64(uint64(k)) })
		gone := -1
		tb.OnEvict = func(k uint32, _ *uint32) {
			if k == 0 && gone < 0 {
				gone = int(tb.Evicted())
			}
		}
		for k := uint32(1); k < size; k++ {
			tb.Get(k)
		}
		tb.GetHold(0, c.hold)
		limit := max(c.survives, c.gone)
		for k := uint32(size); gone < 0 && int(k) < size+limit; k++ {
			if c.touch && int(k) == size+limit/2 {
				tb.Find(0)
			}
			tb.Get(k)
		}
		if gone >= 0 && gone <= c.survives {
			t.Errorf("hold %d: evicted after %d one-off inserts, want more than %d", c.hold, gone, c.survives)
		}
		if c.gone > 0 && (gone < 0 || gone > c.gone) {
			t.Errorf("hold %d: still there after %d one-off inserts (evicted at %d)", c.hold, c.gone, gone)
		}
	}
}

// GetHoldFor holds an entry found for what its value has earned, and a
// new entry not at all: a key seen often enough outlives a churn of
// one-off keys that evicts a key seen once.
func TestGetHoldFor(t *testing.T) {
	const size = 100
	tb := NewTableHash[uint32, uint32](size, func(k uint32) uint64 { return Mix64(uint64(k)) })
	earned := func(v *uint32) uint8 { return uint8(min(*v*50, MaxHold)) }
	seen := func(k uint32) {
		v, created := tb.GetHoldFor(k, earned)
		if i, _, _ := tb.find(k); created && tb.state[i] != stRef {
			t.Fatalf("new key %d held", k)
		}
		*v++
	}
	for k := uint32(0); k < size; k++ {
		seen(k)
	}
	for range 5 {
		seen(0) // earns 50 passes a sighting, up to MaxHold
	}
	for k := uint32(size); k < 100*size; k++ {
		seen(k)
	}
	if tb.Peek(0) == nil {
		t.Fatal("key 0, seen 6 times, evicted by one-off keys")
	}
	if tb.Peek(1) != nil {
		t.Fatal("key 1, seen once, outlived 100 tables of one-off keys")
	}
}

// clockVictim takes the turns of a table of held entries in one step: the
// victim and every state after it are those of the hand turning entry by
// entry (the reference here), for random holds, free entries and hands,
// and it turns at most three times.
func TestClockVictimSkipsHeldTurns(t *testing.T) {
	turnByTurn := func(state []uint8, hand int32) (int32, int32) {
		n := int32(len(state))
		for {
			i := hand
			hand = (hand + 1) % n
			switch st := state[i]; {
			case st == stLive:
				return hand, i
			case st >= stRef:
				state[i]--
			}
		}
	}
	rng := uint64(1)
	next := func(n uint64) uint64 { rng = Mix64(rng + 0x9e3779b97f4a7c15); return rng % n }
	for trial := range 2000 {
		n := 1 + int(next(300))
		state := make([]uint8, n)
		for k := range state {
			switch next(10) {
			case 0:
				state[k] = stFree
			case 1:
				state[k] = stLive
			default:
				state[k] = stRef + uint8(next(MaxHold+1))
			}
		}
		if trial%2 == 0 { // most often: every entry held, none free
			for k := range state {
				state[k] = stRef + uint8(next(MaxHold+1))
			}
		}
		live := false
		for _, st := range state {
			live = live || st != stFree
		}
		if !live {
			continue
		}
		hand := int32(next(uint64(n)))
		want := slices.Clone(state)
		wantHand, wantVictim := turnByTurn(want, hand)
		got := slices.Clone(state)
		gotHand, gotVictim := clockVictim(got, hand)
		if gotVictim != wantVictim || gotHand != wantHand || !slices.Equal(got, want) {
			t.Fatalf("trial %d (n %d, hand %d): victim %d hand %d, want %d and %d; states differ: %v",
				trial, n, hand, gotVictim, gotHand, wantVictim, wantHand, !slices.Equal(got, want))
		}
	}
	// a full table held for MaxHold passes: the hand's steps are counted
	// by the references taken
	state := make([]uint8, 1000)
	for k := range state {
		state[k] = stRef + MaxHold
	}
	before := 0
	for _, st := range state {
		before += int(st)
	}
	_, v := clockVictim(state, 0)
	after := 0
	for _, st := range state {
		after += int(st)
	}
	if v != 0 || state[0] != stLive {
		t.Errorf("victim %d (state %d), want 0, live", v, state[0])
	}
	// every entry goes from referenced and held to live
	if taken := before - after; taken != len(state)*(MaxHold+1) {
		t.Errorf("took %d references and holds, want %d", taken, len(state)*(MaxHold+1))
	}
}

// With EvictByHash an eviction finds the victim's index slot from the
// hash kept for each entry (a wrong one would still find it, by a longer
// walk): every way a table places entries (insert, growth of the index, a
// rebuild after a Range, Import, ImportLayout) keeps each live entry's
// hash, from the entries it held when asked on.
func TestEntryHashesKept(t *testing.T) {
	hash := func(k uint32) uint64 { return Mix64(uint64(k)) }
	check := func(name string, tb *Table[uint32, uint32]) {
		t.Helper()
		live := 0
		for i := int32(0); i < tb.n; i++ {
			if tb.state[i] == stFree {
				continue
			}
			live++
			if k := tb.ent(i).key; tb.hashes[i] != uint32(hash(k)) {
				t.Fatalf("%s: entry %d (key %d) keeps hash %#x, want %#x", name, i, k, tb.hashes[i], uint32(hash(k)))
			}
		}
		if live != tb.Len() || live == 0 {
			t.Fatalf("%s: %d live entries, Len %d", name, live, tb.Len())
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	tb := NewTableHash[uint32, uint32](500, hash)
	for op := 0; op < 20000; op++ {
		if op == 5000 {
			tb.EvictByHash()
			check("asked on", tb)
		}
		k := uint32(r.IntN(2000))
		switch r.IntN(6) {
		case 0, 1, 2:
			tb.Get(k)
		case 3:
			tb.Delete(k)
		case 4:
			tb.Range(func(k uint32, _ *uint32) bool { return k%3 == 0 }) // rebuilds
		default:
			tb.Range(func(k uint32, _ *uint32) bool { return k%50 == 0 }) // unpicks
		}
	}
	if tb.Evicted() == 0 {
		t.Fatal("the test never filled the table")
	}
	check("driven", tb)
	a := NewTableHash[uint32, uint32](500, hash)
	a.EvictByHash()
	a.Import(tb.Export(), tb.Evicted())
	check("Import", a)
	b := NewTableHash[uint32, uint32](500, hash)
	b.EvictByHash()
	b.ImportLayout(tb.Export(), tb.Evicted(), tb.Layout())
	check("ImportLayout", b)
	for k := uint32(5000); k < 6000; k++ {
		b.Get(k) // evictions from the restored table
	}
	check("ImportLayout, then evicting", b)
}

// TestPeekSlot: PeekSlot reads the slot where a lookup of the hash
// starts, which holds a key alone in its table (its hash and entry), and
// nothing before the table has an index or where no key is.
func TestPeekSlot(t *testing.T) {
	hash := func(k uint32) uint64 { return Mix64(uint64(k)) }
	tb := NewTableHash[uint32, uint32](100, hash)
	if s := tb.PeekSlot(hash(7)); s != 0 {
		t.Fatalf("empty table: slot %#x, want 0", s)
	}
	tb.Get(7)
	if s, h := tb.PeekSlot(hash(7)), uint32(hash(7)); uint32(s>>32) != h || uint32(s) != 1 {
		t.Fatalf("key 7 alone: slot %#x, want hash %#x and entry 1", s, h)
	}
	for k := uint32(8); k < 100; k++ {
		if uint32(hash(k))&tb.idx.mask == uint32(hash(7))&tb.idx.mask {
			continue // 7's own slot
		}
		if s := tb.PeekSlot(hash(k)); s != 0 {
			t.Fatalf("key %d, not in the table: slot %#x, want 0", k, s)
		}
	}
}
