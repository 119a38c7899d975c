package dos

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

// sustained is a flood against 203.0.113.80:80, a minute per entry of
// pattern from t0 on: 'x' 300 half-open sources, 'X' 600 (the peak), 's'
// 4,000 half-open connections from one source, '.' ten completing
// connections, ' ' nothing.
func sustained(pattern string) []window.Conn {
	var rows []window.Conn
	for m, c := range pattern {
		n, srcs, state := 0, 0, "S0"
		switch c {
		case 'x':
			n, srcs = 300, 300
		case 'X':
			n, srcs = 600, 600
		case 's':
			n, srcs = 4000, 1
		case '.':
			n, srcs, state = 10, 10, "SF"
		}
		start := t0.Add(time.Duration(m) * time.Minute)
		for i := range n {
			s := i % srcs
			rows = append(rows, window.Conn{TS: start.Add(time.Duration(i) * 50 * time.Second / time.Duration(n)),
				Src: src(c, m, s), Dst: "203.0.113.80", SPort: uint16(1024 + i), DPort: 80,
				State: state})
		}
	}
	return rows
}

// src is the source of row s of minute m of sustained: the loud one is
// the same each minute.
func src(c rune, m, s int) string {
	if c == 's' {
		return "100.63.0.1"
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
// detector gives the notices of the uninterrupted one. A version-1
// snapshot (no runs) restores, and a damaged run does not.
func TestGroupRestartMidRun(t *testing.T) {
	rows := sustained("xxxxXxxxxxxxxx.xx")
	want := window.Canon(window.Run(New(DefaultConfig()), rows))
	if len(want) != 5 {
		t.Fatalf("uninterrupted: %d notices", len(want))
	}
	for cut := 100; cut < len(rows); cut += 700 {
		got, err := window.RunSnapshot(New(DefaultConfig()), New(DefaultConfig()), rows, cut)
		if err != nil || !reflect.DeepEqual(window.Canon(got), want) {
			if err == nil {
				err = fmt.Errorf("%d notices: %v", len(got), window.Canon(got))
			}
			t.Fatalf("restored at row %d: %v", cut, err)
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
