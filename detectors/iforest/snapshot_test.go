package iforest

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"sort"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
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
