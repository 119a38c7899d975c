package main

import (
	"fmt"

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
			return beacon.New(cfg), nil
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
			return exfil.New(cfg), nil
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
			if cfg.Model = mf.path(cfg.Model); cfg.Model != "" {
				m, err := mf.load(cfg.Model)
				if err != nil {
					return nil, fmt.Errorf("[detectors.contextual]: %w", err)
				}
				if m.Contextual != nil { // (a version-3 model has none)
					if err := d.LoadProfiles(m.Contextual); err != nil {
						return nil, fmt.Errorf("[detectors.contextual]: %s: %w", cfg.Model, err)
					}
				}
			}
			return d, nil
		}},
	}
}
