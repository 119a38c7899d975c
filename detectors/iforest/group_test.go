package iforest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/output/notice"
)

// groupForest is a model whose forest isolates conn_count above ~12
// (connCountForest): a window of 400 connections and 5 MB out scores 0.93
// (out of every tree's range), one of 12 connections 0.85, one of 7
// connections is not flagged.
func groupForest(t *testing.T) *Trained {
	pop := features.ComputeRobust([][]float64{vec("10.0.0.9", 0, 7, 1030, 5).Values})
	pop.Scope = features.ScopePopulation
	return &Trained{Forest: connCountForest(t), Baseline: func(string) features.Robust { return pop }}
}

// groupFeed gives host 10.0.0.1 one window per entry of pattern, the
// first at window from: 'x' an outlier (400 connections), 'y' a smaller
// one (12) flagged with a lower score, '.' an ordinary window, ' ' none;
// the watermark then closes the window, as the extractor would.
func groupFeed(d *Detector, from int, pattern string, emit detectors.Emit) {
	for i, c := range pattern {
		w := from + i
		var v features.Vector
		switch c {
		case 'x':
			v = vec("10.0.0.1", w, 400, 5e6, 400)
		case 'y':
			v = vec("10.0.0.1", w, 12, 1040, 12)
		case '.':
			v = vec("10.0.0.1", w, 7, 1030, 7)
		default:
			v = vec("10.0.0.1", w, 0, 0, 0)
			d.Advance(v.End.Add(d.cfg.Lateness), emit)
			continue
		}
		v.UIDs = []string{"C" + strconv.Itoa(w), "C" + strconv.Itoa(w)}
		d.handle([]features.Vector{v}, emit)
		d.Advance(v.End.Add(d.cfg.Lateness), emit)
	}
}

// A run of a host's consecutive flagged windows is one notice spanning
// them, with their count and the peak window's score, risk and
// explanation; a window not flagged, or none, ends the run, group_span
// cuts a long one, and Flush gives the open one. event.id is made from
// the run's start.
func TestGrouping(t *testing.T) {
	tr := groupForest(t)
	t0 := vec("10.0.0.1", 0, 0, 0, 0).Start
	for _, tc := range []struct {
		name    string
		pattern string
		span    time.Duration
		want    []int // windows of each notice, in order
		starts  []int // the window each starts in
		peak    string
	}{
		{"one run", "xxxxxx..", time.Hour, []int{6}, []int{0}, "00:00 (isolation score 0.9"}, // a tie: the first
		{"run ended by a quiet window", "xxx.xx..", time.Hour, []int{3, 2}, []int{0, 4}, ""},
		{"run ended by a silent window", "xx xxx..", time.Hour, []int{2, 3}, []int{0, 3}, ""},
		{"cut at group_span", "xxxxxxxxxxxxxx..", time.Hour, []int{12, 2}, []int{0, 12}, ""},
		{"a notice a window", "xxx..", 5 * time.Minute, []int{1, 1, 1}, []int{0, 1, 2}, ""},
		{"open at the end", "..xxx", time.Hour, []int{3}, []int{2}, ""},
		// the notice's score, risk and explanation are its peak window's
		// (400 connections), not its first's (12)
		{"peak inside the run", "yxy..", time.Hour, []int{3}, []int{0}, "00:05 (isolation score 0.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.GroupSpan = tc.span
			d := New(cfg, tr)
			var ns []*notice.Notice
			emit := func(n *notice.Notice) { ns = append(ns, n) }
			groupFeed(d, 0, tc.pattern, emit)
			d.Flush(emit)
			if len(ns) != len(tc.want) {
				t.Fatalf("%d notices, want %d", len(ns), len(tc.want))
			}
			single := vec("10.0.0.1", 0, 400, 5e6, 400) // an x window's notice
			for i, n := range ns {
				start := t0.Add(time.Duration(tc.starts[i]) * 5 * time.Minute)
				end := start.Add(time.Duration(tc.want[i]) * 5 * time.Minute)
				windows := tc.want[i]
				if windows == 1 {
					windows = 0 // left out
				}
				if !n.Start.Equal(start) || !n.End.Equal(end) || n.Explain.Windows != windows || n.Explain.Score < 0.9 || n.RiskScore < 70 {
					t.Errorf("notice %d: %v..%v, %d windows, score %.3f, risk %.1f; want %v..%v, %d windows",
						i, n.Start, n.End, n.Explain.Windows, n.Explain.Score, n.RiskScore, start, end, windows)
				}
				if cc := n.Explain.Features["conn_count"]; cc.Value != 400 {
					t.Errorf("notice %d explained by conn_count %g, not the peak's 400", i, cc.Value)
				}
				if want := notice.ID(notice.RuleOutlier, single.Host, n.Destination, 0, "", start, ""); n.ID != want {
					t.Errorf("notice %d: event.id %s, want the run start's %s", i, n.ID, want)
				}
				if len(n.UIDs) != tc.want[i] || n.UIDs[0] != "C"+strconv.Itoa(tc.starts[i]) {
					t.Errorf("notice %d: uids %q, want each window's once", i, n.UIDs)
				}
				if tc.want[i] > 1 && !strings.Contains(n.Message, "unusual in "+strconv.Itoa(tc.want[i])+" consecutive 5m0s windows, peak at "+tc.peak) {
					t.Errorf("message %q", n.Message)
				}
				if tc.want[i] == 1 && !strings.HasPrefix(n.Message, "10.0.0.1: unusual host window (isolation score 0.9") {
					t.Errorf("message %q", n.Message)
				}
			}
			flagged := strings.Count(tc.pattern, "x") + strings.Count(tc.pattern, "y")
			if s := d.Stats(); s.Flagged != int64(flagged) || s.Alerts != int64(len(ns)) {
				t.Errorf("flagged %d, alerts %d; want %d, %d", s.Flagged, s.Alerts, flagged, len(ns))
			}
		})
	}
}

