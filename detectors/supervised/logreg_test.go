package supervised

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

func data(n int) ([][]float64, []bool) {
	r := rand.New(rand.NewPCG(1, 1))
	var X [][]float64
	var y []bool
	for i := 0; i < n; i++ {
		v := make([]float64, features.N)
		v[0] = float64(5 + r.IntN(10))
		v[3] = r.Float64() * 0.2
		mal := i%10 == 0
		if mal {
			v[0] = float64(200 + r.IntN(100))
			v[3] = 0.9 + r.Float64()*0.1
		}
		X = append(X, v)
		y = append(y, mal)
	}
	return X, y
}

func TestFitSeparates(t *testing.T) {
	X, y := data(400)
	m, err := Fit(X, y, Params{})
	if err != nil {
		t.Fatal(err)
	}
	// calibrated on the last 120 windows, 12 malicious: Platt's targets
	// keep p near 13/14 on a set it separates
	if c := m.Calibrated(); c.Method != "platt" || c.Windows != 120 || c.Positives != 12 {
		t.Fatalf("calibration %+v", c)
	}
	for i := range X {
		p := m.Prob(X[i])
		if y[i] && p < 0.85 || !y[i] && p > 0.1 {
			t.Fatalf("row %d (mal=%v): p=%.3f", i, y[i], p)
		}
	}
	if _, err := Fit(X[:5], []bool{false, false, false, false, false}, Params{}); err == nil {
		t.Fatal("one class must fail")
	}
}

func TestDetector(t *testing.T) {
	X, y := data(400)
	m, _ := Fit(X, y, Params{})
	d := New(DefaultConfig(), m, nil)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 250; i++ {
		ts := t0.Add(time.Duration(i) * time.Second)
		d.Observe(&zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, UID: []byte("C1"),
			Orig: netip.MustParseAddr("10.0.0.1"), Resp: netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), RespP: 445, ConnState: []byte("S0")}})
	}
	var ns []*notice.Notice
	d.Flush(func(n *notice.Notice) { ns = append(ns, n) })
	if len(ns) != 1 || ns[0].Rule != notice.RuleSupervised || ns[0].RiskScore < 50 || len(ns[0].Explain.Top) == 0 {
		t.Fatalf("notices: %+v", ns)
	}
	// values with their units (features.Show): a share as a percentage;
	// the input, the window's first 4m9s, covered it in part: its counts
	// are those of the part, and the notice says so
	if want := "10.0.0.1: classified malicious (p=0.94, the input covered 4m9s of 5m0s): failed_ratio 100%, conn_count 250"; ns[0].Message != want {
		t.Fatalf("message %q, want %q", ns[0].Message, want)
	}
	if r := ns[0].Explain.ObservedRatio; r == nil || *r != 0.83 {
		t.Fatalf("zeekanom.observed_ratio %v, want 0.83", r)
	}
}

