package iforest

import (
	"slices"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/features"
)

// The run's first forest grows on the windows the input covered whole, or
// on all of them when fewer than min_train are: a capture that starts
// mid-window had its first windows' counts as seen learnt as usual whole
// windows (zat + injected + dga: 1 -> 2-4 outlier notices over forest
// seeds 2-5, all planted attacks; no other eval-report cell moved).
func TestWholeOf(t *testing.T) {
	m := time.Minute
	for _, c := range []struct {
		name  string
		unobs []time.Duration
		min   int
		want  []float64
	}{
		{"all whole", []time.Duration{0, 0, 0}, 2, []float64{0, 1, 2}},
		{"partial ones left out", []time.Duration{2 * m, 0, 0, 0, m}, 2, []float64{1, 2, 3}},
		{"too few whole: all", []time.Duration{2 * m, 0, m}, 2, []float64{0, 1, 2}},
		{"none whole: all", []time.Duration{m, m}, 1, []float64{0, 1}},
	} {
		var vs []features.Vector
		var X [][]float64
		for i, u := range c.unobs {
			vs = append(vs, features.Vector{Unobserved: u})
			X = append(X, []float64{float64(i)})
		}
		var got []float64
		for _, x := range wholeOf(vs, X, c.min) {
			got = append(got, x[0])
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: rows %v, want %v", c.name, got, c.want)
		}
	}
}
