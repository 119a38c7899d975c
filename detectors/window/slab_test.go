package window

import "testing"

func TestSlab(t *testing.T) {
	var s Slab[[4]uint64]
	pageSize := 1 << pageBitsOf[[4]uint64]()
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
	if s.At(1)[0] != 1 || s.At(int32(3 * pageSize))[0] != uint64(3*pageSize) {
		t.Fatal("values moved")
	}
	if id, _ := s.New(); id != 300 || s.At(300) != p {
		t.Fatalf("reused %d at a new address", id)
	}
}

// A page of values fills whole 8 KiB pages of the runtime's.
func TestPageBits(t *testing.T) {
	for _, c := range []struct {
		bits, want uint8
	}{
		{pageBitsOf[[168]byte](), 10}, {pageBitsOf[[176]byte](), 9}, {pageBitsOf[[4]uint64](), 8},
		{pageBitsOf[[472]byte](), 10}, {pageBitsOf[[3]byte](), 13}, {pageBitsOf[struct{}](), 8},
	} {
		if c.bits != c.want {
			t.Errorf("%d bits, want %d", c.bits, c.want)
		}
	}
}
