package iforest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// steadyRows are the conn rows of 30 hosts from from to to, each a
// connection every 6 s on average (Poisson), to one of 40 servers on
// 443, 80 or 53, bytes as zeekgen draws them.
func steadyRows(seed uint64, from, to time.Time) []*zeekreader.Event {
	r := rand.New(rand.NewPCG(seed, 7))
	var evs []*zeekreader.Event
	for h := 1; h <= 30; h++ {
		orig := netip.AddrFrom4([4]byte{10, 0, 0, byte(h)})
		for ts := from.Add(time.Duration(r.ExpFloat64() * 6e9)); ts.Before(to); ts = ts.Add(time.Duration(r.ExpFloat64() * 6e9)) {
			port := []uint16{443, 80, 53}[r.IntN(3)]
			proto := "tcp"
			if port == 53 {
				proto = "udp"
			}
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, Orig: orig,
				Resp: netip.AddrFrom4([4]byte{93, 184, 0, byte(r.IntN(40))}), RespP: port, Proto: []byte(proto), ConnState: []byte("SF"),
				Duration: time.Duration(r.ExpFloat64() * 2e9), OrigBytes: uint64(r.ExpFloat64() * 800), RespBytes: uint64(r.ExpFloat64() * 20000),
				UID: []byte(fmt.Sprintf("C%d-%d", h, ts.UnixNano()))}})
		}
	}
	sortRows(evs)
	return evs
}

// scanRows are a host's probes of n addresses on 445, unanswered, from
// from on, one every 100 ms.
func scanRows(from time.Time, n int) []*zeekreader.Event {
	var evs []*zeekreader.Event
	for i := range n {
		ts := from.Add(time.Duration(i) * 100 * time.Millisecond)
		evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts,
			Orig: netip.MustParseAddr("10.0.0.99"), Resp: netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}), RespP: 445,
			Proto: []byte("tcp"), ConnState: []byte("S0"), UID: []byte(fmt.Sprintf("S%d", i))}})
	}
	return evs
}

// burstRows are a host's n ordinary connections (answered, to the
// steady hosts' servers) from from on, one every 1.2 s: a steady host's
// window of them in a minute.
func burstRows(host string, from time.Time, n int) []*zeekreader.Event {
	var evs []*zeekreader.Event
	for i := range n {
		ts := from.Add(time.Duration(i) * 1200 * time.Millisecond)
		evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts,
			Orig: netip.MustParseAddr(host), Resp: netip.AddrFrom4([4]byte{93, 184, 0, byte(i % 40)}), RespP: 443,
			Proto: []byte("tcp"), ConnState: []byte("SF"), Duration: time.Second, OrigBytes: 800, RespBytes: 20000,
			UID: []byte(fmt.Sprintf("B%d", i))}})
	}
	return evs
}

func sortRows(evs []*zeekreader.Event) {
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].TS.Before(evs[j].TS) })
}

