package iforest

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"

	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/window"
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
// display and ranking need no more), in a ring: 16 × 19 × 2 bytes (with
// float32, 1.2 KiB was a third of all detectors' state per host at
// 160,000 hosts). It is the form snapshots carry and explanations read;
// the detector's table keeps it column-sparse (hostHistory).
type History struct {
	Vals windows
	N    uint8 // windows held
	Next uint8 // slot the next window goes to
}

// windows is a history's values in full, slot by slot of its ring.
type windows = [HistoryLen][features.Dim]bf16

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

// histCols is how many features a host's history keeps inline: a host
// with conn rows only (no dns, http or ssl) has at most 10 nonzero
// features, and so do most hosts of the labelled sets over their latest
// 16 windows (a busy workstation has up to all 19). The 160,000 zeekgen
// hosts of BenchmarkState160k have 8 (20%), 9 (61%) or 10 (19%): with 8
// inline, 80% would keep their windows in full besides.
const histCols = 10

// hostHistory is a History as the detector's table keeps it, 332 bytes
// where a History is 610 (at 160,000 zeekgen hosts iforest's state went
// from 910 to 744 bytes a host): a feature whose bits are 0 in every slot
// of the ring is not stored (-0 and NaN are), and up to histCols features
// are kept inline, each as a column of its HistoryLen slots; a host with
// more keeps its windows in full in the detector's slab of them (D). So
// every value read is the History's, to the bit.
//
// Its form follows from its values alone: a feature whose last nonzero
// value the ring overwrites is dropped, and windows in the slab come back
// inline once at most histCols features are nonzero in them. So a restored
// history takes the room the saved one took, and a host that once had a
// busy hour does not keep its windows in full for good. The owner of a
// history frees its windows in the slab (free) before dropping it.
type hostHistory struct {
	Cols [histCols][HistoryLen]bf16 // the features of Mask, in their order
	Mask uint32                     // features inline (bit i: feature i)
	D    int32                      // the windows' id in the slab, 0: inline
	N    uint8                      // windows held
	Next uint8                      // slot the next window goes to
}

// add records a window's raw values in the ring, moving the history to
// the slab sl when a feature beyond histCols becomes nonzero, and back
// inline when one of its last nonzero values goes.
func (h *hostHistory) add(v []float64, sl *window.Slab[windows]) {
	r := rowOf(v)
	s := h.Next
	h.Next = (h.Next + 1) % HistoryLen
	h.N = min(h.N+1, HistoryLen)
	if h.D != 0 {
		w := sl.At(h.D)
		gone := nonzero(&w[s]) &^ nonzero(&r)
		w[s] = r
		if gone == 0 {
			return
		}
		if m := used(w); bits.OnesCount32(m) <= histCols {
			id := h.D
			h.inline(w, m)
			sl.Free(id)
		}
		return
	}
	mask := h.Mask | nonzero(&r)
	for j, m := 0, h.Mask; m != 0; j, m = j+1, m&(m-1) {
		if i := bits.TrailingZeros32(m); r[i] == 0 && h.Cols[j][s] != 0 && onlyAt(&h.Cols[j], s) {
			mask &^= 1 << i // its last nonzero value goes
		}
	}
	if mask == h.Mask {
		for j, m := 0, mask; m != 0; j, m = j+1, m&(m-1) {
			h.Cols[j][s] = r[bits.TrailingZeros32(m)]
		}
		return
	}
	// the features stored change (rarely): through the full form
	var w windows
	h.fill(&w)
	w[s] = r
	h.set(&w, mask, sl)
}

// set makes h hold w (h inline), whose nonzero features are mask: inline
// when they are at most histCols, else in a new entry of sl.
func (h *hostHistory) set(w *windows, mask uint32, sl *window.Slab[windows]) {
	if bits.OnesCount32(mask) <= histCols {
		h.inline(w, mask)
		return
	}
	var p *windows
	h.Cols, h.Mask = [histCols][HistoryLen]bf16{}, 0
	h.D, p = sl.New()
	*p = *w
}

// inline makes h keep the features of mask of w inline (every other
// feature of w is 0).
func (h *hostHistory) inline(w *windows, mask uint32) {
	h.Cols, h.Mask, h.D = [histCols][HistoryLen]bf16{}, mask, 0
	for j, m := 0, mask; m != 0; j, m = j+1, m&(m-1) {
		i := bits.TrailingZeros32(m)
		for s := range w {
			h.Cols[j][s] = w[s][i]
		}
	}
}

// fill writes h's inline features into w (zeroed).
func (h *hostHistory) fill(w *windows) {
	for j, m := 0, h.Mask; m != 0; j, m = j+1, m&(m-1) {
		i := bits.TrailingZeros32(m)
		for s := range w {
			w[s][i] = h.Cols[j][s]
		}
	}
}

// history is h in full; at returns its windows in the slab by id (the
// slab's At, or a lookup in a Capture's copy of them).
func (h *hostHistory) history(at func(id int32) *windows) History {
	out := History{N: h.N, Next: h.Next}
	if h.D != 0 {
		out.Vals = *at(h.D)
	} else {
		h.fill(&out.Vals)
	}
	return out
}

// free returns h's windows in sl, if it has any, and empties h.
func (h *hostHistory) free(sl *window.Slab[windows]) {
	if h.D != 0 {
		sl.Free(h.D)
	}
	*h = hostHistory{}
}

// rowOf is a window's raw values as a history keeps them.
func rowOf(v []float64) (r [features.Dim]bf16) {
	for i := range r {
		r[i] = toBF16(float32(v[i]))
	}
	return r
}

// nonzero is the features of r that are not 0 (bit i: feature i).
func nonzero(r *[features.Dim]bf16) (m uint32) {
	for i, v := range r {
		if v != 0 {
			m |= 1 << i
		}
	}
	return m
}

// used is the features nonzero in some window of w.
func used(w *windows) uint32 {
	var or [features.Dim]bf16
	for s := range w {
		for i, v := range w[s] {
			or[i] |= v
		}
	}
	return nonzero(&or)
}

// onlyAt reports whether slot s is a column's only nonzero one.
func onlyAt(c *[HistoryLen]bf16, s uint8) bool {
	for k, v := range c {
		if v != 0 && k != int(s) {
			return false
		}
	}
	return true
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
