package main

// modelDetectors lists dns and the model-based detectors (isolation forest,
// supervised).
func modelDetectors() []detectorEntry {
	return nil
}
