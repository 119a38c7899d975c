package supervised

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// feed gives host 10.0.0.1 one window per entry of pattern from t0 on: 'x'
// a failed fan-out the model flags, 'y' a smaller one it flags with a
// lower p, '.' a few ordinary connections it does not, ' ' nothing; the
// watermark advances after each window.
func feed(d *Detector, t0 time.Time, pattern string, emit detectors.Emit) {
	for w, c := range pattern {
		start := t0.Add(time.Duration(w) * 5 * time.Minute)
		n, state, port := 0, "SF", uint16(443)
		switch c {
		case 'x':
			n, state, port = 250, "S0", 445
		case 'y':
			n, state, port = 40, "S0", 445
		case '.':
			n = 5
		}
		for i := 0; i < n; i++ {
			ts := start.Add(time.Duration(i) * time.Second)
			d.Observe(&zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, UID: []byte("C1"),
				Orig: netip.MustParseAddr("10.0.0.1"), Resp: netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), RespP: port, ConnState: []byte(state)}})
		}
		d.Advance(start.Add(5*time.Minute), emit)
	}
}

// A run of a host's consecutive flagged windows is one notice spanning
// them, with their count and the peak p; a window not flagged, or none,
// ends the run, and group_span cuts a long one.
func TestGrouping(t *testing.T) {
	X, y := data(400)
	m, _ := Fit(X, y, Params{})
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		pattern string
		span    time.Duration
		want    []int // windows of each notice, in order
		starts  []int // the window each starts in
		peak    string
	}{
		{"one run", "xxxxxx..", time.Hour, []int{6}, []int{0}, "00:00 (p=0.94)"}, // a tie: the first
		{"run ended by a quiet window", "xxx.xx..", time.Hour, []int{3, 2}, []int{0, 4}, ""},
		{"run ended by a silent window", "xx xxx..", time.Hour, []int{2, 3}, []int{0, 3}, ""},
		{"cut at group_span", "xxxxxxxxxxxxxx..", time.Hour, []int{12, 2}, []int{0, 12}, ""},
		{"a notice a window", "xxx..", 5 * time.Minute, []int{1, 1, 1}, []int{0, 1, 2}, ""},
		{"open at the end", "..xxx", time.Hour, []int{3}, []int{2}, ""},
		// the notice's p, risk and explanation are its peak window's
		// (p 0.94 of 250 failed connections), not its first's (0.69 of 40)
		{"peak inside the run", "yxy..", time.Hour, []int{3}, []int{0}, "00:05 (p=0.94): failed_ratio 100%, conn_count 250"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.GroupSpan = tc.span
			d := New(cfg, m, nil)
			var ns []*notice.Notice
			emit := func(n *notice.Notice) { ns = append(ns, n) }
			feed(d, t0, tc.pattern, emit)
			d.Flush(emit)
			if len(ns) != len(tc.want) {
				t.Fatalf("%d notices, want %d", len(ns), len(tc.want))
			}
			for i, n := range ns {
				start := t0.Add(time.Duration(tc.starts[i]) * 5 * time.Minute)
				end := start.Add(time.Duration(tc.want[i]) * 5 * time.Minute)
				windows := tc.want[i]
				if windows == 1 {
					windows = 0 // left out
				}
				if !n.Start.Equal(start) || !n.End.Equal(end) || n.Explain.Windows != windows || n.Explain.Score < 0.9 || n.RiskScore < 50 {
					t.Errorf("notice %d: %v..%v, %d windows, p %.3f, risk %.1f; want %v..%v, %d windows",
						i, n.Start, n.End, n.Explain.Windows, n.Explain.Score, n.RiskScore, start, end, windows)
				}
				if tc.want[i] > 1 && !strings.Contains(n.Message, "classified malicious in "+strconv.Itoa(tc.want[i])+" consecutive 5m0s windows, peak at "+tc.peak) {
					t.Errorf("message %q", n.Message)
				}
			}
			if d.Flagged != int64(strings.Count(tc.pattern, "x")+strings.Count(tc.pattern, "y")) || d.Alerts != int64(len(ns)) {
				t.Errorf("flagged %d, alerts %d", d.Flagged, d.Alerts)
			}
		})
	}
}

// A checkpoint taken in the middle of a run keeps it: the restored
// detector gives the notices the uninterrupted one gives; a snapshot of
// the windows alone (before runs were kept) still restores.
func TestSnapshotKeepsRuns(t *testing.T) {
	X, y := data(400)
	m, _ := Fit(X, y, Params{})
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func(d *Detector, pattern string, from int) []string {
		var ids []string
		emit := func(n *notice.Notice) { ids = append(ids, n.ID+" "+n.Message) }
		feed(d, t0.Add(time.Duration(from)*5*time.Minute), pattern, emit)
		d.Flush(emit)
		return ids
	}
	want := run(New(DefaultConfig(), m, nil), "xxxxx..", 0)
	d := New(DefaultConfig(), m, nil)
	var before []string
	feed(d, t0, "xxx", func(n *notice.Notice) { before = append(before, n.ID) })
	b, err := d.Snapshot()
	if err != nil || len(before) != 0 || d.runs.Len() != 1 {
		t.Fatalf("snapshot: %v, %d notices, %d runs", err, len(before), d.runs.Len())
	}
	// a run is written as version 2 wrote it before window.HostRun
	if !strings.Contains(string(b), `"windows":2,"peak":`) || !strings.Contains(string(b), `"peak_values":[`) {
		t.Errorf("runs not as version 2 wrote them: %.300s", b)
	}
	r := New(DefaultConfig(), m, nil)
	if err := r.Restore(b); err != nil {
		t.Fatal(err)
	}
	if got := run(r, "xx..", 3); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("restored: %q\nwant %q", got, want)
	}
	old, err := d.ex.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := New(DefaultConfig(), m, nil).Restore(old); err != nil {
		t.Fatalf("a version-1 snapshot: %v", err)
	}
	for _, bad := range []string{`{"supervised":3,"extractor":{}}`, `{"supervised":2,"runs":[{"host":"10.0.0.1","windows":0}],"extractor":{}}`} {
		if err := New(DefaultConfig(), m, nil).Restore([]byte(bad)); err == nil {
			t.Errorf("%s restored", bad)
		}
	}
}
