package window

import (
	"math"
	"sort"
)

// Quartiles of a sample (sorted in place), by linear interpolation.
func Quartiles(x []float64) (q1, q2, q3 float64) {
	sort.Float64s(x)
	return quantile(x, .25), quantile(x, .5), quantile(x, .75)
}

func quantile(s []float64, p float64) float64 {
	if len(s) == 0 {
		return 0
	}
	pos := p * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	f := pos - float64(i)
	return s[i]*(1-f) + s[i+1]*f
}

// Median of x (sorted in place).
func Median(x []float64) float64 {
	sort.Float64s(x)
	return quantile(x, .5)
}

// MAD is the median absolute deviation of x around m (uses scratch).
func MAD(x []float64, m float64, scratch []float64) float64 {
	scratch = scratch[:0]
	for _, v := range x {
		scratch = append(scratch, math.Abs(v-m))
	}
	return Median(scratch)
}

// Bowley is the quartile skewness (q3+q1-2 q2)/(q3-q1), 0 when q3 == q1.
func Bowley(q1, q2, q3 float64) float64 {
	if q3-q1 <= 0 {
		return 0
	}
	return (q3 + q1 - 2*q2) / (q3 - q1)
}

// RobustZ is (x - median) / (1.4826 MAD), with the MAD floored at floor.
func RobustZ(x, median, mad, floor float64) float64 {
	s := 1.4826 * math.Max(mad, floor)
	if s <= 0 {
		return 0
	}
	return (x - median) / s
}

// RatioForScore maps a [0,1] score with a firing threshold thr onto the
// Risk ratio: 1 at the threshold, 2 when the distance to a perfect score
// halves, and so on.
func RatioForScore(score, thr float64) float64 {
	if score >= 1 {
		return 20
	}
	return math.Min(20, (1-thr)/(1-score))
}
