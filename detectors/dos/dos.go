// Package dos flags fan-in against one destination:port: many distinct
// sources (a distributed flood) or one loud source, weighed by the share
// of half-open attempts.
package dos

import (
	"bytes"
	"cmp"
	"encoding/gob"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// Config is the [detectors.dos] section.
type Config struct {
	Enabled  bool          `toml:"enabled"`
	Window   time.Duration `toml:"window"`
	Lateness time.Duration `toml:"lateness"`
	// MinSources distinct sources in a window (with MinHalfOpen) make a
	// distributed flood.
	MinSources float64 `toml:"min_sources"`
	// MinHalfOpen is the half-open share required for the many-sources
	// case (a popular server has many sources, but they complete).
	MinHalfOpen float64 `toml:"min_half_open"`
	// MinConnsOneSource connections from a single source in a window make
	// a loud source.
	MinConnsOneSource float64 `toml:"min_conns_one_source"`
	// Surge: the many-sources case also fires without half-open attempts
	// when connections exceed Surge times the key's baseline.
	Surge float64 `toml:"surge"`
	// A one-way flow (no reply packet) of at least FlowPackets packets, at
	// FlowRate packets/s or more over at least FlowMinDuration, is a flood
	// by itself: Zeek logs a UDP or ICMP flood from one source port as one
	// connection, which the per-window counts above see once. 0 disables.
	FlowPackets     float64       `toml:"flow_packets"`
	FlowRate        float64       `toml:"flow_rate"`
	FlowMinDuration time.Duration `toml:"flow_min_duration"`
	MaxHosts        int           `toml:"max_hosts"`
	// GroupSpan is the longest time one notice of a sustained flood
	// covers: a key's first firing window is a notice at once, the
	// consecutive firing windows after it are held and given as one
	// notice per GroupSpan (or when the run ends). Window or less: a
	// notice a window.
	GroupSpan time.Duration `toml:"group_span"`
	// Allow are destination CIDRs never reported.
	Allow []string `toml:"allow"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Enabled: true, Window: time.Minute, Lateness: 2 * time.Minute, MinSources: 200,
		MinHalfOpen: 0.5, MinConnsOneSource: 3000, Surge: 20, FlowPackets: 10000, FlowRate: 50,
		FlowMinDuration: time.Minute, MaxHosts: 50000, GroupSpan: 10 * time.Minute}
}

// Validate reports the first bad value of [detectors.dos] as a
// *window.ConfigError naming its key.
func (cfg Config) Validate() error {
	var c window.Check
	c.Duration("window", cfg.Window, true)
	c.Duration("lateness", cfg.Lateness, false)
	c.Positive("min_sources", cfg.MinSources)
	c.Within("min_half_open", cfg.MinHalfOpen, 0, 1)
	c.Positive("min_conns_one_source", cfg.MinConnsOneSource)
	c.Positive("surge", cfg.Surge)
	c.Positive("flow_packets", cfg.FlowPackets)
	c.Positive("flow_rate", cfg.FlowRate)
	c.Duration("flow_min_duration", cfg.FlowMinDuration, false)
	c.AtLeast("max_hosts", cfg.MaxHosts, 1)
	c.Duration("group_span", cfg.GroupSpan, false)
	c.Networks("allow", cfg.Allow)
	return c.Err()
}

// Key is destination, port and protocol.
type Key struct {
	Dst   window.IP
	Port  uint16
	Proto uint8
}

func (k Key) hash() uint64 { return window.KeyHash(k.Dst, uint64(k.Port)<<8|uint64(k.Proto)) }

// Top is the loudest source: its estimated count.
type Top struct {
	Src window.IP
	N   uint32
}

// cmsW is the width of the one-row count sketch of sources per slot.
const cmsW = 64

// Slot is one window of one key as snapshots carry it (live: a slot).
type Slot struct {
	Used     bool
	Win      int64
	Srcs     window.HLL
	Conns    uint32
	HalfOpen uint32
	CMS      [cmsW]uint16 // connections per source bucket (saturating)
	Best     uint8        // bucket with the most connections
	BestSrc  window.IP    // the source that last raised it
	UIDs     window.UIDs
}

// slot is one open window of one key (392 bytes, where a Slot is 472): a
// Slot without Used (a slot in use has an id) and with its uids in a
// window.UIDSample.
type slot struct {
	Win      int64
	Srcs     window.HLL
	Conns    uint32
	HalfOpen uint32
	CMS      [cmsW]uint16 // connections per source bucket (saturating)
	Best     uint8        // bucket with the most connections
	BestSrc  window.IP    // the source that last raised it
	UIDs     window.UIDSample
}

// export writes s into o (zeroed) as snapshots carry it.
func (s *slot) export(o *Slot) {
	*o = Slot{Used: true, Win: s.Win, Srcs: s.Srcs, Conns: s.Conns, HalfOpen: s.HalfOpen, CMS: s.CMS, Best: s.Best,
		BestSrc: s.BestSrc}
	s.UIDs.Export(&o.UIDs)
}

// load makes s (zeroed) the open window o.
func (s *slot) load(o *Slot) {
	*s = slot{Win: o.Win, Srcs: o.Srcs, Conns: o.Conns, HalfOpen: o.HalfOpen, CMS: o.CMS, Best: o.Best, BestSrc: o.BestSrc}
	s.UIDs.Load(&o.UIDs)
}

// nSlots is how many windows a key can have open at once: the window and
// the ones its lateness keeps open (a 1 min window, 2 min lateness: three;
// the row that opens a fourth arrives with the watermark that closes the
// oldest, which is then judged at once).
const nSlots = 3

// Entry is a key's state as snapshots carry it: open windows, the previous
// window kept to be judged with the next (Prev.Used), and the
// connection-rate baseline. Slots has room for the four windows older
// versions kept open.
type Entry struct {
	Slots    [4]Slot
	Base     float64 // EWMA of connections per window
	BaseN    uint32
	LastSeen int64 // unused, kept for older snapshots
	Prev     Slot
}

// state is a key's live state: the baseline and, per open window, its
// number and the slot (392 bytes) it holds in the detector's slab (0:
// none). A key takes slots only for windows it sees rows in, so the many
// keys seen once cost one slot, not four, and closing windows reads these
// 64-byte headers instead of every slot.
type state struct {
	Win   [nSlots]int64
	Slot  [nSlots]int32
	Base  float64 // EWMA of connections per window
	BaseN uint32
	// Prev is the slab id (0: none) of the last closed window when it did
	// not fire but was busy enough to fire together with the next one.
	Prev    int32
	PrevWin int64
}

// Detector is the DoS fan-in detector.
type Detector struct {
	cfg     Config
	win     window.Windows
	t       *window.Table[Key, state]
	slots   window.Slab[slot]
	allow   window.Networks
	pending []*notice.Notice
	// runs are the keys' floods going on: the firing windows held since
	// the last notice, at most maxRuns of them
	runs map[Key]*run
}

// maxRuns bounds the held runs: over it, the one whose last firing
// window is the oldest is given at once.
const maxRuns = 4096

// HeldRun is a key's run as snapshots carry it.
type HeldRun struct {
	Key Key
	Run run
}

// run is a key's consecutive firing windows of one kind after the one
// that was a notice at once: Held windows from First to Last (Held 0:
// none held yet, Last the window last given), the peak one (its score
// the highest) and a sample of the held windows' uids.
type run struct {
	Sub string
	// Source (single_source) is the loudest source of the first held
	// window, the notice's source.ip: fixed by that window, not by the
	// peak, so that the held windows given in part (the end of input)
	// and then whole (a restart from a checkpoint) are one event.id when
	// the loudest source changes from window to window
	Source      window.IP
	First, Last int64
	Held        int
	// Others are the held windows whose loudest source was not Source
	// (version 3; a single-source run of version 2 had one source)
	Others int
	Peak   Peak
	UIDs   window.UIDs
}

var _ detectors.Detector = (*Detector)(nil)
var _ detectors.Stateful = (*Detector)(nil)

// New builds the detector.
func New(cfg Config) *Detector {
	d := &Detector{cfg: cfg, win: window.NewWindows(cfg.Window, cfg.Lateness),
		t: window.NewTableHash[Key, state](cfg.MaxHosts, Key.hash), allow: window.MustNetworks(cfg.Allow), runs: map[Key]*run{}}
	d.t.OnEvict = func(_ Key, e *state) {
		d.slots.FreeAll(e.Slot[:])
		d.dropPrev(e)
	}
	return d
}

func (d *Detector) Name() string             { return "dos" }
func (d *Detector) Kinds() []zeekreader.Kind { return []zeekreader.Kind{zeekreader.KindConn} }

// Needs (detectors.Needer): half-open connections are told by
// conn_state; a one-way flow by its packets over its duration.
func (d *Detector) Needs() []detectors.Need {
	return []detectors.Need{
		{Kind: zeekreader.KindConn, Columns: []string{"conn_state"}, Judges: "half-open connections"},
		{Kind: zeekreader.KindConn, Columns: []string{"duration", "orig_pkts"}, Judges: "one-way flows"},
	}
}

// Stats reports tracked keys, evictions and late rows.
func (d *Detector) Stats() window.Stats {
	s := d.t.Stats()
	s.Late = d.win.Late
	return s
}

// Observe takes a conn row.
func (d *Detector) Observe(ev *zeekreader.Event) {
	c := ev.Conn
	if c == nil || ev.Open || window.Special(c.Resp) || d.allow.Contains(c.Resp) {
		return
	}
	if n := d.oneWay(c); n != nil {
		// judged on the row alone, so it does not wait for (nor is
		// refused as late by) the window its start falls in
		d.pending = append(d.pending, n)
	}
	w, ok := d.win.Accept(c.TS)
	if !ok {
		return
	}
	k := Key{window.IPOf(c.Resp), c.RespP, window.ProtoNum(c.Proto)}
	e, _ := d.t.GetHoldFor(k, heldBaseline)
	// a new window: when every slot holds an older one that is due, the
	// oldest is closed now
	s, created := window.OpenSlot(&d.slots, e.Win[:], e.Slot[:], w, func(i int) {
		d.eval(k, e, i, d.hold)
	})
	if created {
		s.Win = w
	}
	s.Srcs.Add(window.HashAddr(c.Orig, 0xd05)) // (same hash family as HashIP)
	s.Conns++
	ho := window.HalfOpen(c.ConnState) || (string(c.Proto) == "udp" && noReply(c))
	if ho {
		s.HalfOpen++
	}
	s.UIDs.Add(c.UID)
	// loudest source: a one-row count sketch; the bucket maximum minus
	// the median bucket estimates the top source's excess over the crowd
	src := window.IPOf(c.Orig)
	h := window.HashIP(src, 0x70b) % cmsW
	if s.CMS[h] < math.MaxUint16 {
		s.CMS[h]++
	}
	if s.CMS[h] >= s.CMS[s.Best] {
		s.Best, s.BestSrc = uint8(h), src
	}
}

// heldBaseline is how many passes of the eviction hand a key with a
// baseline the surge rule trusts (ten windows or more) is held for when
// seen: the most there are (window.MaxHold). A sweep makes every address
// it reaches a key of its own (1.5M of them in 30 minutes of a /8 at
// 1,000 rows/s, the 50,000 of max_hosts evicting each other, about 60
// turns of the hand), and a service quiet while it ran lost its
// baseline: the surge rule was blind to it for the next ten windows.
// Held so, it outlives 250 turns: a quiet service still loses it to a
// sweep of many hours.
func heldBaseline(e *state) uint8 {
	if e.BaseN < 10 {
		return 0
	}
	return window.MaxHold
}

// Advance closes due windows.
func (d *Detector) Advance(wm time.Time, emit detectors.Emit) {
	c, ok := d.win.CloseUpTo(wm)
	if ok || len(d.pending) > 0 {
		d.close(c, ok, emit)
	}
}

// Flush closes every window.
func (d *Detector) Flush(emit detectors.Emit) { d.close(math.MaxInt64-1, true, emit) }

func (d *Detector) close(upto int64, ok bool, emit detectors.Emit) {
	d.pending = window.EmitAll(d.pending, emit)
	if !ok {
		return
	}
	d.t.Range(func(k Key, e *state) bool {
		// oldest first so the baseline sees windows in order
		for {
			o := window.Oldest(e.Win[:], e.Slot[:], upto)
			if o < 0 {
				break
			}
			d.eval(k, e, o, emit)
		}
		if e.PrevWin+1 <= upto {
			d.dropPrev(e) // the window after it closed without rows: nothing to join
		}
		if e.Slot != [nSlots]int32{} || e.Prev != 0 {
			return false
		}
		// keep the baseline of busy keys; drop one-off keys
		return e.BaseN < 5
	})
	d.endRuns(upto, emit)
	d.win.Closed = upto
}

// hold keeps n for the next advance (a window closed by a row).
func (d *Detector) hold(n *notice.Notice) { d.pending = append(d.pending, n) }

// endRuns gives the runs whose next window has closed without firing
// (a window with no rows for the key is not judged), oldest first.
func (d *Detector) endRuns(upto int64, emit detectors.Emit) {
	var ended []HeldRun
	for k, r := range d.runs {
		if r.Last < upto {
			ended = append(ended, HeldRun{Key: k, Run: *r})
		}
	}
	sortRuns(ended)
	for i := range ended {
		d.endRun(ended[i].Key, emit)
	}
}

// sortRuns orders runs by their last window, then key.
func sortRuns(rs []HeldRun) { slices.SortFunc(rs, compareRuns) }

func compareRuns(a, b HeldRun) int {
	return cmp.Or(cmp.Compare(a.Run.Last, b.Run.Last), slices.Compare(a.Key.Dst[:], b.Key.Dst[:]),
		cmp.Compare(a.Key.Port, b.Key.Port), cmp.Compare(a.Key.Proto, b.Key.Proto))
}

// grouped reports whether the detector groups consecutive firing
// windows.
func (d *Detector) grouped() bool { return d.cfg.GroupSpan > d.cfg.Window }

// fired takes key k's firing window(s) p, to window w1: the first of a
// run is a notice at once; the next ones of the same kind are held in the
// run and given as one notice per group_span. Any other ends the run and
// starts one. A single-source window continues the run whatever its loud
// source: the key is the destination:port/proto, so a flood whose loudest
// source changes every window (a botnet taking turns) is grouped as a
// distributed one is, and attacks on other targets never are.
func (d *Detector) fired(k Key, p *Peak, w1 int64, uids *window.UIDSample, emit detectors.Emit) {
	if !d.grouped() {
		emit(d.notice(k, p, uids.Strings(), p.Win, w1, nil))
		return
	}
	sub, src := "distributed", window.IP{}
	if p.R2 > p.R1 {
		sub, src = "single_source", p.Top.Src
	}
	r := d.runs[k]
	if r != nil && (r.Last+1 != p.Win || r.Sub != sub) {
		d.endRun(k, emit)
		r = nil
	}
	if r == nil {
		emit(d.notice(k, p, uids.Strings(), p.Win, w1, nil)) // a DoS alert does not wait
		if len(d.runs) >= maxRuns {
			d.endOldest(emit)
		}
		d.runs[k] = &run{Sub: sub, Last: w1}
		return
	}
	if r.Held == 0 || max(p.R1, p.R2) > max(r.Peak.R1, r.Peak.R2) {
		r.Peak = *p
	}
	if r.Held == 0 {
		r.First, r.Source = p.Win, src
	}
	r.Last = w1
	n := int(w1 - p.Win + 1)
	r.Held += n
	if src != r.Source {
		r.Others += n
	}
	var u window.UIDs
	uids.Export(&u)
	r.UIDs.Merge(&u)
	if time.Duration(r.Held)*d.cfg.Window >= d.cfg.GroupSpan {
		d.give(k, r, emit)
	}
}

// endOldest gives the run whose last firing window is the oldest.
func (d *Detector) endOldest(emit detectors.Emit) {
	var oldest HeldRun
	found := false
	for k, r := range d.runs {
		if c := (HeldRun{Key: k, Run: *r}); !found || compareRuns(c, oldest) < 0 {
			oldest, found = c, true
		}
	}
	d.endRun(oldest.Key, emit)
}

// endRun gives key k's held windows, if any, and forgets its run.
func (d *Detector) endRun(k Key, emit detectors.Emit) {
	if r := d.runs[k]; r != nil {
		d.give(k, r, emit)
		delete(d.runs, k)
	}
}

// give emits run r's held windows as one notice: their span, the peak
// window's score, risk and explanation, and how long the flood went on.
func (d *Detector) give(k Key, r *run, emit detectors.Emit) {
	if r.Held == 0 {
		return
	}
	emit(d.notice(k, &r.Peak, r.UIDs.Strings(), r.First, r.Last, r))
	r.Held, r.Others, r.Peak, r.UIDs = 0, 0, Peak{}, window.UIDs{}
}

// eval judges the due window in slot i: alone, or, when it does not fire
// alone and the key kept the window just before it, the two together, so
// that a flood cut in two by a window boundary is judged whole (one notice
// spanning both); its notice goes to the key's run (fired). A window that
// did not fire ends the key's run, teaches its baseline and, when busy
// enough to fire with the next, is kept as the previous window; the slot
// is freed.
func (d *Detector) eval(k Key, e *state, i int, emit detectors.Emit) {
	s := d.slots.At(e.Slot[i])
	p, ok := d.judge(e, s, 1)
	uids := &s.UIDs
	if !ok && e.Prev != 0 && e.PrevWin == s.Win-1 {
		u := *d.slots.At(e.Prev)
		u.merge(s)
		p, ok = d.judge(e, &u, 2)
		uids = &u.UIDs
	}
	if ok {
		d.fired(k, &p, s.Win, uids, emit)
	} else {
		d.endRun(k, emit) // the flood, if any, ended with the window before
	}
	if !ok {
		const a = 0.1
		if conns := float64(s.Conns); e.BaseN == 0 {
			e.Base = conns
		} else {
			e.Base = (1-a)*e.Base + a*conns
		}
		e.BaseN++
	}
	d.dropPrev(e)
	if !ok && float64(s.Conns) >= d.keepMin() {
		e.Prev, e.PrevWin = e.Slot[i], s.Win
	} else {
		d.slots.Free(e.Slot[i])
	}
	e.Slot[i] = 0
}

// dropPrev frees the key's previous window, if it keeps one.
func (d *Detector) dropPrev(e *state) {
	if e.Prev != 0 {
		d.slots.Free(e.Prev)
		e.Prev = 0
	}
}

// keepMin is the connections a window needs to be kept for the next: a
// tenth of the smaller trigger (below it, two windows together stay far
// from either).
func (d *Detector) keepMin() float64 {
	return max(1, 0.1*min(d.cfg.MinSources, d.cfg.MinConnsOneSource))
}

// merge adds window s to u (u the earlier one).
func (u *slot) merge(s *slot) {
	u.Srcs.Merge(&s.Srcs)
	u.Conns += s.Conns
	u.HalfOpen += s.HalfOpen
	for j := range u.CMS {
		u.CMS[j] = uint16(min(uint32(u.CMS[j])+uint32(s.CMS[j]), math.MaxUint16))
	}
	best := u.Best
	for j := range u.CMS {
		if u.CMS[j] > u.CMS[best] {
			best = uint8(j)
		}
	}
	if best == s.Best || best != u.Best {
		u.BestSrc = s.BestSrc
	}
	u.Best = best
	u.UIDs.Merge(&s.UIDs)
}

// Peak is what a firing window (or pair) was judged on: enough to write
// its notice again, as a run's peak (snapshots carry it; a notice's
// features, pointers to zero baselines, do not survive gob).
type Peak struct {
	Win         int64   // the first window
	Span        float64 // windows
	Conns, Srcs float64
	HalfOpen    float64 // share
	Top         Top
	Base        float64
	BaseN       uint32
	R1, R2      float64 // ratios of the distributed and single-source cases
}

// judge scores window s of key k (span windows long, from s.Win) against
// the key's baseline (per window); false when it does not fire.
func (d *Detector) judge(e *state, s *slot, span float64) (Peak, bool) {
	conns := float64(s.Conns)
	if conns < 0.8*d.cfg.MinSources && conns < d.cfg.MinConnsOneSource && (e.BaseN < 10 || conns < d.cfg.Surge*math.Max(1, e.Base)*span) {
		return Peak{}, false // cannot fire
	}
	// distinct sources are a HyperLogLog estimate, a few percent off and
	// up to a quarter high on a merged pair of windows: never more than
	// the connections (492 sources were scored for 400 connections of
	// the injected flood, one a source)
	srcs := math.Min(math.Round(s.Srcs.Count()), conns)
	ho := float64(s.HalfOpen) / math.Max(1, conns)
	top := Top{Src: s.BestSrc}
	if s.Conns > 0 {
		var b [cmsW]float64
		for i, v := range s.CMS {
			b[i] = float64(v)
		}
		top.N = uint32(math.Max(0, float64(s.CMS[s.Best])-window.Median(b[:])))
	}
	base := e.Base
	established := e.BaseN >= 10
	r1 := srcs / d.cfg.MinSources
	surge := established && conns >= d.cfg.Surge*math.Max(1, base)*span
	if ho < d.cfg.MinHalfOpen && !surge {
		r1 = 0
	}
	r2 := float64(top.N) / d.cfg.MinConnsOneSource
	if ho < d.cfg.MinHalfOpen && !surge {
		r2 *= 0.5 // a loud but completing client (a proxy, a backup) counts half
	}
	if math.Max(r1, r2) < 1 {
		return Peak{}, false
	}
	return Peak{Win: s.Win, Span: span, Conns: conns, Srcs: srcs, HalfOpen: ho, Top: top, Base: base, BaseN: e.BaseN,
		R1: r1, R2: r2}, true
}

// notice writes the notice of key k's firing window(s) p, with uids; a
// run's held windows' (r not nil, p their peak) spans windows from..to.
func (d *Detector) notice(k Key, p *Peak, uids []string, from, to int64, r *run) *notice.Notice {
	conns, ho, base, span := p.Conns, p.HalfOpen, p.Base, p.Span
	win := time.Duration(span) * d.cfg.Window
	var over time.Duration // the flood went on that long
	if r != nil {
		over = time.Duration(r.Held) * d.cfg.Window
	}
	n := &notice.Notice{Rule: notice.RuleDoSFanIn, Start: d.win.Start(from), End: d.win.Start(to + 1),
		Destination: k.Dst.Addr(), DestPort: k.Port, Proto: window.ProtoName(k.Proto), UIDs: uids}
	n.Timestamp = n.End
	// the destination's baseline, per window ("baseline 0 per window"
	// did not say of what, nor how long a window is)
	usual := fmt.Sprintf("baseline %s connections to it per %s", window.Num(base), window.FmtDur(d.cfg.Window))
	if p.BaseN == 0 {
		usual = "no baseline yet" // (not 0: nothing learnt)
	}
	dst := window.Endpoint(k.Dst.Addr(), k.Port, n.Proto)
	if p.R2 > p.R1 {
		n.Source = p.Top.Src.Addr()
		n.Sub = "single_source"
		n.Message = fmt.Sprintf("%s sent %d connections to %s in %s (%.0f%% half-open; %s)",
			p.Top.Src, p.Top.N, dst, window.FmtDur(win), ho*100, usual)
		if r != nil {
			n.Source = r.Source.Addr() // (the peak's too unless Others)
		}
		switch {
		case r != nil && r.Others > 0:
			n.Message = fmt.Sprintf("%s sent connections to %s for %s, another source the loudest in %d of its %d windows (taking turns), peak %d from %s in %s (%.0f%% half-open; %s)",
				r.Source, dst, window.FmtDur(over), r.Others, r.Held, p.Top.N, p.Top.Src, window.FmtDur(win), ho*100, usual)
		case r != nil:
			n.Message = fmt.Sprintf("%s sent connections to %s for %s, peak %d in %s (%.0f%% half-open; %s)",
				r.Source, dst, window.FmtDur(over), p.Top.N, window.FmtDur(win), ho*100, usual)
		}
	} else {
		n.Sub = "distributed"
		// (srcs is at most conns: the message said "400 connections
		// from 409 sources")
		n.Message = fmt.Sprintf("%s received %.0f connections from %.0f sources in %s (%.0f%% half-open; %s)",
			dst, conns, p.Srcs, window.FmtDur(win), ho*100, usual)
		if r != nil {
			n.Message = fmt.Sprintf("%s received connections for %s, peak %.0f from %.0f sources in %s (%.0f%% half-open; %s)",
				dst, window.FmtDur(over), conns, p.Srcs, window.FmtDur(win), ho*100, usual)
		}
	}
	ratio := math.Max(p.R1, p.R2)
	n.RiskScore = window.Risk(ratio)
	dev := (conns - base*span) / math.Max(1, base*span)
	f := map[string]notice.Feature{
		"distinct_sources": notice.F(p.Srcs, d.cfg.MinSources, p.R1),
		"connections":      notice.F(conns, base*span, dev),
		"half_open_ratio":  notice.F(ho, d.cfg.MinHalfOpen, ho-d.cfg.MinHalfOpen),
		"top_source_conns": notice.F(float64(p.Top.N), d.cfg.MinConnsOneSource, p.R2),
	}
	n.Explain = notice.Explanation{Detector: "dos", Score: ratio, Features: f, Top: window.TopFeatures(f, 3),
		Window: win.Seconds()}
	if w := int(to - from + 1); r != nil && w > 1 {
		n.Explain.Windows = w
	}
	n.Finalize(n.Sub)
	return n
}

// noReply says whether a conn row says its responder sent nothing: a
// UDP row without a reply is half-open, and a flow without one may be a
// one-way flood. A reply's packets or bytes say there was one, a
// resp_pkts of 0 that there was none (Zeek logs it even on a one-packet
// row, where it leaves resp_bytes unset). A row that does not give
// resp_pkts (zeekreader.Conn.HasRespPkts: a trimmed config, a JSON
// writer that leaves out zeros) is told by its state: S0, SH and RSTOS0
// say the responder sent nothing (a UDP S0: Zeek saw no packet of it),
// any other but OTH that it did; else by its history, a responder's
// letter (lower case) or none; else, but for TCP (whose responder
// acknowledges without data), by a resp_bytes of 0. Where nothing tells,
// the row is not one without reply: until 2026-12-02 it was, and at a
// site logging neither column every UDP row was half-open (each busy
// UDP service's share 1, a distributed flood once 200 clients came in a
// window) and every long busy flow a one-way flood.
func noReply(c *zeekreader.Conn) bool { return noReplyBy(c) != byNone }

// replyEvidence is the column of a conn row that told noReply there was
// no reply: a one-way notice names it rather than a reply_packets of 0
// the row may not have given.
type replyEvidence uint8

const (
	byNone      replyEvidence = iota // a reply, or nothing tells
	byRespPkts                       // resp_pkts given, 0 (and no reply bytes)
	byConnState                      // S0, SH or RSTOS0
	byHistory                        // no responder's letter
	byRespBytes                      // resp_bytes given, 0 (not TCP)
)

// noReplyBy is noReply with the column that told it (byNone when the
// row had a reply or nothing told).
func noReplyBy(c *zeekreader.Conn) replyEvidence {
	switch {
	case c.RespPkts > 0 || c.RespBytes > 0:
		return byNone
	case c.HasRespPkts:
		return byRespPkts
	}
	switch string(c.ConnState) {
	case "S0", "SH", "RSTOS0":
		return byConnState
	case "", "-", "OTH":
	default:
		return byNone
	}
	if h := c.History; len(h) > 0 && string(h) != "-" {
		if bytes.ContainsFunc(h, func(r rune) bool { return 'a' <= r && r <= 'z' }) {
			return byNone
		}
		return byHistory
	}
	if c.HasRespBytes && string(c.Proto) != "tcp" {
		return byRespBytes
	}
	return byNone
}

// oneWay flags a flow that is a flood by itself: many packets, a high
// packet rate and no reply (noReply). Its explanation gives what the row
// said of the reply: a reply_packets of 0 where the row gave resp_pkts,
// a reply_bytes of 0 where it gave resp_bytes alone; where its state or
// history told, neither (the row gave no count to show), and the message
// names the column. The bytes sent are shown where the row gives them:
// flow_orig_ip_bytes only with orig_ip_bytes, the message's size with it
// or orig_bytes (zeekreader.Conn.HasOrigIPBytes, HasOrigBytes).
func (d *Detector) oneWay(c *zeekreader.Conn) *notice.Notice {
	if d.cfg.FlowPackets <= 0 || float64(c.OrigPkts) < d.cfg.FlowPackets ||
		c.Duration < max(d.cfg.FlowMinDuration, time.Second) {
		return nil
	}
	by := noReplyBy(c)
	if by == byNone {
		return nil
	}
	pkts := float64(c.OrigPkts)
	rate := pkts / c.Duration.Seconds()
	if rate < d.cfg.FlowRate {
		return nil
	}
	ratio := math.Min(pkts/d.cfg.FlowPackets, rate/d.cfg.FlowRate)
	end := c.TS.Add(c.Duration)
	proto := window.ProtoName(window.ProtoNum(c.Proto))
	n := &notice.Notice{Rule: notice.RuleDoSFanIn, Sub: "one_way_flow", Timestamp: end, Start: c.TS, End: end,
		Source: c.Orig, Destination: c.Resp, DestPort: c.RespP, Proto: proto, UIDs: []string{string(c.UID)}}
	// the bytes sent, where the row gives them (orig_ip_bytes, else
	// orig_bytes: a count the log lacks reads 0, and is no "0 B")
	sent := ""
	if c.HasOrigIPBytes || c.HasOrigBytes {
		sent = " (" + window.Bytes(max(c.OrigIPBytes, c.OrigBytes)) + ")"
	}
	n.Message = fmt.Sprintf("%s sent %d packets%s to %s in %s (%.0f packets/s) without a reply",
		c.Orig, c.OrigPkts, sent, window.Endpoint(c.Resp, c.RespP, proto),
		window.FmtDur(c.Duration.Round(time.Second)), rate)
	n.RiskScore = window.Risk(ratio)
	f := map[string]notice.Feature{
		"flow_packets":    notice.F(pkts, d.cfg.FlowPackets, pkts/d.cfg.FlowPackets),
		"packets_per_s":   notice.F(math.Round(rate*10)/10, d.cfg.FlowRate, rate/d.cfg.FlowRate),
		"flow_duration_s": {Value: c.Duration.Seconds()},
	}
	if c.HasOrigIPBytes {
		f["flow_orig_ip_bytes"] = notice.Feature{Value: float64(c.OrigIPBytes)}
	}
	switch by {
	case byRespPkts:
		f["reply_packets"] = notice.Feature{Value: 0}
	case byRespBytes:
		f["reply_bytes"] = notice.Feature{Value: 0}
		n.Message += " (no reply bytes; the row gives no resp_pkts)"
	case byConnState:
		n.Message += fmt.Sprintf(" (conn_state %s; the row gives no resp_pkts)", c.ConnState)
	case byHistory:
		n.Message += fmt.Sprintf(" (history %s, no responder's letter; the row gives no resp_pkts)", c.History)
	}
	n.Explain = notice.Explanation{Detector: "dos", Score: ratio, Features: f, Top: []string{"packets_per_s", "flow_packets"},
		Window: c.Duration.Seconds()}
	n.Finalize(n.Sub)
	return n
}

// snapshotVersion is bumped when the snapshot's form changes.
// 2: the held runs (Runs; version 1 restores with none)
// 3: a single-source run's loudest source may change (Run.Others): a
// build reading 2 would give its windows as Source's alone
const snapshotVersion = 3

type snap struct {
	Entries []window.Entry[Key, Entry]
	Ev      int64
	Closed  int64
	Late    int64
	Pending []*notice.Notice
	Layout  window.Layout // where Entries sit in the table (eviction order)
	// Chunks is how many gob messages of entries follow this one, per
	// table (window.GobChunksLater); none in older snapshots, which
	// hold their entries here
	Chunks []int
	// Version is snapshotVersion (0: written before snapshots carried
	// one, in the same form); a newer one is refused (SnapshotVersion)
	Version int
	// Runs are the floods going on, their held windows (version 2)
	Runs []HeldRun
}

// ReadChunks reads the entries that follow a chunked snapshot's head
// (window.GobChunksLater).
func (s *snap) ReadChunks(dec *gob.Decoder) (err error) {
	s.Entries, err = window.ReadChunks(dec, s.Chunks, 0, s.Entries)
	return err
}

// Snapshot encodes the state (gob), keys as Entry values.
func (d *Detector) Snapshot() ([]byte, error) { return detectors.Encoded(d.Capture()) }

var _ detectors.Capturer = (*Detector)(nil)

// Capture copies the state; the returned function encodes the copy.
func (d *Detector) Capture() func(io.Writer) error {
	live := d.t.Export()
	var slots []slot // the open windows, copied once (entries made as encoded)
	for j := range live {
		v := &live[j].V
		slots = d.slots.CopyOut(v.Slot[:], slots)
		prev := []int32{v.Prev}
		slots = d.slots.CopyOut(prev, slots)
		v.Prev = prev[0]
	}
	runs := make([]HeldRun, 0, len(d.runs))
	for k, r := range d.runs {
		runs = append(runs, HeldRun{Key: k, Run: *r})
	}
	sortRuns(runs)
	s := &snap{nil, d.t.Evicted(), d.win.Closed, d.win.Late, slices.Clone(d.pending), d.t.Layout(), []int{window.Chunks(len(live))},
		snapshotVersion, runs}
	return window.GobChunksLater(s, window.ChunkedFunc(len(live), func(j int, e *window.Entry[Key, Entry]) {
		v := &live[j].V
		e.K, e.V.Base, e.V.BaseN = live[j].K, v.Base, v.BaseN
		for i, id := range v.Slot {
			if id != 0 {
				slots[id-1].export(&e.V.Slots[i])
			}
		}
		if v.Prev != 0 {
			slots[v.Prev-1].export(&e.V.Prev)
		}
	}))
}

// Restore loads a Snapshot.
func (d *Detector) Restore(b []byte) error {
	var s snap
	dec, err := window.GobHead(b, &s)
	if err != nil {
		return err
	}
	if err := window.SnapshotVersion("dos", s.Version, 0, snapshotVersion); err != nil {
		return err
	}
	runs := make(map[Key]*run, len(s.Runs))
	for i := range s.Runs {
		r := &s.Runs[i].Run
		if r.Held < 0 || r.Others < 0 || r.Others > r.Held || r.Held > 0 && (r.Peak.Span < 1 || r.First > r.Last) {
			return fmt.Errorf("dos snapshot: damaged run of %s", window.Endpoint(s.Runs[i].Key.Dst.Addr(), s.Runs[i].Key.Port, window.ProtoName(s.Runs[i].Key.Proto)))
		}
		runs[s.Runs[i].Key] = r
	}
	var slots window.Slab[slot]
	var live []window.Entry[Key, state]
	var late int64
	take := func(o *Slot) (int32, int64) { // o's window in a new slot
		id, p := slots.New()
		p.load(o)
		return id, o.Win
	}
	add := func(es []window.Entry[Key, Entry]) {
		for k := range es {
			se := &es[k]
			live = append(live, window.Entry[Key, state]{K: se.K})
			e := &live[len(live)-1].V
			e.Base, e.BaseN = se.V.Base, se.V.BaseN
			used := make([]int, 0, len(se.V.Slots))
			for i := range se.V.Slots {
				if se.V.Slots[i].Used {
					used = append(used, i)
				}
			}
			if len(used) > nSlots {
				// a snapshot of an older version holding a fourth window:
				// the oldest (due at its next advance) is dropped, its rows
				// counted as late
				slices.SortStableFunc(used, func(a, b int) int { return cmp.Compare(se.V.Slots[a].Win, se.V.Slots[b].Win) })
				for _, i := range used[:len(used)-nSlots] {
					late += int64(se.V.Slots[i].Conns)
				}
				used = used[len(used)-nSlots:]
			}
			var moved []int
			for _, i := range used {
				if i >= nSlots {
					moved = append(moved, i)
					continue
				}
				e.Slot[i], e.Win[i] = take(&se.V.Slots[i])
			}
			for _, i := range moved {
				j, _ := window.SlotOf(e.Win[:], e.Slot[:], -1) // a free slot
				e.Slot[j], e.Win[j] = take(&se.V.Slots[i])
			}
			if se.V.Prev.Used {
				e.Prev, e.PrevWin = take(&se.V.Prev)
			}
		}
	}
	add(s.Entries) // (an older snapshot's, in its head)
	if err := window.EachChunk(dec, s.Chunks, 0, add); err != nil {
		return err
	}
	d.slots = slots
	d.t.ImportLayout(live, s.Ev, s.Layout)
	d.win.Closed, d.pending, d.runs = s.Closed, s.Pending, runs
	d.win.Late = late + s.Late
	return nil
}
