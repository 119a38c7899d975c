package window

// Slab holds values of T in fixed-size pages that never move, handed out
// by number and taken back for reuse. It is for a table entry that owns a
// varying number of large parts (the windows a key has open): inline, the
// entry would reserve room for the most parts any key can have, and every
// new key would clear it all.
type Slab[T any] struct {
	pages pages[T]
	n     int32 // values handed out at least once
	free  []int32
}

// New returns a zeroed value and its number (≥ 1, so 0 can mean none).
func (s *Slab[T]) New() (int32, *T) {
	var id int32
	if k := len(s.free); k > 0 {
		id = s.free[k-1]
		s.free = s.free[:k-1]
	} else {
		s.pages.grow(s.n)
		s.n++
		id = s.n
	}
	v := s.At(id)
	var zero T
	*v = zero
	return id, v
}

// At returns value id (from New, not freed since).
func (s *Slab[T]) At(id int32) *T {
	return s.pages.at(id - 1)
}

// Free takes value id back.
func (s *Slab[T]) Free(id int32) { s.free = append(s.free, id) }

// FreeAll takes back every value of ids (0: none) and zeroes ids.
func (s *Slab[T]) FreeAll(ids []int32) {
	for i, id := range ids {
		if id != 0 {
			s.Free(id)
			ids[i] = 0
		}
	}
}

// Len is the number of values in use.
func (s *Slab[T]) Len() int { return int(s.n) - len(s.free) }

// CopyOut appends to vals the values ids name (0: none) and rewrites each
// id as its position in vals plus one: a Capture's copy of the parts its
// table's entries hold here, only those in use (a snapshot's entries
// reserve room for every part, most of it empty).
func (s *Slab[T]) CopyOut(ids []int32, vals []T) []T {
	for i := range ids {
		vals = s.CopyOutOne(&ids[i], vals)
	}
	return vals
}

// CopyOutOne is CopyOut for the one id *id (0: none), where an entry
// holds its part by a field.
func (s *Slab[T]) CopyOutOne(id *int32, vals []T) []T {
	if *id != 0 {
		vals = append(vals, *s.At(*id))
		*id = int32(len(vals))
	}
	return vals
}
