package supervised

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zeekanom/zeekanom/detectors/features"
)

// draw makes n windows whose truth is known: conn_count's log1p t is
// normal, and a window is malicious with probability σ(alpha + beta t), so
// a calibrated model's p should be that probability, and its mean the
// base rate; beta 0 is a feature that says nothing.
func draw(r *rand.Rand, n int, alpha, beta float64) (X [][]float64, y []bool, truth []float64) {
	for i := 0; i < n; i++ {
		v := make([]float64, features.N)
		t := 3 + r.NormFloat64()
		v[0] = math.Expm1(t)
		q := sigmoid(alpha + beta*t)
		X, y, truth = append(X, v), append(y, r.Float64() < q), append(truth, q)
	}
	return X, y, truth
}

// Calibrated p is the probability at the training base rate: on a fresh
// sample its mean is the base rate and it is within a few points of the
// true probability of each window, where the balanced score of the fit
// alone (a 50/50 prior) overstates it many times.
func TestCalibrationBaseRate(t *testing.T) {
	for _, tc := range []struct {
		name        string
		alpha, beta float64
		overstated  bool // the balanced p is 3 times the base rate or more
	}{
		{"rare, informative", -9, 1.5, true}, // base rate about 3 %
		{"common, informative", -6.5, 1.5, false},
		{"rare, no signal", -3, 0, false}, // 4.7 % whatever the window
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 7))
			X, y, _ := draw(r, 12000, tc.alpha, tc.beta)
			m, err := Fit(X, y, Params{})
			if err != nil {
				t.Fatal(err)
			}
			if c := m.Calibrated(); c.Method != "platt" || c.Windows != 3600 {
				t.Fatalf("calibration %+v", c)
			}
			Xt, yt, truth := draw(r, 6000, tc.alpha, tc.beta)
			var sumP, sumY, sumT, sumBal, errP float64
			for i, x := range Xt {
				p := m.Prob(x)
				sumP += p
				sumT += truth[i]
				sumBal += sigmoid(m.Score(x))
				errP += math.Abs(p - truth[i])
				if yt[i] {
					sumY++
				}
			}
			n := float64(len(Xt))
			rate, mean, bal := sumT/n, sumP/n, sumBal/n
			if math.Abs(mean-rate) > 0.015 || errP/n > 0.02 {
				t.Errorf("mean p %.4f against a base rate of %.4f (%.4f drawn), mean |p - truth| %.4f", mean, rate, sumY/n, errP/n)
			}
			if tc.overstated && bal < 3*rate {
				t.Errorf("the balanced p averages %.3f, base rate %.3f: the test does not tell them apart", bal, rate)
			}
		})
	}
}

// A held-out split with too few windows of a class falls back on the
// prior correction of the class weighting.
func TestCalibrationFallsBackOnThePrior(t *testing.T) {
	X, y := data(300) // the last 90 hold 9 malicious windows
	m, err := Fit(X, y, Params{})
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Calibrated(); c.Method != "prior" || c.A != 1 || math.Abs(c.B-math.Log(30.0/270)) > 1e-12 {
		t.Fatalf("calibration %+v", c)
	}
}

// A score that ranks the held-out windows backwards (there, the feature
// that marked malicious windows before marks benign ones) is given no
// slope: every window gets the held-out base rate. A negative slope would
// rank them backwards everywhere, and a model file holding one is refused
// as damaged (model.Parse), so train would write a model no command
// loads.
func TestCalibrationOfAScoreThatRanksBackwards(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	X, y, _ := draw(r, 8400, -6.5, 1.5)
	Xh, yh, _ := draw(r, 3600, 2.5, -1.5) // the same base rate, reversed
	m, err := Fit(append(X, Xh...), append(y, yh...), Params{})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Calibrated()
	pos, neg := count(yh)
	rate := (float64(pos) + 1) / float64(pos+neg+2) // of Platt's targets
	if c.Method != "platt" || c.A != 0 || math.Abs(sigmoid(c.B)-rate) > 0.005 {
		t.Fatalf("calibration %+v (p %.4f), want a = 0 and p the held-out base rate %.4f", c, sigmoid(c.B), rate)
	}
	if p, q := m.Prob(Xh[0]), m.Prob(X[0]); p != q {
		t.Errorf("p %.4f and %.4f: every window should have the base rate", p, q)
	}
}
