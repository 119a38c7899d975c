package iforest

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// Config is the [detectors.iforest] section.
type Config struct {
	Enabled bool `toml:"enabled"`
	// Model is a model file from `zeekanom train`; without one the forest is
	// trained on the first TrainWindows host-windows of the run.
	Model        string        `toml:"model"`
	Window       time.Duration `toml:"window"`
	Lateness     time.Duration `toml:"lateness"`
	TrainWindows int           `toml:"train_windows"`
	// MinTrain is the least number of buffered windows with which Flush
	// still trains (and self-scores) when TrainWindows was never reached.
	MinTrain int    `toml:"min_train"`
	Trees    int    `toml:"trees"`
	Sample   int    `toml:"sample"`
	Seed     uint64 `toml:"seed"`
	// Threshold is the isolation score that calibrates to risk 50; the
	// ratio (1 − Threshold)/(1 − score) goes through features.Risk, so
	// 0.85 gives 74 and 0.925 gives 89 with the default 0.7.
	Threshold float64 `toml:"threshold"`
	MinRisk   float64 `toml:"min_risk"`
	// GroupSpan is the longest time one notice covers: a run of a host's
	// consecutive flagged windows is one notice (its windows counted, its
	// peak window's score, risk and explanation), cut at this span.
	// Window or less: a notice a window.
	GroupSpan time.Duration `toml:"group_span"`
	// MinRows skips host-windows with fewer rows (too little to judge).
	MinRows  int `toml:"min_rows"`
	MaxHosts int `toml:"max_hosts"`
	// Retrain: a forest trained on the run is trained again every Retrain
	// of event time (sooner while the run is young: retraining.due) on a
	// sample of the windows judged and not flagged so far (0: never), so
	// that a sidecar started at night does not judge every working day
	// against its first minutes. A model file's forest is trained again
	// every Retrain too, on its Seed's sample joined by the run's windows,
	// when the model has one (model version 5 on).
	Retrain time.Duration `toml:"retrain"`
}

// DefaultConfig is enabled with a 5-minute window.
func DefaultConfig() Config {
	return Config{Enabled: true, Window: 5 * time.Minute, Lateness: 2 * time.Minute, TrainWindows: 256,
		MinTrain: 16, Trees: 100, Sample: 256, Seed: 1, Threshold: 0.7, MinRisk: 70, GroupSpan: time.Hour, MinRows: 3, MaxHosts: 200000, Retrain: 24 * time.Hour}
}

// Validate reports the first bad value of [detectors.iforest] as a
// *window.ConfigError naming its key.
func (cfg Config) Validate() error {
	var c window.Check
	c.Duration("window", cfg.Window, true)
	c.Duration("lateness", cfg.Lateness, false)
	c.AtLeast("train_windows", cfg.TrainWindows, 1)
	c.AtLeast("min_train", cfg.MinTrain, 1)
	c.AtLeast("trees", cfg.Trees, 1)
	c.AtLeast("sample", cfg.Sample, 2)
	c.Positive("threshold", cfg.Threshold)
	c.Within("threshold", cfg.Threshold, 0, 1)
	c.Within("min_risk", cfg.MinRisk, 0, 100)
	c.Duration("group_span", cfg.GroupSpan, false)
	c.AtLeast("min_rows", cfg.MinRows, 0)
	c.AtLeast("max_hosts", cfg.MaxHosts, 1)
	c.Duration("retrain", cfg.Retrain, false)
	return c.Err()
}

// Trained is what a model file provides.
type Trained struct {
	Forest *Forest
	// Baseline is the host's baseline from the model when it has one
	// (Scope features.ScopeHost), else the population's.
	Baseline func(host string) features.Robust
	// Seed, when set, has the forest trained again online (Config.Retrain)
	// from the model's windows and the run's.
	Seed *Seed
	// ID names the model (a snapshot of a run that retrained its forest
	// restores that forest only with the same model).
	ID string
}

