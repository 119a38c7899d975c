package dos

import (
	"reflect"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

// A snapshot carries the closed mark, the late count and the notices held
// for the next advance, not only the keys: restored and continued, the
// detector gives the notices and counts of the uninterrupted one (a row
// for a closed window stays late, a held one-way-flow notice comes out).
func TestRestoreKeepsClosedLatePending(t *testing.T) {
	run := func(restore bool) ([]string, window.Stats) {
		d := New(DefaultConfig())
		var ns []*notice.Notice
		emit := func(n *notice.Notice) { ns = append(ns, n) }
		for i := 0; i < 50; i++ {
			d.Observe(window.Conn{TS: t0.Add(time.Duration(i) * time.Second), Src: "10.0.0.1", Dst: "203.0.113.80", DPort: 80}.Event())
		}
		d.Advance(t0.Add(10*time.Minute), emit)
		// held in pending until the next advance
		d.Observe(window.Conn{TS: t0.Add(10 * time.Minute), Src: "10.0.0.9", Dst: "203.0.113.81", DPort: 161, Proto: "udp",
			State: "S0", OrigPkts: 100000, Duration: 5 * time.Minute}.Event())
		if restore {
			b, err := d.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			d = New(DefaultConfig())
			if err := d.Restore(b); err != nil {
				t.Fatal(err)
			}
		}
		// the closed first minute: late
		for i := 0; i < 3; i++ {
			d.Observe(window.Conn{TS: t0.Add(time.Duration(i) * time.Second), Src: "10.0.0.2", Dst: "203.0.113.80", DPort: 80}.Event())
		}
		d.Flush(emit)
		return window.Canon(ns), d.Stats()
	}
	want, wantStats := run(false)
	if len(want) != 1 || wantStats.Late != 3 {
		t.Fatalf("uninterrupted: %d notices, %+v", len(want), wantStats)
	}
	got, gotStats := run(true)
	if !reflect.DeepEqual(got, want) || gotStats != wantStats {
		t.Fatalf("restored: %d notices, %+v; want %d, %+v", len(got), gotStats, len(want), wantStats)
	}
}
