package iforest

import (
	"math"
	"slices"
	"time"

	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/window"
)

// RetrainSample is how many judged windows a retraining samples from its
// period (uniformly: a reservoir).
const RetrainSample = 4096

// retraining is what a forest trained on the run keeps to be trained
// again (Config.Retrain). Once there is a forest, the extractor no longer
// builds the windows below min_rows (most of a busy network's windows),
// so the sample holds judged windows only; a forest of judged windows
// only scores them lower (measured: detectors/iforest/README.md), so the
// first training's small windows are kept and trained with again, in the
// share they had there.
type retraining struct {
	// Small is the first training's windows below min_rows, in model
	// space (at most RetrainSample); Share is the judged windows' share
	// of that training.
	Small [][]float64 `json:"small,omitempty"`
	Share float64     `json:"share,omitempty"`
	// Sample is a uniform sample of the windows judged and not flagged
	// since the first training (raw values), Seen how many were offered
	// and Fresh how many since the last training. The sample spans the
	// whole run, not the last period, so that a forest retrained after a
	// gap in the logs still knows the hours before it.
	Sample [][features.Dim]float32 `json:"sample,omitempty"`
	Seen   int64                   `json:"seen,omitempty"`
	Fresh  int64                   `json:"fresh,omitempty"`
	// First and Last are the end of the newest window at the first and
	// at the last training.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
}

// due reports whether a forest trained at Last is due for retraining at
// now: every period, and sooner while the run is young, after as long as
// the run had at its last training (at least an hour): with a period of
// 24 h, 1, 2, 4, 8, 16 and 32 h after the first training, then every
// period (a forest trained on a sidecar's first minutes is replaced
// within hours, not a day).
func (r *retraining) due(now time.Time, period time.Duration) bool {
	return now.Sub(r.Last) >= min(period, max(time.Hour, r.Last.Sub(r.First)))
}

// start records the first training: its windows (vs, X in model space)
// and the time it ends. Its small windows are kept evenly spread when
// there are more than RetrainSample.
func (r *retraining) start(vs []features.Vector, X [][]float64, minRows int) {
	var small []int
	for i := range vs {
		if vs[i].Rows < minRows {
			small = append(small, i)
		}
		if vs[i].End.After(r.Last) {
			r.Last = vs[i].End
		}
	}
	n := min(len(small), RetrainSample)
	r.Small = make([][]float64, n)
	for k := range n {
		r.Small[k] = X[small[k*len(small)/n]]
	}
	r.Share = float64(len(vs)-len(small)) / float64(max(len(vs), 1))
	r.First = r.Last
}

// offer adds a judged window to the sample (Algorithm R, with a
// generator that is a function of the count, so a restored run samples
// as one that never stopped).
func (r *retraining) offer(v []float64) {
	r.Seen++
	r.Fresh++
	i := int64(len(r.Sample))
	if i >= RetrainSample {
		i = int64(window.Mix64(uint64(r.Seen)^0x5bd1e995) % uint64(r.Seen))
		if i >= RetrainSample {
			return
		}
	} else {
		r.Sample = append(r.Sample, [features.Dim]float32{})
	}
	for k := range r.Sample[i] {
		r.Sample[i][k] = float32(v[k])
	}
}

// maxSmallRepeat bounds the small windows of a training set (about 40 MB
// of them): a share under 1/65 (judged windows rarer than that in the
// first training) trains with fewer small windows than its share, and a
// damaged share of 1e-6 in a model file or snapshot cannot ask for
// billions.
const maxSmallRepeat = 64 * RetrainSample

// trainingSet is the sample (in model space) followed by the first
// training's small windows in the share they had there, repeated when
// there are too few (small windows, a row or two, are much alike). It
// returns nil when fewer than fresh windows were offered since the last
// training; judged is how many lead X.
func (r *retraining) trainingSet(fresh int) (X [][]float64, judged int) {
	if r.Fresh < int64(max(fresh, 2)) || len(r.Sample) < 2 {
		return nil, 0
	}
	ns := 0
	if r.Share > 0 && r.Share < 1 && len(r.Small) > 0 {
		ns = int(min(math.Round(float64(len(r.Sample))*(1-r.Share)/r.Share), maxSmallRepeat))
	}
	X = make([][]float64, 0, len(r.Sample)+ns)
	flat := make([]float64, len(r.Sample)*features.Dim)
	for i := range r.Sample {
		x := flat[i*features.Dim : (i+1)*features.Dim]
		for k, v := range r.Sample[i] {
			x[k] = float64(v)
		}
		X = append(X, features.Transform(x, x))
	}
	for i := range ns {
		X = append(X, r.Small[i%len(r.Small)])
	}
	return X, len(r.Sample)
}

// valid reports whether a restored retraining fits this build: small
// windows of features.Dim values (grow indexes every row by the first's
// length), a share in 0..1 whose repeated small windows (trainingSet)
// can be counted, and a sample that could have been drawn (at most
// RetrainSample of the windows seen: offer divides by the count once the
// sample is full).
func (r *retraining) valid() bool {
	for _, x := range r.Small {
		if len(x) != features.Dim {
			return false
		}
	}
	return r.Share >= 0 && r.Share <= 1 && (r.Share == 0 || RetrainSample*(1-r.Share)/r.Share <= math.MaxInt32) &&
		len(r.Sample) <= RetrainSample && int64(len(r.Sample)) <= r.Seen
}

// restart begins the next period.
func (r *retraining) restart(now time.Time) { r.Fresh, r.Last = 0, now }

// Seed is what a model file keeps so that its forest is trained again
// online (Config.Retrain) as a forest trained on the run is: the training
// windows below min_rows (in model space, at most RetrainSample, evenly
// spread) and the judged windows' share of the training, a uniform sample
// of the judged windows (raw values) and how many there were. The run's
// judged windows then join the sample as if the archive had been the
// run's beginning.
type Seed struct {
	Small  [][]float64             `json:"small,omitempty"`
	Share  float64                 `json:"share"`
	Sample [][features.Dim]float32 `json:"sample"`
	Seen   int64                   `json:"seen"`
}

// NewSeed is the seed of a forest trained on vs (all of them, as the
// forest was).
func NewSeed(vs []features.Vector, minRows int) *Seed {
	var r retraining
	X := make([][]float64, len(vs))
	for i := range vs {
		X[i] = features.Transform(vs[i].Values, nil)
	}
	r.start(vs, X, minRows)
	for i := range vs {
		if vs[i].Rows >= minRows {
			r.offer(vs[i].Values)
		}
	}
	return &Seed{Small: r.Small, Share: r.Share, Sample: r.Sample, Seen: r.Seen}
}

// Valid reports whether a seed read from a file fits this build (see
// retraining.valid) and its sample could have been drawn.
func (s *Seed) Valid() bool {
	r := retraining{Small: s.Small, Share: s.Share}
	return r.valid() && len(s.Sample) <= RetrainSample && int64(len(s.Sample)) <= s.Seen
}

// retraining starts a model's retraining from its seed (a copy: the
// sample is overwritten in place).
func (s *Seed) retraining() retraining {
	return retraining{Small: s.Small, Share: s.Share, Sample: slices.Clone(s.Sample), Seen: s.Seen}
}