// Detector scores host-window vectors with an isolation forest.
type Detector struct {
	cfg     Config
	ex      *features.Extractor
	tr      *Trained
	buf     []features.Vector
	fromRun bool
	// online: the forest is trained again as the run goes on (trained on
	// the run, or a model's with a Seed, and Config.Retrain set)
	online bool
	// hist holds each host's latest unflagged scored windows: the host's
	// own baseline in explanations once it has MinHostWindows of them.
	hist *window.Table[window.IP, hostHistory]
	// dense holds the windows in full of the histories with more than
	// histCols nonzero features (hostHistory.D); an entry is freed when
	// its history leaves hist (OnEvict) or goes back inline.
	dense window.Slab[windows]
	// pop is the population baseline of a forest trained on the run: a
	// sample of the latest scored windows of every host.
	pop Population
	// runs are the hosts' open runs of flagged windows, not yet notices
	runs  window.HostRuns[peakExplained]
	re    retraining
	stats Stats
	// scratch of scoreAll
	batchX            [][]float64
	batchFlat, batchS []float64
	// least is the isolation score of min_risk: only windows scoring at
	// least that are flagged (ScoreBatchAbove); rest are the bounds of
	// restFor's forest
	least   float64
	rest    []float64
	restFor *Forest
	// scratch of partScore
	partX [][]float64
	partS []float64
	// modelForest is a model's forest as loaded (online: a snapshot saves
	// the forest only once retraining replaced it)
	modelForest *Forest
}

// peakExplained is a run's peak window's explanation, made when the
// window was judged (against the baseline of then, as a notice of the
// window alone was).
type peakExplained struct {
	Explain notice.Explanation `json:"explain"`
	// NoneIn is whether that window had no bytes in (features.NoneIn):
	// its out_in_ratio is then written as the bytes out, not as a ratio.
	NoneIn bool `json:"none_in,omitempty"`
	// Unlogged is the byte counts that window's conn rows did not give
	// (features.Vector.Unlogged): the features standing on them read
	// "not logged". An optional key: a snapshot without it restores as
	// if the rows gave both, as before.
	Unlogged features.Unlogged `json:"unlogged,omitempty"`
}

// Stats counts the detector's work.
type Stats struct {
	features.Stats
	Scored int64
	// Flagged counts the windows at min_risk or above, Alerts the notices
	// (a notice holds a run of one or more flagged windows: group_span).
	Flagged int64
	Alerts  int64
	Trained int // windows the current forest was trained on (0: from the model)
	// Retrains counts the trainings after the first (Config.Retrain).
	Retrains int
	// HistoryHosts is the number of hosts with a history, HistoryEvicted
	// the histories dropped for room (max_hosts).
	HistoryHosts   int
	HistoryEvicted int64
}

// New builds the detector; tr may be nil (train on the run's first windows).
func New(cfg Config, tr *Trained) *Detector {
	d := DefaultConfig()
	if cfg.TrainWindows <= 0 {
		cfg.TrainWindows = d.TrainWindows
	}
	if cfg.MinTrain <= 0 {
		cfg.MinTrain = d.MinTrain
	}
	if cfg.Threshold <= 0 {
		cfg.Threshold = d.Threshold
	}
	fc := features.DefaultConfig()
	fc.Window, fc.Lateness, fc.MaxHosts = cfg.Window, cfg.Lateness, cfg.MaxHosts
	det := &Detector{cfg: cfg, ex: features.New(fc), tr: tr, hist: window.NewIPTable[hostHistory](max(cfg.MaxHosts, 16)),
		least: leastFlagged(cfg), runs: window.HostRuns[peakExplained]{Window: cfg.Window, Lateness: cfg.Lateness, Span: cfg.GroupSpan}}
	det.hist.OnEvict = func(_ window.IP, h *hostHistory) { h.free(&det.dense) }
	// a window below min_rows is never judged, so never in a notice: its
	// uids are not read (only trained on, before there is a forest)
	det.ex.SkipUIDsBelow(cfg.MinRows)
	if tr != nil && tr.Seed != nil && cfg.Retrain > 0 {
		t := *tr // the forest is replaced at each retraining, not the caller's
		det.tr, det.re, det.online, det.modelForest = &t, tr.Seed.retraining(), true, tr.Forest
	}
	return det
}

