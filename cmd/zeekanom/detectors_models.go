package main

import (
	"fmt"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/dns"
	"github.com/zeekanom/zeekanom/detectors/iforest"
	"github.com/zeekanom/zeekanom/detectors/model"
	"github.com/zeekanom/zeekanom/detectors/supervised"
	"github.com/zeekanom/zeekanom/detectors/window"
)

// modelFiles loads the model files of one build of the detectors, so that
// the isolation forest and the supervised detector share one load of a
// file.
type modelFiles struct {
	// override (a command's -m flag) replaces the `model` key of
	// [detectors.iforest], [detectors.supervised], [detectors.contextual],
	// [detectors.exfil] and [detectors.beacon]
	override string
	// dir is the config file's directory, which a section's relative
	// path is taken from
	dir    string
	loaded map[string]*model.Model
	// notes are what the build left out that the config asked for (a
	// supervised model without a classifier), for score to print and run
	// to log
	notes []string
}

func newModelFiles(override, dir string) *modelFiles {
	return &modelFiles{override: override, dir: dir, loaded: map[string]*model.Model{}}
}

// path is the model file a section names, unless overridden.
func (mf *modelFiles) path(configured string) string {
	if mf.override != "" {
		return mf.override
	}
	return inDir(mf.dir, configured)
}

// modelErr is an error of the model file of [detectors.<name>] (loading
// it, or starting the detector from it), named as a config key with its
// line (see Config.buildDetectors), or as -m when the flag gave the file:
// it was "[detectors.beacon]: open m.json: ...", without the config file.
func (mf *modelFiles) modelErr(name string, err error) error {
	if mf.override != "" {
		return fmt.Errorf("-m: %w", err)
	}
	return &window.ConfigError{Key: "detectors." + name + ".model", Msg: err.Error()}
}

// noClassifier says that the model file the config names in
// [detectors.supervised] (configured; -m's when given) has no
// classifier, so the detector is not built: score and run said nothing,
// the notices of supervised.classifier silently absent. (A -m file with
// no such key is the iforest's model, shared; no word then.)
func (mf *modelFiles) noClassifier(configured string) string {
	file := fmt.Sprintf("[detectors.supervised] model = %q", configured)
	if mf.override != "" {
		file = fmt.Sprintf("-m %s (for %s)", mf.override, file)
	}
	return file + ": the model has no classifier (trained without --labels), so supervised.classifier is off; train --labels (the logs' label columns) or --labels-file FILE writes a model with one"
}

func (mf *modelFiles) load(path string) (*model.Model, error) {
	if m, ok := mf.loaded[path]; ok {
		return m, nil
	}
	m, err := model.Load(path)
	if err != nil {
		return nil, err
	}
	mf.loaded[path] = m
	return m, nil
}

// windowMatches rejects a model trained on windows of another length than
// the detector's: its vectors would not be comparable. fix says how to
// make them match.
func windowMatches(m *model.Model, windowS float64, fix string) error {
	if m.WindowS > 0 && windowS > 0 && m.WindowS != windowS {
		return fmt.Errorf("model trained on %gs windows, the detector uses %gs (%s)", m.WindowS, windowS, fix)
	}
	return nil
}

// fixWindowSetting is windowMatches' fix for the detectors' window
// setting: it named neither the length nor the sections (those of the
// detectors that read the model), and eval's --window, the
// host-windows' length, does not set it.
func fixWindowSetting(m *model.Model, detector time.Duration) string {
	sections := "[detectors.iforest]"
	if m.Supervised != nil {
		sections += " and [detectors.supervised]"
	}
	return fmt.Sprintf("train again with --window %s, or set window = %q in %s of the config file, -c",
		detector, time.Duration(m.WindowS*float64(time.Second)).String(), sections)
}

// modelDetectors lists dns and the model-based detectors (isolation forest,
// supervised).
func modelDetectors(mf *modelFiles) []detectorEntry {
	return []detectorEntry{
		{name: "dns", build: func(decode func(any) error) (detectors.Detector, error) {
			cfg := dns.DefaultConfig()
			if err := decode(&cfg); err != nil {
				return nil, err
			}
			if !cfg.Enabled {
				return nil, nil
			}
			return dns.New(cfg), nil
		}},
		{name: "iforest", build: func(decode func(any) error) (detectors.Detector, error) {
			cfg := iforest.DefaultConfig()
			if err := decode(&cfg); err != nil {
				return nil, err
			}
			if !cfg.Enabled {
				return nil, nil
			}
			cfg.Model = mf.path(cfg.Model)
			var tr *iforest.Trained
			if cfg.Model != "" {
				m, err := mf.load(cfg.Model)
				if err != nil {
					return nil, mf.modelErr("iforest", err)
				}
				if err := windowMatches(m, cfg.Window.Seconds(), fixWindowSetting(m, cfg.Window)); err != nil {
					return nil, mf.modelErr("iforest", fmt.Errorf("%s: %w", cfg.Model, err))
				}
				tr = &iforest.Trained{Forest: m.Forest, Baseline: m.Baseline, Seed: m.ForestSeed, ID: m.ID}
			}
			return iforest.New(cfg, tr), nil
		}},
		{name: "supervised", build: func(decode func(any) error) (detectors.Detector, error) {
			cfg := supervised.DefaultConfig()
			if err := decode(&cfg); err != nil {
				return nil, err
			}
			configured := cfg.Model
			cfg.Model = mf.path(cfg.Model)
			if !cfg.Enabled || cfg.Model == "" {
				return nil, nil // needs a model with a supervised part
			}
			m, err := mf.load(cfg.Model)
			if err != nil {
				return nil, mf.modelErr("supervised", err)
			}
			if m.Supervised == nil {
				if configured != "" {
					mf.notes = append(mf.notes, mf.noClassifier(configured))
				}
				return nil, nil
			}
			if err := windowMatches(m, cfg.Window.Seconds(), fixWindowSetting(m, cfg.Window)); err != nil {
				return nil, mf.modelErr("supervised", fmt.Errorf("%s: %w", cfg.Model, err))
			}
			return supervised.New(cfg, m.Supervised, m.Baseline), nil
		}},
	}
}
