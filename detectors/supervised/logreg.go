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

// Model is a logistic regression on standardised transformed features:
// p = σ(b + Σ w_i (t_i - mu_i)/sd_i).
type Model struct {
	Weights []float64 `json:"weights"`
	Bias    float64   `json:"bias"`
	Mu      []float64 `json:"mu"`
	Sd      []float64 `json:"sd"`
	// Positives and Negatives are the training class counts.
	Positives int `json:"positives"`
	Negatives int `json:"negatives"`
}

// Params tunes Fit.
type Params struct {
	L2     float64 // default 0.01
	Epochs int     // default 500 (full-batch gradient descent)
	Rate   float64 // default 0.5
}

// Fit trains on raw vectors X and labels y. Classes are weighted to balance
// (malicious windows are rare).
func Fit(X [][]float64, y []bool, p Params) (*Model, error) {
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

// Prob is the probability that raw vector x is malicious.
func (m *Model) Prob(x []float64) float64 {
	return sigmoid(m.Bias + dot(m.Weights, m.standardise(features.Transform(x, nil))))
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