func (d *Detector) Name() string { return "iforest" }

// FeaturesLateness is the lateness of the detector's features extractor:
// a conn row read after its start window closed (by more than it) is
// counted in the window of its end, if still open (features'
// Stats.Reassigned). eval takes it (eval.LatenessOf).
func (d *Detector) FeaturesLateness() time.Duration { return d.cfg.Lateness }

// FeaturesWindow is the length of the detector's host-windows, those of
// its features extractor. eval takes it (eval.WindowOf).
func (d *Detector) FeaturesWindow() time.Duration { return d.cfg.Window }

func (d *Detector) Kinds() []zeekreader.Kind {
	return []zeekreader.Kind{zeekreader.KindConn, zeekreader.KindDNS, zeekreader.KindHTTP, zeekreader.KindSSL}
}

// Needs: bytes_out, bytes_in and out_in_ratio stand on the byte counts
// (detectors.Needer).
func (d *Detector) Needs() []detectors.Need { return features.Needs() }

// Stats returns the counters.
func (d *Detector) Stats() Stats {
	s := d.stats
	s.Stats = d.ex.Stats()
	s.HistoryHosts, s.HistoryEvicted = d.hist.Len(), d.hist.Evicted()
	return s
}

func (d *Detector) Observe(ev *zeekreader.Event) { d.ex.Observe(ev) }

// Advance judges the windows the watermark closes, then gives the
// notices of the runs that have ended: those whose next window has closed
// too without extending them (window.HostRuns.Closed).
func (d *Detector) Advance(wm time.Time, emit detectors.Emit) {
	d.skipUnjudged()
	d.handle(d.ex.Advance(wm), emit)
	d.runs.Closed(wm, d.ender(emit))
}

// Flush judges the open windows and gives every open run's notice.
func (d *Detector) Flush(emit detectors.Emit) {
	d.skipUnjudged()
	d.handleLast(d.ex.Flush(), emit)
	d.runs.All(d.ender(emit))
}

// ender gives the notice of a run that ended.
func (d *Detector) ender(emit detectors.Emit) func(*window.HostRun[peakExplained]) {
	return func(r *window.HostRun[peakExplained]) { d.end(r, emit) }
}

// handleLast handles the last windows of the run, then trains on what is
// buffered when train_windows was never reached.
func (d *Detector) handleLast(vs []features.Vector, emit detectors.Emit) {
	d.handle(vs, emit)
	if d.tr == nil && len(d.buf) >= d.cfg.MinTrain {
		d.train(emit)
	}
	d.buf = nil
}

// skipUnjudged has the extractor leave out the windows below min_rows once
// there is a forest: they are never judged, only trained on (and a
// forest may come from a model file, the run, or a snapshot).
func (d *Detector) skipUnjudged() {
	if d.tr != nil {
		d.ex.SkipBelow(d.cfg.MinRows)
	}
}

func (d *Detector) handle(vs []features.Vector, emit detectors.Emit) {
	if d.tr == nil {
		if d.buf == nil {
			d.buf = vs // (the first window of a busy network: 100,000 vectors not copied)
		} else {
			d.buf = append(d.buf, vs...)
		}
		if len(d.buf) >= d.cfg.TrainWindows {
			d.train(emit)
		}
		return
	}
	if len(vs) == 0 {
		return
	}
	end := vs[len(vs)-1].End
	// the windows that closed together are scored in batches (ScoreBatch),
	// then judged in order
	for len(vs) > 0 {
		n := min(len(vs), scoreBlock)
		d.scoreAll(vs[:n], emit)
		vs = vs[n:]
	}
	if !d.online {
		return
	}
	if d.re.Last.IsZero() && !d.fromRun {
		// a model's forest: trained again a period after the first
		// windows judged (the archive's were a long baseline, not the
		// run's first minutes). A forest trained on the run without a
		// sample (an older snapshot, or one taken with retrain = 0) is
		// due at once: retrained when enough windows were judged.
		d.re.First, d.re.Last = end.Add(-d.cfg.Retrain), end
	}
	if d.re.due(end, d.cfg.Retrain) {
		d.retrain(end)
	}
}

