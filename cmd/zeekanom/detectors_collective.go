package main

import (
	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/beacon"
	"github.com/zeekanom/zeekanom/detectors/contextual"
	"github.com/zeekanom/zeekanom/detectors/dos"
	"github.com/zeekanom/zeekanom/detectors/exfil"
	"github.com/zeekanom/zeekanom/detectors/longconn"
	"github.com/zeekanom/zeekanom/detectors/scan"
	"github.com/zeekanom/zeekanom/detectors/window"
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

// validateScan is [detectors.scan]'s Validate. It belongs in package scan,
// beside the other detectors' (it moves there once the work in progress on
// scan has landed).
func validateScan(cfg scan.Config) error {
	var c window.Check
	c.Duration("window", cfg.Window, true)
	c.Duration("lateness", cfg.Lateness, false)
	c.Duration("slow_window", cfg.SlowWindow, true)
	c.Positive("horizontal_threshold", cfg.Horizontal)
	c.Positive("vertical_threshold", cfg.Vertical)
	c.Positive("slow_threshold", cfg.Slow)
	c.Within("success_weight", cfg.SuccessWeight, 0, 1)
	c.Duration("renotify", cfg.Renotify, false)
	c.AtLeast("max_hosts", cfg.MaxHosts, 1)
	c.Networks("ignore_sources", cfg.IgnoreSources)
	return c.Err()
}
