package features

import "math"

// Risk calibrates a raw detector score x onto event.risk_score (0–100) with
// one logistic curve through two anchors: x = mid gives 50 (the default
// alert threshold of every model detector) and x = hi gives 90 (critical).
// Every detector in this tree documents its anchors, so that one threshold
// means the same thing across detectors: 50 is "the evidence is as strong
// as the detector's documented alert point", 90 "far beyond it".
func Risk(x, mid, hi float64) float64 {
	if hi <= mid {
		hi = mid + 1e-9
	}
	k := math.Log(9) / (hi - mid)
	r := 100 / (1 + math.Exp(-k*(x-mid)))
	return math.Max(0, math.Min(100, r))
}
