package supervised

import (
	"io"

	"github.com/zeekanom/zeekanom/detectors"
)

// Snapshot saves the open windows (the model comes from the model file).
func (d *Detector) Snapshot() ([]byte, error) { return d.ex.Snapshot() }

var _ detectors.Capturer = (*Detector)(nil)

// Capture copies the open windows; the returned function encodes the copy
// (detectors.Capturer).
func (d *Detector) Capture() func(io.Writer) error { return d.ex.Capture() }

// Restore resumes the open windows.
func (d *Detector) Restore(b []byte) error { return d.ex.Restore(b) }
