package dos

import (
	"bytes"
	"cmp"
	"encoding/gob"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

// sustained is a flood against 203.0.113.80:80, a minute per entry of
// pattern from t0 on: 'x' 300 half-open sources, 'X' 600 (the peak), 's'
// 4,000 half-open connections from one source, 'r' the same from another
// source each minute, 'R' 5,000 so (the peak), '.' ten completing
// connections, ' ' nothing.
func sustained(pattern string) []window.Conn { return sustainedTo("203.0.113.80", pattern) }

// sustainedTo is sustained against dst:80.
func sustainedTo(dst, pattern string) []window.Conn {
	var rows []window.Conn
	for m, c := range pattern {
		n, srcs, state := 0, 0, "S0"
		switch c {
		case 'x':
			n, srcs = 300, 300
		case 'X':
			n, srcs = 600, 600
		case 's', 'r':
			n, srcs = 4000, 1
		case 'R':
			n, srcs = 5000, 1
		case '.':
			n, srcs, state = 10, 10, "SF"
		}
		start := t0.Add(time.Duration(m) * time.Minute)
		for i := range n {
			s := i % srcs
			rows = append(rows, window.Conn{TS: start.Add(time.Duration(i) * 50 * time.Second / time.Duration(n)),
				Src: src(c, m, s), Dst: dst, SPort: uint16(1024 + i), DPort: 80,
				State: state})
		}
	}
	return rows
}

// src is the source of row s of minute m of sustained: the loud one of
// 's' is the same each minute, that of 'r' and 'R' another.
func src(c rune, m, s int) string {
	switch c {
	case 's':
		return "100.63.0.1"
	case 'r', 'R':
		return fmt.Sprintf("100.62.%d.1", m)
	}
	return fmt.Sprintf("100.%d.%d.%d", 64+m, s/250, 1+s%250)
}

// A sustained flood is a notice at once for its first firing window and
// then one per group_span of the consecutive ones (or when the run ends:
// a window that does not fire, one with no rows, the end of input), each
// spanning its windows with their count and the peak window's score; a
// change of sub-kind ends the run. Together the notices cover every
// firing window once. group_span of a window or less gives a notice a
// window, as before.
func TestGroupSustainedFlood(t *testing.T) {
	thirty := strings.Repeat("x", 30)
	type got struct {
		from, windows int
		sub           string
	}
	d, s := "distributed", "single_source"
	for _, tc := range []struct {
		name    string
		pattern string
		span    time.Duration
		want    []got
	}{
		{"30 minutes, 10m", thirty, 10 * time.Minute, []got{{0, 1, d}, {1, 10, d}, {11, 10, d}, {21, 9, d}}},
		{"30 minutes, 5m", thirty, 5 * time.Minute, []got{{0, 1, d}, {1, 5, d}, {6, 5, d}, {11, 5, d}, {16, 5, d}, {21, 5, d}, {26, 4, d}}},
		{"30 minutes, 1h", thirty, time.Hour, []got{{0, 1, d}, {1, 29, d}}},
		{"30 minutes, 0s", thirty[:4], 0, []got{{0, 1, d}, {1, 1, d}, {2, 1, d}, {3, 1, d}}},
		{"30 minutes, 1m", thirty[:3], time.Minute, []got{{0, 1, d}, {1, 1, d}, {2, 1, d}}},
		{"a quiet window ends the run", "xxxXx.xxx", 10 * time.Minute, []got{{0, 1, d}, {1, 4, d}, {6, 1, d}, {7, 2, d}}},
		{"a silent window ends the run", "xxx xx..", 10 * time.Minute, []got{{0, 1, d}, {1, 2, d}, {4, 1, d}, {5, 1, d}}},
		// the rows end at minute 3: the silent window 2 closes with 3,
		// in one advance, and still ends the run
		{"a silent window closed with the next", "xx x", 10 * time.Minute, []got{{0, 1, d}, {1, 1, d}, {3, 1, d}}},
		{"a change of kind ends the run", "xxxsssxx", 10 * time.Minute, []got{{0, 1, d}, {1, 2, d}, {3, 1, s}, {4, 2, s}, {6, 1, d}, {7, 1, d}}},
		{"open at the end", "..xXx", 10 * time.Minute, []got{{2, 1, d}, {3, 2, d}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.GroupSpan = tc.span
			ns := window.Run(New(cfg), sustained(tc.pattern))
			if len(ns) != len(tc.want) {
				t.Fatalf("%d notices, want %d: %v", len(ns), len(tc.want), window.Canon(ns))
			}
			for i, n := range ns {
				w := tc.want[i]
				start := t0.Add(time.Duration(w.from) * time.Minute)
				end := start.Add(time.Duration(w.windows) * time.Minute)
				windows := w.windows
				if windows == 1 {
					windows = 0 // left out
				}
				if !n.Start.Equal(start) || !n.End.Equal(end) || n.Explain.Windows != windows || n.Sub != w.sub || n.RiskScore < 50 {
					t.Errorf("notice %d: %s %v..%v, %d windows; want %s %v..%v, %d", i, n.Sub, n.Start, n.End, n.Explain.Windows,
						w.sub, start, end, windows)
				}
				held := tc.span > cfg.Window && i > 0 && ns[i-1].End.Equal(n.Start) && ns[i-1].Sub == n.Sub
				if !held && strings.Contains(n.Message, " for ") {
					t.Errorf("notice %d: message %q", i, n.Message)
				}
				if held { // the flood went on
					if !strings.Contains(n.Message, fmt.Sprintf(" for %s, peak ", window.FmtDur(time.Duration(w.windows)*time.Minute))) ||
						!strings.Contains(n.Message, " in 1m (") {
						t.Errorf("notice %d: message %q", i, n.Message)
					}
				}
			}
			if tc.name == "a quiet window ends the run" {
				// the peak window's (600 sources) score and risk
				one := DefaultConfig()
				one.GroupSpan = 0
				peak := window.Run(New(one), sustained(tc.pattern))[3]
				if n := ns[1]; n.Explain.Score != peak.Explain.Score || n.RiskScore != peak.RiskScore ||
					!reflect.DeepEqual(n.Explain.Features, peak.Explain.Features) {
					t.Errorf("grouped %.3f risk %.1f, want the peak window's %.3f risk %.1f", n.Explain.Score, n.RiskScore,
						peak.Explain.Score, peak.RiskScore)
				}
				t.Log(ns[1].Message)
			}
		})
	}
}

// A restart in the middle of a run keeps it: restored at any row, the
// detector gives the notices of the uninterrupted one, a distributed
// flood's and one of loud sources taking turns. A version-1 snapshot (no
// runs) restores, and a damaged run does not.
func TestGroupRestartMidRun(t *testing.T) {
	for _, pattern := range []string{"xxxxXxxxxxxxxx.xx", "rrrrRrrrrrrrrr.rr"} {
		rows := sustained(pattern)
		want := window.Canon(window.Run(New(DefaultConfig()), rows))
		if len(want) != 5 {
			t.Fatalf("%s uninterrupted: %d notices", pattern, len(want))
		}
		for cut := 100; cut < len(rows); cut += max(700, len(rows)/12) {
			got, err := window.RunSnapshot(New(DefaultConfig()), New(DefaultConfig()), rows, cut)
			if err != nil || !reflect.DeepEqual(window.Canon(got), want) {
				if err == nil {
					err = fmt.Errorf("%d notices: %v", len(got), window.Canon(got))
				}
				t.Fatalf("%s restored at row %d: %v", pattern, cut, err)
			}
		}
	}
	for _, tc := range []struct {
		name string
		s    snap
		ok   bool
	}{
		{"version 1", snap{Version: 1}, true},
		{"held windows without a peak", snap{Version: 2, Runs: []HeldRun{{Run: run{Held: 2, First: 3, Last: 4}}}}, false},
		{"negative", snap{Version: 2, Runs: []HeldRun{{Run: run{Held: -1}}}}, false},
		{"more windows of other sources than held", snap{Version: 3, Runs: []HeldRun{{Run: run{Held: 2, Others: 3, First: 3, Last: 4,
			Peak: Peak{Span: 1}}}}}, false},
	} {
		var b bytes.Buffer
		if err := gob.NewEncoder(&b).Encode(&tc.s); err != nil {
			t.Fatal(err)
		}
		d := New(DefaultConfig())
		if err := d.Restore(b.Bytes()); (err == nil) != tc.ok || len(d.runs) != 0 {
			t.Errorf("%s: %v, %d runs", tc.name, err, len(d.runs))
		}
	}
	// a version-2 single-source run held windows of its one source: it
	// restores with none of another, and its notice names it
	loud := window.IPOf(netip.MustParseAddr("100.63.0.1"))
	v2 := snap{Version: 2, Runs: []HeldRun{{Key: Key{Dst: window.IPOf(netip.MustParseAddr("203.0.113.80")), Port: 80, Proto: 6},
		Run: run{Sub: "single_source", Source: loud, First: 3, Last: 4, Held: 2,
			Peak: Peak{Win: 4, Span: 1, Conns: 4000, Srcs: 1, HalfOpen: 1, Top: Top{Src: loud, N: 4000}, R2: 1.3}}}}}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&v2); err != nil {
		t.Fatal(err)
	}
	d := New(DefaultConfig())
	if err := d.Restore(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	var ns []*notice.Notice
	d.Flush(func(n *notice.Notice) { ns = append(ns, n) })
	if len(ns) != 1 || ns[0].Source.String() != "100.63.0.1" || ns[0].Explain.Windows != 2 || strings.Contains(ns[0].Message, "turns") {
		t.Errorf("version 2 run: %v", window.Canon(ns))
	}
}

// The held runs are bounded: over maxRuns, the one whose last firing
// window is the oldest is given at once (its next firing window then a
// notice at once, as a new run's). 5,000 keys flooded for three minutes
// are never more than maxRuns runs, and every key's every window is
// covered by exactly one notice.
func TestGroupRunsBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinSources = 2 // three half-open sources a key-window fire
	const keys, minutes = 5000, 3
	var rows []window.Conn
	for m := range minutes {
		for k := range keys {
			for s := range 3 {
				rows = append(rows, window.Conn{TS: t0.Add(time.Duration(m)*time.Minute + time.Duration(k*3+s)*time.Millisecond),
					Src: fmt.Sprintf("100.64.0.%d", 1+s), Dst: fmt.Sprintf("10.%d.%d.1", k/250, k%250), DPort: 80, State: "S0"})
			}
		}
	}
	for s := range 60 { // rows of another key to close the windows one by one
		rows = append(rows, window.Conn{TS: t0.Add(minutes*time.Minute + time.Duration(s)*10*time.Second), Src: "100.64.0.1",
			Dst: "10.99.0.1", DPort: 80})
	}
	d := New(cfg)
	covered := map[string]int{}
	most, notices := 0, 0
	emit := func(n *notice.Notice) {
		most = max(most, len(d.runs))
		notices++
		for w := n.Start; w.Before(n.End); w = w.Add(time.Minute) {
			covered[n.Destination.String()+" "+w.Format("15:04")]++
		}
	}
	eng := detectors.NewEngine(emit, d)
	for _, r := range rows {
		eng.Observe(r.Event())
		most = max(most, len(d.runs))
	}
	eng.Flush()
	// without the bound, two notices a key: its first window, the next two
	if most != maxRuns || len(d.runs) != 0 || notices <= 2*keys {
		t.Fatalf("at most %d runs (%d at the end), want %d; %d notices", most, len(d.runs), maxRuns, notices)
	}
	if len(covered) != keys*minutes {
		t.Fatalf("%d key-windows covered, want %d", len(covered), keys*minutes)
	}
	for kw, c := range covered {
		if c != 1 {
			t.Fatalf("%s covered %d times", kw, c)
		}
	}
}

