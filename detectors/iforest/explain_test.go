package iforest

import (
	"bytes"
	"encoding/json"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

// On real slices, the explanation's baselines are what an analyst expects
// of a typical host-window: at least one connection, some bytes each way,
// a non-zero duration (before, windows with too few rows to be scored and
// windows without conn rows made the median host-window an empty one, and
// every notice read "conn_count 160 vs baseline 0").
func TestExplanationBaselineRealSlices(t *testing.T) {
	cases := []struct {
		path    string
		minRisk float64 // low enough that the slice gives notices
		minRows int
		// the population medians of the typical features must be > 0
		positive []string
		// a host whose notices must use its own history, if any
		hostScope string
	}{
		// the quiet hour before 20:00 is mostly failed retries: the typical
		// window receives nothing, so bytes_in's baseline is a real 0;
		// 10.0.0.111 retries 2 or 3 times a window, so min_rows 2 gives it
		// 12 windows of history before it turns busy at 20:00
		{"../../testdata/iforest/proxy_rolling", 50, 2, []string{"conn_count", "distinct_dst_ips", "bytes_out", "mean_duration"}, "10.0.0.111"},
		{"../../testdata/detectors/benign/zat/conn.log.gz", 55, 3, []string{"conn_count", "distinct_dst_ips", "bytes_out", "bytes_in", "mean_duration"}, ""},
		// (50: the slice keeps only the C2 pairs' and DNS/NTP rows, so
		// most of its windows border a gap of the input, and since the
		// run's first forest grows on whole windows (wholeOf) the C2
		// host's windows score lower: 4 notices at 55 before, 1 at 50 now)
		{"../../testdata/detectors/trickbot/conn.log.gz", 50, 3, []string{"conn_count", "distinct_dst_ips", "bytes_out", "bytes_in", "mean_duration"}, ""},
	}
	for _, c := range cases {
		t.Run(strings.TrimPrefix(c.path, "../../testdata/"), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MinRisk, cfg.MinRows = c.minRisk, c.minRows
			d := New(cfg, nil)
			ns, err := window.Replay([]string{c.path}, d)
			if err != nil {
				t.Fatal(err)
			}
			if d.tr == nil {
				t.Fatal("never trained")
			}
			pop := d.tr.Baseline("")
			for _, name := range c.positive {
				i := index(name)
				if pop.RawMedian[i] <= 0 {
					t.Errorf("population baseline %s = %g", name, pop.RawMedian[i])
				}
			}
			if pop.RawMedian[index("conn_count")] < 1 {
				t.Errorf("population conn_count %g", pop.RawMedian[index("conn_count")])
			}
			outliers, host := 0, 0
			for _, n := range ns {
				if n.Rule != notice.RuleOutlier {
					continue
				}
				outliers++
				t.Log(n.Message)
				scope := features.ScopePopulation
				if strings.Contains(n.Message, "vs host baseline") {
					scope = features.ScopeHost
					host++
				} else if !strings.Contains(n.Message, "vs population baseline") {
					t.Errorf("message names no baseline scope: %s", n.Message)
				}
				if n.Explain.BaselineScope != scope {
					t.Errorf("zeekanom.baseline_scope %q, message says %s", n.Explain.BaselineScope, scope)
				}
				if n.Source.String() == c.hostScope && scope != features.ScopeHost {
					t.Errorf("%s has history but was explained against the %s: %s", c.hostScope, scope, n.Message)
				}
				for name, f := range n.Explain.Features {
					if f.Baseline == nil || f.Deviation == nil || math.IsNaN(*f.Deviation) {
						t.Errorf("%s: incomplete feature %s", n.Message, name)
						continue
					}
					if name == "conn_count" && *f.Baseline < 1 {
						t.Errorf("conn_count baseline %g: %s", *f.Baseline, n.Message)
					}
				}
			}
			if outliers == 0 {
				t.Fatal("no outlier notices to check")
			}
			if c.hostScope != "" && host == 0 {
				t.Errorf("no notice explained against a host baseline")
			}
		})
	}
}

