package iforest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/window"
)

// snapshotVersion 2 added the host histories, 3 the population sample in
// place of a fixed population baseline. Older snapshots still restore:
// version 1 with no history (hosts are explained against the population
// until they have MinHostWindows windows again), versions 1 and 2 with an
// empty sample (their fixed baseline stays in use until the sample has
// minPopulation windows). 4 added the retraining sample (older snapshots
// retrain once train_windows windows were judged after the restore, on
// those only, then every period). 5 added a model's forest retrained
// online and its retraining sample (Model names the model). 6 writes the
// histories' values as base64 of their bits instead of numbers (History);
// an older zeekanom refuses it by its version, and starts empty. 7 added
// the hosts' open runs of flagged windows, whose notices are not given
// yet (a version-6 snapshot restores without: the windows of a run it
// cut, judged before it, give no notice).
const snapshotVersion = 7

type snapshot struct {
	Version   int               `json:"version"`
	Extractor json.RawMessage   `json:"extractor,omitempty"` // (written last: see encode)
	Buffer    []features.Vector `json:"buffer,omitempty"`
	// Forest and Population are saved when the forest was trained on the
	// run; Forest alone when a model file's forest was retrained online
	// (Model), else a model file's forest is loaded again from the file.
	Forest     *Forest     `json:"forest,omitempty"`
	Population *Population `json:"population,omitempty"`
	// Retrain is what the forest is trained on again (Config.Retrain).
	Retrain *retraining `json:"retrain,omitempty"`
	// Model is the ID of the model file whose forest was retrained online
	// (Retrain, and Forest once retrained): restored only with that model.
	Model string `json:"model,omitempty"`
	// Global is the fixed population baseline of versions 1 and 2.
	Global *features.Robust `json:"global,omitempty"`
	Stats  Stats            `json:"stats"`
	// Runs are the hosts' open runs of flagged windows (group_span).
	Runs []window.HostRun[peakExplained] `json:"runs,omitempty"`
	// History is each host's latest unflagged windows, in table slot order
	// (as Restore decodes them; encode writes hosts in their place).
	History        []window.Entry[netip.Addr, History] `json:"history,omitempty"`
	HistoryEvicted int64                               `json:"history_evicted,omitempty"`
	HistoryLayout  *window.Layout                      `json:"history_layout,omitempty"`
	// hosts and dense are Capture's copy of the histories, which encode
	// writes as History (captureHistory)
	hosts []window.Entry[window.IP, hostHistory]
	dense []windows
}

// captureHistory copies the histories for a snapshot: the table's
// entries, their windows in the slab copied to dense (D rewritten to
// index it, plus one), written in full as encode goes.
func (d *Detector) captureHistory() ([]window.Entry[window.IP, hostHistory], []windows) {
	es := d.hist.Export()
	var dense []windows
	for i := range es {
		dense = d.dense.CopyOutOne(&es[i].V.D, dense)
	}
	return es, dense
}

// importHistory replaces the histories with a snapshot's. The table keys
// hosts by the pointer-free window.IP; the snapshot keeps them as
// addresses, readable in the JSON. The histories go into the table with
// their windows in full, if any, in a slab of their own, and only those
// the table keeps are moved to the detector's: Import drops the hosts
// beyond max_hosts (evicting) and, of a host a damaged snapshot names
// twice, the first.
func (d *Detector) importHistory(es []window.Entry[netip.Addr, History], evicted int64, l *window.Layout) {
	var tmp window.Slab[windows]
	in := make([]window.Entry[window.IP, hostHistory], len(es))
	for i, e := range es {
		in[i].K = window.IPOf(e.K)
		h := &in[i].V
		h.N, h.Next = e.V.N, e.V.Next
		h.set(&e.V.Vals, used(&e.V.Vals), &tmp)
	}
	if l == nil {
		l = &window.Layout{} // an older snapshot: Import
	}
	onEvict := d.hist.OnEvict
	d.hist.OnEvict = nil // (ids in tmp)
	d.hist.ImportLayout(in, evicted, *l)
	d.hist.OnEvict = onEvict
	d.dense = window.Slab[windows]{}
	d.hist.Range(func(_ window.IP, h *hostHistory) bool {
		if h.D != 0 {
			var p *windows
			id := h.D
			h.D, p = d.dense.New()
			*p = *tmp.At(id)
		}
		return false
	})
}

// Snapshot saves the open windows, the training buffer, the host histories
// and a forest trained on the run with its population sample, or a model's
// retraining sample and, once retrained, its forest.
func (d *Detector) Snapshot() ([]byte, error) { return detectors.Encoded(d.Capture()) }

var _ detectors.Capturer = (*Detector)(nil)

// Capture copies what Snapshot saves (open windows, host histories,
// samples); the returned function encodes the copy (detectors.Capturer). A forest is never
// changed once grown (retraining replaces it), so it is shared.
func (d *Detector) Capture() func(io.Writer) error {
	exEnc := d.ex.Capture()
	s := &snapshot{Version: snapshotVersion, Buffer: slices.Clone(d.buf), Stats: d.stats, Runs: d.runs.Export(),
		HistoryEvicted: d.hist.Evicted(), HistoryLayout: ptr(d.hist.Layout())}
	s.hosts, s.dense = d.captureHistory()
	if d.fromRun && d.tr != nil {
		re := d.re
		re.Sample = slices.Clone(re.Sample)
		s.Forest, s.Population, s.Retrain = d.tr.Forest, &Population{Vals: slices.Clone(d.pop.Vals)}, &re
		if d.pop.legacy != nil && len(d.pop.Vals) < minPopulation {
			s.Global = d.pop.legacy // still in use: keep it until the sample replaces it
		}
	} else if d.online {
		re := d.re
		re.Sample = slices.Clone(re.Sample)
		s.Retrain, s.Model = &re, d.tr.ID
		if d.tr.Forest != d.modelForest {
			s.Forest = d.tr.Forest
		}
	}
	return func(w io.Writer) error { return s.encode(w, exEnc) }
}

