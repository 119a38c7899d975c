package main

import (
	"fmt"

	"github.com/zeekanom/zeekanom/detectors/model"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/beacon"
	"github.com/zeekanom/zeekanom/detectors/contextual"
	"github.com/zeekanom/zeekanom/detectors/dos"
	"github.com/zeekanom/zeekanom/detectors/exfil"
	"github.com/zeekanom/zeekanom/detectors/longconn"
	"github.com/zeekanom/zeekanom/detectors/scan"
)

// collectiveDetectors lists scan, dos, beacon, exfiltration, long
// connections and the contextual detector (which starts from a model
// file's hour profiles when it names one, through mf). Each section is documented in
// detectors/<name>/README.md.
func collectiveDetectors(mf *modelFiles) []detectorEntry {
	return []detectorEntry{
		{name: "scan", build: func(decode func(any) error) (detectors.Detector, error) {
			cfg := scan.DefaultConfig()
			if err := decode(&cfg); err != nil {
				return nil, err
			}
			if !cfg.Enabled {
				return nil, nil
			}
			return scan.New(cfg), nil
		}},
		{name: "dos", build: func(decode func(any) error) (detectors.Detector, error) {
			cfg := dos.DefaultConfig()
			if err := decode(&cfg); err != nil {
				return nil, err
			}
			if !cfg.Enabled {
				return nil, nil
			}
			return dos.New(cfg), nil
		}},
		{name: "beacon", build: func(decode func(any) error) (detectors.Detector, error) {
			cfg := beacon.DefaultConfig()
			if err := decode(&cfg); err != nil {
				return nil, err
			}
			if !cfg.Enabled {
				return nil, nil
			}
			d := beacon.New(cfg)
			err := fromModel(mf, "beacon", cfg.Model, func(m *model.Model) error {
				if m.Beacon == nil { // (a version-3 model has none)
					return nil
				}
				return d.LoadBaseline(m.Beacon)
			})
			return d, err
		}},
		{name: "longconn", build: func(decode func(any) error) (detectors.Detector, error) {
			cfg := longconn.DefaultConfig()
			if err := decode(&cfg); err != nil {
				return nil, err
			}
			if !cfg.Enabled {
				return nil, nil
			}
			return longconn.New(cfg), nil
		}},
		{name: "exfil", build: func(decode func(any) error) (detectors.Detector, error) {
			cfg := exfil.DefaultConfig()
			if err := decode(&cfg); err != nil {
				return nil, err
			}
			if !cfg.Enabled {
				return nil, nil
			}
			d := exfil.New(cfg)
			err := fromModel(mf, "exfil", cfg.Model, func(m *model.Model) error {
				if m.Exfil == nil {
					return nil // a version-3 model has none
				}
				return d.LoadProfiles(m.Exfil)
			})
			return d, err
		}},
		{name: "contextual", build: func(decode func(any) error) (detectors.Detector, error) {
			cfg := contextual.DefaultConfig()
			if err := decode(&cfg); err != nil {
				return nil, err
			}
			if !cfg.Enabled {
				return nil, nil
			}
			d := contextual.New(cfg)
			err := fromModel(mf, "contextual", cfg.Model, func(m *model.Model) error {
				if m.Contextual == nil {
					return nil // a version-3 model has none
				}
				return d.LoadProfiles(m.Contextual)
			})
			return d, err
		}},
	}
}

// fromModel hands the model file a section names (or the -m override) to
// load, which starts a new detector from what the model learnt; nothing
// when there is none.
func fromModel(mf *modelFiles, name, configured string, load func(*model.Model) error) error {
	path := mf.path(configured)
	if path == "" {
		return nil
	}
	m, err := mf.load(path)
	if err != nil {
		return mf.modelErr(name, err)
	}
	if err := load(m); err != nil {
		return mf.modelErr(name, fmt.Errorf("%s: %w", path, err))
	}
	return nil
}
