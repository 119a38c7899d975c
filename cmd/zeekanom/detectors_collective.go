package main

import (
	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/beacon"
	"github.com/zeekanom/zeekanom/detectors/contextual"
	"github.com/zeekanom/zeekanom/detectors/dos"
	"github.com/zeekanom/zeekanom/detectors/exfil"
	"github.com/zeekanom/zeekanom/detectors/longconn"
	"github.com/zeekanom/zeekanom/detectors/scan"
)

// collectiveDetectors lists scan, dos, beacon, exfiltration, long
// connections and the contextual detector. Each section is documented in
// detectors/<name>/README.md.
func collectiveDetectors() []detectorEntry {
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
			return contextual.New(cfg), nil
		}},
	}
}
