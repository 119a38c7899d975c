package supervised

// Snapshot saves the open windows (the model comes from the model file).
func (d *Detector) Snapshot() ([]byte, error) { return d.ex.Snapshot() }

// Capture copies the open windows; the returned function encodes the copy
// (detectors.Capturer).
func (d *Detector) Capture() func() ([]byte, error) { return d.ex.Capture() }

// Restore resumes the open windows.
func (d *Detector) Restore(b []byte) error { return d.ex.Restore(b) }
