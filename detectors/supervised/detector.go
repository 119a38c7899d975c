package supervised

import (
	"fmt"
	"math"
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

// Config is the [detectors.supervised] section. The detector runs only
// when the model file has a supervised part.
type Config struct {
	Enabled  bool          `toml:"enabled"`
	Model    string        `toml:"model"`
	Window   time.Duration `toml:"window"`
	Lateness time.Duration `toml:"lateness"`
	// Risk is calibrated from the probability as the ratio 0.5/(1 − p):
	// p = 0.5 gives 50, 0.75 gives 74, 0.875 gives 89.
	MinRisk float64 `toml:"min_risk"`
	// GroupSpan is the longest time one notice covers: a run of a host's
	// consecutive flagged windows is one notice (its windows counted, its
	// peak p the risk), cut at this span. Window or less: a notice a
	// window.
	GroupSpan time.Duration `toml:"group_span"`
	MinRows   int           `toml:"min_rows"`
	MaxHosts  int           `toml:"max_hosts"`
}

// DefaultConfig is enabled (it still needs a model with a supervised part).
func DefaultConfig() Config {
	return Config{Enabled: true, Window: 5 * time.Minute, Lateness: 2 * time.Minute, MinRisk: 50, GroupSpan: time.Hour, MinRows: 1, MaxHosts: 200000}
}

// Validate reports the first bad value of [detectors.supervised] as a
// *window.ConfigError naming its key.
func (cfg Config) Validate() error {
	var c window.Check
	c.Duration("window", cfg.Window, true)
	c.Duration("lateness", cfg.Lateness, false)
	c.Within("min_risk", cfg.MinRisk, 0, 100)
	c.Duration("group_span", cfg.GroupSpan, false)
	c.AtLeast("min_rows", cfg.MinRows, 0)
	c.AtLeast("max_hosts", cfg.MaxHosts, 1)
	return c.Err()
}

// Detector scores host-windows with the logistic regression and gives a
// notice per run of a host's consecutive flagged windows.
type Detector struct {
	cfg  Config
	m    *Model
	ex   *features.Extractor
	base func(string) features.Robust
	// runs are the hosts' open runs of flagged windows, not yet notices;
	// a run's record of its peak window is the window's values (its
	// explanation)
	runs   window.HostRuns[peakValues]
	Scored int64
	// Flagged counts the windows at min_risk or above, Alerts the notices
	// (a notice holds one or more flagged windows).
	Flagged int64
	Alerts  int64
}

// peakValues is a run's peak window's values; in a snapshot the run's
// peak_values, as before the runs were shared (window.HostRun).
type peakValues struct {
	Vals []float64 `json:"peak_values"`
	// Unlogged is the byte counts the peak window's conn rows did not
	// give (features.Vector.Unlogged): its message writes the features
	// standing on them as "not logged". An optional key: a snapshot
	// without it restores as if the rows gave both, as before.
	Unlogged features.Unlogged `json:"peak_unlogged,omitempty"`
}

// New builds the detector; base gives the baseline used in explanations
// (the model's host baseline or its global one, as their Scope says); nil
// explains with values only.
func New(cfg Config, m *Model, base func(string) features.Robust) *Detector {
	fc := features.DefaultConfig()
	fc.Window, fc.Lateness, fc.MaxHosts = cfg.Window, cfg.Lateness, cfg.MaxHosts
	return &Detector{cfg: cfg, m: m, ex: features.New(fc), base: base,
		runs: window.HostRuns[peakValues]{Window: cfg.Window, Lateness: cfg.Lateness, Span: cfg.GroupSpan}}
}

func (d *Detector) Name() string { return "supervised" }

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

func (d *Detector) Observe(ev *zeekreader.Event) { d.ex.Observe(ev) }

// Advance scores the windows the watermark closes, then gives the notices
// of the runs that have ended: those whose next window has closed too
// without extending them (window.HostRuns.Closed).
func (d *Detector) Advance(wm time.Time, emit detectors.Emit) {
	d.handle(d.ex.Advance(wm), emit)
	d.runs.Closed(wm, d.ender(emit))
}

// Flush scores the open windows and gives every open run's notice.
func (d *Detector) Flush(emit detectors.Emit) {
	d.handle(d.ex.Flush(), emit)
	d.runs.All(d.ender(emit))
}

// ender gives the notice of a run that ended.
func (d *Detector) ender(emit detectors.Emit) func(*window.HostRun[peakValues]) {
	return func(r *window.HostRun[peakValues]) { d.end(r, emit) }
}

// Stats returns the extractor's counters.
func (d *Detector) Stats() features.Stats { return d.ex.Stats() }

func (d *Detector) handle(vs []features.Vector, emit detectors.Emit) {
	done := d.ender(emit)
	for i := range vs {
		v := &vs[i]
		if v.Rows < d.cfg.MinRows {
			continue
		}
		d.Scored++
		p := d.m.Prob(v.Values)
		if risk(p) < d.cfg.MinRisk {
			d.runs.Quiet(v.Host, done)
			continue
		}
		d.Flagged++
		r, peak := d.runs.Flagged(v.Host, v.Start, v.End, p, v.UIDs, done)
		r.Unobserved += v.Unobserved
		if peak {
			r.Of.Vals = slices.Clone(v.Values)
			r.Of.Unlogged = v.Unlogged
		}
	}
}

func risk(p float64) float64 { return features.Risk(features.BoundedRatio(p, 0.5)) }

// end gives a run as a notice: its span, the peak window's probability
// as the risk and that window's explanation.
func (d *Detector) end(r *window.HostRun[peakValues], emit detectors.Emit) {
	h := r.Host
	d.Alerts++
	n := &notice.Notice{Start: r.Start, End: r.End, RiskScore: risk(r.Peak), Rule: notice.RuleSupervised, Source: h, UIDs: r.UIDs}
	contrib := d.m.Contributions(r.Of.Vals)
	idx := make([]int, len(contrib))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return contrib[idx[a]] > contrib[idx[b]] })
	ex := notice.Explanation{Detector: d.Name(), Score: math.Round(r.Peak*1000) / 1000, Features: map[string]notice.Feature{},
		Window: d.cfg.Window.Seconds()}
	if r.Windows > 1 {
		ex.Windows = r.Windows
	}
	var base features.Robust
	var z []float64
	if d.base != nil {
		base = d.base(h.String())
		z = base.Z(r.Of.Vals)
		ex.BaselineScope = base.Scope // whose baseline the features' baselines are
	}
	var parts []string
	for _, j := range idx[:3] {
		if contrib[j] <= 0 {
			break
		}
		name := features.Names[j]
		f := notice.Feature{Value: r.Of.Vals[j]}
		value := features.Show(name, r.Of.Vals[j])
		if name == "out_in_ratio" {
			value = features.ShowOutIn(r.Of.Vals[j], features.NoneIn(r.Of.Vals))
		}
		unlogged := r.Of.Unlogged.Of(name)
		if unlogged {
			// (a byte count the log never gave: neither the 0 the
			// model read nor a baseline to hold it against)
			value = r.Of.Unlogged.Show(name)
		}
		part := name + " " + value
		if j < len(base.RawMedian) {
			f = notice.F(r.Of.Vals[j], base.RawMedian[j], math.Round(z[j]*1000)/1000)
			if !unlogged {
				// against what, as the outlier messages say
				part += fmt.Sprintf(" vs %s baseline %s", base.Scope, features.Show(name, base.RawMedian[j]))
			}
		}
		f.NotLogged = unlogged
		ex.Features[name] = f
		ex.Top = append(ex.Top, name)
		parts = append(parts, part)
	}
	n.Explain = ex
	what := "classified malicious"
	if r.Windows > 1 {
		what = fmt.Sprintf("classified malicious in %d consecutive %s windows, peak at %s", r.Windows, d.cfg.Window, r.PeakAt.UTC().Format("15:04"))
	}
	p := fmt.Sprintf("p=%.2f", r.Peak)
	if share, covered, ok := r.Partial(); ok {
		// a window's counts are those of the part seen
		n.Explain.ObservedRatio = &share
		p += ", " + covered
	}
	n.Message = fmt.Sprintf("%s: %s (%s): %s", h, what, p, strings.Join(parts, ", "))
	n.Finalize("")
	emit(n)
}