// steadyModel is a forest trained on 3 hours of steadyRows' whole
// windows (as `zeekanom train` of an archive would give), and their
// population baseline.
func steadyModel(t *testing.T) *Trained {
	t.Helper()
	t0 := time.Date(2025, 11, 25, 6, 0, 0, 0, time.UTC)
	x := features.New(features.DefaultConfig())
	var vs []features.Vector
	for _, ev := range steadyRows(1, t0, t0.Add(3*time.Hour)) {
		x.Observe(ev)
		vs = append(vs, x.Advance(ev.TS)...)
	}
	var X, raw [][]float64
	for _, v := range vs {
		if v.Unobserved == 0 {
			X, raw = append(X, features.Transform(v.Values, nil)), append(raw, v.Values)
		}
	}
	f, err := Fit(X, Params{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	pop := features.ComputeRobust(raw)
	pop.Scope = features.ScopePopulation
	return &Trained{Forest: f, Baseline: func(string) features.Robust { return pop }}
}

// A window the input covered in part (the input starts or ends in it,
// or it borders a gap longer than a window) holds part of each host's
// traffic: judged by its own counts, a forest of whole windows flagged
// most of the hosts of a window covered for a minute. It is judged as
// the most usual whole window that agrees with what was seen: no steady
// host is flagged, while a host scanning in that minute (300 probes, as
// many in a whole window would be as unusual) still is. The same with a
// snapshot and restore in the middle of the input.
func TestPartialWindows(t *testing.T) {
	tr := steadyModel(t)
	t0 := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	at := func(m, s int) time.Time { return t0.Add(time.Duration(m)*time.Minute + time.Duration(s)*time.Second) }
	type span struct{ from, to time.Time }
	for _, tc := range []struct {
		name     string
		spans    []span
		scan     time.Time // a scan of 300 addresses from then, if set
		extra    []*zeekreader.Event
		partial  []int    // the windows covered in part (minutes after t0)
		notices  []string // host@minute of each notice
		flagging int      // at least this many partial host-windows' own scores flag them
	}{
		{"ends a minute into a window", []span{{at(0, 0), at(21, 0)}}, time.Time{}, nil, []int{20}, nil, 15},
		{"starts a minute before a window's end", []span{{at(4, 0), at(25, 0)}}, time.Time{}, nil, []int{0}, nil, 15},
		{"a gap longer than a window", []span{{at(0, 0), at(11, 0)}, {at(29, 0), at(40, 0)}}, time.Time{}, nil, []int{10, 25}, nil, 30},
		// a host wild in the part observed is flagged, partial or not
		{"a scan in the last minute", []span{{at(0, 0), at(21, 0)}}, at(20, 20), nil, []int{20}, []string{"10.0.0.99@20"}, 15},
		{"a scan in the first minute", []span{{at(4, 0), at(25, 0)}}, at(4, 5), nil, []int{0}, []string{"10.0.0.99@0"}, 15},
		{"a scan after a gap", []span{{at(0, 0), at(11, 0)}, {at(29, 0), at(40, 0)}}, at(29, 10), nil, []int{10, 25}, []string{"10.0.0.99@25"}, 30},
		// and in a whole window, whose notice says nothing of a part
		{"a scan in a whole window", []span{{at(0, 0), at(26, 0)}}, at(10, 5), nil, []int{25}, []string{"10.0.0.99@10"}, 15},
		// the counts of a usual whole window, in the minute observed: five
		// times the rate of any host, but a partial window is not judged
		// above its own counts (a rate seen in a short part may be a
		// burst, not a rate)
		{"a burst in the last minute", []span{{at(0, 0), at(21, 0)}}, time.Time{}, burstRows("10.0.0.98", at(20, 0), 50),
			[]int{20}, nil, 15},
		// the same burst whole, in a window observed whole, is usual
		{"a burst in a whole window", []span{{at(0, 0), at(26, 0)}}, time.Time{}, burstRows("10.0.0.98", at(20, 0), 50),
			[]int{25}, nil, 15},
		// a host nearly silent for the four minutes observed of a window:
		// no rate its rows allow would have made it a usual whole window
		{"a quiet host in the first window", []span{{at(1, 0), at(25, 0)}}, time.Time{},
			append(burstRows("10.0.0.97", at(1, 10), 3), burstRows("10.0.0.97", at(5, 10), 50)...), []int{0}, []string{"10.0.0.97@0"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var evs []*zeekreader.Event
			for _, s := range tc.spans {
				evs = append(evs, steadyRows(2, s.from, s.to)...)
			}
			if !tc.scan.IsZero() {
				evs = append(evs, scanRows(tc.scan, 300)...)
			}
			evs = append(evs, tc.extra...)
			sortRows(evs)
			for _, restore := range []bool{false, true} {
				d := New(DefaultConfig(), tr)
				var got []string
				var ns []*notice.Notice
				emit := func(n *notice.Notice) {
					got = append(got, fmt.Sprintf("%s@%d", n.Source, int(n.Start.Sub(t0)/time.Minute)))
					ns = append(ns, n)
				}
				// the partial windows as the extractor gives them, and how
				// many of their host-windows their own scores flag
				probe := features.New(features.DefaultConfig())
				var vs []features.Vector
				for i, ev := range evs {
					d.Observe(ev)
					d.Advance(ev.TS, emit)
					probe.Observe(ev)
					vs = append(vs, probe.Advance(ev.TS)...)
					if restore && i == len(evs)/2 {
						b, err := d.Snapshot()
						if err != nil {
							t.Fatal(err)
						}
						d = New(DefaultConfig(), tr)
						if err := d.Restore(b); err != nil {
							t.Fatal(err)
						}
					}
				}
				d.Flush(emit)
				vs = append(vs, probe.Flush()...)
				partial := map[int]bool{}
				flagging := 0
				for _, v := range vs {
					if v.Unobserved < 30*time.Second {
						continue // (the first row of the input a few ms into its window)
					}
					partial[int(v.Start.Sub(t0)/time.Minute)] = true
					s := tr.Forest.Score(features.Transform(v.Values, nil))
					if v.Host.As4()[3] <= 30 && v.Rows >= 3 && s >= d.least { // the steady hosts'
						flagging++
					}
				}
				if fmt.Sprint(partial) != fmt.Sprint(sliceSet(tc.partial)) {
					t.Errorf("partial windows %v, want %v", partial, tc.partial)
				}
				if flagging < tc.flagging {
					t.Errorf("%d partial host-windows score as flagged by their own counts, want at least %d", flagging, tc.flagging)
				}
				sort.Strings(got)
				if fmt.Sprint(got) != fmt.Sprint(tc.notices) {
					t.Errorf("restore %v: notices %v, want %v", restore, got, tc.notices)
				}
				checkObserved(t, ns, vs)
			}
		})
	}
}

func sliceSet(s []int) map[int]bool {
	m := map[int]bool{}
	for _, x := range s {
		m[x] = true
	}
	return m
}

// checkObserved checks that a notice of a window the input covered in
// part says how much it covered (zeekanom.observed_ratio and the
// message), and one of a whole window says nothing of it; vs are the
// windows as the extractor gave them.
func checkObserved(t *testing.T, ns []*notice.Notice, vs []features.Vector) {
	t.Helper()
	for _, n := range ns {
		var v *features.Vector
		for i := range vs {
			if vs[i].Host == n.Source && vs[i].Start.Equal(n.Start) {
				v = &vs[i]
			}
		}
		if v == nil {
			t.Fatalf("no window of %s at %s", n.Source, n.Start)
		}
		if v.Unobserved == 0 {
			if n.Explain.ObservedRatio != nil || strings.Contains(n.Message, "input covered") {
				t.Errorf("a whole window's notice: observed_ratio %v, %q", n.Explain.ObservedRatio, n.Message)
			}
			continue
		}
		want := math.Floor(v.Observed()*1000) / 1000
		seen := (5*time.Minute - v.Unobserved).Truncate(time.Second)
		phrase := fmt.Sprintf("(isolation score %.2f, the input covered %s of 5m0s): ", n.Explain.Score, seen)
		if n.Explain.ObservedRatio == nil || *n.Explain.ObservedRatio != want || want >= 1 || !strings.Contains(n.Message, phrase) {
			t.Errorf("a window covered for %s: observed_ratio %v, want %v; message %q, want it to hold %q", seen, n.Explain.ObservedRatio, want, n.Message, phrase)
		}
	}
}

// Judge (features --score's iforest_score) scores a window as the
// detector judges it: a flagged partial window at the notice's score, a
// steady host's partial window as its most usual whole window, below
// what its own counts score and below min_risk, and a whole window at
// its own score.
func TestJudgeScoresAsTheDetector(t *testing.T) {
	tr := steadyModel(t)
	t0 := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	evs := append(steadyRows(2, t0, t0.Add(21*time.Minute)), scanRows(t0.Add(20*time.Minute+20*time.Second), 300)...)
	sortRows(evs)
	d := New(DefaultConfig(), tr)
	var ns []*notice.Notice
	x := features.New(features.DefaultConfig())
	var vs []features.Vector
	for _, ev := range evs {
		d.Observe(ev)
		d.Advance(ev.TS, func(n *notice.Notice) { ns = append(ns, n) })
		x.Observe(ev)
		vs = append(vs, x.Advance(ev.TS)...)
	}
	d.Flush(func(n *notice.Notice) { ns = append(ns, n) })
	vs = append(vs, x.Flush()...)
	if len(ns) != 1 || ns[0].Explain.ObservedRatio == nil {
		t.Fatalf("notices %v, want the scan's in the partial window", ns)
	}
	j := NewJudge(tr.Forest, 5*time.Minute)
	lower := 0
	for i := range vs {
		v := &vs[i]
		if v.Rows < 3 {
			continue
		}
		own, got := tr.Forest.Score(features.Transform(v.Values, nil)), j.Score(v)
		switch {
		case v.Host == ns[0].Source && v.Start.Equal(ns[0].Start):
			if round(got) != ns[0].Explain.Score {
				t.Errorf("the scan's window: %v, its notice %v", got, ns[0].Explain.Score)
			}
		case v.Unobserved >= 30*time.Second:
			if got > own || got >= d.least {
				t.Errorf("%s at %s, covered in part: %v (its counts %v, flagged from %v)", v.Host, v.Start, got, own, d.least)
			}
			if own >= d.least {
				lower++
			}
		case v.Unobserved == 0 && got != own:
			t.Errorf("%s at %s, whole: %v, its counts %v", v.Host, v.Start, got, own)
		}
	}
	if lower < 15 {
		t.Errorf("%d steady partial windows flagged by their own counts judged below min_risk, want at least 15", lower)
	}
}
