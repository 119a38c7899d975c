// Package scan flags horizontal scans (one source, many destination hosts
// on one port), vertical scans (one source, many ports on one host) and
// slow scans (the same over hours at a lower rate).
package scan

import (
	"encoding/gob"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// Config is the [detectors.scan] section.
type Config struct {
	Enabled bool `toml:"enabled"`
	// Window is the fast window; Lateness how long after its end rows are
	// still accepted (conn rows are written at connection end).
	Window   time.Duration `toml:"window"`
	Lateness time.Duration `toml:"lateness"`
	// SlowWindow is the slow-scan window.
	SlowWindow time.Duration `toml:"slow_window"`
	// Thresholds on the effective distinct count (see README).
	Horizontal float64 `toml:"horizontal_threshold"`
	Vertical   float64 `toml:"vertical_threshold"`
	Slow       float64 `toml:"slow_threshold"`
	// SuccessWeight is how much a destination answered normally counts
	// (a failed attempt counts 1).
	SuccessWeight float64 `toml:"success_weight"`
	// Renotify is the minimum time between two notices on the same key.
	Renotify time.Duration `toml:"renotify"`
	// MaxHosts bounds the keys tracked (all four tables together).
	MaxHosts int `toml:"max_hosts"`
	// IgnoreSources are CIDRs (or addresses) never reported (e.g. your
	// own vulnerability scanners).
	IgnoreSources []string `toml:"ignore_sources"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Enabled: true, Window: 5 * time.Minute, Lateness: 5 * time.Minute,
		SlowWindow: 6 * time.Hour, Horizontal: 30, Vertical: 20, Slow: 40,
		SuccessWeight: 0.25, Renotify: time.Hour, MaxHosts: 100000}
}

// Validate reports the first bad value of [detectors.scan] as a
// *window.ConfigError naming its key.
func (cfg Config) Validate() error {
	var c window.Check
	c.Duration("window", cfg.Window, true)
	c.Duration("lateness", cfg.Lateness, false)
	c.Duration("slow_window", cfg.SlowWindow, true)
	c.Positive("horizontal_threshold", cfg.Horizontal)
	c.Positive("vertical_threshold", cfg.Vertical)
	c.Positive("slow_threshold", cfg.Slow)
	c.Within("success_weight", cfg.SuccessWeight, 0, 1)
	c.Duration("renotify", cfg.Renotify, false)
	c.AtLeast("max_hosts", cfg.MaxHosts, 1)
	c.Networks("ignore_sources", cfg.IgnoreSources)
	return c.Err()
}

type hKey struct {
	Src   window.IP
	Port  uint16
	Proto uint8
}

type vKey struct {
	Src, Dst window.IP
}

func (k hKey) hash() uint64 { return window.KeyHash(k.Src, uint64(k.Port)<<8|uint64(k.Proto)) }
func (k vKey) hash() uint64 { return window.KeyHash(k.Src, window.KeyHash(k.Dst, 0)) }

// failedHold is how many passes of a full table's eviction hand a key
// outlives after a failed attempt (window.Table.GetHold): slow scans probe
// minutes apart, while a busy sensor's one-off successful keys churn
// through the tables in seconds.
const failedHold = 32

// preN is how many distinct items (destinations, ports) a key collects in
// its compact first stage before it is promoted to a full Entry: most keys
// never see more than one or two, and stay small.
const preN = 4

// Pre is the compact first stage of a key within one slow window.
type Pre struct {
	Win    int64 // slow window
	N      uint8
	Done   bool // promoted
	H      [preN]uint64
	Fast   [preN]int64 // fast window of each item
	Conns  [preN]uint16
	Failed [preN]uint16
	UL     [preN]uint8
	UID    [preN][22]byte // first uid of each item
	Last   window.IP
}

// Slot is one window's evidence for one key as snapshots carry it (live:
// a slot).
type Slot struct {
	Used   bool
	Win    int64
	D      window.HLL
	Conns  uint32
	Failed uint32
	// Fast: in a slow slot, a fast notice fired inside this slow window;
	// in a closed fast slot, the window was over the threshold (a notice
	// covered it), so the next window is judged alone.
	Fast bool
	// Closed: a fast window already judged, kept until the next one
	// closes so that a scan split by the boundary is judged on both.
	Closed bool
	UIDs   window.UIDs
	Last   window.IP // last destination seen (vertical: unused)
}

// Entry is the state of one key as snapshots carry it (live: an entry).
type Entry struct {
	// a compact header of the slots' windows, so finding the slot of a
	// row reads one cache line
	FW        [3]int64
	SW        [2]int64
	FU, SU    uint8 // used bits
	Fast      [3]Slot
	Slow      [2]Slot
	LastFired int64 // unix seconds of the last notice window end
	// Prev keeps the last closed slow window's counts, so that a slow scan
	// split by a window boundary is judged on both windows together.
	Prev Prev
}

// Prev is a closed slow window, kept compact (no uid sample) until the
// next slow window closes.
type Prev struct {
	Win    int64
	D      window.HLL
	Conns  uint32
	Failed uint32
	// Done: a notice (fast or slow) covered this window, so the next
	// window is judged alone and one scan gives one notice.
	Done bool
}

// entry is the live state of one key (1,568 bytes, where an Entry is
// 1,928): an Entry whose slots hold their uids in a window.UIDSample.
type entry struct {
	FW        [3]int64
	SW        [2]int64
	FU, SU    uint8 // used bits
	Fast      [3]slot
	Slow      [2]slot
	LastFired int64
	Prev      Prev
}

// slot is a Slot as an entry holds it (272 bytes, where a Slot is 344):
// its uids in a window.UIDSample.
type slot struct {
	Used   bool
	Win    int64
	D      window.HLL
	Conns  uint32
	Failed uint32
	Fast   bool
	Closed bool
	UIDs   window.UIDSample
	Last   window.IP
}

// export writes e into o as snapshots carry it.
func (e *entry) export(o *Entry) {
	*o = Entry{FW: e.FW, SW: e.SW, FU: e.FU, SU: e.SU, LastFired: e.LastFired, Prev: e.Prev}
	for i := range e.Fast {
		e.Fast[i].export(&o.Fast[i])
	}
	for i := range e.Slow {
		e.Slow[i].export(&o.Slow[i])
	}
}

// load makes e (zeroed) the entry o.
func (e *entry) load(o *Entry) {
	*e = entry{FW: o.FW, SW: o.SW, FU: o.FU, SU: o.SU, LastFired: o.LastFired, Prev: o.Prev}
	for i := range e.Fast {
		e.Fast[i].load(&o.Fast[i])
	}
	for i := range e.Slow {
		e.Slow[i].load(&o.Slow[i])
	}
}

// export writes s into o as snapshots carry it, and load makes s (zeroed)
// the slot o.
func (s *slot) export(o *Slot) {
	*o = Slot{Used: s.Used, Win: s.Win, D: s.D, Conns: s.Conns, Failed: s.Failed, Fast: s.Fast, Closed: s.Closed, Last: s.Last}
	s.UIDs.Export(&o.UIDs)
}

func (s *slot) load(o *Slot) {
	*s = slot{Used: o.Used, Win: o.Win, D: o.D, Conns: o.Conns, Failed: o.Failed, Fast: o.Fast, Closed: o.Closed, Last: o.Last}
	s.UIDs.Load(&o.UIDs)
}

const (
	kindH = iota
	kindV
)

// Detector is the scan detector.
type Detector struct {
	cfg      Config
	ignore   window.Networks
	fast     window.Windows
	slow     window.Windows
	h        *window.Table[hKey, entry]
	v        *window.Table[vKey, entry]
	hp       *window.Table[hKey, Pre]
	vp       *window.Table[vKey, Pre]
	base     [2]float64 // global EWMA of effective counts (horizontal, vertical)
	pending  []*notice.Notice
	batchSum [2]float64
	batchN   [2]float64
}

var _ detectors.Detector = (*Detector)(nil)
var _ detectors.Stateful = (*Detector)(nil)

// New builds the detector.
func New(cfg Config) *Detector {
	d := &Detector{cfg: cfg, ignore: window.MustNetworks(cfg.IgnoreSources)}
	d.fast = window.NewWindows(cfg.Window, cfg.Lateness)
	d.slow = window.NewWindows(cfg.SlowWindow, cfg.Lateness)
	// max_hosts is the total key budget: 1/8 to each full table, 3/8 to
	// each compact first-stage table
	full, pre := max(cfg.MaxHosts/8, 16), max(cfg.MaxHosts*3/8, 16)
	d.h = window.NewTableHash[hKey, entry](full, hKey.hash)
	d.v = window.NewTableHash[vKey, entry](full, vKey.hash)
	d.hp = window.NewTableHash[hKey, Pre](pre, hKey.hash)
	d.vp = window.NewTableHash[vKey, Pre](pre, vKey.hash)
	// most rows evict a first stage when the tables are full: their
	// victims' keys need not be read to find them in the index
	d.h.EvictByHash()
	d.v.EvictByHash()
	d.hp.EvictByHash()
	d.vp.EvictByHash()
	d.base = [2]float64{1, 1}
	return d
}

func (d *Detector) Name() string             { return "scan" }
func (d *Detector) Kinds() []zeekreader.Kind { return []zeekreader.Kind{zeekreader.KindConn} }

// Needs: without conn_state no attempt counts as failed
// (detectors.Needer).
func (d *Detector) Needs() []detectors.Need {
	return []detectors.Need{{Kind: zeekreader.KindConn, Columns: []string{"conn_state"}, Judges: "failed attempts"}}
}

// Stats reports the tables' counters (both tables summed) and late rows.
func (d *Detector) Stats() window.Stats {
	return window.Stats{Tracked: d.h.Len() + d.v.Len() + d.hp.Len() + d.vp.Len(),
		Evicted: d.h.Evicted() + d.v.Evicted() + d.hp.Evicted() + d.vp.Evicted(), Late: d.fast.Late}
}

func (s *slot) add(h uint64, conns, failed uint32, uid []byte, dst window.IP) {
	s.D.Add(h)
	s.Conns += conns
	s.Failed += failed
	s.UIDs.Add(uid)
	s.Last = dst
}

// failedAttempt says whether a conn row is a failed attempt: a state of
// window.Failed and no response data. Where the row gives resp_bytes, a
// size of 0; where it does not (no column in its log, Zeek's unset, a
// JSON writer that leaves out zeros: zeekreader.Conn.HasRespBytes), no
// responder data in its history ('d', as beacon's unanswered reads it),
// and its state alone without history. Until 2026-12-02 the missing
// size read as 0: an RSTR or OTH row that carried the responder's data,
// logged without resp_bytes, counted as a failed attempt.
func failedAttempt(c *zeekreader.Conn) bool {
	if !window.Failed(c.ConnState) {
		return false
	}
	data, _ := window.RespData(c) // (no data where the row does not tell)
	return !data
}

// Observe takes a conn row.
func (d *Detector) Observe(ev *zeekreader.Event) {
	c := ev.Conn
	if c == nil || ev.Open {
		return
	}
	if window.Special(c.Resp) || window.Special(c.Orig) {
		return
	}
	if len(d.ignore) > 0 && d.ignore.Contains(c.Orig) {
		return
	}
	if string(c.Proto) == "icmp" && c.OrigP != 8 && c.OrigP != 128 {
		return // ICMP: only echo requests sweep (neighbour discovery, unreachables do not)
	}
	fw, ok := d.fast.Accept(c.TS)
	if !ok {
		return
	}
	sw := d.slow.Index(c.TS)
	slowOK := sw > d.slow.Closed
	proto := window.ProtoNum(c.Proto)
	failed := failedAttempt(c)
	src, dst := window.IPOf(c.Orig), window.IPOf(c.Resp)
	var nf uint32
	var hold uint8 // a key with failed attempts outlives one-off keys in full tables
	if failed {
		nf, hold = 1, failedHold
	}
	// horizontal: src, proto/port -> distinct destinations
	hk := hKey{src, c.RespP, proto}
	hh := window.HashIP(dst, 0x9e37)
	if e := d.h.FindHold(hk, hold); e != nil {
		d.addTo(e, fw, sw, slowOK, hh, 1, nf, c.UID, dst)
	} else if p := d.pre(d.hp.GetHold(hk, hold)); d.stage(p, fw, sw, hh, nf, c.UID, dst) {
		e, _ := d.h.GetHold(hk, hold)
		d.promote(e, p, sw, slowOK)
		d.hp.Delete(hk)
	}
	// vertical: src, dst -> distinct proto/ports
	vk := vKey{src, dst}
	vh := window.Mix64(uint64(proto)<<16 | uint64(c.RespP) | 0x5ca0000000)
	// most (src, dst) pairs never see a second port: look at the first
	// stage first; a promoted pair keeps a Done marker there
	p, _ := d.vp.GetHold(vk, hold)
	if p.Done && p.Win == sw {
		if e := d.v.FindHold(vk, hold); e != nil {
			d.addTo(e, fw, sw, slowOK, vh, 1, nf, c.UID, dst)
			return
		}
		*p = Pre{} // the full entry was evicted: start over
	}
	if d.stage(p, fw, sw, vh, nf, c.UID, dst) {
		e, _ := d.v.GetHold(vk, hold)
		d.promote(e, p, sw, slowOK)
		p.Done = true
	}
}

func (d *Detector) pre(p *Pre, _ bool) *Pre { return p }

// stage records an item in a compact first stage; it returns true when
// the key has reached preN distinct items and must be promoted.
func (d *Detector) stage(p *Pre, fw, sw int64, h uint64, failed uint32, uid []byte, dst window.IP) bool {
	if p.Win != sw || (p.N == 0 && !p.Done) {
		if (p.N > 0 || p.Done) && sw < p.Win {
			return false // a late row of the previous slow window: too little to matter
		}
		*p = Pre{Win: sw}
	}
	p.Last = dst
	for i := 0; i < int(p.N); i++ {
		if p.H[i] == h {
			p.Conns[i]++
			p.Failed[i] += uint16(failed)
			return false
		}
	}
	i := p.N
	p.H[i], p.Fast[i], p.Conns[i], p.Failed[i] = h, fw, 1, uint16(failed)
	p.UL[i] = uint8(copy(p.UID[i][:], uid))
	p.N++
	return p.N == preN
}

// promote replays a first stage into a fresh full entry.
func (d *Detector) promote(e *entry, p *Pre, sw int64, slowOK bool) {
	for i := 0; i < int(p.N); i++ {
		if p.Fast[i] <= d.fast.Closed {
			continue
		}
		d.addTo(e, p.Fast[i], sw, slowOK, p.H[i], uint32(p.Conns[i]), uint32(p.Failed[i]), p.UID[i][:p.UL[i]], p.Last)
	}
	p.N = 0
}

func (d *Detector) addTo(e *entry, fw, sw int64, slowOK bool, h uint64, conns, failed uint32, uid []byte, dst window.IP) {
	i, fresh := pick(e.FW[:], &e.FU, fw)
	s := &e.Fast[i]
	if fresh { // (when every slot was busy this drops the oldest window: rare)
		*s = slot{Used: true, Win: fw}
	}
	s.add(h, conns, failed, uid, dst)
	if !slowOK {
		return
	}
	i, fresh = pick(e.SW[:], &e.SU, sw)
	ss := &e.Slow[i]
	if fresh {
		*ss = slot{Used: true, Win: sw}
	}
	ss.add(h, conns, failed, uid, dst)
}

// pick finds the slot of window w in a header, or opens one (a free one,
// else the oldest).
func pick(wins []int64, used *uint8, w int64) (int, bool) {
	free := -1
	for i := range wins {
		if *used&(1<<i) != 0 {
			if wins[i] == w {
				return i, false
			}
		} else if free < 0 {
			free = i
		}
	}
	if free < 0 {
		free = 0
		for i := range wins {
			if wins[i] < wins[free] {
				free = i
			}
		}
	}
	wins[free] = w
	*used |= 1 << free
	return free, true
}

// effective weighs the distinct count by how many attempts failed.
func (d *Detector) effective(s *slot, thr float64) (dist, eff, failFrac float64) {
	if float64(s.Conns)*1.2 < thr {
		// the distinct count cannot reach thr: skip the estimate (the
		// connection count bounds it; good enough for the baseline)
		dist = float64(s.Conns)
	} else {
		// (an estimate, a few percent off: never more than the
		// connections, as the notice's message already said)
		dist = math.Min(math.Round(s.D.Count()), float64(s.Conns))
	}
	if s.Conns > 0 {
		failFrac = float64(s.Failed) / float64(s.Conns)
	}
	w := d.cfg.SuccessWeight
	eff = dist * (w + (1-w)*failFrac)
	return
}

// Advance closes due windows.
func (d *Detector) Advance(wm time.Time, emit detectors.Emit) {
	fc, fok := d.fast.CloseUpTo(wm)
	sc, sok := d.slow.CloseUpTo(wm)
	if fok || sok || len(d.pending) > 0 {
		d.close(fc, fok, sc, sok, emit)
	}
}

// Flush closes everything.
func (d *Detector) Flush(emit detectors.Emit) {
	d.close(math.MaxInt64-1, true, math.MaxInt64-1, true, emit)
}

func (d *Detector) close(fc int64, fok bool, sc int64, sok bool, emit detectors.Emit) {
	for _, n := range d.pending {
		emit(n)
	}
	d.pending = d.pending[:0]
	d.batchSum, d.batchN = [2]float64{}, [2]float64{}
	d.h.Range(func(k hKey, e *entry) bool {
		return d.closeEntry(e, kindH, k.Src.Addr(), netip.Addr{}, k.Port, k.Proto, fc, fok, sc, sok, emit)
	})
	d.v.Range(func(k vKey, e *entry) bool {
		return d.closeEntry(e, kindV, k.Src.Addr(), k.Dst.Addr(), 0, 0, fc, fok, sc, sok, emit)
	})
	if sok {
		d.hp.Range(func(_ hKey, p *Pre) bool { return p.Win <= sc })
		d.vp.Range(func(_ vKey, p *Pre) bool { return p.Win <= sc })
	}
	for i := range d.base {
		if d.batchN[i] > 0 {
			d.base[i] = 0.9*d.base[i] + 0.1*(d.batchSum[i]/d.batchN[i])
		}
	}
	if fok {
		d.fast.Closed = fc
	}
	if sok {
		d.slow.Closed = sc
	}
}

// closeEntry closes the entry's due slots; it returns true when the entry
// is empty and may go.
func (d *Detector) closeEntry(e *entry, kind int, src, dst netip.Addr, port uint16, proto uint8, fc int64, fok bool, sc int64, sok bool, emit detectors.Emit) bool {
	thr := d.cfg.Horizontal
	if kind == kindV {
		thr = d.cfg.Vertical
	}
	if fok {
		// oldest first: a window judged now is the previous one of the next
		for _, i := range fastOrder(e) {
			if s := &e.Fast[i]; s.Used && !s.Closed && s.Win <= fc {
				d.closeFast(e, i, kind, src, dst, port, proto, thr, emit)
			}
		}
		// a judged window older than fc has no next window left to join
		for i := range e.Fast {
			if s := &e.Fast[i]; s.Used && s.Closed && (s.Win < fc || s.Fast) {
				*s = slot{}
				e.FU &^= 1 << i
			}
		}
	}
	if sok {
		// oldest first: the previous window is carried into the next
		order := [2]int{0, 1}
		if e.Slow[1].Used && (!e.Slow[0].Used || e.Slow[1].Win < e.Slow[0].Win) {
			order = [2]int{1, 0}
		}
		for _, i := range order {
			if s := &e.Slow[i]; s.Used && s.Win <= sc {
				d.closeSlow(e, i, kind, src, dst, port, proto, emit)
			}
		}
		if e.Prev.Win < sc {
			e.Prev = Prev{} // too old to join the next window
		}
	}
	for i := range e.Fast {
		if e.Fast[i].Used {
			return false // open, or judged quiet and waiting for the next window
		}
	}
	for i := range e.Slow {
		if e.Slow[i].Used {
			return false
		}
	}
	return e.Prev.Conns == 0 || e.Prev.Done
}

// fastOrder lists the fast slots by window, oldest first.
func fastOrder(e *entry) [3]int {
	o := [3]int{0, 1, 2}
	for i := 1; i < 3; i++ {
		for j := i; j > 0 && e.Fast[o[j]].Win < e.Fast[o[j-1]].Win; j-- {
			o[j], o[j-1] = o[j-1], o[j]
		}
	}
	return o
}

// closeFast judges a fast window that is due: alone, or, when it stays
// under the threshold and the window before it was judged quiet, joined
// with that one on its failed attempts only, so a scan split by a window
// boundary (half in each) is still seen: the windows hop by one window
// over two windows' span, as slow windows do. A window over the threshold (notified or suppressed by
// renotify) is never joined again, so one scan gives one notice. The slot
// is kept, marked closed, until the next window closes.
func (d *Detector) closeFast(e *entry, i, kind int, src, dst netip.Addr, port uint16, proto uint8, thr float64, emit detectors.Emit) {
	s := &e.Fast[i]
	dist, eff, ff := d.effective(s, thr)
	d.batchSum[kind] += eff
	d.batchN[kind]++
	start, end := d.fast.Start(s.Win), d.fast.End(s.Win)
	judged := s
	var u slot
	if eff < thr {
		for j := range e.Fast {
			p := &e.Fast[j]
			if !p.Used || !p.Closed || p.Fast || p.Win != s.Win-1 {
				continue
			}
			u = *s
			u.D.Merge(&p.D)
			u.Conns += p.Conns
			u.Failed += p.Failed
			u.UIDs.Merge(&p.UIDs)
			// only failed attempts count here, as in slow windows: two
			// windows of successful fan-out (a proxy) are twice one
			// window's rate, and must reach the threshold in one
			if udist, _, uff := d.effective(&u, thr); udist*uff >= thr {
				judged, dist, eff, ff, start = &u, udist, udist*uff, uff, d.fast.Start(p.Win)
			}
		}
	}
	s.Closed = true
	if eff < thr {
		return
	}
	s.Fast = true
	for j := range e.Slow {
		// the slow windows this notice covers
		if w := e.Slow[j].Win; e.Slow[j].Used && (w == d.slow.Index(start) || w == d.slow.Index(d.fast.Start(s.Win))) {
			e.Slow[j].Fast = true
		}
	}
	if end.Unix()-e.LastFired >= int64(d.cfg.Renotify/time.Second) {
		e.LastFired = end.Unix()
		emit(d.build(kind, false, judged, src, dst, port, proto, dist, eff, ff, thr, start, end, end.Sub(start)))
	}
}

// closeSlow judges a slow window that is due: alone, or, when the window
// before it stayed quiet (no notice), joined with it, so a slow scan
// anywhere within slow_window is caught whatever its alignment: the
// windows hop by slow_window over two windows' span.
func (d *Detector) closeSlow(e *entry, i, kind int, src, dst netip.Addr, port uint16, proto uint8, emit detectors.Emit) {
	thr := d.cfg.Slow
	s := e.Slow[i]
	prev := e.Prev
	e.Prev = Prev{Win: s.Win, D: s.D, Conns: s.Conns, Failed: s.Failed, Done: s.Fast}
	e.Slow[i] = slot{}
	e.SU &^= 1 << i
	if s.Fast {
		return // a fast notice covered this window
	}
	dist, _, ff := d.effective(&s, thr)
	eff := dist * ff // only failed attempts count for slow scans
	start, end := d.slow.Start(s.Win), d.slow.End(s.Win)
	if eff < thr && prev.Win == s.Win-1 && prev.Conns > 0 && !prev.Done {
		u := s
		u.D.Merge(&prev.D)
		u.Conns += prev.Conns
		u.Failed += prev.Failed
		if udist, _, uff := d.effective(&u, thr); udist*uff >= thr {
			s, dist, ff, eff, start = u, udist, uff, udist*uff, d.slow.Start(prev.Win)
		}
	}
	if eff >= thr {
		emit(d.build(kind, true, &s, src, dst, port, proto, dist, eff, ff, thr, start, end, end.Sub(start)))
		e.Prev.Done = true
	}
}

func fmtDur(d time.Duration) string { return window.FmtDur(d) }

func (d *Detector) build(kind int, slow bool, s *slot, src, dst netip.Addr, port uint16, proto uint8, dist, eff, failFrac, thr float64, start, end time.Time, win time.Duration) *notice.Notice {
	base := d.base[kind]
	n := &notice.Notice{Timestamp: end, Start: start, End: end, Source: src}
	ratio := eff / thr
	dev := (dist - base) / math.Max(1, base)
	feats := map[string]notice.Feature{
		"failed_ratio": notice.F(failFrac, 0, failFrac),
		"connections":  {Value: float64(s.Conns)},
		"effective":    notice.F(eff, thr, ratio),
	}
	// the message's count: the estimate (HyperLogLog, a few percent off)
	// is at most the connections, which the message also gives ("113
	// hosts" from 108 connections read as a contradiction)
	shown := min(dist, float64(s.Conns))
	how := fmt.Sprintf("(%d connections, %.0f%% failed; baseline %s)", s.Conns, failFrac*100, window.Num(base))
	switch kind {
	case kindH:
		n.Rule = notice.RuleScanHorizontal
		n.DestPort, n.Proto = port, window.ProtoName(proto)
		if dist <= 1 {
			n.Destination = s.Last.Addr()
		}
		feats["distinct_hosts"] = notice.F(dist, base, dev)
		svc := fmt.Sprintf("on %s/%d", n.Proto, port)
		if proto == 1 {
			svc, n.DestPort = "with ICMP echo", 0
		}
		n.Message = fmt.Sprintf("%s contacted %.0f hosts %s in %s %s", src, shown, svc, fmtDur(win), how)
	case kindV:
		n.Rule = notice.RuleScanVertical
		n.Destination = dst
		feats["distinct_ports"] = notice.F(dist, base, dev)
		n.Message = fmt.Sprintf("%s probed %.0f ports on %s in %s %s", src, shown, dst, fmtDur(win), how)
	}
	if slow {
		n.Rule = notice.RuleScanSlow
		n.Message = "slow scan: " + n.Message
	}
	n.RiskScore = window.Risk(ratio)
	n.UIDs = s.UIDs.Strings()
	n.Explain = notice.Explanation{Detector: "scan", Score: eff, Features: feats,
		Top: window.TopFeatures(feats, 3), Window: win.Seconds()}
	key := ""
	if kind == kindV {
		key = "v"
	}
	n.Finalize(key)
	return n
}

// snapshotVersion is bumped when the snapshot's form changes.
const snapshotVersion = 1

type snap struct {
	H          []window.Entry[hKey, Entry]
	V          []window.Entry[vKey, Entry]
	HP         []window.Entry[hKey, Pre]
	VP         []window.Entry[vKey, Pre]
	HEv, VEv   int64
	HPEv, VPEv int64
	Base       [2]float64
	FastClosed int64
	SlowClosed int64
	Late       int64
	Pending    []*notice.Notice
	// where each table's entries sit (eviction order)
	HL, VL, HPL, VPL window.Layout
	// Chunks is how many gob messages of entries follow this one, per
	// table (window.GobChunksLater); none in older snapshots, which
	// hold their entries here
	Chunks []int
	// Version is snapshotVersion (0: written before snapshots carried
	// one, in the same form); a newer one is refused (SnapshotVersion)
	Version int
}

// ReadChunks reads the entries that follow a chunked snapshot's head
// (window.GobChunksLater).
func (s *snap) ReadChunks(dec *gob.Decoder) (err error) {
	if s.H, err = window.ReadChunks(dec, s.Chunks, 0, s.H); err != nil {
		return err
	}
	if s.V, err = window.ReadChunks(dec, s.Chunks, 1, s.V); err != nil {
		return err
	}
	if s.HP, err = window.ReadChunks(dec, s.Chunks, 2, s.HP); err != nil {
		return err
	}
	if s.VP, err = window.ReadChunks(dec, s.Chunks, 3, s.VP); err != nil {
		return err
	}
	return nil
}

// Snapshot encodes the windows (gob).
func (d *Detector) Snapshot() ([]byte, error) { return detectors.Encoded(d.Capture()) }

var _ detectors.Capturer = (*Detector)(nil)

// Capture copies the windows; the returned function encodes the copy.
func (d *Detector) Capture() func(io.Writer) error {
	h, v, hp, vp := d.h.Export(), d.v.Export(), d.hp.Export(), d.vp.Export()
	s := &snap{Version: snapshotVersion, HEv: d.h.Evicted(), VEv: d.v.Evicted(), Base: d.base, HPEv: d.hp.Evicted(), VPEv: d.vp.Evicted(),
		FastClosed: d.fast.Closed, SlowClosed: d.slow.Closed, Late: d.fast.Late, Pending: slices.Clone(d.pending),
		HL: d.h.Layout(), VL: d.v.Layout(), HPL: d.hp.Layout(), VPL: d.vp.Layout(),
		Chunks: []int{window.Chunks(len(h)), window.Chunks(len(v)), window.Chunks(len(hp)), window.Chunks(len(vp))}}
	return window.GobChunksLater(s, exported(h), exported(v), window.Chunked(hp), window.Chunked(vp))
}

// exported is the Part of a full table's entries (a copy) as snapshots
// carry them, made as encoded.
func exported[K comparable](es []window.Entry[K, entry]) window.Part {
	return window.ChunkedFunc(len(es), func(j int, o *window.Entry[K, Entry]) {
		o.K = es[j].K
		es[j].V.export(&o.V)
	})
}

// Restore loads a Snapshot.
func (d *Detector) Restore(b []byte) error {
	var s snap
	dec, err := window.GobHead(b, &s)
	if err != nil {
		return err
	}
	if err := window.SnapshotVersion("scan", s.Version, 0, snapshotVersion); err != nil {
		return err
	}
	h, err := loaded(dec, s.Chunks, 0, s.H)
	if err != nil {
		return err
	}
	v, err := loaded(dec, s.Chunks, 1, s.V)
	if err != nil {
		return err
	}
	if s.HP, err = window.ReadChunks(dec, s.Chunks, 2, s.HP); err != nil {
		return err
	}
	if s.VP, err = window.ReadChunks(dec, s.Chunks, 3, s.VP); err != nil {
		return err
	}
	d.h.ImportLayout(h, s.HEv, s.HL)
	d.v.ImportLayout(v, s.VEv, s.VL)
	d.hp.ImportLayout(s.HP, s.HPEv, s.HPL)
	d.vp.ImportLayout(s.VP, s.VPEv, s.VPL)
	d.base = s.Base
	d.fast.Closed, d.slow.Closed, d.fast.Late = s.FastClosed, s.SlowClosed, s.Late
	d.pending = s.Pending
	return nil
}

// loaded is a full table's entries as it holds them: those of the
// snapshot's head (an older snapshot's) and of its part i, each chunk
// made live as read.
func loaded[K comparable](dec *gob.Decoder, chunks []int, i int, head []window.Entry[K, Entry]) ([]window.Entry[K, entry], error) {
	live := make([]window.Entry[K, entry], 0, len(head))
	add := func(es []window.Entry[K, Entry]) {
		for j := range es {
			live = append(live, window.Entry[K, entry]{K: es[j].K})
			live[len(live)-1].V.load(&es[j].V)
		}
	}
	add(head)
	err := window.EachChunk(dec, chunks, i, add)
	return live, err
}
