package iforest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

// add records a window's raw values in a History: the plain ring a
// hostHistory must read as.
func (h *History) add(v []float64) {
	row := &h.Vals[h.Next]
	for i := range row {
		row[i] = toBF16(float32(v[i]))
	}
	h.Next = (h.Next + 1) % HistoryLen
	if h.N < HistoryLen {
		h.N++
	}
}

// randomWindow is a window of a host whose features in use (*use) drift:
// a few appear or vanish now and then, and at times the host goes from
// conn-only to all 19 and back. Its values are 0 as often as not, and at
// times -0, NaN, a subnormal or the largest finite bfloat16, which a
// sparse history must keep to the bit.
func randomWindow(rng *rand.Rand, use *uint32) []float64 {
	switch r := rng.IntN(40); {
	case r == 0:
		*use = 1<<features.Dim - 1
	case r == 1:
		*use = 0x401ff // conn features only (0-8, 18)
	case r < 8:
		*use ^= 1 << rng.IntN(features.Dim)
	}
	special := []float64{math.Copysign(0, -1), math.NaN(), 1e-40, 3.4e38, -7}
	v := make([]float64, features.Dim)
	for i := range v {
		if *use&(1<<i) == 0 || rng.IntN(2) == 0 {
			continue
		}
		if rng.IntN(20) == 0 {
			v[i] = special[rng.IntN(len(special))]
		} else {
			v[i] = rng.ExpFloat64() * 1000
		}
	}
	return v
}

// A hostHistory reads, window after window, as the History of the same
// windows: its values, its baseline and its snapshot bytes, while
// features appear and vanish, hosts go past histCols features (into the
// slab) and back, the ring wraps, and hosts are freed and start again. Its
// form is the one its values call for, and the slab holds just the
// windows of the hosts past histCols.
func TestHostHistoryAsHistory(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const hosts = 12
	var (
		sl                            window.Slab[windows]
		ref                           [hosts]History
		hs                            [hosts]hostHistory
		use                           [hosts]uint32
		toSlab, fromSlab, drops, wrap int
	)
	for step := range 20000 {
		k := rng.IntN(hosts)
		if rng.IntN(300) == 0 {
			hs[k].free(&sl)
			ref[k] = History{}
		}
		v := randomWindow(rng, &use[k])
		before := hs[k]
		hs[k].add(v, &sl)
		ref[k].add(v)
		got := hs[k].history(sl.At)
		if got != ref[k] {
			t.Fatalf("step %d: host %d: %+v, want %+v", step, k, got, ref[k])
		}
		if a, b := fmt.Sprint(got.robust()), fmt.Sprint(ref[k].robust()); a != b {
			t.Fatalf("step %d: baseline %s, want %s", step, a, b)
		}
		a, errA := json.Marshal(got)
		b, errB := json.Marshal(ref[k])
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Fatalf("step %d: snapshot %s %v, want %s %v", step, a, errA, b, errB)
		}
		m := used(&ref[k].Vals)
		if bits.OnesCount32(m) > histCols {
			if hs[k].D == 0 || hs[k].Mask != 0 {
				t.Fatalf("step %d: %d features inline (mask %x, slab %d)", step, bits.OnesCount32(m), hs[k].Mask, hs[k].D)
			}
		} else if hs[k].D != 0 || hs[k].Mask != m {
			t.Fatalf("step %d: mask %x, slab %d; features %x", step, hs[k].Mask, hs[k].D, m)
		}
		inSlab := 0
		for i := range hs {
			if hs[i].D != 0 {
				inSlab++
			}
		}
		if sl.Len() != inSlab {
			t.Fatalf("step %d: %d windows in the slab, %d hosts there", step, sl.Len(), inSlab)
		}
		switch {
		case before.D == 0 && hs[k].D != 0:
			toSlab++
		case before.D != 0 && hs[k].D == 0:
			fromSlab++
		case before.D == 0 && before.Mask&^hs[k].Mask != 0:
			drops++
		}
		if before.N == HistoryLen && before.Next == 0 {
			wrap++
		}
	}
	if toSlab < 20 || fromSlab < 20 || drops < 20 || wrap < 20 {
		t.Fatalf("%d to the slab, %d back, %d features dropped inline, %d wraps: the test proves little", toSlab, fromSlab, drops, wrap)
	}
}