func index(name string) int {
	for i, n := range features.Names {
		if n == name {
			return i
		}
	}
	panic(name)
}

// vec is a host-window with conn_count c and bytes_out b (other features
// fixed), rows rows.
func vec(host string, w int, c, b float64, rows int) features.Vector {
	v := make([]float64, features.N)
	v[0], v[1], v[2], v[4], v[5], v[6], v[8] = c, 2, 1, b, 3*b, 1, 1
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(w) * 5 * time.Minute)
	return features.Vector{Host: netip.MustParseAddr(host), Start: t0, End: t0.Add(5 * time.Minute), Values: v, Rows: rows}
}

// historyOnly is a model (a forest of two windows) and a config that
// flags nothing: every window a detector of them judges goes to its
// host's history.
func historyOnly() (*Trained, Config) {
	X := [][]float64{features.Transform(vec("10.0.0.9", 0, 5, 1000, 5).Values, nil), features.Transform(vec("10.0.0.9", 0, 9, 1500, 5).Values, nil)}
	f, _ := Fit(X, Params{Seed: 1})
	pop := features.ComputeRobust(nil)
	cfg := DefaultConfig()
	cfg.MinRisk = 101
	return &Trained{Forest: f, Baseline: func(string) features.Robust { return pop }}, cfg
}

