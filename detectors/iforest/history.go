package iforest

import (
	"github.com/zeekanom/zeekanom/detectors/features"
)

// HistoryLen is how many of a host's latest unflagged windows the detector
// keeps for the host's own baseline (80 minutes of 5-minute windows).
const HistoryLen = 16

// MinHostWindows is the least number of a host's windows for its own
// baseline in explanations, as for the model file's host baselines.
const MinHostWindows = 8

// History is one host's latest scored, unflagged windows, raw values as
// float32 (a baseline for display and ranking needs no more precision),
// in a ring: 16 × 19 × 4 bytes, about 1.2 KiB a host.
type History struct {
	Vals [HistoryLen][features.Dim]float32 `json:"v"`
	N    uint8                             `json:"n"` // windows held
	Next uint8                             `json:"i"` // slot the next window goes to
}

// add records a window's raw values.
func (h *History) add(v []float64) {
	row := &h.Vals[h.Next]
	for i := range row {
		row[i] = float32(v[i])
	}
	h.Next = (h.Next + 1) % HistoryLen
	if h.N < HistoryLen {
		h.N++
	}
}

// valid reports whether a restored history is consistent.
func (h *History) valid() bool { return h.N <= HistoryLen && h.Next < HistoryLen }

// robust is the host's baseline over the windows held.
func (h *History) robust() features.Robust {
	return robustOf(h.Vals[:h.N], features.ScopeHost)
}
