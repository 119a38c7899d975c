package window

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/zeekanom/zeekanom/output/notice"
)

// HostRun is a host's consecutive flagged windows, [Start, End), Windows of
// them: the peak window's score, its start and the detector's record of
// it (Of: its values, its explanation), and the first notice.MaxUIDs
// distinct uids of the windows. A detector that flags host-windows gives
// one notice per run (supervised, iforest), with Start as its start, so
// that its event.id is the same however the run is cut by checkpoints.
//
// In a snapshot a run is one JSON object: its own keys and Of's beside
// them (Of must encode as an object), as supervised wrote them before
// the type was shared.
type HostRun[P any] struct {
	Host    netip.Addr
	Start   time.Time
	End     time.Time
	Windows int
	Peak    float64
	PeakAt  time.Time
	UIDs    []string
	// Unobserved is the part of the run's windows the input did not cover
	// (features' Vector.Unobserved, summed): the detector adds each
	// flagged window's.
	Unobserved time.Duration
	// Of is set by the detector when Flagged says the window is the peak;
	// it is replaced then, never changed (Export shares it).
	Of P
}

// runJSON is HostRun's own keys in a snapshot.
type runJSON struct {
	Host    netip.Addr `json:"host"`
	Start   time.Time  `json:"start"`
	End     time.Time  `json:"end"`
	Windows int        `json:"windows"`
	Peak    float64    `json:"peak"`
	PeakAt  time.Time  `json:"peak_at"`
	UIDs    []string   `json:"uids,omitempty"`
	// optional both ways: a run of a snapshot without it was observed
	// whole, and an older build reading it leaves it out of the notice
	Unobserved time.Duration `json:"unobserved,omitempty"`
}

// MarshalJSON writes the run's keys, then Of's, in one object.
func (r HostRun[P]) MarshalJSON() ([]byte, error) {
	head, err := json.Marshal(runJSON{r.Host, r.Start, r.End, r.Windows, r.Peak, r.PeakAt, r.UIDs, r.Unobserved})
	if err != nil {
		return nil, err
	}
	of, err := json.Marshal(r.Of)
	if err != nil {
		return nil, err
	}
	if len(of) < 2 || of[0] != '{' {
		return nil, fmt.Errorf("run of %v: its peak's record is not a JSON object", r.Host)
	}
	if len(of) == 2 { // {}
		return head, nil
	}
	return append(append(head[:len(head)-1], ','), of[1:]...), nil
}

// UnmarshalJSON reads the run's keys and Of's from one object.
func (r *HostRun[P]) UnmarshalJSON(b []byte) error {
	var h runJSON
	if err := json.Unmarshal(b, &h); err != nil {
		return err
	}
	var of P
	if err := json.Unmarshal(b, &of); err != nil {
		return err
	}
	*r = HostRun[P]{Host: h.Host, Start: h.Start, End: h.End, Windows: h.Windows, Peak: h.Peak, PeakAt: h.PeakAt, UIDs: h.UIDs, Unobserved: h.Unobserved, Of: of}
	return nil
}

// Partial is what the notice of run r says when the input covered its
// windows only in part (Unobserved): the share covered, for
// zeekanom.observed_ratio (rounded down to a thousandth, so that a part
// is never 1), and a phrase for its message, "the input covered 48s of
// 5m0s"; ok is false for a run observed whole.
func (r *HostRun[P]) Partial() (share float64, phrase string, ok bool) {
	span := r.End.Sub(r.Start)
	if r.Unobserved <= 0 || span <= 0 {
		return 1, "", false
	}
	seen := max(span-r.Unobserved, 0)
	share = math.Floor(float64(seen)/float64(span)*1000) / 1000
	if seen >= time.Second {
		seen = seen.Truncate(time.Second)
	} else {
		seen = seen.Round(time.Millisecond)
	}
	return share, fmt.Sprintf("the input covered %s of %s", seen, span), true
}

// Valid reports whether r can be a run (a snapshot's): a host, a window
// at least, an end after its start, and no more unobserved than that.
func (r *HostRun[P]) Valid() bool {
	return r.Host.IsValid() && r.Windows >= 1 && r.End.After(r.Start) && r.Unobserved >= 0 && r.Unobserved <= r.End.Sub(r.Start)
}

