// Package supervised is an L2-regularised logistic regression over the
// per-host window feature vectors, trained from Stratosphere labels by
// `zeekanom train --labels`, and the detector (rule supervised.classifier)
// that scores new windows with it. See README.md.
package supervised

import (
	"errors"
	"math"

	"github.com/zeekanom/zeekanom/detectors/features"
)

// Model is a logistic regression on standardised transformed features,
// fitted with the classes weighted to balance, s = b + Σ w_i (t_i - mu_i)/sd_i,
// and its calibration: p = σ(A s + B) (Calibration).
type Model struct {
	Weights []float64 `json:"weights"`
	Bias    float64   `json:"bias"`
	Mu      []float64 `json:"mu"`
	Sd      []float64 `json:"sd"`
	// Positives and Negatives are the training class counts.
	Positives int `json:"positives"`
	Negatives int `json:"negatives"`
	// Calibration maps the balanced score to a probability at the
	// training base rate; nil in files written before it (model version
	// 5 and older), which get the prior correction alone (Calibrated).
	Calibration *Calibration `json:"calibration,omitempty"`
}

// Calibration is Platt scaling of the balanced score s: p = σ(A s + B),
// fitted on held-out training windows (the last HeldOut of them in time,
// scored by a fit on the ones before). A = 1, B = log(P/N) is the prior
// correction alone: the balanced posterior moved to the training base rate.
type Calibration struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
	// Method is "platt" (fitted on Windows held-out windows, Positives
	// of them malicious) or "prior" (too few held-out windows of either
	// class: the prior correction alone).
	Method    string `json:"method"`
	Windows   int    `json:"windows,omitempty"`
	Positives int    `json:"positives,omitempty"`
}

// Calibrated returns the model's calibration, or for a model without one
// (an older file) the prior correction of its class counts.
func (m *Model) Calibrated() Calibration {
	if m.Calibration != nil {
		return *m.Calibration
	}
	return priorCorrection(m.Positives, m.Negatives)
}

func priorCorrection(pos, neg int) Calibration {
	return Calibration{A: 1, B: math.Log(float64(pos) / float64(neg)), Method: "prior"}
}

// Params tunes Fit.
type Params struct {
	L2     float64 // default 0.01
	Epochs int     // default 500 (full-batch gradient descent)
	Rate   float64 // default 0.5
	// HeldOut is the share of the training windows, the last in time,
	// that calibrate the score (default 0.3).
	HeldOut float64
}

// MinHeldOut is the least number of held-out windows of each class that
// Platt scaling is fitted on; with fewer the prior correction is used.
const MinHeldOut = 10

// Fit trains on raw vectors X, in time order (as the windows closed), and
// labels y. Classes are weighted to balance (malicious windows are rare);
// the score is then calibrated on the last HeldOut of the windows: a fit
// on the windows before them scores them, Platt scaling of those scores
// gives A and B, and the model kept is the fit on every window with that
// calibration (so the newest windows are learnt from too).
func Fit(X [][]float64, y []bool, p Params) (*Model, error) {
	if p.HeldOut <= 0 || p.HeldOut >= 1 {
		p.HeldOut = 0.3
	}
	m, err := fit(X, y, p)
	if err != nil {
		return nil, err
	}
	c := priorCorrection(m.Positives, m.Negatives)
	cut := len(X) - int(math.Round(p.HeldOut*float64(len(X))))
	if pos, neg := count(y[cut:]); pos >= MinHeldOut && neg >= MinHeldOut {
		if early, err := fit(X[:cut], y[:cut], p); err == nil {
			s := make([]float64, len(X)-cut)
			for i, x := range X[cut:] {
				s[i] = early.Score(x)
			}
			c = platt(s, y[cut:])
			c.Windows, c.Positives = len(s), pos
		}
	}
	m.Calibration = &c
	return m, nil
}

func count(y []bool) (pos, neg int) {
	for _, v := range y {
		if v {
			pos++
		} else {
			neg++
		}
	}
	return pos, neg
}

