package iforest

import (
	"encoding/json"
	"testing"

	"github.com/zeekanom/zeekanom/detectors/features"
)

// FuzzSeed: a model's forest seed that Seed.Valid accepts (model.Parse
// refuses the others) retrains without a panic: joined by the run's
// windows, turned into a training set and grown into a forest.
func FuzzSeed(f *testing.F) {
	small := make([]float64, features.Dim)
	for _, s := range []*Seed{
		{Share: 1, Sample: make([][features.Dim]float32, 3), Seen: 3},
		{Small: [][]float64{small, small}, Share: 0.25, Sample: make([][features.Dim]float32, 2), Seen: 9000},
		{Small: [][]float64{small}, Share: 1e-9},
		{Share: 0},
	} {
		b, _ := json.Marshal(s)
		f.Add(b, uint8(5))
	}
	f.Fuzz(func(t *testing.T, b []byte, offers uint8) {
		var s Seed
		if json.Unmarshal(b, &s) != nil || !s.Valid() {
			return
		}
		r := s.retraining()
		v := make([]float64, features.Dim)
		for i := range int(offers) {
			v[0] = float64(i)
			r.offer(v)
		}
		X, judged := r.trainingSet(2)
		if X == nil {
			return
		}
		if judged > len(X) {
			t.Fatalf("%d judged of %d", judged, len(X))
		}
		forest, err := grow(X, Params{Trees: 2, Sample: 8, Seed: 1})
		if err != nil {
			return
		}
		forest.calibrate(X[:judged])
	})
}

// A seed's share may be any number in 0..1 that Valid accepts: a tiny one
// asked trainingSet for billions of repeated small windows (an
// out-of-memory crash at the first retraining, a day after a damaged
// model file loaded); it is bounded.
func TestTinyShareIsBounded(t *testing.T) {
	s := Seed{Small: [][]float64{make([]float64, features.Dim)}, Share: 2e-6, Sample: make([][features.Dim]float32, RetrainSample), Seen: RetrainSample}
	if !s.Valid() {
		t.Fatal("the seed is refused: the test proves nothing")
	}
	r := s.retraining()
	r.Fresh = RetrainSample
	X, judged := r.trainingSet(2)
	if judged != RetrainSample || len(X) != RetrainSample+maxSmallRepeat {
		t.Fatalf("training set of %d (%d judged), want %d", len(X), judged, RetrainSample+maxSmallRepeat)
	}
}
