package model

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/features"
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
	if l.Supervised.Prob(x) < 0.9 {
		t.Fatalf("malicious window p=%.3f", l.Supervised.Prob(x))
	}
	if len(l.Hosts) != 20 || l.Baseline("10.0.0.1").N != 20 || l.Baseline("1.2.3.4").N != 390 {
		t.Fatalf("baselines: %d hosts", len(l.Hosts))
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
	if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), fmt.Sprintf("this build reads version %d", Version)) {
		t.Fatalf("want version error, got %v", err)
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

// The committed fixtures: a current model loads; version-1 and version-2
// files are a clear error naming both versions.
func TestFixtures(t *testing.T) {
	m, err := Load(filepath.Join("..", "..", "testdata", "models", "test18-labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Supervised == nil || len(m.Forest.Trees) != 10 {
		t.Fatalf("fixture: supervised %v, %d trees", m.Supervised != nil, len(m.Forest.Trees))
	}
	for _, old := range []int{1, 2} {
		_, err = Load(filepath.Join("..", "..", "testdata", "models", fmt.Sprintf("version%d.json", old)))
		if want := fmt.Sprintf("file is version %d, this build reads version %d", old, Version); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want %q", err, want)
		}
	}
}