// platt fits p = σ(A s + B) to labels y by Newton's method on the log-loss
// with Platt's targets ((N+ + 1)/(N+ + 2) and 1/(N- + 2), so that a
// separable split does not drive A to infinity). A score that does not
// rank the held-out windows (A ≤ 0) is given A = 0: every window then
// gets the held-out base rate.
func platt(s []float64, y []bool) Calibration {
	pos, neg := count(y)
	hi, lo := (float64(pos)+1)/(float64(pos)+2), 1/(float64(neg)+2)
	t := make([]float64, len(y))
	for i, v := range y {
		t[i] = lo
		if v {
			t[i] = hi
		}
	}
	loss := func(a, b float64) float64 { // the log-loss against t, stable for large |a s + b|
		var l float64
		for i, x := range s {
			f := a*x + b
			l += t[i]*softplus(-f) + (1-t[i])*softplus(f)
		}
		return l
	}
	a, b := 0.0, math.Log((float64(pos)+1)/(float64(neg)+1))
	cur := loss(a, b)
	for it := 0; it < 100; it++ {
		var ga, gb, haa, hab, hbb float64
		for i, x := range s {
			q := sigmoid(a*x + b)
			r, w := q-t[i], math.Max(q*(1-q), 1e-12)
			ga += r * x
			gb += r
			haa += w * x * x
			hab += w * x
			hbb += w
		}
		haa += 1e-9 // a constant score leaves A undetermined
		det := haa*hbb - hab*hab
		da, db := (hbb*ga-hab*gb)/det, (haa*gb-hab*ga)/det
		step := 1.0 // halved until the loss does not grow (Platt's backtracking)
		for ; step > 1e-6; step /= 2 {
			if l := loss(a-step*da, b-step*db); l <= cur+1e-12 {
				cur = l
				break
			}
		}
		a, b = a-step*da, b-step*db
		if math.Abs(step*da) < 1e-10 && math.Abs(step*db) < 1e-10 {
			break
		}
	}
	if !(a > 0) {
		var tt float64
		for _, v := range t {
			tt += v
		}
		q := tt / float64(len(t))
		a, b = 0, math.Log(q/(1-q))
	}
	return Calibration{A: a, B: b, Method: "platt"}
}

// fit is the balanced logistic regression alone.
func fit(X [][]float64, y []bool, p Params) (*Model, error) {
	if len(X) != len(y) || len(X) == 0 {
		return nil, errors.New("supervised: no training data")
	}
	if p.L2 <= 0 {
		p.L2 = 0.01
	}
	if p.Epochs <= 0 {
		p.Epochs = 500
	}
	if p.Rate <= 0 {
		p.Rate = 0.5
	}
	d := len(X[0])
	m := &Model{Weights: make([]float64, d), Mu: make([]float64, d), Sd: make([]float64, d)}
	T := make([][]float64, len(X))
	for i, x := range X {
		T[i] = features.Transform(x, nil)
		if y[i] {
			m.Positives++
		} else {
			m.Negatives++
		}
	}
	if m.Positives == 0 || m.Negatives == 0 {
		return nil, errors.New("supervised: training data needs both malicious and benign windows")
	}
	for j := 0; j < d; j++ {
		var s, sq float64
		for _, t := range T {
			s += t[j]
		}
		mu := s / float64(len(T))
		for _, t := range T {
			sq += (t[j] - mu) * (t[j] - mu)
		}
		m.Mu[j] = mu
		m.Sd[j] = math.Max(math.Sqrt(sq/float64(len(T))), 1e-3)
	}
	Z := make([][]float64, len(T))
	for i, t := range T {
		Z[i] = m.standardise(t)
	}
	wPos := float64(len(X)) / (2 * float64(m.Positives))
	wNeg := float64(len(X)) / (2 * float64(m.Negatives))
	g := make([]float64, d)
	for e := 0; e < p.Epochs; e++ {
		clear(g)
		var gb float64
		for i, z := range Z {
			pr := sigmoid(m.Bias + dot(m.Weights, z))
			w, t := wNeg, 0.0
			if y[i] {
				w, t = wPos, 1
			}
			r := w * (pr - t)
			for j := range z {
				g[j] += r * z[j]
			}
			gb += r
		}
		n := float64(len(Z))
		for j := range g {
			m.Weights[j] -= p.Rate * (g[j]/n + p.L2*m.Weights[j])
		}
		m.Bias -= p.Rate * gb / n
	}
	return m, nil
}

func (m *Model) standardise(t []float64) []float64 {
	z := make([]float64, len(t))
	for j := range t {
		z[j] = (t[j] - m.Mu[j]) / m.Sd[j]
	}
	return z
}

// Score is the balanced logit of raw vector x: the log-odds that it is
// malicious under a 50/50 prior.
func (m *Model) Score(x []float64) float64 {
	return m.Bias + dot(m.Weights, m.standardise(features.Transform(x, nil)))
}

// Prob is the calibrated probability that raw vector x is malicious, at
// the training base rate.
func (m *Model) Prob(x []float64) float64 {
	c := m.Calibrated()
	return sigmoid(c.A*m.Score(x) + c.B)
}

// Contributions are w_i z_i per feature: what pushed the score.
func (m *Model) Contributions(x []float64) []float64 {
	z := m.standardise(features.Transform(x, nil))
	for j := range z {
		z[j] *= m.Weights[j]
	}
	return z
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// softplus is log(1 + e^x) without overflow.
func softplus(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }
