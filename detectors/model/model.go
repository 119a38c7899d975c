// Package model is the versioned model file that `zeekanom train` writes
// and the multivariate and supervised detectors load: baselines (robust
// per-feature medians/MADs, global and per host), the isolation forest and,
// when trained with labels, the logistic regression. Format: README.md.
package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/zeekanom/zeekanom/detectors/beacon"
	"github.com/zeekanom/zeekanom/detectors/contextual"
	"github.com/zeekanom/zeekanom/detectors/exfil"

	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/iforest"
	"github.com/zeekanom/zeekanom/detectors/supervised"
)

// Magic and Version identify the format. Bump Version whenever the layout
// or features.Names change.
const (
	Magic   = "zeekanom-model"
	Version = 6
	// OldestVersion is the oldest version this build still reads: 4 added
	// the contextual and exfil detectors' profiles and beacon's baseline,
	// 5 the forest's retraining seed (all optional), so version-3 and -4
	// files load without them (their forest is not retrained online). 6
	// calibrated the supervised part (supervised.Calibration): an older
	// file's is given the prior correction of its class counts alone, and
	// a build before 6 refuses a version-6 file rather than read its
	// probabilities uncalibrated.
	OldestVersion = 3
)

// ErrVersion is returned (wrapped) for a model of another version.
var ErrVersion = errors.New("model version mismatch")

// Model is the file's content.
type Model struct {
	Magic    string    `json:"magic"`
	Version  int       `json:"version"`
	Created  time.Time `json:"created"`
	WindowS  float64   `json:"window_s"`
	Features []string  `json:"features"`
	// Windows is the number of host-windows trained on.
	Windows int `json:"windows"`
	// TrainedFrom and TrainedUntil are the training windows' time range
	// (the first one's start, the last one's end; zero in files written
	// before 2026-12-02, which load as they are): eval -m says how much of
	// what it evaluates the model was trained on.
	TrainedFrom  time.Time `json:"trained_from,omitzero"`
	TrainedUntil time.Time `json:"trained_until,omitzero"`
	// BaselineMinRows is the least number of rows of a training window
	// that counts for the baselines: the detectors score only such windows
	// (their min_rows), so the baselines describe the same population.
	BaselineMinRows int `json:"baseline_min_rows"`
	// Global is the robust baseline over the training windows with at
	// least BaselineMinRows rows.
	Global features.Robust `json:"global"`
	// Hosts are per-host baselines, for hosts with at least MinHostWindows
	// such training windows.
	Hosts map[string]features.Robust `json:"hosts,omitempty"`
	// HourOfWeek is the median conn_count per hour of week (0 = Monday
	// 00:00 UTC), -1 where no training window fell; informational.
	HourOfWeek []float64       `json:"hour_of_week,omitempty"`
	Forest     *iforest.Forest `json:"forest"`
	// ForestSeed is what the iforest detector retrains the forest online
	// with (version 5): a sample of the windows it was trained on.
	ForestSeed *iforest.Seed     `json:"forest_seed,omitempty"`
	Supervised *supervised.Model `json:"supervised,omitempty"`
	// Contextual is the contextual detector's hour profiles at the end of
	// the archive (version 4; `train` run with its [detectors.contextual]).
	Contextual *contextual.Profiles `json:"contextual,omitempty"`
	// Exfil is the exfil detector's host histories and global prior at the
	// end of the archive (version 4, as Contextual).
	Exfil *exfil.Profiles `json:"exfil,omitempty"`
	// Beacon is the periodic traffic the archive shows as normal (version
	// 4, as Contextual).
	Beacon *beacon.Baseline `json:"beacon,omitempty"`
	// ID names this model's content (a hash of the file Parse read; "" for
	// a model not read from one).
	ID string `json:"-"`
}

// MinHostWindows is the least number of windows for a per-host baseline.
const MinHostWindows = 8

// Options tune Train.
type Options struct {
	Forest iforest.Params
	// Labels trains the supervised part from Vector.Malicious.
	Labels     bool
	Supervised supervised.Params
	Window     time.Duration
	// MinRows is the least number of rows of a window in the baselines;
	// 0 means the iforest detector's default min_rows.
	MinRows int
}

// Train builds a model from host-window vectors.
func Train(vecs []features.Vector, o Options) (*Model, error) {
	if len(vecs) < 2 {
		return nil, fmt.Errorf("model: %d host-windows, need at least 2 to train", len(vecs))
	}
	if o.MinRows <= 0 {
		o.MinRows = iforest.DefaultConfig().MinRows
	}
	m := &Model{Magic: Magic, Version: Version, Created: time.Now().UTC().Truncate(time.Second),
		WindowS: o.Window.Seconds(), Features: slices.Clone(features.Names), Windows: len(vecs), BaselineMinRows: o.MinRows}
	// With labels, the baselines and the forest learn from the benign
	// windows only (otherwise from everything: the baseline period is
	// assumed clean), unless fewer than 2 are benign.
	learn := func(v *features.Vector) bool { return !o.Labels || !v.Malicious }
	benign := 0
	for i := range vecs {
		if learn(&vecs[i]) {
			benign++
		}
	}
	if benign < 2 {
		learn = func(*features.Vector) bool { return true }
	}
	for i := range vecs {
		v := &vecs[i]
		end := v.End
		if end.IsZero() {
			end = v.Start.Add(o.Window)
		}
		if m.TrainedFrom.IsZero() || v.Start.Before(m.TrainedFrom) {
			m.TrainedFrom = v.Start.UTC()
		}
		if end.After(m.TrainedUntil) {
			m.TrainedUntil = end.UTC()
		}
	}
	raw := make([][]float64, len(vecs))
	var train, pop [][]float64
	var learnt []features.Vector
	byHost := map[string][][]float64{}
	hours := make([][]float64, 168)
	for i := range vecs {
		v := &vecs[i]
		raw[i] = v.Values
		if !learn(v) {
			continue
		}
		train = append(train, v.Values)
		learnt = append(learnt, *v)
		// the baselines describe the windows the detectors score
		if v.Rows >= o.MinRows {
			pop = append(pop, v.Values)
			k := v.Host.String()
			byHost[k] = append(byHost[k], v.Values)
		}
		h := hourOfWeek(v.Start)
		hours[h] = append(hours[h], v.Values[0])
	}
	if len(pop) == 0 {
		pop = train
	}
	m.Global = features.ComputeRobust(pop)
	m.Hosts = map[string]features.Robust{}
	for h, xs := range byHost {
		if len(xs) >= MinHostWindows {
			m.Hosts[h] = features.ComputeRobust(xs)
		}
	}
	m.setScopes()
	m.HourOfWeek = make([]float64, 168)
	for i, xs := range hours {
		m.HourOfWeek[i] = -1
		if len(xs) > 0 {
			sort.Float64s(xs)
			m.HourOfWeek[i] = xs[len(xs)/2]
		}
	}
	T := make([][]float64, len(train))
	for i, x := range train {
		T[i] = features.Transform(x, nil)
	}
	f, err := iforest.Fit(T, o.Forest)
	if err != nil {
		return nil, err
	}
	m.Forest = f
	m.ForestSeed = iforest.NewSeed(learnt, o.MinRows)
	if o.Labels {
		y := make([]bool, len(vecs))
		for i, v := range vecs {
			y[i] = v.Malicious
		}
		s, err := supervised.Fit(raw, y, o.Supervised)
		if err != nil {
			return nil, err
		}
		m.Supervised = s
	}
	return m, nil
}

func hourOfWeek(t time.Time) int {
	t = t.UTC()
	wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
	return wd*24 + t.Hour()
}

func (m *Model) setScopes() {
	m.Global.Scope = features.ScopePopulation
	for h, r := range m.Hosts {
		r.Scope = features.ScopeHost
		m.Hosts[h] = r
	}
}

// Baseline returns the host's baseline when it has one, else the global
// (their Scope says which).
func (m *Model) Baseline(host string) features.Robust {
	if r, ok := m.Hosts[host]; ok {
		return r
	}
	return m.Global
}

// Save writes the model to a file (Encode).
func (m *Model) Save(path string) error {
	var b bytes.Buffer
	if err := m.Encode(&b); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// Encode writes the model as one line of JSON.
func (m *Model) Encode(w io.Writer) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Load reads and checks a model file.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse decodes and checks a model.
func Parse(b []byte) (*Model, error) {
	var head struct {
		Magic   string `json:"magic"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		if _, ok := err.(*json.SyntaxError); ok {
			return nil, fmt.Errorf("not a zeekanom model file, or a truncated or damaged one (%w)", err)
		}
		return nil, fmt.Errorf("not a zeekanom model file: %w", err)
	}
	if head.Magic != Magic {
		return nil, fmt.Errorf("not a zeekanom model file (magic %q, want %q)", head.Magic, Magic)
	}
	if head.Version > Version {
		// a newer zeekanom's: retraining here would lose what it added
		return nil, fmt.Errorf("%w: file is version %d, this build reads versions %d to %d; it was written by a newer zeekanom: run that one, or retrain with this build's 'zeekanom train'", ErrVersion, head.Version, OldestVersion, Version)
	}
	if head.Version < OldestVersion {
		return nil, fmt.Errorf("%w: file is version %d, this build reads versions %d to %d; retrain with 'zeekanom train'", ErrVersion, head.Version, OldestVersion, Version)
	}
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if !slices.Equal(m.Features, features.Names) {
		return nil, fmt.Errorf("%w: the file's features %v differ from this build's; retrain with 'zeekanom train'", ErrVersion, m.Features)
	}
	if m.Forest == nil || m.Forest.Dim != len(features.Names) {
		return nil, errors.New("model has no usable isolation forest")
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("damaged model file: %w", err)
	}
	m.setScopes()
	sum := sha256.Sum256(b)
	m.ID = hex.EncodeToString(sum[:12])
	return &m, nil
}

// check rejects what the detectors would index out of range or divide by:
// a file of the right version whose parts do not fit its feature list.
func (m *Model) check() error {
	dim := len(features.Names)
	if m.WindowS < 0 {
		return fmt.Errorf("window_s %g is negative", m.WindowS)
	}
	robust := func(what string, r *features.Robust) error {
		if len(r.Median) != dim || len(r.MAD) != dim || len(r.RawMedian) != dim || (r.Count != nil && len(r.Count) != dim) {
			return fmt.Errorf("%s: median, mad, raw_median and count need %d values each", what, dim)
		}
		return nil
	}
	if err := robust("global", &m.Global); err != nil {
		return err
	}
	for h, r := range m.Hosts {
		if err := robust("hosts."+h, &r); err != nil {
			return err
		}
	}
	if err := m.Forest.Check(dim); err != nil {
		return err
	}
	if s := m.ForestSeed; s != nil && !s.Valid() {
		return fmt.Errorf("forest_seed: %d small windows, share %g, %d sampled of %d", len(s.Small), s.Share, len(s.Sample), s.Seen)
	}
	if s := m.Supervised; s != nil {
		if len(s.Weights) != dim || len(s.Mu) != dim || len(s.Sd) != dim {
			return fmt.Errorf("supervised: weights, mu and sd need %d values each", dim)
		}
		if s.Positives < 1 || s.Negatives < 1 {
			return fmt.Errorf("supervised: %d positives and %d negatives, need one of each", s.Positives, s.Negatives)
		}
		if c := s.Calibration; c != nil && !(c.A >= 0 && !math.IsInf(c.A, 0) && !math.IsNaN(c.B) && !math.IsInf(c.B, 0)) {
			return fmt.Errorf("supervised: calibration a %g, b %g (a must be 0 or above, both finite)", c.A, c.B)
		}
		for j, sd := range s.Sd {
			if !(sd > 0) {
				return fmt.Errorf("supervised: sd[%d] = %g, must be above 0", j, sd)
			}
		}
	}
	return nil
}
