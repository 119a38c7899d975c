package supervised

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
)

// snapshot is the open windows (the extractor's snapshot) and the hosts'
// open runs of flagged windows, whose notices are not given yet. Before
// runs (version 1) the snapshot was the extractor's alone, which Restore
// still reads.
type snapshot struct {
	Supervised int                          `json:"supervised"` // the version, 2
	Runs       []window.HostRun[peakValues] `json:"runs"`
	Extractor  json.RawMessage              `json:"extractor"`
}

const snapshotVersion = 2

// Snapshot saves the open windows and runs (the model comes from the
// model file).
func (d *Detector) Snapshot() ([]byte, error) {
	var b bytes.Buffer
	err := d.Capture()(&b)
	return b.Bytes(), err
}

var _ detectors.Capturer = (*Detector)(nil)

// Capture copies the open windows and runs; the returned function encodes
// the copy (detectors.Capturer), the runs first, then the extractor's
// windows streamed as it writes them.
func (d *Detector) Capture() func(io.Writer) error {
	runs := d.runs.Export()
	ex := d.ex.Capture()
	return func(w io.Writer) error {
		head, err := json.Marshal(struct {
			Supervised int                          `json:"supervised"`
			Runs       []window.HostRun[peakValues] `json:"runs"`
		}{snapshotVersion, runs})
		if err != nil {
			return err
		}
		if _, err := w.Write(append(head[:len(head)-1], `,"extractor":`...)); err != nil {
			return err
		}
		if err := ex(w); err != nil {
			return err
		}
		_, err = io.WriteString(w, "}")
		return err
	}
}

// Restore resumes the open windows and runs; a version-1 snapshot (the
// extractor's alone) has no runs.
func (d *Detector) Restore(b []byte) error {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("supervised snapshot: %w", err)
	}
	if s.Supervised == 0 {
		return d.ex.Restore(b)
	}
	if err := window.SnapshotVersion("supervised", s.Supervised, 0, snapshotVersion); err != nil {
		return err
	}
	for i := range s.Runs {
		if r := &s.Runs[i]; !r.Valid() || len(r.Of.Vals) != len(d.m.Weights) {
			return fmt.Errorf("supervised snapshot: damaged run of %v", r.Host)
		}
	}
	if err := d.ex.Restore(s.Extractor); err != nil {
		return err
	}
	d.runs.Restore(s.Runs)
	return nil
}
