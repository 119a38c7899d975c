package supervised

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
	// runs are the hosts' open runs of flagged windows, not yet notices.
	runs   map[netip.Addr]*run
	Scored int64
	// Flagged counts the windows at min_risk or above, Alerts the notices
	// (a notice holds one or more flagged windows).
	Flagged int64
	Alerts  int64
}

// run is a host's consecutive flagged windows: [Start, End), Windows of
// them, the peak window's probability, start and values (its
// explanation), and a sample of the runs' conn uids.
type run struct {
	Host     netip.Addr `json:"host"`
	Start    time.Time  `json:"start"`
	End      time.Time  `json:"end"`
	Windows  int        `json:"windows"`
	Peak     float64    `json:"peak"`
	PeakAt   time.Time  `json:"peak_at"`
	PeakVals []float64  `json:"peak_values"`
	UIDs     []string   `json:"uids,omitempty"`
}

// New builds the detector; base gives the baseline used in explanations
// (the model's host baseline or its global one, as their Scope says); nil
// explains with values only.
func New(cfg Config, m *Model, base func(string) features.Robust) *Detector {
	fc := features.DefaultConfig()
	fc.Window, fc.Lateness, fc.MaxHosts = cfg.Window, cfg.Lateness, cfg.MaxHosts
	return &Detector{cfg: cfg, m: m, ex: features.New(fc), base: base, runs: map[netip.Addr]*run{}}
}

func (d *Detector) Name() string { return "supervised" }

// FeaturesLateness is the lateness of the detector's features extractor:
// a conn row read after its start window closed (by more than it) is
// counted in the window of its end, if still open (features'
// Stats.Reassigned). eval takes it (eval.LatenessOf).
func (d *Detector) FeaturesLateness() time.Duration { return d.cfg.Lateness }
func (d *Detector) Kinds() []zeekreader.Kind {
	return []zeekreader.Kind{zeekreader.KindConn, zeekreader.KindDNS, zeekreader.KindHTTP, zeekreader.KindSSL}
}
func (d *Detector) Observe(ev *zeekreader.Event) { d.ex.Observe(ev) }

// Advance scores the windows the watermark closes, then gives the notices
// of the runs that have ended: those whose next window has closed too
// (the extractor closes a window once the watermark is past its end plus
// the lateness) without extending them.
func (d *Detector) Advance(wm time.Time, emit detectors.Emit) {
	d.handle(d.ex.Advance(wm), emit)
	for _, h := range d.hosts() {
		if r := d.runs[h]; !wm.Before(r.End.Add(d.cfg.Window + d.cfg.Lateness)) {
			d.end(h, emit)
		}
	}
}

// Flush scores the open windows and gives every open run's notice.
func (d *Detector) Flush(emit detectors.Emit) {
	d.handle(d.ex.Flush(), emit)
	for _, h := range d.hosts() {
		d.end(h, emit)
	}
}

// hosts lists the hosts with an open run in address order, so that the
// notices of one step come out in the same order on every run.
func (d *Detector) hosts() []netip.Addr {
	hs := make([]netip.Addr, 0, len(d.runs))
	for h := range d.runs {
		hs = append(hs, h)
	}
	slices.SortFunc(hs, netip.Addr.Compare)
	return hs
}

// Stats returns the extractor's counters.
func (d *Detector) Stats() features.Stats { return d.ex.Stats() }

func (d *Detector) handle(vs []features.Vector, emit detectors.Emit) {
	for i := range vs {
		v := &vs[i]
		if v.Rows < d.cfg.MinRows {
			continue
		}
		d.Scored++
		p := d.m.Prob(v.Values)
		r := d.runs[v.Host]
		if risk(p) < d.cfg.MinRisk {
			if r != nil { // the run ended with the window before
				d.end(v.Host, emit)
			}
			continue
		}
		d.Flagged++
		if r != nil && (!r.End.Equal(v.Start) || v.End.Sub(r.Start) > d.cfg.GroupSpan) {
			d.end(v.Host, emit) // not the next window, or the run is long enough
			r = nil
		}
		if r == nil {
			r = &run{Host: v.Host, Start: v.Start}
			d.runs[v.Host] = r
		}
		r.End = v.End
		r.Windows++
		if r.Windows == 1 || p > r.Peak {
			r.Peak, r.PeakAt, r.PeakVals = p, v.Start, slices.Clone(v.Values)
		}
		for _, u := range v.UIDs {
			if len(r.UIDs) >= notice.MaxUIDs {
				break
			}
			r.UIDs = append(r.UIDs, u)
		}
	}
}

func risk(p float64) float64 { return features.Risk(features.BoundedRatio(p, 0.5)) }

// end gives host h's run as a notice: its span, the peak window's
// probability as the risk and that window's explanation.
func (d *Detector) end(h netip.Addr, emit detectors.Emit) {
	r := d.runs[h]
	delete(d.runs, h)
	d.Alerts++
	n := &notice.Notice{Start: r.Start, End: r.End, RiskScore: risk(r.Peak), Rule: notice.RuleSupervised, Source: h, UIDs: r.UIDs}
	contrib := d.m.Contributions(r.PeakVals)
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
		z = base.Z(r.PeakVals)
		ex.BaselineScope = base.Scope // whose baseline the features' baselines are
	}
	var parts []string
	for _, j := range idx[:3] {
		if contrib[j] <= 0 {
			break
		}
		name := features.Names[j]
		f := notice.Feature{Value: r.PeakVals[j]}
		part := name + " " + features.Show(name, r.PeakVals[j])
		if j < len(base.RawMedian) {
			f = notice.F(r.PeakVals[j], base.RawMedian[j], math.Round(z[j]*1000)/1000)
			// against what, as the outlier messages say
			part += fmt.Sprintf(" vs %s baseline %s", base.Scope, features.Show(name, base.RawMedian[j]))
		}
		ex.Features[name] = f
		ex.Top = append(ex.Top, name)
		parts = append(parts, part)
	}
	n.Explain = ex
	what := "classified malicious"
	if r.Windows > 1 {
		what = fmt.Sprintf("classified malicious in %d consecutive %s windows, peak at %s", r.Windows, d.cfg.Window, r.PeakAt.UTC().Format("15:04"))
	}
	n.Message = fmt.Sprintf("%s: %s (p=%.2f): %s", h, what, r.Peak, strings.Join(parts, ", "))
	n.Finalize("")
	emit(n)
}