// retrain grows a new forest on the sample of the windows judged and not
// flagged so far, with the first training's small windows in their share
// (see retraining), and takes it from the next window on; it waits while
// fewer windows than the first training's were judged since the last.
func (d *Detector) retrain(now time.Time) {
	X, judged := d.re.trainingSet(max(d.cfg.MinTrain, d.cfg.TrainWindows))
	if X == nil {
		return // fewer windows than the first training had: wait for more
	}
	f, err := grow(X, Params{Trees: d.cfg.Trees, Sample: d.cfg.Sample, Seed: d.cfg.Seed})
	if err != nil {
		return
	}
	f.calibrate(X[:judged])
	d.tr.Forest = f
	d.stats.Trained = len(X)
	d.stats.Retrains++
	d.re.restart(now)
}

func (d *Detector) scoreAll(vs []features.Vector, emit detectors.Emit) {
	X, flat := d.batchX[:0], d.batchFlat[:0]
	for i := range vs {
		if vs[i].Rows >= d.cfg.MinRows {
			n := len(flat)
			flat = append(flat, vs[i].Values...)
			x := flat[n:]
			X = append(X, features.Transform(x, x))
		}
	}
	done := d.ender(emit)
	scores := slices.Grow(d.batchS[:0], len(X))[:len(X)]
	if d.restFor != d.tr.Forest {
		d.rest, d.restFor = d.tr.Forest.MinPaths(), d.tr.Forest
	}
	d.tr.Forest.ScoreBatchAbove(X, scores, d.least, d.rest)
	j := 0
	for i := range vs {
		if vs[i].Rows >= d.cfg.MinRows {
			d.scored(&vs[i], d.partScore(d.tr.Forest, d.rest, &vs[i], scores[j]), done)
			j++
		}
	}
	d.batchX, d.batchFlat, d.batchS = X[:0], flat[:0], scores[:0]
}

// train fits the forest on the buffered windows of this run, then scores
// them (batch fallback without a model file). The population sample starts
// as the baseline period's windows that are scored (at least MinRows
// rows; a hash-replacement sample of them when there are more than
// PopulationLen), and the buffered windows are explained against it; from
// then on it follows the scored windows (Population).
func (d *Detector) train(emit detectors.Emit) {
	X := make([][]float64, len(d.buf))
	for i, v := range d.buf {
		X[i] = features.Transform(v.Values, nil)
	}
	f, err := grow(wholeOf(d.buf, X, d.cfg.MinTrain), Params{Trees: d.cfg.Trees, Sample: d.cfg.Sample, Seed: d.cfg.Seed})
	if err != nil {
		return
	}
	// only the windows judged are scored (a busy sensor's first windows are
	// mostly hosts with a row or two); the quantiles are theirs
	var judged []features.Vector
	var JX [][]float64
	for i := range d.buf {
		if d.buf[i].Rows >= d.cfg.MinRows {
			judged = append(judged, d.buf[i])
			JX = append(JX, X[i])
		}
	}
	scores := f.calibrate(JX)
	rest := f.MinPaths()
	for i := range judged {
		scores[i] = d.partScore(f, rest, &judged[i], scores[i])
	}
	d.tr = &Trained{Forest: f, Baseline: func(string) features.Robust { return d.pop.robust() }}
	d.fromRun = true
	if d.cfg.Retrain > 0 {
		d.re.start(d.buf, X, d.cfg.MinRows)
		d.online = true
	}
	d.stats.Trained = len(d.buf)
	d.buf = nil
	for i := range judged {
		d.pop.add(window.IPOf(judged[i].Host), judged[i].Start, judged[i].Values)
	}
	done := d.ender(emit)
	for i := range judged {
		d.judge(&judged[i], scores[i], done)
	}
}

// wholeOf is the rows of X whose windows the input covered whole, or X
// when fewer than min are: the run's first windows are partial (a capture
// or an archive starts mid-window), and a forest grown on their counts as
// seen learns a part of a window as a usual whole one.
func wholeOf(vs []features.Vector, X [][]float64, min int) [][]float64 {
	var W [][]float64
	for i := range vs {
		if vs[i].Unobserved == 0 {
			W = append(W, X[i])
		}
	}
	if len(W) < min || len(W) == len(X) {
		return X
	}
	return W
}