// A single-source flood whose loudest source changes every window (a
// botnet taking turns against one service) is grouped as a distributed
// one is: the run is the destination:port/proto's, whatever its loudest
// source. It gave a notice a window: each new source ended the run. The
// held windows' notice names the loudest source of its first window
// (source.ip, in event.id), not the peak's, so that given in part at the
// end of input and then whole (a restart from a checkpoint), it is one
// event.id; its message says in how many windows another was the
// loudest. Floods on other targets are never merged, and a change of
// kind still ends the run.
func TestGroupLoudSourcesTakingTurns(t *testing.T) {
	const a, b = "203.0.113.80", "203.0.113.81"
	d, s := "distributed", "single_source"
	type got struct {
		dst           string
		from, windows int
		sub           string
		source        string // "": none
		others        int    // windows of another loudest source
	}
	turn := func(m int) string { return fmt.Sprintf("100.62.%d.1", m) }
	for _, tc := range []struct {
		name    string
		targets map[string]string // destination: pattern
		cut     int               // > 0: also given in part, at the end of minute cut
		want    []got
	}{
		{"a source a window", map[string]string{a: "rrrrrrrrrrrr"}, 4,
			[]got{{a, 0, 1, s, turn(0), 0}, {a, 1, 10, s, turn(1), 9}, {a, 11, 1, s, turn(11), 0}}},
		{"the peak's source is not the notice's", map[string]string{a: "rrrRrr"}, 3,
			[]got{{a, 0, 1, s, turn(0), 0}, {a, 1, 5, s, turn(1), 4}}},
		{"taking turns, then one source", map[string]string{a: "rrrsss"}, 0,
			[]got{{a, 0, 1, s, turn(0), 0}, {a, 1, 5, s, turn(1), 4}}},
		{"one source", map[string]string{a: "ssssss"}, 0,
			[]got{{a, 0, 1, s, "100.63.0.1", 0}, {a, 1, 5, s, "100.63.0.1", 0}}},
		{"a change of kind ends the run", map[string]string{a: "rrxxrr"}, 0,
			[]got{{a, 0, 1, s, turn(0), 0}, {a, 1, 1, s, turn(1), 0}, {a, 2, 1, d, "", 0}, {a, 3, 1, d, "", 0},
				{a, 4, 1, s, turn(4), 0}, {a, 5, 1, s, turn(5), 0}}},
		{"two targets, each its run", map[string]string{a: "rrrr", b: "rrrr"}, 0,
			[]got{{a, 0, 1, s, turn(0), 0}, {b, 0, 1, s, turn(0), 0}, {a, 1, 3, s, turn(1), 2}, {b, 1, 3, s, turn(1), 2}}},
		// the sources take turns between the targets too: no target has
		// two firing windows in a row
		{"targets taken in turn", map[string]string{a: "r r r", b: " r r "}, 0,
			[]got{{a, 0, 1, s, turn(0), 0}, {b, 1, 1, s, turn(1), 0}, {a, 2, 1, s, turn(2), 0}, {b, 3, 1, s, turn(3), 0},
				{a, 4, 1, s, turn(4), 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rows []window.Conn
			for dst, p := range tc.targets {
				rows = append(rows, sustainedTo(dst, p)...)
			}
			slices.SortStableFunc(rows, func(x, y window.Conn) int {
				return cmp.Or(x.TS.Compare(y.TS), strings.Compare(x.Dst, y.Dst))
			})
			ns := window.Run(New(DefaultConfig()), rows)
			if len(ns) != len(tc.want) {
				t.Fatalf("%d notices, want %d: %v", len(ns), len(tc.want), window.Canon(ns))
			}
			slices.SortStableFunc(ns, func(x, y *notice.Notice) int {
				return cmp.Or(x.Start.Compare(y.Start), x.Destination.Compare(y.Destination))
			})
			for i, n := range ns {
				w := tc.want[i]
				start := t0.Add(time.Duration(w.from) * time.Minute)
				end := start.Add(time.Duration(w.windows) * time.Minute)
				src := ""
				if n.Source.IsValid() {
					src = n.Source.String()
				}
				if n.Destination.String() != w.dst || !n.Start.Equal(start) || !n.End.Equal(end) || n.Sub != w.sub || src != w.source {
					t.Errorf("notice %d: %s %s from %q %v..%v; want %s %s from %q %v..%v", i, n.Destination, n.Sub, src,
						n.Start.Format("15:04"), n.End.Format("15:04"), w.dst, w.sub, w.source, start.Format("15:04"), end.Format("15:04"))
				}
				turns := fmt.Sprintf("another source the loudest in %d of its %d windows (taking turns)", w.others, w.windows)
				if strings.Contains(n.Message, "taking turns") != (w.others > 0) || w.others > 0 && !strings.Contains(n.Message, turns) {
					t.Errorf("notice %d: message %q, want %d windows of another source", i, n.Message, w.others)
				}
			}
			if tc.cut == 0 {
				return
			}
			// the held windows given in part (the input ends at minute
			// cut) are the whole group's event.id
			var part []window.Conn
			for _, r := range rows {
				if r.TS.Before(t0.Add(time.Duration(tc.cut) * time.Minute)) {
					part = append(part, r)
				}
			}
			ps := window.Run(New(DefaultConfig()), part)
			if len(ps) != 2 || ps[1].Explain.Windows != tc.cut-1 || ps[1].ID != ns[1].ID {
				t.Errorf("cut at minute %d: %v; want the group of %d windows, event.id %s", tc.cut, window.Canon(ps), tc.cut-1, ns[1].ID)
			}
		})
	}
}
