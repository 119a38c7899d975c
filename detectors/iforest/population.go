package iforest

import (
	"time"

	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/window"
)

// PopulationLen is how many scored host-windows the population
// baseline of a forest trained on the run is taken over (the default
// train_windows). The first baseline is the whole baseline period only
// when it has at most this many scored windows: training waits for whole
// closed windows, so on a busy network the buffer holds thousands, and
// the first sample is then filled by hash replacement (add) from them.
const PopulationLen = 256

// minPopulation is the least number of windows in the sample before it
// replaces the fixed baseline a version-1 or version-2 snapshot restored.
const minPopulation = 16

// Population is a bounded sample of the latest scored windows of all
// hosts: the population baseline of a forest trained on the run,
// so that it follows the population being scored instead of staying that
// of the run's first windows (a log set whose first hour is http only
// would explain every later dns feature against 0).
//
// Until it is full a window is appended; after that it replaces the slot
// a hash of (host, window start) picks. Every window thus survives each
// later one with probability 1 − 1/PopulationLen: the sample's mean age
// is PopulationLen windows, and when one 5-minute window has thousands of
// hosts (closed in address order) the sample is spread over all of them,
// not the last addresses. No random state: the sample is a function of
// the windows and their order, the same in batch and live.
type Population struct {
	Vals [][features.Dim]float32 `json:"v"`

	// legacy is the fixed baseline of an older snapshot, used while the
	// sample has fewer than minPopulation windows.
	legacy *features.Robust
	cache  *features.Robust // baseline of the current sample; nil when stale
}

// add records a window's raw values; it allocates only while the sample
// is filling (capacity PopulationLen, reserved at the first window).
func (p *Population) add(host window.IP, start time.Time, v []float64) {
	var row *[features.Dim]float32
	if len(p.Vals) < PopulationLen {
		if p.Vals == nil {
			p.Vals = make([][features.Dim]float32, 0, PopulationLen)
		}
		p.Vals = append(p.Vals, [features.Dim]float32{})
		row = &p.Vals[len(p.Vals)-1]
	} else {
		row = &p.Vals[window.HashIP(host, uint64(start.UnixNano()))%PopulationLen]
	}
	for i := range row {
		row[i] = float32(v[i])
	}
	p.cache = nil
}

// robust is the population baseline over the sample, recomputed only when
// the sample changed since the last call (notices are rare, windows many).
func (p *Population) robust() features.Robust {
	if p.legacy != nil && len(p.Vals) < minPopulation {
		return *p.legacy
	}
	if p.cache == nil {
		r := robustOf(p.Vals, features.ScopePopulation)
		p.cache = &r
	}
	return *p.cache
}

// robustOf is the baseline over float32 rows of raw values.
func robustOf(rows [][features.Dim]float32, scope string) features.Robust {
	raw := make([][]float64, len(rows))
	flat := make([]float64, len(rows)*features.Dim)
	for w := range rows {
		raw[w] = flat[w*features.Dim : (w+1)*features.Dim]
		for i, x := range rows[w] {
			raw[w][i] = float64(x)
		}
	}
	r := features.ComputeRobust(raw)
	r.Scope = scope
	return r
}
