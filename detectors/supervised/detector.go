package supervised

import (
	"fmt"
	"math"
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
	MinRisk  float64 `toml:"min_risk"`
	MinRows  int     `toml:"min_rows"`
	MaxHosts int     `toml:"max_hosts"`
}

// DefaultConfig is enabled (it still needs a model with a supervised part).
func DefaultConfig() Config {
	return Config{Enabled: true, Window: 5 * time.Minute, Lateness: 2 * time.Minute, MinRisk: 50, MinRows: 1, MaxHosts: 200000}
}

// Validate reports the first bad value of [detectors.supervised] as a
// *window.ConfigError naming its key.
func (cfg Config) Validate() error {
	var c window.Check
	c.Duration("window", cfg.Window, true)
	c.Duration("lateness", cfg.Lateness, false)
	c.Within("min_risk", cfg.MinRisk, 0, 100)
	c.AtLeast("min_rows", cfg.MinRows, 0)
	c.AtLeast("max_hosts", cfg.MaxHosts, 1)
	return c.Err()
}

// Detector scores host-windows with the logistic regression.
type Detector struct {
	cfg    Config
	m      *Model
	ex     *features.Extractor
	base   func(string) features.Robust
	Scored int64
	Alerts int64
}

// New builds the detector; base gives the baseline used in explanations
// (the model's host baseline or its global one, as their Scope says); nil
// explains with values only.
func New(cfg Config, m *Model, base func(string) features.Robust) *Detector {
	fc := features.DefaultConfig()
	fc.Window, fc.Lateness, fc.MaxHosts = cfg.Window, cfg.Lateness, cfg.MaxHosts
	return &Detector{cfg: cfg, m: m, ex: features.New(fc), base: base}
}

func (d *Detector) Name() string { return "supervised" }
func (d *Detector) Kinds() []zeekreader.Kind {
	return []zeekreader.Kind{zeekreader.KindConn, zeekreader.KindDNS, zeekreader.KindHTTP, zeekreader.KindSSL}
}
func (d *Detector) Observe(ev *zeekreader.Event)              { d.ex.Observe(ev) }
func (d *Detector) Advance(wm time.Time, emit detectors.Emit) { d.handle(d.ex.Advance(wm), emit) }
func (d *Detector) Flush(emit detectors.Emit)                 { d.handle(d.ex.Flush(), emit) }

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
		risk := features.Risk(features.BoundedRatio(p, 0.5))
		if risk < d.cfg.MinRisk {
			continue
		}
		d.Alerts++
		n := &notice.Notice{Start: v.Start, End: v.End, RiskScore: risk, Rule: notice.RuleSupervised, Source: v.Host, UIDs: v.UIDs}
		contrib := d.m.Contributions(v.Values)
		idx := make([]int, len(contrib))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return contrib[idx[a]] > contrib[idx[b]] })
		ex := notice.Explanation{Detector: d.Name(), Score: math.Round(p*1000) / 1000, Features: map[string]notice.Feature{}, Window: d.cfg.Window.Seconds()}
		var base features.Robust
		var z []float64
		if d.base != nil {
			base = d.base(v.Host.String())
			z = base.Z(v.Values)
			ex.BaselineScope = base.Scope // whose baseline the features' baselines are
		}
		var parts []string
		for _, j := range idx[:3] {
			if contrib[j] <= 0 {
				break
			}
			name := features.Names[j]
			f := notice.Feature{Value: v.Values[j]}
			part := name + " " + features.Show(name, v.Values[j])
			if j < len(base.RawMedian) {
				f = notice.F(v.Values[j], base.RawMedian[j], math.Round(z[j]*1000)/1000)
				// against what, as the outlier messages say
				part += fmt.Sprintf(" vs %s baseline %s", base.Scope, features.Show(name, base.RawMedian[j]))
			}
			ex.Features[name] = f
			ex.Top = append(ex.Top, name)
			parts = append(parts, part)
		}
		n.Explain = ex
		n.Message = fmt.Sprintf("%s: classified malicious (p=%.2f): %s", v.Host, p, strings.Join(parts, ", "))
		n.Finalize("")
		emit(n)
	}
}
