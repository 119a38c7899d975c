package detectors

import (
	"net/netip"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// recorder notes the watermarks it is advanced to and emits one notice per
// advance, in reverse rule order, so the engine's ordering shows.
type recorder struct {
	kinds []zeekreader.Kind
	wms   []time.Time
}

func (r *recorder) Name() string                 { return "rec" }
func (r *recorder) Kinds() []zeekreader.Kind     { return r.kinds }
func (r *recorder) Observe(ev *zeekreader.Event) {}
func (r *recorder) Flush(emit Emit)              {}
func (r *recorder) Advance(wm time.Time, emit Emit) {
	r.wms = append(r.wms, wm)
	for _, rule := range []string{"z", "a"} {
		n := &notice.Notice{Rule: rule, End: wm, Source: netip.MustParseAddr("10.0.0.1")}
		n.Finalize("")
		emit(n)
	}
}

func ev(k zeekreader.Kind, sec int64) *zeekreader.Event {
	return &zeekreader.Event{Kind: k, TS: time.Unix(sec, 0)}
}

func TestEngineStepsOrderAndWatermarks(t *testing.T) {
	conn := &recorder{kinds: []zeekreader.Kind{zeekreader.KindConn}}
	both := &recorder{kinds: []zeekreader.Kind{zeekreader.KindConn, zeekreader.KindSSL}}
	var got []string
	e := NewEngine(func(n *notice.Notice) { got = append(got, n.Rule) }, conn, both)
	e.Observe(ev(zeekreader.KindConn, 1000)) // first event: advance
	e.Observe(ev(zeekreader.KindConn, 1005)) // same 10 s step: no advance
	e.Observe(ev(zeekreader.KindSSL, 995))   // ssl lags conn
	e.Observe(ev(zeekreader.KindConn, 1012)) // next step
	if len(conn.wms) != 2 || conn.wms[1].Unix() != 1012 {
		t.Errorf("conn detector advanced to %v", conn.wms)
	}
	// both: 1000 (conn only), 995 (ssl's first), 995 (oldest of conn 1012, ssl 995)
	if n := len(both.wms); n != 3 || both.wms[2].Unix() != 995 {
		t.Errorf("joined detector advanced to %v, want the oldest watermark 995 last", both.wms)
	}
	// An idle log (ssl silent for more than IdleLag) is not waited for.
	e.Observe(ev(zeekreader.KindConn, 1000+int64(IdleLag/time.Second)+100))
	if last := both.wms[len(both.wms)-1]; last.Unix() == 995 {
		t.Errorf("idle ssl log still holds the watermark: %v", last)
	}
	// The first release (both detectors at 1000) is ordered by time, then
	// rule, whatever order the detectors emitted in.
	if len(got) < 4 || got[0] != "a" || got[1] != "a" || got[2] != "z" || got[3] != "z" {
		t.Errorf("first release not in rule order: %v", got)
	}
}

// An Engine restored from another's Snapshot advances its detectors at the
// same steps as the one that never stopped; a fresh one advances on its
// first row.
func TestEngineSnapshotKeepsSteps(t *testing.T) {
	kinds := []zeekreader.Kind{zeekreader.KindConn, zeekreader.KindSSL}
	rows := []*zeekreader.Event{ev(zeekreader.KindConn, 1000), ev(zeekreader.KindSSL, 1001), ev(zeekreader.KindConn, 1003),
		ev(zeekreader.KindConn, 1007), ev(zeekreader.KindSSL, 1008), ev(zeekreader.KindConn, 1013), ev(zeekreader.KindConn, 1024)}
	const cut = 3 // the next rows are in the same 10 s step
	run := func(restore bool) []time.Time {
		a := &recorder{kinds: kinds}
		e := NewEngine(func(*notice.Notice) {}, a)
		for _, r := range rows[:cut] {
			e.Observe(r)
		}
		b, err := e.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		e2 := NewEngine(func(*notice.Notice) {}, a)
		if restore {
			if err := e2.Restore(b); err != nil {
				t.Fatal(err)
			}
			if !e2.Watermark(zeekreader.KindSSL).Equal(e.Watermark(zeekreader.KindSSL)) {
				t.Fatalf("ssl watermark %v, want %v", e2.Watermark(zeekreader.KindSSL), e.Watermark(zeekreader.KindSSL))
			}
		}
		for _, r := range rows[cut:] {
			e2.Observe(r)
		}
		return a.wms
	}
	whole := &recorder{kinds: kinds}
	e := NewEngine(func(*notice.Notice) {}, whole)
	for _, r := range rows {
		e.Observe(r)
	}
	if got := run(true); !slicesEqual(got, whole.wms) {
		t.Errorf("restored: advanced to %v, uninterrupted to %v", got, whole.wms)
	}
	if got := run(false); slicesEqual(got, whole.wms) {
		t.Errorf("without the watermarks the steps should differ here (test rows too easy): %v", got)
	}
	if err := NewEngine(nil).Restore([]byte("{")); err == nil {
		t.Error("a broken snapshot restored")
	}
	// snapshots from before other logs' rows were left uncounted carry an
	// "other" watermark: it is not kept
	old := NewEngine(nil)
	if err := old.Restore([]byte(`{"conn":"2024-05-06T08:00:00Z","other":"2024-05-06T09:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	if b, _ := old.Snapshot(); string(b) != `{"conn":"2024-05-06T08:00:00Z"}` {
		t.Errorf("snapshot after restore: %s", b)
	}
}

func slicesEqual(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}
