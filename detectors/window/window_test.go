package window

import (
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"
)

func TestHLL(t *testing.T) {
	for _, n := range []int{0, 1, 5, 20, 100, 576, 5000, 100000} {
		var h HLL
		for i := 0; i < n; i++ {
			h.Add(Mix64(uint64(i) + 12345))
			h.Add(Mix64(uint64(i) + 12345)) // duplicates do not count
		}
		got := h.Count()
		tol := math.Max(1, 0.25*float64(n))
		if math.Abs(got-float64(n)) > tol {
			t.Errorf("n=%d: estimate %.1f", n, got)
		}
	}
}

func TestTableEvictsLeastRecent(t *testing.T) {
	tb := NewTable[int, int](3)
	for i := 0; i < 3; i++ {
		v, _ := tb.Get(i)
		*v = i * 10
	}
	// CLOCK: a full sweep clears the marks, then 0 is touched again, so
	// the hand evicts 1 (the first unmarked)
	tb.Get(3) // evicts 0 (all were marked: the hand cleared them and took the first)
	tb.Get(1)
	tb.Get(4) // 2 is unmarked now: evicted; 1 and 3 stay
	if tb.Peek(0) != nil || tb.Peek(2) != nil || tb.Peek(1) == nil || tb.Peek(3) == nil {
		t.Fatal("wrong eviction")
	}
	tb.Delete(4)
	tb.Get(2)
	*tb.Peek(2) = 20
	if s := tb.Stats(); s.Tracked != 3 || s.Evicted != 2 {
		t.Fatalf("stats %+v", s)
	}
	tb.Delete(2)
	v, created := tb.Get(4)
	if !created || *v != 0 || tb.Len() != 3 || tb.Evicted() != 2 {
		t.Fatal("delete did not free a slot")
	}
	ex := tb.Export()
	tb2 := NewTable[int, int](3)
	tb2.Import(ex, tb.Evicted())
	if tb2.Len() != 3 || *tb2.Peek(1) != 10 || tb2.Evicted() != 2 {
		t.Fatal("import")
	}
	n := 0
	tb.Range(func(k int, v *int) bool { n++; return k == 4 })
	if n != 3 || tb.Len() != 2 {
		t.Fatal("range delete")
	}
}

func TestWindowsLateness(t *testing.T) {
	w := NewWindows(5*time.Minute, 5*time.Minute)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	i, ok := w.Accept(t0.Add(time.Minute))
	if !ok || !w.Start(i).Equal(t0) || !w.End(i).Equal(t0.Add(5*time.Minute)) {
		t.Fatal("index")
	}
	if c, _ := w.CloseUpTo(t0.Add(9 * time.Minute)); c >= i {
		t.Fatal("closed before end+lateness")
	}
	c, due := w.CloseUpTo(t0.Add(10 * time.Minute))
	if !due || c != i {
		t.Fatal("not closed at end+lateness")
	}
	w.Closed = c
	if _, ok := w.Accept(t0.Add(2 * time.Minute)); ok || w.Late != 1 {
		t.Fatal("late row accepted")
	}
	// negative times (1970-relative logs) index correctly
	if w.Index(time.Unix(-1, 0)) != -1 {
		t.Fatal("negative index")
	}
}

func TestRiskCalibration(t *testing.T) {
	for _, c := range []struct{ ratio, lo, hi float64 }{{1, 49.9, 50.1}, {2, 73, 75}, {4, 88, 90}, {10, 96, 98}, {0.5, 25, 27}, {0, 0, 0}} {
		if r := Risk(c.ratio); r < c.lo || r > c.hi {
			t.Errorf("Risk(%v) = %v", c.ratio, r)
		}
	}
	if RatioForScore(0.8, 0.8) != 1 || math.Abs(RatioForScore(0.9, 0.8)-2) > 1e-9 {
		t.Fatal("RatioForScore")
	}
}

func TestSpecialAndNetworks(t *testing.T) {
	for s, want := range map[string]bool{"224.0.0.251": true, "255.255.255.255": true, "10.0.1.255": true,
		"206.130.141.255": false, "fe80::1": true, "8.8.8.8": false, "0.0.0.0": true} {
		if Special(netip.MustParseAddr(s)) != want {
			t.Errorf("Special(%s) != %v", s, want)
		}
	}
	n, err := ParseNetworks(DefaultInternal())
	if err != nil || !n.Contains(netip.MustParseAddr("172.16.9.5")) || n.Contains(netip.MustParseAddr("8.8.8.8")) ||
		!n.Contains(netip.MustParseAddr("fd00::5")) {
		t.Fatal("networks")
	}
}

func TestQuartilesBowleyMAD(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 100}
	q1, q2, q3 := Quartiles(x)
	if q1 != 3 || q2 != 5 || q3 != 7 || Bowley(q1, q2, q3) != 0 {
		t.Fatal(q1, q2, q3)
	}
	if m := MAD(x, q2, nil); m != 2 {
		t.Fatal(m)
	}
}

func TestUIDsNoAlloc(t *testing.T) {
	var u UIDs
	uid := []byte("CfykLO1IT1nVRJhLA3")
	if a := testing.AllocsPerRun(100, func() { u.Add(uid) }); a != 0 {
		t.Fatal("allocates")
	}
	if s := u.Strings(); len(s) != 1 || s[0] != string(uid) {
		t.Fatal(s)
	}
	var a, b UIDs
	for i := 0; i < 50; i++ {
		a.Add([]byte{'C', byte(i)})
		b.Add([]byte{'C', byte(49 - i)})
	}
	if x, y := a.Strings(), b.Strings(); len(x) != UIDCap || fmt.Sprint(x) != fmt.Sprint(y) {
		t.Fatal("order dependent", x, y)
	}
}