// restored is a detector of cfg and tr restored from snap.
func restored(t *testing.T, cfg Config, tr *Trained, snap []byte) *Detector {
	t.Helper()
	d := New(cfg, tr)
	if err := d.Restore(snap); err != nil {
		t.Fatal(err)
	}
	return d
}

// denseInUse is the number of the detector's histories with their
// windows in the slab.
func denseInUse(d *Detector) (n int) {
	d.hist.Range(func(_ window.IP, h *hostHistory) bool {
		if h.D != 0 {
			n++
		}
		return false
	})
	return n
}

// The slab holds the windows of the histories in the table, no more:
// through evictions (max_hosts), a restore (in place, and into a smaller
// table, which evicts as it imports, and of a damaged snapshot naming a
// host twice), and the windows after it. Each host's history is the
// History of its windows since it last entered the table, and a restored
// detector's snapshot is the saved one, byte for byte.
func TestHistorySlabFollowsTable(t *testing.T) {
	tr, cfg := historyOnly()
	cfg.MaxHosts = 40
	rng := rand.New(rand.NewPCG(3, 4))
	const hosts = 70
	use := make([]uint32, hosts)
	ref := map[window.IP]*History{}
	check := func(d *Detector, when string) {
		t.Helper()
		if in := denseInUse(d); d.dense.Len() != in {
			t.Fatalf("%s: %d windows in the slab, %d histories there", when, d.dense.Len(), in)
		}
	}
	feed := func(d *Detector, from, to int) {
		t.Helper()
		for w := from; w < to; w++ {
			for range 8 {
				k := rng.IntN(hosts)
				host := netip.AddrFrom4([4]byte{10, 0, 1, byte(k)})
				if d.hist.Peek(window.IPOf(host)) == nil {
					ref[window.IPOf(host)] = &History{} // (evicted: starts again)
				}
				t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(w) * 5 * time.Minute)
				v := features.Vector{Host: host, Start: t0, End: t0.Add(5 * time.Minute), Values: randomWindow(rng, &use[k]), Rows: 5}
				ref[window.IPOf(host)].add(v.Values)
				d.handle([]features.Vector{v}, func(*notice.Notice) {})
				check(d, fmt.Sprintf("window %d", w))
			}
		}
		d.hist.Range(func(k window.IP, h *hostHistory) bool {
			if got := h.history(d.dense.At); got != *ref[k] {
				t.Fatalf("%v: %+v, want %+v", k.Addr(), got, *ref[k])
			}
			return false
		})
	}
	a := New(cfg, tr)
	feed(a, 0, 200)
	if a.hist.Evicted() == 0 || denseInUse(a) == 0 || denseInUse(a) == a.hist.Len() {
		t.Fatalf("%d evicted, %d of %d in the slab: the test proves little", a.hist.Evicted(), denseInUse(a), a.hist.Len())
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b := restored(t, cfg, tr, snap)
	check(b, "restored")
	again, err := b.Snapshot()
	if err != nil || !bytes.Equal(again, snap) {
		t.Fatalf("restored, its snapshot differs (%v)", err)
	}
	feed(b, 200, 260)

	// into a table of 16: Import evicts the hosts beyond
	small := cfg
	small.MaxHosts = 16
	c := restored(t, small, tr, snap)
	check(c, "restored into 16")
	if c.hist.Len() != 16 {
		t.Fatalf("%d hosts restored into 16", c.hist.Len())
	}
	feed(c, 200, 260)

	// a damaged snapshot names a busy host twice (without a layout:
	// Import keeps the last)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(snap, &m); err != nil {
		t.Fatal(err)
	}
	var hist []window.Entry[netip.Addr, History]
	if err := json.Unmarshal(m["history"], &hist); err != nil {
		t.Fatal(err)
	}
	dup := -1
	for i, e := range hist {
		if bits.OnesCount32(used(&e.V.Vals)) > histCols {
			dup = i
		}
	}
	if dup < 0 {
		t.Fatal("no history in the slab: the test proves nothing")
	}
	hist = append(hist, hist[dup])
	m["history"], _ = json.Marshal(hist)
	delete(m, "history_layout")
	damaged, _ := json.Marshal(m)
	d := restored(t, cfg, tr, damaged)
	check(d, "restored twice named")
	feed(d, 200, 260)
}
