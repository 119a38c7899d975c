package iforest

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/zeekanom/zeekanom/detectors/features"
)

// HistoryLen is how many of a host's latest unflagged windows the detector
// keeps for the host's own baseline (80 minutes of 5-minute windows).
const HistoryLen = 16

// MinHostWindows is the least number of a host's windows for its own
// baseline in explanations, as for the model file's host baselines.
const MinHostWindows = 8

// History is one host's latest scored, unflagged windows, raw values as
// bfloat16 (float32's range up to 3.39e38, with 8 significant bits, a
// relative error of at most 1/256: a baseline's median and MAD for
// display and ranking need no more), in a ring: 16 × 19 × 2 bytes, about 0.6 KiB a host (with
// float32, 1.2 KiB was a third of all detectors' state per host at
// 160,000 hosts).
type History struct {
	Vals [HistoryLen][features.Dim]bf16
	N    uint8 // windows held
	Next uint8 // slot the next window goes to
}

// historyJSON is History in snapshots: since snapshot version 6 the N
// windows held as base64 of their bfloat16 bits (B, little-endian, window
// by window from slot 0); before, as numbers (V), which still restore.
// Parsing 160,000 hosts' numbers took most of a restart's 3.9 s for
// iforest.
type historyJSON struct {
	B []byte                             `json:"b,omitempty"`
	V *[HistoryLen][features.Dim]float32 `json:"v,omitempty"`
	N uint8                              `json:"n"`
	I uint8                              `json:"i"`
}

// MarshalJSON writes the windows held as base64 of their bits.
func (h History) MarshalJSON() ([]byte, error) {
	j := historyJSON{N: h.N, I: h.Next, B: make([]byte, 0, int(min(h.N, HistoryLen))*features.Dim*2)}
	for w := range int(min(h.N, HistoryLen)) {
		for _, v := range h.Vals[w] {
			j.B = binary.LittleEndian.AppendUint16(j.B, uint16(v))
		}
	}
	return json.Marshal(&j)
}

// UnmarshalJSON reads MarshalJSON's bits, or an older snapshot's numbers
// (rounded to bfloat16).
func (h *History) UnmarshalJSON(b []byte) error {
	var j historyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*h = History{N: j.N, Next: j.I}
	switch {
	case j.V != nil:
		for w := range j.V {
			for i, v := range j.V[w] {
				h.Vals[w][i] = toBF16(v)
			}
		}
	case len(j.B) != int(min(j.N, HistoryLen))*features.Dim*2:
		return fmt.Errorf("history of %d windows with %d bytes", j.N, len(j.B))
	default:
		for k := 0; k < len(j.B); k += 2 {
			h.Vals[k/2/features.Dim][k/2%features.Dim] = bf16(binary.LittleEndian.Uint16(j.B[k:]))
		}
	}
	return nil
}

// add records a window's raw values.
func (h *History) add(v []float64) {
	row := &h.Vals[h.Next]
	for i := range row {
		row[i] = toBF16(float32(v[i]))
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
	rows := make([][features.Dim]float32, h.N)
	for w := range rows {
		for i, v := range h.Vals[w] {
			rows[w][i] = v.float32()
		}
	}
	return robustOf(rows, features.ScopeHost)
}

// bf16 is a bfloat16: a float32's upper 16 bits.
type bf16 uint16

// toBF16 rounds f to the nearest bfloat16 (ties to even); NaN stays NaN,
// and a finite f stays finite: the float32s above the largest bfloat16
// (3.3895e38) would round to infinity, which a JSON snapshot cannot hold
// (a damaged checkpoint restored one, and no checkpoint could be written
// after it).
func toBF16(f float32) bf16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep it quiet, not rounded to Inf
		return bf16(b>>16 | 0x40)
	}
	r := bf16((b + 0x7fff + (b>>16)&1) >> 16)
	if r&0x7fff == 0x7f80 && b&0x7fffffff != 0x7f800000 {
		r-- // the largest finite bfloat16, of f's sign
	}
	return r
}

func (v bf16) float32() float32 { return math.Float32frombits(uint32(v) << 16) }
