package iforest

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

func synthEvents() []*zeekreader.Event {
	r := rand.New(rand.NewPCG(4, 4))
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []*zeekreader.Event
	conn := func(ts time.Time, src, dst netip.Addr, port uint16, state string, ob uint64) {
		evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, UID: []byte("Cx"),
			Orig: src, Resp: dst, RespP: port, Proto: []byte("tcp"), ConnState: []byte(state), OrigBytes: ob, RespBytes: ob * 3, Duration: time.Second}})
	}
	for w := 0; w < 12; w++ {
		for h := 0; h < 20; h++ {
			src := netip.AddrFrom4([4]byte{10, 0, 0, byte(h + 1)})
			for i := 0; i < 5+r.IntN(5); i++ {
				conn(t0.Add(time.Duration(w)*5*time.Minute+time.Duration(r.IntN(290))*time.Second), src, netip.AddrFrom4([4]byte{93, 184, 216, byte(r.IntN(6))}), []uint16{443, 80, 53}[r.IntN(3)], []string{"SF", "SF", "SF", "S0"}[r.IntN(4)], 500+uint64(r.IntN(500)))
			}
		}
	}
	for i := 0; i < 400; i++ {
		conn(t0.Add(40*time.Minute+time.Duration(i)*100*time.Millisecond), netip.MustParseAddr("10.0.0.200"), netip.AddrFrom4([4]byte{10, 1, byte(i / 250), byte(i % 250)}), 445, "S0", 0)
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].TS.Before(evs[j].TS) })
	return evs
}

func TestSnapshotRestore(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TrainWindows, cfg.MinTrain = 60, 10
	evs := synthEvents()
	drive := func(d *Detector, evs []*zeekreader.Event, emit func(*notice.Notice)) {
		for _, ev := range evs {
			d.Observe(ev)
			d.Advance(ev.TS, emit)
		}
	}
	var want []*notice.Notice
	a := New(cfg, nil)
	drive(a, evs, func(n *notice.Notice) { want = append(want, n) })
	a.Flush(func(n *notice.Notice) { want = append(want, n) })
	if len(want) == 0 {
		t.Fatal("no notices")
	}
	for _, cut := range []int{len(evs) / 5, len(evs) / 2} {
		var got []*notice.Notice
		emit := func(n *notice.Notice) { got = append(got, n) }
		b := New(cfg, nil)
		drive(b, evs[:cut], emit)
		snap, err := b.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		c := New(cfg, nil)
		if err := c.Restore(snap); err != nil {
			t.Fatal(err)
		}
		drive(c, evs[cut:], emit)
		c.Flush(emit)
		if len(got) != len(want) {
			t.Fatalf("cut %d: %d notices, want %d", cut, len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i].ID || got[i].RiskScore != want[i].RiskScore || got[i].Message != want[i].Message {
				t.Fatalf("cut %d: notice %d differs: %s / %s", cut, i, got[i].Message, want[i].Message)
			}
		}
	}
}

// A checkpoint's Capture copies: encoded after more rows, it is the state
// of its moment (run encodes it while rows flow).
func TestCaptureCopies(t *testing.T) {
	window.CheckCapture(t, func() detectors.Detector { return New(DefaultConfig(), nil) }, func(b []byte) (any, error) {
		var s snapshot
		err := json.Unmarshal(b, &s)
		return s, err
	})
}

// A snapshot's forest (trained on the run, or a model's retrained online)
// whose trees would index out of range or never reach a leaf is refused
// at Restore, and the detector keeps its forest: restored, the first
// window scored panicked (a link or feature out of range, a tree without
// nodes) or PathLength looped forever (a node linking back to itself).
func TestRestoreRefusesDamagedForest(t *testing.T) {
	night := nightModel(t)
	for _, kind := range []struct {
		name string
		tr   func() *Trained
		rows []window.Conn
		cut  int // of 4
	}{
		{"run", func() *Trained { return nil }, diurnal(50, 2, 2, 3), 1},
		{"model", night, diurnal(100, 3, 2, 4), 2}, // after a retraining
	} {
		d := New(DefaultConfig(), kind.tr())
		window.Run(d, kind.rows[:len(kind.rows)*kind.cut/4])
		b, err := d.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		for name, damage := range map[string]func(split, tree map[string]any){
			"link to itself":       func(split, _ map[string]any) { split["r"] = split["l"].(float64) - 1 },
			"link out of range":    func(split, tree map[string]any) { split["l"] = len(tree["nodes"].([]any)) },
			"feature out of range": func(split, _ map[string]any) { split["f"] = features.Dim },
			"tree without nodes":   func(_, tree map[string]any) { tree["nodes"] = []any{} },
		} {
			var s map[string]any
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			f, _ := s["forest"].(map[string]any)
			if f == nil {
				t.Fatalf("%s: no forest in the snapshot: the test proves nothing", kind.name)
			}
			tree := f["trees"].([]any)[0].(map[string]any)
			var split map[string]any
			for _, n := range tree["nodes"].([]any) {
				if n := n.(map[string]any); n["f"].(float64) >= 0 {
					split = n
					break
				}
			}
			if split == nil {
				t.Fatalf("%s: no split node: the test proves nothing", kind.name)
			}
			damage(split, tree)
			bad, _ := json.Marshal(s)
			r := New(DefaultConfig(), kind.tr())
			var forest *Forest
			if r.tr != nil {
				forest = r.tr.Forest
			}
			if err := r.Restore(bad); err == nil || (r.tr == nil) != (forest == nil) || r.tr != nil && r.tr.Forest != forest {
				t.Errorf("%s: forest with a %s restored (err %v)", kind.name, name, err)
			}
		}
	}
}

// The snapshot is written a piece at a time (host histories, the
// extractor's windows): decoded and marshalled again whole, it is the
// same JSON value.
func TestSnapshotStreamed(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TrainWindows, cfg.MinTrain = 60, 10
	evs := synthEvents()
	d := New(cfg, nil)
	for i, ev := range evs {
		d.Observe(ev)
		d.Advance(ev.TS, func(*notice.Notice) {})
		if i != 0 && i != len(evs)-1 {
			continue
		}
		b, err := d.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		var s snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if i > 0 && (len(s.History) == 0 || len(s.Extractor) < 100 || s.Forest == nil) {
			t.Fatalf("row %d: %d histories, %d bytes of extractor, forest %v: the test needs them", i, len(s.History), len(s.Extractor), s.Forest != nil)
		}
		whole, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		var a, w any
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(whole, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, w) {
			t.Fatalf("row %d: the streamed snapshot differs from its value marshalled whole", i)
		}
	}
}
