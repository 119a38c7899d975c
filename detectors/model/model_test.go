package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/supervised"
)

func vecs(n int, mal int) []features.Vector {
	r := rand.New(rand.NewPCG(1, 1))
	var out []features.Vector
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		v := make([]float64, features.N)
		v[0] = 10 + float64(r.IntN(5))
		v[1] = 3
		v[4] = 1000 + float64(r.IntN(100))
		m := i < mal
		if m {
			v[0], v[1], v[3] = 500, 400, 1
		}
		out = append(out, features.Vector{Host: netip.AddrFrom4([4]byte{10, 0, 0, byte(i % 20)}), Start: t0.Add(time.Duration(i/20) * 5 * time.Minute), Values: v, Malicious: m, Rows: 5})
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	m, err := Train(vecs(400, 10), Options{Labels: true, Window: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "m.json")
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	l, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	x := vecs(400, 10)[0].Values
	tx := features.Transform(x, nil)
	if l.Forest.Score(tx) != m.Forest.Score(tx) || l.Supervised == nil || l.Supervised.Prob(x) != m.Supervised.Prob(x) {
		t.Fatal("loaded model scores differently")
	}
	if l.Supervised.Calibration == nil || *l.Supervised.Calibration != *m.Supervised.Calibration {
		t.Fatalf("calibration %+v, saved %+v", l.Supervised.Calibration, m.Supervised.Calibration)
	}
	if l.Supervised.Prob(x) < 0.9 {
		t.Fatalf("malicious window p=%.3f", l.Supervised.Prob(x))
	}
	if len(l.Hosts) != 20 || l.Baseline("10.0.0.1").N != 19 || l.Baseline("10.0.0.11").N != 20 || l.Baseline("1.2.3.4").N != 390 {
		t.Fatalf("baselines: %d hosts", len(l.Hosts))
	}
	// the forest's windows: the benign ones, all judged (5 rows)
	if s := l.ForestSeed; s == nil || len(s.Sample) != 390 || s.Seen != 390 || s.Share != 1 || len(s.Small) != 0 {
		t.Fatalf("forest seed: %v", s != nil)
	}
	if m2, _ := Train(vecs(300, 10), Options{Labels: true, Window: 5 * time.Minute}); m2.Save(p) != nil {
		t.Fatal("save")
	}
	if l2, err := Load(p); err != nil || l2.ID == "" || l2.ID == l.ID {
		t.Fatalf("IDs %q and %q of two models (%v)", l.ID, l2.ID, err)
	}
	// the training range, for eval -m to tell in-sample scores
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	if !l.TrainedFrom.Equal(t0) || !l.TrainedUntil.Equal(t0.Add(20*5*time.Minute)) {
		t.Fatalf("trained from %v until %v", l.TrainedFrom, l.TrainedUntil)
	}
	if l.Baseline("10.0.0.1").Scope != features.ScopeHost || l.Baseline("1.2.3.4").Scope != features.ScopePopulation || l.BaselineMinRows != 3 {
		t.Fatalf("scopes %q %q, min rows %d", l.Baseline("10.0.0.1").Scope, l.Baseline("1.2.3.4").Scope, l.BaselineMinRows)
	}
}

// The baselines describe the windows the detectors score: windows with
// fewer than min_rows rows stay out of them (they made the global median
// host-window an empty one), the forest still sees them.
func TestBaselinesSkipSmallWindows(t *testing.T) {
	vs := vecs(400, 0)
	for i := range vs {
		if i%3 != 0 {
			vs[i].Rows = 1
			vs[i].Values = make([]float64, features.N)
			vs[i].Values[8] = 1
		}
	}
	m, err := Train(vs, Options{Window: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if m.Global.N != 134 || m.Global.RawMedian[0] < 10 || m.Global.RawMedian[4] < 1000 || m.Windows != 400 {
		t.Fatalf("global baseline over %d windows, conn_count %g, bytes_out %g", m.Global.N, m.Global.RawMedian[0], m.Global.RawMedian[4])
	}
	for h, r := range m.Hosts {
		if r.N < MinHostWindows || r.RawMedian[0] < 10 {
			t.Fatalf("host %s baseline %+v", h, r)
		}
	}
}

// With labels, the windows labelled malicious stay out of every baseline:
// a host's own (a host whose benign windows are too few gets none) as the
// global one and the hour-of-week profile. Without labels every window
// counts (the baseline period is assumed clean).
func TestLabelsKeepMaliciousOutOfBaselines(t *testing.T) {
	vs := vecs(400, 0)
	t0 := vs[0].Start
	add := func(host string, w int, mal bool) {
		v := make([]float64, features.N)
		v[0], v[1], v[4] = 10, 3, 1000
		if mal {
			v[0], v[1], v[3], v[4] = 900, 700, 1, 9e6
		}
		vs = append(vs, features.Vector{Host: netip.MustParseAddr(host), Start: t0.Add(time.Duration(w) * 5 * time.Minute), Values: v, Malicious: mal, Rows: 5})
	}
	for w := 0; w < 16; w++ {
		add("10.9.0.1", w, w%3 == 0) // 6 malicious, 10 benign
		add("10.9.0.2", w, w >= 6)   // 6 benign, 10 malicious
	}
	m, err := Train(vs, Options{Labels: true, Window: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Baseline("10.9.0.1")
	if h.Scope != features.ScopeHost || h.N != 10 || h.RawMedian[0] != 10 || h.MAD[0] != 0 || h.RawMedian[3] != 0 {
		t.Fatalf("host baseline over %d windows, conn_count %g (MAD %g), failed_ratio %g: malicious windows counted",
			h.N, h.RawMedian[0], h.MAD[0], h.RawMedian[3])
	}
	if _, ok := m.Hosts["10.9.0.2"]; ok {
		t.Fatalf("10.9.0.2 has %d benign windows, fewer than %d, but a host baseline", 6, MinHostWindows)
	}
	if m.Global.N != 416 {
		t.Fatalf("global baseline over %d windows, want the 416 benign", m.Global.N)
	}
	if hw := m.HourOfWeek[hourOfWeek(t0)]; hw > 14 {
		t.Fatalf("hour-of-week conn_count %g includes malicious windows", hw)
	}
	u, err := Train(vs, Options{Window: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if u.Baseline("10.9.0.1").N != 16 || u.Baseline("10.9.0.2").N != 16 || u.Global.N != 432 {
		t.Fatalf("without labels: host baselines over %d and %d windows, global %d", u.Baseline("10.9.0.1").N, u.Baseline("10.9.0.2").N, u.Global.N)
	}
}

func TestVersionMismatch(t *testing.T) {
	m, err := Train(vecs(50, 0), Options{Window: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "m.json")
	m.Version = Version + 1
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	_, err = Load(p)
	if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), fmt.Sprintf("this build reads versions %d to %d", OldestVersion, Version)) ||
		!strings.Contains(err.Error(), "written by a newer zeekanom") {
		t.Fatalf("want version error naming a newer zeekanom, got %v", err)
	}
	m.Version = Version
	m.Features = append(m.Features[:len(m.Features)-1:len(m.Features)-1], "something_else")
	m.Save(p)
	if _, err = Load(p); !errors.Is(err, ErrVersion) {
		t.Fatalf("want feature mismatch error, got %v", err)
	}
	os.WriteFile(p, []byte(`{"magic":"other"}`), 0o644)
	if _, err = Load(p); err == nil || !strings.Contains(err.Error(), "not a zeekanom model") {
		t.Fatalf("want magic error, got %v", err)
	}
}

func TestTrainNeedsData(t *testing.T) {
	if _, err := Train(nil, Options{}); err == nil {
		t.Fatal("want error")
	}
	if _, err := Train(vecs(30, 0), Options{Labels: true}); err == nil {
		t.Fatal("labels without malicious windows must fail")
	}
}

// The committed fixtures: a version-3 model (before the contextual
// profiles) still loads, a version-5 one has every part; version-1 and version-2 files are a clear error
// naming the versions.
func TestFixtures(t *testing.T) {
	m, err := Load(filepath.Join("..", "..", "testdata", "models", "test18-labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Supervised == nil || len(m.Forest.Trees) != 10 {
		t.Fatalf("fixture: supervised %v, %d trees", m.Supervised != nil, len(m.Forest.Trees))
	}
	if m.Version != 3 || m.Contextual != nil {
		t.Fatalf("the version-3 fixture reads as version %d with profiles %v", m.Version, m.Contextual != nil)
	}
	m, err = Load(filepath.Join("..", "..", "testdata", "models", "test18-labels-v5.json"))
	if err != nil || m.Version != 5 || m.ForestSeed == nil || m.Contextual == nil || m.Exfil == nil || m.Beacon == nil || m.ID == "" || !m.TrainedFrom.IsZero() {
		t.Fatalf("the version-5 fixture: %v", err)
	}
	// a version-5 classifier has no calibration: its balanced posterior is
	// moved to its training base rate (the prior correction) alone
	if s := m.Supervised; s == nil || s.Calibration != nil || s.Calibrated() != (supervised.Calibration{A: 1, B: math.Log(float64(s.Positives) / float64(s.Negatives)), Method: "prior"}) {
		t.Fatalf("the version-5 fixture's classifier: %+v", s)
	}
	x := m.Global.RawMedian
	if got, want := m.Supervised.Prob(x), 1/(1+math.Exp(-m.Supervised.Score(x)-math.Log(float64(m.Supervised.Positives)/float64(m.Supervised.Negatives)))); math.Abs(got-want) > 1e-12 {
		t.Fatalf("version-5 p %g, want %g", got, want)
	}
	for _, old := range []int{1, 2} {
		_, err = Load(filepath.Join("..", "..", "testdata", "models", fmt.Sprintf("version%d.json", old)))
		if want := fmt.Sprintf("file is version %d, this build reads versions %d to %d", old, OldestVersion, Version); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want %q", err, want)
		}
	}
}

// A file with the right magic, version and features but arrays of the
// wrong length, tree links out of range or a missing part is an error at
// load, not an index panic when the detectors first score a window; a
// truncated file says so.
func TestParseRejectsInconsistentModel(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("..", "..", "testdata", "models", "test18-labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(good); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(m map[string]any){
		"supervised weights": func(m map[string]any) { sub(m, "supervised")["weights"] = []float64{1, 2, 3} },
		"supervised mu":      func(m map[string]any) { sub(m, "supervised")["mu"] = nil },
		"supervised sd 0":    func(m map[string]any) { sub(m, "supervised")["sd"].([]any)[2] = 0 },
		"calibration a < 0":  func(m map[string]any) { sub(m, "supervised")["calibration"] = map[string]any{"a": -1, "b": 0} },
		"no positives":       func(m map[string]any) { sub(m, "supervised")["positives"] = 0 },
		"global median":      func(m map[string]any) { sub(m, "global")["median"] = []float64{1} },
		"global mad":         func(m map[string]any) { sub(m, "global")["mad"] = nil },
		"global count":       func(m map[string]any) { sub(m, "global")["count"] = []int{1, 2} },
		"host raw_median": func(m map[string]any) {
			h := map[string]any{}
			for k, v := range sub(m, "global") {
				h[k] = v
			}
			h["raw_median"] = []float64{}
			m["hosts"] = map[string]any{"10.0.0.1": h}
		},
		"no trees":      func(m map[string]any) { sub(m, "forest")["trees"] = []any{} },
		"no nodes":      func(m map[string]any) { node(m, 0, -1)["nodes"] = []any{} },
		"feature 50":    func(m map[string]any) { node(m, 0, 0)["f"] = 50 },
		"link 99999":    func(m map[string]any) { node(m, 0, 0)["l"] = 99999 },
		"link to root":  func(m map[string]any) { node(m, 0, 0)["r"] = 0 },
		"sample 1":      func(m map[string]any) { sub(m, "forest")["sample"] = 1 },
		"window_s -300": func(m map[string]any) { m["window_s"] = -300 },
		"seed small":    func(m map[string]any) { m["forest_seed"] = map[string]any{"small": [][]float64{{1, 2}}, "share": 0.5} },
		"seed share":    func(m map[string]any) { m["forest_seed"] = map[string]any{"share": 2.5} },
		"seed sample": func(m map[string]any) {
			m["forest_seed"] = map[string]any{"share": 0.5, "sample": [][features.Dim]float32{{}, {}}, "seen": 1}
		},
	} {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		mutate(m)
		b, _ := json.Marshal(m)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", name, r)
				}
			}()
			if _, err := Parse(b); err == nil {
				t.Errorf("%s: loaded", name)
			}
		}()
	}
	for _, n := range []int{0, 10, len(good) / 2, len(good) - 3} {
		if _, err := Parse(good[:n]); err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("first %d bytes: %v, want a truncated-file error", n, err)
		}
	}
}

func sub(m map[string]any, k string) map[string]any { return m[k].(map[string]any) }

// node returns node i of tree t of the forest, or the tree when i < 0.
func node(m map[string]any, t, i int) map[string]any {
	tr := sub(m, "forest")["trees"].([]any)[t].(map[string]any)
	if i < 0 {
		return tr
	}
	return tr["nodes"].([]any)[i].(map[string]any)
}