// HostRuns holds the hosts' open runs of flagged windows, whose notices are
// not given yet: a detector reports each judged window of a host as
// Flagged or Quiet, and the runs that end are handed to its done
// function, which gives the notice.
type HostRuns[P any] struct {
	// Window and Lateness are the detector's windows' (Closed); Span is
	// the longest run (group_span): a flagged window that would make it
	// longer starts the next. Span Window or less: a run a window.
	Window, Lateness, Span time.Duration
	open                   map[netip.Addr]*HostRun[P]
}

// Flagged adds host's window [start, end), flagged with score, and
// returns its run; peak says the window is the run's peak (its first, or
// a higher score than the peak's: ties keep the first), whose record the
// caller then sets (Of). A run the window does not extend (not the next
// window, or longer than Span with it) is ended first.
func (rs *HostRuns[P]) Flagged(host netip.Addr, start, end time.Time, score float64, uids []string, done func(*HostRun[P])) (r *HostRun[P], peak bool) {
	r = rs.open[host]
	if r != nil && (!r.End.Equal(start) || end.Sub(r.Start) > rs.Span) {
		rs.end(host, done)
		r = nil
	}
	if r == nil {
		if rs.open == nil {
			rs.open = map[netip.Addr]*HostRun[P]{}
		}
		r = &HostRun[P]{Host: host, Start: start}
		rs.open[host] = r
	}
	r.End = end
	r.Windows++
	peak = r.Windows == 1 || score > r.Peak
	if peak {
		r.Peak, r.PeakAt = score, start
	}
	for _, u := range uids {
		if len(r.UIDs) >= notice.MaxUIDs {
			break
		}
		if !slices.Contains(r.UIDs, u) {
			r.UIDs = append(r.UIDs, u)
		}
	}
	return r, peak
}

// Quiet is a window of host judged and not flagged: its run, if any,
// ended with the window before.
func (rs *HostRuns[P]) Quiet(host netip.Addr, done func(*HostRun[P])) {
	if rs.open[host] != nil {
		rs.end(host, done)
	}
}

// Closed ends the runs whose next window has closed at watermark wm
// without extending them (a window closes once the watermark is past its
// end plus the lateness, and the detector has judged the windows closed
// at wm before), in address order, so that a step's notices come out in
// the same order on every run.
func (rs *HostRuns[P]) Closed(wm time.Time, done func(*HostRun[P])) {
	var hs []netip.Addr
	for h, r := range rs.open {
		if !wm.Before(r.End.Add(rs.Window + rs.Lateness)) {
			hs = append(hs, h)
		}
	}
	slices.SortFunc(hs, netip.Addr.Compare)
	for _, h := range hs {
		rs.end(h, done)
	}
}

// All ends every open run, in address order (at the end of the input).
func (rs *HostRuns[P]) All(done func(*HostRun[P])) {
	for _, h := range rs.hosts() {
		rs.end(h, done)
	}
}

func (rs *HostRuns[P]) end(h netip.Addr, done func(*HostRun[P])) {
	r := rs.open[h]
	delete(rs.open, h)
	done(r)
}

func (rs *HostRuns[P]) hosts() []netip.Addr {
	hs := make([]netip.Addr, 0, len(rs.open))
	for h := range rs.open {
		hs = append(hs, h)
	}
	slices.SortFunc(hs, netip.Addr.Compare)
	return hs
}

// Len is the number of open runs.
func (rs *HostRuns[P]) Len() int { return len(rs.open) }

// Export copies the open runs for a snapshot, in address order (their
// uids copied, Of shared: it is never changed).
func (rs *HostRuns[P]) Export() []HostRun[P] {
	out := make([]HostRun[P], 0, len(rs.open))
	for _, h := range rs.hosts() {
		r := *rs.open[h]
		r.UIDs = slices.Clone(r.UIDs)
		out = append(out, r)
	}
	return out
}

// Restore replaces the open runs with a snapshot's, which the caller has
// checked (Valid, and its record of the peak); of a host named twice, the
// last is kept.
func (rs *HostRuns[P]) Restore(runs []HostRun[P]) {
	rs.open = make(map[netip.Addr]*HostRun[P], len(runs))
	for i := range runs {
		rs.open[runs[i].Host] = &runs[i]
	}
}