// leastFlagged is a little below the least isolation score that judge
// flags (risk at least min_risk; risk grows with the score), found by
// bisection on judge's own formula, so that a window ScoreBatchAbove
// leaves early is one judge would not have flagged.
func leastFlagged(cfg Config) float64 {
	flags := func(s float64) bool {
		return features.Risk(features.BoundedRatio(s, cfg.Threshold)) >= cfg.MinRisk
	}
	if flags(0) {
		return 0
	}
	lo, hi := 0.0, 1.0 // flags(lo) false, flags(hi) true (risk 100 at 1)
	for range 60 {
		mid := (lo + hi) / 2
		if flags(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return max(lo-1e-6, 0)
}

// partScore is the isolation score a window is judged by: s, its own,
// unless the input covered only part of it (features' Unobserved: the
// window opens or ends the input, or borders a gap longer than a window).
// Such a window's counts and sums are those of the part observed: the
// host's whole window held at least as much, and perhaps as much more as
// its rate in the part would add over the rest. It is judged as the most
// usual whole window that agrees with what was seen: scored with its
// counts as seen and scaled up to the most that the rate seen could have
// given (wholeMost), and at the points between, and judged by the lowest
// of those scores. A steady host's partial window is thus judged near its
// whole-window equivalent, not flagged for its low counts, while a host
// whose observed part is already unusual for a whole window (a scan in
// the last minute of the input) scores high at every point and is
// flagged, and so is one with too few rows for the part observed to be
// any usual window's. A partial window never scores above s: a rate seen
// in a short part is not extrapolated to flag a host (a poller's burst
// at the start of every window, in a window observed for 10 s, would be
// 30 times its rows).
func (d *Detector) partScore(f *Forest, rest []float64, v *features.Vector, s float64) float64 {
	if v.Unobserved <= 0 || s < d.least {
		return s
	}
	hi := wholeMost(v.Rows, d.cfg.Window, v.Unobserved)
	steps := max(1, int(math.Ceil(math.Log(hi)/partStep)))
	// the points from the one nearest the window's counts in proportion
	// to the part observed outward, where a usual host's window is usual
	// and the search ends at its first point; a flagged window's score is
	// the lowest of all of them whatever the order
	prop := float64(d.cfg.Window) / float64(max(d.cfg.Window-v.Unobserved, time.Second))
	k0 := 1
	if hi > 1 {
		k0 = min(max(int(math.Round(float64(steps)*math.Log(min(prop, hi))/math.Log(hi))), 1), steps)
	}
	best := s
	X, scores := d.partX[:0], d.partS
	for j := 0; j < 2*steps; j++ {
		k := k0 - j/2 // k0, k0+1, k0-1, k0+2, k0-2, ...
		if j%2 == 1 {
			k = k0 + (j+1)/2
		}
		if k < 1 || k > steps {
			continue
		}
		scale := math.Pow(hi, float64(k)/float64(steps))
		X = X[:0]
		for _, alpha := range partDistinct {
			var x []float64
			if len(X) < cap(X) {
				x = X[:len(X)+1][len(X)]
			}
			x = append(x[:0], v.Values...)
			for i := range x {
				switch {
				case features.Distinct(i):
					x[i] *= math.Pow(scale, alpha)
				case scalesWithTime(i):
					x[i] *= scale
				}
			}
			X = append(X, features.Transform(x, x))
		}
		scores = slices.Grow(scores[:0], len(X))[:len(X)]
		f.ScoreBatchAbove(X, scores, d.least, rest)
		best = min(best, slices.Min(scores))
		if best < d.least {
			break // not flagged: no need to know by how much
		}
	}
	d.partX, d.partS = X[:0], scores[:0]
	return best
}

// Judge scores windows as the detector judges them with a forest: a
// partial window at the lowest score of the whole windows consistent
// with it (partScore), to the end (the detector stops once a window is
// below min_risk). `zeekanom features --score` writes it as
// iforest_score, so that the CSV's score is the one a notice would carry.
type Judge struct {
	d    Detector
	f    *Forest
	rest []float64
}

// NewJudge judges windows of length w with forest f.
func NewJudge(f *Forest, w time.Duration) *Judge {
	return &Judge{d: Detector{cfg: Config{Window: w}}, f: f, rest: f.MinPaths()}
}

// Score is v's isolation score as the detector judges it.
func (j *Judge) Score(v *features.Vector) float64 {
	return j.d.partScore(j.f, j.rest, v, j.f.Score(features.Transform(v.Values, nil)))
}

// partDistinct are the powers of a partial window's scale its distinct
// counts are scored at: a distinct count grows less than in proportion
// (each row adds at most one, many add none), from as seen (0) to in
// proportion (1).
var partDistinct = []float64{0, 0.5, 1}

// wholeMost is the most by which a window's counts, rows rows seen in
// the part of window w observed (all but unobserved, at least a second),
// could have grown over the whole window: by what the part not observed
// would add at the upper bound of the rate seen (a Poisson rate's, on
// rows, 99%: z 2.33 on the square-root scale). A window observed all but
// a second is judged nearly as it is; one observed for a minute of five,
// with 10 rows, at up to 8.5 times its counts.
func wholeMost(rows int, w, unobserved time.Duration) float64 {
	seen := max(w-unobserved, time.Second)
	if seen >= w || rows <= 0 {
		return 1
	}
	k, rest := float64(rows), float64(w-seen)/float64(seen)
	upper := math.Pow(math.Sqrt(k)+partZ/2, 2)
	return 1 + upper/k*rest
}

// partZ is the normal quantile of wholeMost's bound, partStep the
// step, in log space, between the points partScore scores a partial
// window at.
const (
	partZ    = 2.33
	partStep = 0.1
)

// scalesWithTime reports whether feature i grows with the time observed:
// the counts and sums, not the ratios and means.
func scalesWithTime(i int) bool { return !features.Ratio(i) && !features.Mean(i) }

// scored judges a window scored s by the forest.
func (d *Detector) scored(v *features.Vector, s float64, done func(*window.HostRun[peakExplained])) {
	d.judge(v, s, done)
	if d.fromRun {
		// after judging: a window is not explained against itself. Flagged
		// windows count too (unlike in a host's history): the median of
		// many hosts hardly moves for a few outliers, and a small run
		// whose scored windows are mostly flagged would have none left.
		d.pop.add(window.IPOf(v.Host), v.Start, v.Values)
	}
}

// judge adds a window whose isolation score is s to its host's run of
// flagged windows, explained when it is the run's peak, or, below
// min_risk, to the host's history for its own baseline, ending its run;
// done gives the notice of a run that ends.
func (d *Detector) judge(v *features.Vector, s float64, done func(*window.HostRun[peakExplained])) {
	d.stats.Scored++
	risk := features.Risk(features.BoundedRatio(s, d.cfg.Threshold))
	if risk < d.cfg.MinRisk {
		d.runs.Quiet(v.Host, done)
		h, _ := d.hist.Get(window.IPOf(v.Host))
		h.add(v.Values, &d.dense)
		if d.online {
			d.re.offer(v.Values)
		}
		return
	}
	d.stats.Flagged++
	r, peak := d.runs.Flagged(v.Host, v.Start, v.End, s, v.UIDs, done)
	r.Unobserved += v.Unobserved
	if peak {
		base := d.baseline(v.Host)
		r.Of.Explain = Explain(d.Name(), s, v, base, d.cfg.Window)
		r.Of.Explain.BaselineScope = base.Scope
		r.Of.NoneIn = features.NoneIn(v.Values)
		r.Of.Unlogged = v.Unlogged
	}
}

// end gives a run as a notice: its span, the peak window's score as the
// risk and that window's explanation; a run of one window reads as the
// window's notice did before runs.
func (d *Detector) end(r *window.HostRun[peakExplained], emit detectors.Emit) {
	d.stats.Alerts++
	risk := features.Risk(features.BoundedRatio(r.Peak, d.cfg.Threshold))
	n := &notice.Notice{Start: r.Start, End: r.End, RiskScore: risk, Rule: notice.RuleOutlier, Source: r.Host, UIDs: r.UIDs, Explain: r.Of.Explain}
	what := "unusual host window"
	if r.Windows > 1 {
		n.Explain.Windows = r.Windows
		what = fmt.Sprintf("unusual in %d consecutive %s windows, peak at %s", r.Windows, d.cfg.Window, r.PeakAt.UTC().Format("15:04"))
	}
	score := fmt.Sprintf("isolation score %.2f", r.Peak)
	if share, covered, ok := r.Partial(); ok {
		// judged as the most usual whole window consistent with the part
		// seen (partScore): the analyst should know the rest was not seen
		n.Explain.ObservedRatio = &share
		score += ", " + covered
	}
	n.Message = fmt.Sprintf("%s: %s (%s): %s", r.Host, what, score, Describe(n.Explain, r.Of.NoneIn, r.Of.Unlogged))
	n.Finalize("")
	emit(n)
}

// baseline picks what a host's window is explained against: the host's
// baseline from the model file, else its own history in this run when it
// has MinHostWindows unflagged windows, else the population's (the model's
// global baseline, or the sample of recent windows when trained on the run).
func (d *Detector) baseline(host netip.Addr) features.Robust {
	b := d.tr.Baseline(host.String())
	if b.Scope == features.ScopeHost {
		return b
	}
	if h := d.hist.Peek(window.IPOf(host)); h != nil && h.N >= MinHostWindows {
		full := h.history(d.dense.At)
		return full.robust()
	}
	b.Scope = features.ScopePopulation
	return b
}

// Explain ranks features by robust z against the baseline and keeps the
// five that deviate most.
func Explain(det string, score float64, v *features.Vector, base features.Robust, w time.Duration) notice.Explanation {
	z := base.Z(v.Values)
	idx := make([]int, len(z))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return math.Abs(z[idx[a]]) > math.Abs(z[idx[b]]) })
	ex := notice.Explanation{Detector: det, Score: round(score), Features: map[string]notice.Feature{}, Window: w.Seconds()}
	for _, i := range idx[:min(5, len(idx))] {
		if math.Abs(z[i]) < 1 && len(ex.Top) > 0 {
			break
		}
		b := 0.0
		if i < len(base.RawMedian) {
			b = base.RawMedian[i]
		}
		f := notice.F(round(v.Values[i]), round(b), round(z[i]))
		f.NotLogged = v.Unlogged.Of(features.Names[i])
		ex.Features[features.Names[i]] = f
		ex.Top = append(ex.Top, features.Names[i])
	}
	return ex
}

