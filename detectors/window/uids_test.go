package window

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// A UIDSample given the uids Zeek writes keeps, lists and exports exactly
// what a UIDs given them does, merged or restored.
func TestUIDSampleAsUIDs(t *testing.T) {
	const b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	r := rand.New(rand.NewPCG(1, 2))
	uid := func() []byte {
		b := make([]byte, 1+r.IntN(UIDKeep))
		b[0] = 'C'
		for i := 1; i < len(b); i++ {
			b[i] = b62[r.IntN(len(b62))]
		}
		return b
	}
	for trial := range 2000 {
		var w, w2 UIDs
		var s, s2 UIDSample
		pool := make([][]byte, 1+r.IntN(40))
		for i := range pool {
			pool[i] = uid()
		}
		for range r.IntN(60) {
			u := pool[r.IntN(len(pool))]
			w.Add(u)
			s.Add(u)
			if r.IntN(3) == 0 {
				u = pool[r.IntN(len(pool))]
				w2.Add(u)
				s2.Add(u)
			}
		}
		var got UIDs
		s.Export(&got)
		if got != w {
			t.Fatalf("trial %d: exported\n%v\nwant\n%v", trial, got, w)
		}
		if fmt.Sprint(s.Strings()) != fmt.Sprint(w.Strings()) {
			t.Fatalf("trial %d: %v, want %v", trial, s.Strings(), w.Strings())
		}
		w.Merge(&w2)
		s.Merge(&s2)
		got = UIDs{}
		s.Export(&got)
		if got != w {
			t.Fatalf("trial %d: merged %v, want %v", trial, got, w)
		}
		var back UIDSample
		back.Load(&got)
		if back != s {
			t.Fatalf("trial %d: loaded %+v, want %+v", trial, back, s)
		}
	}
}

// Uids whose hashes share their top 16 bits are ranked by their whole
// hash, as UIDs ranks them: a pool of uids whose hashes all start with 0
// to 3 ties at nearly every comparison.
func TestUIDSampleHashTies(t *testing.T) {
	var pool [][]byte
	for i := 0; len(pool) < 100; i++ {
		if u := fmt.Appendf(nil, "C%017d", i); uidHash(u)>>48 < 4 {
			pool = append(pool, u)
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
		var w UIDs
		var s UIDSample
		for i, u := range pool[:5+r.IntN(len(pool)-5)] {
			w.Add(u)
			s.Add(u)
			var got UIDs
			s.Export(&got)
			if got != w {
				t.Fatalf("trial %d, after %d: %v, want %v", trial, i, got, w)
			}
		}
	}
}

// Uids Zeek never writes (longer than UIDKeep, with a NUL) are kept
// cut, the same whatever the order they come in; other bytes are kept.
func TestUIDSampleOddUIDs(t *testing.T) {
	long := []byte("Cabcdefghijklmnopqrstuvwxyz")
	var s UIDSample
	s.Add(long)
	s.Add([]byte("C\xff\tz\x00tail"))
	s.Add(long[:UIDKeep])  // the kept form of long: already in
	s.Add([]byte("\x00C")) // nothing kept
	got := s.Strings()
	want := []string{string(long[:UIDKeep]), "C\xff\tz"}
	if len(got) != 2 || got[0] != want[0] && got[0] != want[1] || got[1] != want[0] && got[1] != want[1] || got[0] == got[1] {
		t.Fatalf("%q", got)
	}
	var b, c UIDSample
	for i := range 256 {
		b.Add([]byte{'C', byte(255 - i), 'x', byte(i)})
		c.Add([]byte{'C', byte(i), 'x', byte(255 - i)})
	}
	var d UIDSample
	for i := range 256 {
		d.Add([]byte{'C', byte(i), 'x', byte(255 - i)})
	}
	if x, y := b.Strings(), c.Strings(); len(x) != UIDCap || fmt.Sprint(x) != fmt.Sprint(y) {
		t.Fatalf("order dependent: %q %q", x, y)
	}
	if fmt.Sprint(c.Strings()) != fmt.Sprint(d.Strings()) {
		t.Fatal("not deterministic")
	}
}

// A sample restored damaged (counts out of range) takes and lists uids
// without panicking, and Add does not allocate.
func TestUIDSampleDamagedNoAlloc(t *testing.T) {
	for _, n := range []int8{-13, 0, 3, UIDCap, 7, 127} {
		for _, mi := range []int8{-4, 0, 4, 9} {
			s := UIDSample{N: n, MaxI: mi, Hi: [UIDCap]uint16{^uint16(0)}}
			s.Add([]byte("CabcdEF123"))
			if got := s.Strings(); len(got) > UIDCap {
				t.Fatalf("N %d: %d uids", n, len(got))
			}
			var m UIDSample
			m.Merge(&s)
		}
	}
	var s UIDSample
	uid := []byte("CfykLO1IT1nVRJhLA3")
	if a := testing.AllocsPerRun(100, func() { s.Add(uid) }); a != 0 {
		t.Fatal("allocates")
	}
}

// BenchmarkUIDSampleAdd: windows of 20 rows (a fill and about 7
// replacements each), UIDs against UIDSample.
func BenchmarkUIDSampleAdd(b *testing.B) {
	for _, rows := range []int{3, 20, 200} {
		b.Run(fmt.Sprintf("UIDs/%d", rows), func(b *testing.B) { benchAdd[UIDs](b, rows) })
		b.Run(fmt.Sprintf("UIDSample/%d", rows), func(b *testing.B) { benchAdd[UIDSample](b, rows) })
	}
}

// benchAdd: windows of rows uids each (3: a sample never full; 20: a fill
// and about 7 replacements; 200: mostly rejected).
func benchAdd[T any, P interface {
	*T
	Add([]byte)
}](b *testing.B, rows int) {
	uids := make([][]byte, 1024)
	for i := range uids {
		uids[i] = fmt.Appendf(nil, "C%017d", i*7919)
	}
	var u T
	for i := range b.N {
		if i%rows == 0 {
			u = *new(T)
		}
		P(&u).Add(uids[i%len(uids)])
	}
}

func TestUIDSampleSize(t *testing.T) {
	if s := unsafe.Sizeof(UIDSample{}); s != 102 {
		t.Fatalf("%d bytes", s)
	}
}