// A notice says whose baseline its features are explained against: the
// model's host baseline ("host") or its global one ("population"), as
// iforest's notices do; without baselines, values only and no scope.
func TestBaselineScope(t *testing.T) {
	X, y := data(400)
	m, _ := Fit(X, y, Params{})
	host := features.ComputeRobust(X[1:20])
	host.Scope = features.ScopeHost
	pop := features.ComputeRobust(X)
	pop.Scope = features.ScopePopulation
	base := func(h string) features.Robust {
		if h == "10.0.0.1" {
			return host
		}
		return pop
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func(base func(string) features.Robust) map[string]*notice.Notice {
		d := New(DefaultConfig(), m, base)
		for _, src := range []string{"10.0.0.1", "10.0.0.2"} {
			for i := 0; i < 250; i++ {
				ts := t0.Add(time.Duration(i) * time.Second)
				d.Observe(&zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, UID: []byte("C1"),
					Orig: netip.MustParseAddr(src), Resp: netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), RespP: 445, ConnState: []byte("S0")}})
			}
		}
		ns := map[string]*notice.Notice{}
		d.Flush(func(n *notice.Notice) { ns[n.Source.String()] = n })
		if len(ns) != 2 {
			t.Fatalf("%d notices, want 2", len(ns))
		}
		return ns
	}
	ns := run(base)
	for src, want := range map[string]features.Robust{"10.0.0.1": host, "10.0.0.2": pop} {
		n := ns[src]
		if n.Explain.BaselineScope != want.Scope {
			t.Errorf("%s: zeekanom.baseline_scope %q, want %q", src, n.Explain.BaselineScope, want.Scope)
		}
		f := n.Explain.Features["conn_count"]
		if f.Baseline == nil || *f.Baseline != want.RawMedian[0] {
			t.Errorf("%s: conn_count baseline %v, want the %s's %g", src, f.Baseline, want.Scope, want.RawMedian[0])
		}
		// the message says against what, as the outlier messages do
		if w := fmt.Sprintf("conn_count 250 vs %s baseline %s", want.Scope, features.Show("conn_count", want.RawMedian[0])); !strings.Contains(n.Message, w) {
			t.Errorf("%s: message %q lacks %q", src, n.Message, w)
		}
	}
	for src, n := range run(nil) {
		if n.Explain.BaselineScope != "" || n.Explain.Features["conn_count"].Baseline != nil || strings.Contains(n.Message, "baseline") {
			t.Errorf("%s without baselines: scope %q, conn_count %+v", src, n.Explain.BaselineScope, n.Explain.Features["conn_count"])
		}
	}
}

// noneInModel is a classifier whose malicious windows send megabytes
// and take in little or nothing.
func noneInModel(t *testing.T) *Model {
	t.Helper()
	ratio := 18
	if features.Names[ratio] != "out_in_ratio" {
		t.Fatalf("feature %d is %s", ratio, features.Names[ratio])
	}
	r := rand.New(rand.NewPCG(1, 1))
	var X [][]float64
	var y []bool
	for i := 0; i < 400; i++ {
		v := make([]float64, features.N)
		v[0] = float64(5 + r.IntN(10))
		v[4], v[5] = 1000+r.Float64()*500, 3000+r.Float64()*500
		mal := i%10 == 0
		if mal {
			v[4], v[5] = 1e6+r.Float64()*1e7, float64(i%20)*20 // none in, or a little
		}
		v[ratio] = math.Log((v[4] + 1) / (v[5] + 1))
		X = append(X, v)
		y = append(y, mal)
	}
	m, err := Fit(X, y, Params{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A window with no bytes in: its out_in_ratio, log(out+1), read "6575×"
// as if traffic had come back; the message says none came, and the
// feature keeps the model's smoothed value.
func TestMessageNoneIn(t *testing.T) {
	m := noneInModel(t)
	for _, c := range []struct {
		name string
		in   uint64
		want string
	}{
		{"none in", 0, "out_in_ratio none in (6.6 MB out)"},
		{"some in", 200, "out_in_ratio 32836×"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := New(DefaultConfig(), m, nil)
			t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := 0; i < 10; i++ {
				ts := t0.Add(time.Duration(i) * 30 * time.Second)
				d.Observe(&zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, UID: []byte("C1"),
					Orig: netip.MustParseAddr("10.0.0.1"), Resp: netip.MustParseAddr("10.1.0.1"), RespP: 443, Proto: []byte("tcp"),
					ConnState: []byte("SF"), OrigBytes: 660000, RespBytes: c.in / 10, HasOrigBytes: true, HasRespBytes: true, Duration: time.Second, HasDuration: true}})
			}
			var ns []*notice.Notice
			d.Flush(func(n *notice.Notice) { ns = append(ns, n) })
			if len(ns) != 1 {
				t.Fatalf("%d notices, want 1", len(ns))
			}
			if !strings.Contains(ns[0].Message, c.want) {
				t.Errorf("message %q lacks %q", ns[0].Message, c.want)
			}
			want := math.Log((6.6e6 + 1) / (float64(c.in) + 1))
			if f, ok := ns[0].Explain.Features["out_in_ratio"]; !ok || math.Abs(f.Value-want) > 1e-9 {
				t.Errorf("out_in_ratio feature %+v, want the vector's %g", f, want)
			}
		})
	}
}
