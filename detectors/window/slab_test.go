package window

import "testing"

func TestSlab(t *testing.T) {
	var s Slab[[4]uint64]
	ids := map[int32]bool{}
	for i := 0; i < 3*pageSize; i++ {
		id, v := s.New()
		if id < 1 || ids[id] {
			t.Fatalf("id %d handed out twice or < 1", id)
		}
		ids[id] = true
		v[0] = uint64(id)
	}
	p := s.At(300)
	s.Free(300)
	s.Free(7)
	if s.Len() != 3*pageSize-2 {
		t.Fatalf("len %d", s.Len())
	}
	id, v := s.New()
	if id != 7 || *v != ([4]uint64{}) {
		t.Fatalf("reused %d, value %v (want 7, zero)", id, *v)
	}
	if s.At(1)[0] != 1 || s.At(3 * pageSize)[0] != 3*pageSize {
		t.Fatal("values moved")
	}
	if id, _ := s.New(); id != 300 || s.At(300) != p {
		t.Fatalf("reused %d at a new address", id)
	}
}
