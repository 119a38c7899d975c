package iforest

import (
	"encoding/json"
	"fmt"

	"github.com/zeekanom/zeekanom/detectors/features"
)

type snapshot struct {
	Version   int               `json:"version"`
	Extractor json.RawMessage   `json:"extractor"`
	Buffer    []features.Vector `json:"buffer,omitempty"`
	// Forest and Global are saved only when the forest was trained on the
	// run (a model file's forest is loaded again from the file).
	Forest *Forest          `json:"forest,omitempty"`
	Global *features.Robust `json:"global,omitempty"`
	Stats  Stats            `json:"stats"`
}

// Snapshot saves the open windows, the training buffer and a forest trained
// on the run.
func (d *Detector) Snapshot() ([]byte, error) {
	ex, err := d.ex.Snapshot()
	if err != nil {
		return nil, err
	}
	s := snapshot{Version: 1, Extractor: ex, Buffer: d.buf, Stats: d.stats}
	if d.fromRun && d.tr != nil {
		g := d.tr.Baseline("")
		s.Forest, s.Global = d.tr.Forest, &g
	}
	return json.Marshal(&s)
}

// Restore resumes from a snapshot.
func (d *Detector) Restore(b []byte) error {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("iforest snapshot: %w", err)
	}
	if s.Version != 1 {
		return fmt.Errorf("iforest snapshot: version %d, this build reads 1", s.Version)
	}
	if err := d.ex.Restore(s.Extractor); err != nil {
		return err
	}
	d.buf, d.stats = s.Buffer, s.Stats
	if s.Forest != nil && s.Global != nil {
		g := *s.Global
		d.tr = &Trained{Forest: s.Forest, Baseline: func(string) features.Robust { return g }}
		d.fromRun = true
	}
	return nil
}
