package main

import (
	"fmt"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/dns"
	"github.com/zeekanom/zeekanom/detectors/iforest"
	"github.com/zeekanom/zeekanom/detectors/model"
	"github.com/zeekanom/zeekanom/detectors/supervised"
)

// modelOverride, when set (by a command's -m flag), replaces the `model`
// key of [detectors.iforest] and [detectors.supervised]. Commands set it
// before calling buildDetectors.
var modelOverride string

// loadedModels caches model files by path for one process.
var loadedModels = map[string]*model.Model{}

func loadModel(path string) (*model.Model, error) {
	if m, ok := loadedModels[path]; ok {
		return m, nil
	}
	m, err := model.Load(path)
	if err != nil {
		return nil, err
	}
	loadedModels[path] = m
	return m, nil
}

// windowMatches rejects a model trained on windows of another length than
// the detector's: its vectors would not be comparable.
func windowMatches(m *model.Model, windowS float64) error {
	if m.WindowS > 0 && windowS > 0 && m.WindowS != windowS {
		return fmt.Errorf("model trained on %gs windows, the detector uses %gs (retrain with --window or set window)", m.WindowS, windowS)
	}
	return nil
}

// modelDetectors lists dns and the model-based detectors (isolation forest,
// supervised).
func modelDetectors() []detectorEntry {
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
			if modelOverride != "" {
				cfg.Model = modelOverride
			}
			var tr *iforest.Trained
			if cfg.Model != "" {
				m, err := loadModel(cfg.Model)
				if err != nil {
					return nil, fmt.Errorf("[detectors.iforest]: %w", err)
				}
				if err := windowMatches(m, cfg.Window.Seconds()); err != nil {
					return nil, fmt.Errorf("[detectors.iforest]: %s: %w", cfg.Model, err)
				}
				tr = &iforest.Trained{Forest: m.Forest, Baseline: m.Baseline}
			}
			return iforest.New(cfg, tr), nil
		}},
		{name: "supervised", build: func(decode func(any) error) (detectors.Detector, error) {
			cfg := supervised.DefaultConfig()
			if err := decode(&cfg); err != nil {
				return nil, err
			}
			if modelOverride != "" {
				cfg.Model = modelOverride
			}
			if !cfg.Enabled || cfg.Model == "" {
				return nil, nil // needs a model with a supervised part
			}
			m, err := loadModel(cfg.Model)
			if err != nil {
				return nil, fmt.Errorf("[detectors.supervised]: %w", err)
			}
			if m.Supervised == nil {
				return nil, nil
			}
			if err := windowMatches(m, cfg.Window.Seconds()); err != nil {
				return nil, fmt.Errorf("[detectors.supervised]: %s: %w", cfg.Model, err)
			}
			return supervised.New(cfg, m.Supervised, m.Baseline), nil
		}},
	}
}