// connCountForest is a forest of 200 windows of 5 to 9 connections and
// about 1 kB out, where conn_count above ~12 is far out.
func connCountForest(t *testing.T) *Forest {
	t.Helper()
	var X [][]float64
	for i := 0; i < 200; i++ {
		X = append(X, features.Transform(vec("10.0.0.9", 0, float64(5+i%5), 1000+float64(i%7)*10, 5).Values, nil))
	}
	f, err := Fit(X, Params{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A host with MinHostWindows unflagged windows of its own is explained
// against them; a host without, against the population; a model's host
// baseline wins over the run's history; flagged windows and windows too
// small to score never enter a history.
func TestBaselineScope(t *testing.T) {
	f := connCountForest(t)
	pop := features.ComputeRobust([][]float64{vec("10.0.0.9", 0, 2, 500, 5).Values})
	pop.Scope = features.ScopePopulation
	modelHost := features.ComputeRobust([][]float64{vec("10.0.0.3", 0, 40, 9000, 5).Values})
	modelHost.Scope = features.ScopeHost
	base := func(h string) features.Robust {
		if h == "10.0.0.3" {
			return modelHost
		}
		return pop
	}
	cases := []struct {
		name      string
		host      string
		history   int // unflagged windows before the outlier
		small     int // windows with too few rows before it
		scope     string
		connCount float64 // the conn_count baseline in the explanation
	}{
		{"own history", "10.0.0.1", MinHostWindows, 0, features.ScopeHost, 7},
		{"short history", "10.0.0.2", MinHostWindows - 1, 0, features.ScopePopulation, 2},
		{"small windows do not count", "10.0.0.4", MinHostWindows - 1, 5, features.ScopePopulation, 2},
		{"model host baseline", "10.0.0.3", MinHostWindows, 0, features.ScopeHost, 40},
		{"no history", "10.0.0.5", 0, 0, features.ScopePopulation, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.GroupSpan = cfg.Window // a notice a window: each explained
			d := New(cfg, &Trained{Forest: f, Baseline: base})
			var ns []*notice.Notice
			emit := func(n *notice.Notice) { ns = append(ns, n) }
			w := 0
			for ; w < c.history; w++ {
				v := vec(c.host, w, 7, 1030, 5)
				d.handle([]features.Vector{v}, emit)
			}
			for i := 0; i < c.small; i++ {
				v := vec(c.host, w, 7, 1030, 2)
				d.handle([]features.Vector{v}, emit)
				w++
			}
			if len(ns) != 0 {
				t.Fatalf("history windows flagged: %s", ns[0].Message)
			}
			for i := 0; i < 2; i++ { // flagged twice: the first must not become history
				v := vec(c.host, w, 400, 5e6, 50)
				d.handle([]features.Vector{v}, emit)
				w++
			}
			d.Flush(emit)
			if len(ns) != 2 {
				t.Fatalf("%d notices, want 2", len(ns))
			}
			for _, n := range ns {
				if !strings.Contains(n.Message, "vs "+c.scope+" baseline") {
					t.Errorf("want %s baseline: %s", c.scope, n.Message)
				}
				cc := n.Explain.Features["conn_count"]
				if cc.Baseline == nil || *cc.Baseline != c.connCount {
					t.Errorf("conn_count baseline %v, want %g: %s", cc.Baseline, c.connCount, n.Message)
				}
			}
			if got := d.baseline(netip.MustParseAddr(c.host)).Scope; got != c.scope {
				t.Errorf("scope %s", got)
			}
		})
	}
}

// Windows that are never scored (fewer than min_rows rows) and features a
// window does not have (conn features without conn rows) stay out of the
// population baseline of a forest trained on the run.
func TestPopulationIsScoredWindows(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TrainWindows = 40
	d := New(cfg, nil)
	for w := 0; w < 40; w++ {
		switch {
		case w%4 == 0:
			d.buf = append(d.buf, vec("10.0.0.1", w, 1, 10, 1)) // too small to score
		case w%4 == 1:
			v := vec("10.0.0.2", w, 0, 0, 6) // http only: no conn rows
			for i := range v.Values {
				v.Values[i] = 0
			}
			v.Values[8], v.Values[14] = 1, 6
			d.buf = append(d.buf, v)
		default:
			d.buf = append(d.buf, vec("10.0.0.3", w, float64(10+w%3), 2000, 12))
		}
	}
	d.train(func(*notice.Notice) {})
	pop := d.tr.Baseline("")
	if pop.Scope != features.ScopePopulation || pop.RawMedian[0] != 11 || pop.RawMedian[4] != 2000 || pop.Count[0] != 20 || pop.Count[14] != 30 || pop.N != 30 {
		t.Fatalf("population %+v", pop)
	}
}

// The per-host history stays within the project's 2 KiB per tracked host.
func TestHistorySize(t *testing.T) {
	if len(features.Names) != features.Dim {
		t.Fatalf("features.Dim %d, %d names", features.Dim, len(features.Names))
	}
	// what the table stores per host (window.Table keeps the key beside the
	// value): a sixth of a 2 KiB share (exfil and contextual key by host
	// too), and the 608 bytes of a history in full for a host with more
	// than histCols features in use
	if sz := reflect.TypeOf(window.Entry[window.IP, hostHistory]{}).Size(); sz > 348 {
		t.Fatalf("history entry %d bytes", sz)
	}
}

// bfloat16 keeps a history's values within 1/256 of them over float32's
// normal range, rounds to the nearest (ties to even), and keeps 0,
// infinities and NaN.
func TestBF16(t *testing.T) {
	for _, f := range []float32{1, 3, 137, 257, 1e-6, 0.3333, 65537, 1.5e9, 7.3e12, 3e38, 1.2e-38} {
		for _, x := range []float32{f, -f} {
			got := toBF16(x).float32()
			if rel := math.Abs(float64(got-x) / float64(x)); rel > 1.0/256 {
				t.Errorf("%g -> %g: relative error %g", x, got, rel)
			}
		}
	}
	for _, c := range []struct{ in, want float32 }{{0, 0}, {256, 256}, {257, 256}, {259, 260}, {258, 258},
		{float32(math.Inf(1)), float32(math.Inf(1))}, {3.4e38, 3.3895314e38}, {-math.MaxFloat32, -3.3895314e38}} {
		if got := toBF16(c.in).float32(); got != c.want {
			t.Errorf("%g -> %g, want %g", c.in, got, c.want)
		}
	}
	if got := toBF16(float32(math.NaN())).float32(); !math.IsNaN(float64(got)) {
		t.Errorf("NaN -> %g", got)
	}
}

// Snapshots keep a history's windows as base64 of their bfloat16 bits; an
// older snapshot's numbers (float32, before version 6) still restore,
// rounded; a damaged one (bits for more or fewer windows than it holds)
// does not.
func TestHistoryJSON(t *testing.T) {
	old := `{"v":[[1,2.5,1234567.9,0.001]],"n":1,"i":1}`
	var h History
	if err := json.Unmarshal([]byte(old), &h); err != nil {
		t.Fatal(err)
	}
	if h.N != 1 || h.Next != 1 || h.Vals[0][0].float32() != 1 || h.Vals[0][1].float32() != 2.5 ||
		math.Abs(float64(h.Vals[0][2].float32())/1234567.9-1) > 1.0/256 || h.Vals[1][0] != 0 {
		t.Fatalf("%+v", h)
	}
	full := h
	for range HistoryLen + 3 {
		full.add([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19})
	}
	for _, h := range []History{h, full, {}} {
		b, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		var again History
		if err := json.Unmarshal(b, &again); err != nil || again != h {
			t.Fatalf("%s: %+v %v", b, again, err)
		}
		if h.N == 1 && !bytes.HasPrefix(b, []byte(`{"b":"gD8gQ`)) {
			t.Fatalf("%s", b)
		}
	}
	for _, bad := range []string{`{"b":"gD8=","n":1,"i":1}`, `{"b":"","n":2,"i":2}`, `{"n":1,"i":1}`} {
		var h History
		if err := json.Unmarshal([]byte(bad), &h); err == nil {
			t.Errorf("%s restored: %+v", bad, h)
		}
	}
}

// Snapshots carry the histories; a version-1 snapshot (before them) still
// restores; an unknown version fails and leaves the detector as it was.
func TestSnapshotHistory(t *testing.T) {
	tr, cfg := historyOnly()
	a := New(cfg, tr)
	// "::" too: IPv6's unspecified address is a real originator (duplicate
	// address detection), and its key is the one no address has; its
	// history made Restore fail ("bad history entry for invalid IP"), so a
	// restarted sidecar could not start (found by FuzzDetectors)
	for w := 0; w < 10; w++ {
		v := vec("10.0.0.1", w, float64(w), 100, 5)
		u := vec("::", w, float64(w), 200, 5)
		a.handle([]features.Vector{v, u}, func(*notice.Notice) {})
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b := restored(t, cfg, tr, snap)
	for _, host := range []string{"10.0.0.1", "::"} {
		h := netip.MustParseAddr(host)
		if !reflect.DeepEqual(a.baseline(h), b.baseline(h)) || b.baseline(h).Scope != features.ScopeHost || b.Stats().HistoryHosts != 2 {
			t.Fatalf("%s: history not restored: %+v", host, b.baseline(h))
		}
	}
	var old map[string]any
	json.Unmarshal(snap, &old)
	old["version"] = 1
	delete(old, "history")
	v1, _ := json.Marshal(old)
	c := New(cfg, tr)
	if err := c.Restore(v1); err != nil || c.Stats().HistoryHosts != 0 {
		t.Fatalf("version 1: %v", err)
	}
	old["version"] = 99
	v99, _ := json.Marshal(old)
	if err := b.Restore(v99); err == nil || !strings.Contains(err.Error(), "version 99") || b.Stats().HistoryHosts != 2 {
		t.Fatalf("version 99: %v", err)
	}
}

// A snapshot whose history holds a finite float32 at the top of its range
// (a damaged checkpoint) restores, and the detector can still checkpoint:
// rounded to bfloat16's infinity, which JSON cannot hold, it made every
// later checkpoint of iforest fail (found by a review).
func TestHistoryTopOfRangeSnapshots(t *testing.T) {
	tr, cfg := historyOnly()
	a := New(cfg, tr)
	for w := 0; w < 3; w++ {
		a.handle([]features.Vector{vec("10.0.0.1", w, float64(w), 100, 5)}, func(*notice.Notice) {})
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(snap, &m); err != nil {
		t.Fatal(err)
	}
	h := m["history"].([]any)[0].(map[string]any)["V"].(map[string]any)
	delete(h, "b") // (the numbers of a snapshot before version 6)
	h["v"] = []any{[]any{0, 0, 0, 0, 3.4e38}}
	damaged, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	b := New(cfg, tr)
	if err := b.Restore(damaged); err != nil {
		t.Fatalf("not restored: %v", err)
	}
	if _, err := b.Snapshot(); err != nil {
		t.Fatalf("restored, then cannot snapshot: %v", err)
	}
}

// The message's features carry their units: it said "bytes_out
// 5.03770666e+08 vs population baseline 16202 (z +3.9)".
func TestDescribeUnits(t *testing.T) {
	ex := notice.Explanation{BaselineScope: "population", Top: []string{"out_in_ratio", "mean_duration", "bytes_out", "conn_count"},
		Features: map[string]notice.Feature{
			"out_in_ratio":  notice.F(5.56, -3.205, 8.401),
			"mean_duration": notice.F(502.817, 2.335, 4.157),
			"bytes_out":     notice.F(503770666, 16202, 3.904),
			"conn_count":    notice.F(3, 131.5, -3.405),
		}}
	want := "out_in_ratio 260× vs population baseline 0.041× (z +8.4), mean_duration 8m23s vs population baseline 2.3s (z +4.2), bytes_out 503.8 MB vs population baseline 16 kB (z +3.9)"
	if got := Describe(ex, false, 0); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// A window with no bytes in: its out_in_ratio, log(out+1), read
// "out_in_ratio 6575× ... bytes_in 0 B" as if traffic had come back. The
// message says none came; the feature keeps the model's smoothed value.
func TestMessageNoneIn(t *testing.T) {
	ratio := index("out_in_ratio")
	pop := outInPopulation()
	for _, c := range []struct {
		name    string
		in      float64
		want    string
		wantNot string
	}{
		{"none in", 0, "out_in_ratio none in (6.6 MB out) vs population baseline", "×"},
		{"some in", 2e3, "out_in_ratio 3298× vs population baseline", "none in"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := New(DefaultConfig(), &Trained{Forest: connCountForest(t), Baseline: func(string) features.Robust { return pop }})
			var ns []*notice.Notice
			v := vec("10.0.0.1", 0, 400, 6.6e6, 50)
			v.Values[index("bytes_in")] = c.in
			v.Values[ratio] = math.Log((6.6e6 + 1) / (c.in + 1))
			d.handle([]features.Vector{v}, func(n *notice.Notice) { ns = append(ns, n) })
			d.Flush(func(n *notice.Notice) { ns = append(ns, n) })
			if len(ns) != 1 {
				t.Fatalf("%d notices, want 1", len(ns))
			}
			n := ns[0]
			part := n.Message[strings.Index(n.Message, "out_in_ratio"):]
			if !strings.HasPrefix(part, c.want) || strings.Contains(strings.SplitN(part, " vs ", 2)[0], c.wantNot) {
				t.Errorf("message %s\nwant %q", n.Message, c.want)
			}
			if f := n.Explain.Features["out_in_ratio"]; f.Value != math.Round(v.Values[ratio]*1000)/1000 {
				t.Errorf("feature value %g, want the vector's %g", f.Value, v.Values[ratio])
			}
		})
	}
}

// outInPopulation is a population baseline of 20 windows of 10.0.0.9 with
// bytes both ways, out_in_ratio as the extractor computes it: what the
// messages of windows without bytes in (or not logged) are held against.
func outInPopulation() features.Robust {
	ratio := index("out_in_ratio")
	var popX [][]float64
	for i := 0; i < 20; i++ {
		v := vec("10.0.0.9", i, 2, 500+float64(i), 5).Values
		v[ratio] = math.Log((v[4] + 1) / (v[5] + 1))
		popX = append(popX, v)
	}
	pop := features.ComputeRobust(popX)
	pop.Scope = features.ScopePopulation
	return pop
}