// A checkpoint taken in the middle of a run keeps it: the restored
// detector gives the notices, byte for byte, that the uninterrupted one
// gives, wherever the run is cut; a version-6 snapshot (before runs were
// kept) still restores, without runs; a damaged run is refused and leaves
// the detector as it was.
func TestSnapshotKeepsRuns(t *testing.T) {
	tr := groupForest(t)
	const pattern = "..yxxxy..xx"
	run := func(d *Detector, from int, pattern string) []string {
		var out []string
		emit := func(n *notice.Notice) {
			b, _ := json.Marshal(n)
			out = append(out, string(b))
		}
		groupFeed(d, from, pattern, emit)
		d.Flush(emit)
		return out
	}
	want := run(New(DefaultConfig(), tr), 0, pattern)
	if len(want) != 2 {
		t.Fatalf("%d notices uninterrupted, want 2", len(want))
	}
	for cut := 1; cut < len(pattern); cut++ {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			d := New(DefaultConfig(), tr)
			var before []string
			groupFeed(d, 0, pattern[:cut], func(n *notice.Notice) {
				b, _ := json.Marshal(n)
				before = append(before, string(b))
			})
			b, err := d.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			r := New(DefaultConfig(), tr)
			if err := r.Restore(b); err != nil {
				t.Fatal(err)
			}
			got := append(before, run(r, cut, pattern[cut:])...)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("restored at %d:\n%s\nwant\n%s", cut, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}

	d := New(DefaultConfig(), tr)
	groupFeed(d, 0, "xx", func(*notice.Notice) { t.Fatal("a notice before the run ended") })
	b, err := d.Snapshot()
	if err != nil || d.runs.Len() != 1 {
		t.Fatalf("snapshot: %v, %d runs", err, d.runs.Len())
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	delete(s, "runs")
	s["version"] = 6
	old, _ := json.Marshal(s)
	r := New(DefaultConfig(), tr)
	if err := r.Restore(old); err != nil || r.runs.Len() != 0 {
		t.Fatalf("a version-6 snapshot: %v, %d runs", err, r.runs.Len())
	}
	s["version"] = snapshotVersion
	for _, bad := range []string{`[{"host":"10.0.0.1","windows":0}]`, `[{"host":"10.0.0.1","start":"2024-01-01T00:00:00Z","end":"2024-01-01T00:05:00Z","windows":1}]`} {
		s["runs"] = json.RawMessage(bad)
		b, _ := json.Marshal(s)
		if err := d.Restore(b); err == nil {
			t.Errorf("runs %s restored", bad)
		}
	}
	if d.runs.Len() != 1 {
		t.Errorf("a refused snapshot left %d runs, want the 1 before", d.runs.Len())
	}
}