// encode writes s with the extractor's snapshot (ex) and the host
// histories (Capture's hosts, each in full as History) a piece at a time
// (window.JSONStream): the object json.Marshal would make of it, but for
// the order of its fields.
func (s *snapshot) encode(w io.Writer, ex func(io.Writer) error) error {
	s.Extractor = nil
	head, err := json.Marshal(s)
	if err != nil {
		return err
	}
	j := window.NewJSONStream(w)
	j.Raw(head[:len(head)-1], "")
	at := func(id int32) *windows { return &s.dense[id-1] }
	for i := range s.hosts {
		j.Sep(i, `,"history":[`)
		e := window.Entry[netip.Addr, History]{K: s.hosts[i].K.Addr(), V: s.hosts[i].V.history(at)}
		if err := j.Value(&e); err != nil {
			return err
		}
	}
	if len(s.hosts) > 0 {
		j.Raw(nil, "]")
	}
	j.Raw(nil, `,"extractor":`)
	if err := j.Flush(); err != nil {
		return err
	}
	if err := ex(w); err != nil {
		return err
	}
	j.Raw(nil, "}")
	return j.Flush()
}

// Restore resumes from a snapshot of version 1 to 7; on error the
// detector is unchanged.
func (d *Detector) Restore(b []byte) error {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("iforest snapshot: %w", err)
	}
	if err := window.SnapshotVersion("iforest", s.Version, 1, snapshotVersion); err != nil {
		return err
	}
	if s.Population != nil && len(s.Population.Vals) > PopulationLen {
		return fmt.Errorf("iforest snapshot: population sample of %d windows, this build holds %d", len(s.Population.Vals), PopulationLen)
	}
	for _, e := range s.History {
		// (no address is the key of IPv6's unspecified :: too, a real
		// originator: window.IP writes both as 16 zero bytes)
		if !e.V.valid() {
			return fmt.Errorf("iforest snapshot: bad history entry for %v", e.K)
		}
	}
	for i := range s.Runs {
		// a run without its peak's explanation would give an empty notice
		if r := &s.Runs[i]; !r.Valid() || r.Of.Explain.Detector != d.Name() {
			return fmt.Errorf("iforest snapshot: damaged run of %v", r.Host)
		}
	}
	if s.Forest != nil {
		// a forest that loops or indexes out of range would hang or crash
		// the run at its first window after the restart
		if err := s.Forest.Check(features.Dim); err != nil {
			return fmt.Errorf("iforest snapshot: %w", err)
		}
	}
	if s.Retrain != nil && !s.Retrain.valid() {
		return fmt.Errorf("iforest snapshot: damaged retraining sample (share %g, %d small windows, %d sampled of %d)", s.Retrain.Share, len(s.Retrain.Small), len(s.Retrain.Sample), s.Retrain.Seen)
	}
	if s.Global != nil && (len(s.Global.Median) != features.N || len(s.Global.MAD) != features.N ||
		len(s.Global.RawMedian) != features.N || (s.Global.Count != nil && len(s.Global.Count) != features.N)) {
		return fmt.Errorf("iforest snapshot: baseline has %d features, this build has %d", len(s.Global.Median), features.N)
	}
	if err := d.ex.Restore(s.Extractor); err != nil {
		return err
	}
	d.buf, d.stats = s.Buffer, s.Stats
	d.runs.Restore(s.Runs)
	if d.tr != nil {
		// a model file configured since: the windows the run buffered to
		// train on would never be used, only saved again at every
		// checkpoint
		d.buf = nil
	}
	d.importHistory(s.History, s.HistoryEvicted, s.HistoryLayout)
	if s.Model != "" {
		// a model's forest retrained online: only with that model (a new
		// model file starts from its own forest and seed)
		if d.online && !d.fromRun && d.tr.ID == s.Model {
			if s.Retrain != nil {
				d.re = *s.Retrain
			}
			if s.Forest != nil {
				d.tr.Forest = s.Forest
			}
		} else {
			// another model file (its own forest and seed), or retraining
			// now off (the model's forest as trained, not the run's last
			// retraining of it): the counts describe a forest not in use
			d.stats.Trained, d.stats.Retrains = 0, 0
		}
	} else if d.tr != nil && !d.fromRun {
		// a model file configured: its forest is used, not a forest the
		// checkpoint's run trained, whose counts these were
		d.stats.Trained, d.stats.Retrains = 0, 0
	} else if s.Forest != nil && (s.Global != nil || s.Population != nil) {
		// a forest trained on the run (not when a model file is now
		// configured, above: the model is what the user asked for)
		d.pop = Population{}
		if s.Population != nil {
			d.pop.Vals = s.Population.Vals
		}
		if s.Global != nil {
			g := *s.Global
			g.Scope = features.ScopePopulation
			d.pop.legacy = &g
		}
		d.tr = &Trained{Forest: s.Forest, Baseline: func(string) features.Robust { return d.pop.robust() }}
		d.fromRun, d.online = true, d.cfg.Retrain > 0
		// without a sample (version 3, or retrain = 0): retrained once
		// train_windows windows are judged, on those
		d.re = retraining{}
		if s.Retrain != nil {
			d.re = *s.Retrain
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
