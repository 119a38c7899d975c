package model

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/beacon"
	"github.com/zeekanom/zeekanom/detectors/contextual"
	"github.com/zeekanom/zeekanom/detectors/exfil"
	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/iforest"
	"github.com/zeekanom/zeekanom/detectors/window"
)

// FuzzParse: a model file (a damaged, truncated or hand-edited one) is
// an error at load or a model the detectors can use: Parse never panics,
// and what it accepts scores a vector, explains it, and loads into the
// contextual, exfil, beacon and iforest detectors without a panic (a
// forest seed Parse accepts retrains: FuzzSeed in iforest).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "models", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	m, err := Train(vecs(60, 5), Options{Labels: true, Window: 5 * time.Minute, Forest: iforest.Params{Trees: 3, Sample: 16, Seed: 1}})
	if err != nil {
		f.Fatal(err)
	}
	p := filepath.Join(f.TempDir(), "m.json")
	if err := m.Save(p); err != nil {
		f.Fatal(err)
	}
	if b, err := os.ReadFile(p); err == nil {
		f.Add(b)
	}
	x := make([]float64, features.N)
	for i := range x {
		x[i] = float64(i)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		m.Forest.Score(features.Transform(x, nil))
		m.Baseline("10.0.0.1").Z(x)
		if m.Contextual != nil {
			cfg := contextual.DefaultConfig()
			cfg.Location = m.Contextual.Location
			contextual.New(cfg).LoadProfiles(m.Contextual)
		}
		if m.Exfil != nil {
			exfil.New(exfil.DefaultConfig()).LoadProfiles(m.Exfil)
		}
		if m.Beacon != nil {
			beacon.New(beacon.DefaultConfig()).LoadBaseline(m.Beacon)
		}
		d := iforest.New(iforest.DefaultConfig(), &iforest.Trained{Forest: m.Forest, Baseline: m.Baseline, Seed: m.ForestSeed, ID: m.ID})
		window.Run(d, []window.Conn{
			{TS: time.Unix(1700000000, 0), Src: "10.0.0.1", Dst: "10.0.0.2", DPort: 443, Proto: "tcp", State: "SF"},
			{TS: time.Unix(1700000010, 0), Src: "10.0.0.1", Dst: "10.0.0.3", DPort: 443, Proto: "tcp", State: "S0"},
			{TS: time.Unix(1700000020, 0), Src: "10.0.0.1", Dst: "10.0.0.4", DPort: 80, Proto: "tcp", State: "REJ"},
		})
	})
}
