package exfil

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/zeekanom/zeekanom/detectors/window"
)

// Profiles carries this detector's baselines in a model file: `zeekanom
// train` runs it over an archive, and LoadProfiles gives a new detector
// every internal host's volumes of its latest windows (its own baseline)
// and the global prior for new hosts, so that a host is judged against its
// own past from the first window, not after min_history windows; it goes
// on learning from the live rows.
type Profiles struct {
	// WindowS is the window length (seconds) the volumes were summed over.
	WindowS float64                `json:"window_s"`
	Hosts   map[netip.Addr]History `json:"hosts"`
	Global  []float64              `json:"global"`
	GPos    int                    `json:"global_pos"`
	// First and End are the archive's first window and the one after its
	// last (window numbers: start / window_s; model version 5): a run
	// over the same logs does not learn those windows again. 0: unknown.
	First int64 `json:"first_window,omitempty"`
	End   int64 `json:"end_window,omitempty"`
}

// History is a host's latest windows (log10 of bytes out, and of its top
// destination's share): the last min(N, 48) of each ring, N counted.
type History struct {
	Out []float32 `json:"out"`
	Top []float32 `json:"top"`
	N   uint32    `json:"n"`
}

// Profiles returns the detector's host histories and prior (after Flush).
func (d *Detector) Profiles() *Profiles {
	p := &Profiles{WindowS: d.cfg.Window.Seconds(), Hosts: map[netip.Addr]History{}, Global: slices.Clone(d.global), GPos: d.gpos}
	if d.winSet {
		p.First, p.End = d.firstWin, d.lastWin+1
	}
	for _, e := range d.t.Export() {
		if e.V.NHist == 0 {
			continue
		}
		n := min(int(e.V.NHist), histCap)
		out, top := floats(&e.V.Hist), floats(&e.V.Top)
		p.Hosts[e.K.Addr()] = History{Out: slices.Clone(out[:n]), Top: slices.Clone(top[:n]), N: e.V.NHist}
	}
	return p
}

// LoadProfiles starts the detector (new, before any row) from p. Hosts go
// in address order, so that with more than max_hosts the same ones stay.
func (d *Detector) LoadProfiles(p *Profiles) error {
	if p.WindowS != d.cfg.Window.Seconds() {
		return fmt.Errorf("histories of %gs windows, the detector uses %gs: train with the same [detectors.exfil] window", p.WindowS, d.cfg.Window.Seconds())
	}
	if len(p.Global) > globalCap || p.GPos < 0 || p.GPos >= max(len(p.Global), 1) {
		return fmt.Errorf("damaged exfil profiles: a global prior of %d values at %d", len(p.Global), p.GPos)
	}
	for _, a := range slices.SortedFunc(maps.Keys(p.Hosts), netip.Addr.Compare) {
		h := p.Hosts[a]
		if len(h.Out) != len(h.Top) || len(h.Out) != min(int(h.N), histCap) {
			return fmt.Errorf("damaged exfil profiles: history of %s", a)
		}
		e, _ := d.t.Get(window.IPOf(a))
		toLog10s(&e.Hist, h.Out)
		toLog10s(&e.Top, h.Top)
		e.NHist = h.N
	}
	d.global, d.gpos, d.gok = slices.Clone(p.Global), p.GPos, false
	if p.End > p.First && p.End != 0 {
		d.trainedFirst, d.trainedEnd = p.First, p.End
	}
	return nil
}
