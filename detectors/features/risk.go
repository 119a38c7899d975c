package features

import (
	"math"

	shared "github.com/zeekanom/zeekanom/detectors/window"
)

// Risk calibrates a raw score onto event.risk_score (0–100) exactly as every
// other detector does (window.Risk, detectors/README.md): the score is first
// expressed as a ratio to the detector's own firing threshold (1 = at the
// threshold), and risk = 100 / (1 + ratio^-1.5): 1 → 50, 2 → 74, 4 → 89,
// 10 → 97. One risk threshold therefore means the same thing for the dns,
// iforest and supervised detectors as for scan, beacon and the rest.
func Risk(ratio float64) float64 { return shared.Risk(ratio) }

// BoundedRatio expresses a score in [0, 1] (isolation score, probability)
// as a ratio to threshold t: (1 − t)/(1 − score), so 1 at the threshold and
// 2 when the distance to a perfect 1 halves (the convention beacon uses).
func BoundedRatio(score, t float64) float64 {
	if score >= 1 {
		return math.Inf(1)
	}
	return (1 - t) / (1 - score)
}
