package model

import (
	"errors"
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
		out = append(out, features.Vector{Host: netip.AddrFrom4([4]byte{10, 0, 0, byte(i % 20)}), Start: t0.Add(time.Duration(i/20) * 5 * time.Minute), Values: v, Malicious: m})
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
	if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "this build reads version 2") {
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

// The committed fixtures: a current model loads; a version-1 file is a
// clear error naming both versions.
func TestFixtures(t *testing.T) {
	m, err := Load(filepath.Join("..", "..", "testdata", "models", "test18-labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Supervised == nil || len(m.Forest.Trees) != 10 {
		t.Fatalf("fixture: supervised %v, %d trees", m.Supervised != nil, len(m.Forest.Trees))
	}
	_, err = Load(filepath.Join("..", "..", "testdata", "models", "version1.json"))
	if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "file is version 1, this build reads version 2") {
		t.Fatalf("got %v", err)
	}
}