// Describe renders the top features for a message, naming the baseline's
// scope from ex.BaselineScope ("vs host baseline", "vs population
// baseline"); noneIn says the window had no bytes in, so that its
// out_in_ratio reads "none in (6.6 MB out)", not a smoothed "6575×";
// unlogged, the byte counts its conn rows did not give, so that a
// feature standing on one reads "not logged (no resp_bytes)", with no
// baseline or z (its value, 0 for the count never given, is the
// model's input and stays in ex).
func Describe(ex notice.Explanation, noneIn bool, unlogged features.Unlogged) string {
	scope := ex.BaselineScope
	if scope != "" {
		scope += " "
	}
	var parts []string
	for _, name := range ex.Top[:min(3, len(ex.Top))] {
		if unlogged.Of(name) {
			parts = append(parts, name+" "+unlogged.Show(name))
			continue
		}
		f := ex.Features[name]
		value := features.Show(name, f.Value)
		if name == "out_in_ratio" {
			value = features.ShowOutIn(f.Value, noneIn)
		}
		parts = append(parts, fmt.Sprintf("%s %s vs %sbaseline %s (z %+.1f)", name, value, scope, features.Show(name, *f.Baseline), *f.Deviation))
	}
	return strings.Join(parts, ", ")
}

func round(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x*1000) / 1000
}
