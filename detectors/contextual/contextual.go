// Package contextual flags hosts active at hours they are normally silent:
// each internal host keeps an hour-of-week and hour-of-day activity
// profile, and a global hour-of-day prior covers hosts with too little
// history.
package contextual

import (
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

// Config is the [detectors.contextual] section.
type Config struct {
	Enabled  bool          `toml:"enabled"`
	Lateness time.Duration `toml:"lateness"`
	// MinDays of history (since the host, or for the prior, the data, was
	// first seen) before anything fires.
	MinDays int `toml:"min_days"`
	// MaxProb: an hour is "normally silent" when the host's smoothed
	// probability of being active then is below this.
	MaxProb float64 `toml:"max_prob"`
	// MinConns in the hour before an off-hours hour is worth a notice.
	MinConns int `toml:"min_conns"`
	// Location is the time zone of the hour profile (IANA name, default UTC).
	Location string `toml:"location"`
	// Internal networks (used when local_orig is not set).
	Internal []string `toml:"internal"`
	MaxHosts int      `toml:"max_hosts"`
	// Model is a model file from `zeekanom train` whose hour profiles
	// (Profiles) the detector starts from ("" none).
	Model string `toml:"model"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Enabled: true, Lateness: 5 * time.Minute, MinDays: 7, MaxProb: 0.1, MinConns: 20,
		Location: "UTC", Internal: window.DefaultInternal(), MaxHosts: 200000}
}

// Validate reports the first bad value of [detectors.contextual] as a
// *window.ConfigError naming its key.
func (cfg Config) Validate() error {
	var c window.Check
	c.Duration("lateness", cfg.Lateness, false)
	c.AtLeast("min_days", cfg.MinDays, 1)
	c.Positive("max_prob", cfg.MaxProb)
	c.Within("max_prob", cfg.MaxProb, 0, 1)
	c.AtLeast("min_conns", cfg.MinConns, 0)
	if _, err := time.LoadLocation(cfg.Location); err != nil || cfg.Location == "" {
		c.Fail("location", "%q is not a time zone (UTC, Local, Europe/Berlin, ...)", cfg.Location)
	}
	c.Networks("internal", cfg.Internal)
	c.AtLeast("max_hosts", cfg.MaxHosts, 1)
	return c.Err()
}

// adjacentWeight discounts the activity rate of the neighbouring hours
// when judging an hour (see eval).
const adjacentWeight = 0.5

// Slot is one hour of one host as snapshots carry it (the detector keeps
// an open hour as a slot, its set of destinations sparse).
type Slot struct {
	Used  bool
	Win   int64
	Conns uint32
	Bytes uint64
	Dsts  window.HLL
	UIDs  window.UIDs
	// Est: a connection of the hour was established (window.Established);
	// only such hours teach the subnet and population priors
	Est bool
	// Quiet: an hour that cannot fire (Detector.cannotFire), kept as its
	// window and Est only
	Quiet bool
	// NoBytes: no row of the hour gave orig_bytes or resp_bytes (slot's
	// Logged off), so Bytes is 0 for what the log never gave. A field a
	// snapshot of an older build lacks (gob leaves it false): its hours
	// restore as logged, as that build read them.
	NoBytes bool
}

// slot is an open hour of one host (160 bytes, where a Slot is 336): a
// Slot without Used (a slot in use has an id), with its destinations
// counted in a window.SparseHLL, its HLL (if any) in the detector's slab,
// and its uids in a window.UIDSample.
type slot struct {
	Bytes uint64
	UIDs  window.UIDSample
	Conns uint32
	Dsts  window.SparseHLL
	Est   bool
	// Logged: a row of the hour gave orig_bytes or resp_bytes (in
	// the padding after Est); Bytes of an hour without is not a count
	Logged bool
}

// export writes s into o (zeroed) as snapshots carry it; its HLL (if
// any) is in ds (window.SparseHLL.CopyOut).
func (s *slot) export(o *Slot, win int64, ds []window.HLL) {
	*o = Slot{Used: true, Win: win, Conns: s.Conns, Bytes: s.Bytes, Est: s.Est, NoBytes: !s.Logged}
	s.UIDs.Export(&o.UIDs)
	s.Dsts.Fill(&o.Dsts, ds)
}

// load makes s (zeroed) the open hour o, its HLL in sl when it has more
// than window.HLLSparse registers set.
func (s *slot) load(o *Slot, sl *window.Slab[window.HLL]) {
	*s = slot{Conns: o.Conns, Bytes: o.Bytes, Est: o.Est, Logged: !o.NoBytes}
	s.UIDs.Load(&o.UIDs)
	s.Dsts.Set(&o.Dsts, sl)
}

// nSlots is how many hours a host can have open at once.
const nSlots = 2

// quiet and quietEst are the slot ids of a quiet hour (cannotFire),
// which takes no slot: the hour's Est is all it keeps.
const (
	quiet    int32 = -1
	quietEst int32 = -2
)

// Entry is one host's profile as snapshots carry it.
type Entry struct {
	Slots     [nSlots]Slot
	HOW       [168]uint16 // weeks active at each hour of week
	HOD       [24]uint16  // days active at each hour of day (HOW's sum over weekdays; not read back)
	FirstHour int64       // first window (hour index) seen
	LastDay   int64       // last day (window/24) with an established connection (-1: none)
}

// state is one host's live profile (192 bytes): per open hour its number
// and the slot it holds in the detector's slab (0: none), then the
// profile. A row reads the first cache line to find its slot, and a new
// host takes one slot, not two. Hours and days count in int32 (hours
// from 1970, ±2.5 million for the times zeekreader takes; snapshots and
// model files keep int64, and a restore refuses what does not fit).
type state struct {
	Win       [nSlots]int32
	Slot      [nSlots]int32
	FirstHour int32
	LastDay   int32
	// HOW counts weeks in a byte, saturating at 255 (about 5 years;
	// as uint16 it was most of the profile); snapshots and model files
	// keep uint16. An hour active every week then still has a rate of
	// 0.5 after ten years, far above what fires.
	HOW [168]uint8
}

// daysAt is the days the host was active at hour of day h: the sum of
// its weeks active at h on each weekday, since an active hour counts once
// in each. Snapshots and model files carry it as Entry.HOD, which a
// restore does not read (it was a second count, 48 bytes a host, equal to
// this sum until an hour of week saturates after five years).
func (e *state) daysAt(h int) uint16 {
	var n uint16
	for wd := range 7 {
		n += uint16(e.HOW[wd*24+h])
	}
	return n
}

// hod is daysAt for every hour, as snapshots and model files carry it.
func (e *state) hod() (a [24]uint16) {
	for h := range a {
		a[h] = e.daysAt(h)
	}
	return a
}

// check reports hours and days of e that a state cannot hold (int32).
func (e *Entry) check() error {
	fits := func(v int64) bool { return v == int64(int32(v)) }
	ok := fits(e.FirstHour) && fits(e.LastDay)
	for _, sl := range e.Slots {
		ok = ok && (!sl.Used || fits(sl.Win))
	}
	if !ok {
		return fmt.Errorf("an hour or day out of range (first hour %d, last day %d)", e.FirstHour, e.LastDay)
	}
	return nil
}

// wideHOW and narrowHOW convert a profile's weeks-active counts to and
// from their uint16 form in snapshots and model files.
func wideHOW(h *[168]uint8) (w [168]uint16) {
	for i, c := range h {
		w[i] = uint16(c)
	}
	return w
}

func narrowHOW(w *[168]uint16) (h [168]uint8) {
	for i, c := range w {
		h[i] = uint8(min(c, math.MaxUint8))
	}
	return h
}

// Prior is a subnet's (/24, /64) hour-of-day profile: active host-hours
// per hour of day and host-days, with the current batch's updates pending
// until every host of the batch has been scored (order independence).
type Prior struct {
	HOD, PHOD   [24]float32
	Days, PDays float32
	First       int64 // first hour seen
}

// Detector is the off-hours detector.
type Detector struct {
	cfg      Config
	win      window.Windows
	t        *window.Table[window.IP, state]
	slots    window.Slab[slot]
	hlls     window.Slab[window.HLL] // the destinations of slots with many
	sub      *window.Table[window.IP, Prior]
	internal window.Networks
	loc      *time.Location
	// global prior: active host-hours per hour of day, and host-days seen
	GHOD      [24]float64
	GHostDays float64
	GFirst    int64
	pending   []*notice.Notice
	bhod      [24]float64
	bdays     float64
	// profiles from a model (LoadProfiles): the hour their archive ended,
	// and the hours from there to the first row of this run (set then),
	// which do not count as observed days for what the archive learnt
	trainedEnd int64
	gap        int64
	gapSet     bool
	// trainedFirst is the archive's first hour: hours from there to
	// trainedEnd were counted by the archive, and are judged but not
	// learnt again (a run over logs the archive covered)
	trainedFirst int64
	lastWin      int64 // the newest hour seen (Profiles)
	// noQuiet: every hour takes a slot (tests: quiet hours change
	// nothing); quietHours and slotsTaken count the hours opened each way
	noQuiet                bool
	quietHours, slotsTaken int64
}

var _ detectors.Detector = (*Detector)(nil)
var _ detectors.Stateful = (*Detector)(nil)

// New builds the detector.
func New(cfg Config) *Detector {
	loc, err := time.LoadLocation(cfg.Location)
	if err != nil || cfg.Location == "" {
		loc = time.UTC
	}
	d := &Detector{cfg: cfg, win: window.NewWindows(time.Hour, cfg.Lateness),
		t: window.NewIPTable[state](cfg.MaxHosts), sub: window.NewIPTable[Prior](max(cfg.MaxHosts/16, 64)), internal: window.MustNetworks(cfg.Internal), loc: loc,
		GFirst: math.MaxInt64}
	d.t.OnEvict = func(_ window.IP, e *state) {
		for i, id := range e.Slot {
			if id > 0 {
				d.free(id)
			}
			e.Slot[i] = 0
		}
	}
	return d
}

// free takes back slot id and its HLL.
func (d *Detector) free(id int32) {
	d.slots.At(id).Dsts.Free(&d.hlls)
	d.slots.Free(id)
}

// heldPrior is held for subnet priors: 36 passes a day of host history
// (host-days), up to MaxHold, so that a flood over many subnets does not
// flush the priors new hosts are judged by.
func heldPrior(p *Prior) uint8 { return uint8(min(36*p.Days, window.MaxHold)) }

// held is how many passes of the eviction hand a host's profile is held
// for when the host is seen: 36 a day of history, the most (MaxHold) from
// a week on. A flood of new (spoofed) internal sources then churns
// through the unheld entries and cannot flush established profiles,
// which would leave every host to the priors, which the flood skews too.
func held(e *state) uint8 {
	if e.LastDay < 0 {
		return 0
	}
	days := max(e.LastDay-e.FirstHour/24, 0)
	return uint8(min(36*days, window.MaxHold))
}

func (d *Detector) Name() string             { return "contextual" }
func (d *Detector) Kinds() []zeekreader.Kind { return []zeekreader.Kind{zeekreader.KindConn} }

// Needs: an hour's bytes are orig_bytes plus resp_bytes
// (detectors.Needer).
func (d *Detector) Needs() []detectors.Need {
	return []detectors.Need{{Kind: zeekreader.KindConn, Columns: []string{"orig_bytes", "resp_bytes"}, Judges: "the full bytes of an off-hours hour"}}
}

// Stats reports tracked hosts, evictions and late rows.
func (d *Detector) Stats() window.Stats {
	s := d.t.Stats()
	s.Late = d.win.Late
	return s
}

// Observe takes a conn row.
func (d *Detector) Observe(ev *zeekreader.Event) {
	c := ev.Conn
	if c == nil || ev.Open || window.Special(c.Resp) || window.Special(c.Orig) {
		return
	}
	switch c.LocalOrig {
	case zeekreader.False:
		return
	case zeekreader.Unknown:
		if !d.internal.Contains(c.Orig) {
			return
		}
	}
	w, ok := d.win.Accept(c.TS)
	if !ok || w != int64(int32(w)) {
		return // (the second: never from zeekreader's times)
	}
	if d.trainedEnd != 0 && !d.gapSet {
		d.gap, d.gapSet = max(w-d.trainedEnd, 0), true
	}
	d.lastWin = max(d.lastWin, w)
	e, created := d.t.GetHoldFor(window.IPOf(c.Orig), held)
	if created {
		e.FirstHour, e.LastDay = int32(w), -1
	}
	e.FirstHour = min(e.FirstHour, int32(w))
	if w < d.GFirst {
		d.GFirst = w
	}
	i, found := window.SlotOf(e.Win[:], e.Slot[:], int32(w))
	if !found {
		host := window.IPOf(c.Orig)
		if i < 0 {
			// every slot holds an older hour that is due: the oldest is
			// closed now
			i = window.Oldest(e.Win[:], e.Slot[:], math.MaxInt32)
			if n := d.eval(host, e, i); n != nil {
				d.pending = append(d.pending, n)
			}
		}
		e.Win[i] = int32(w)
		if !d.noQuiet && d.cannotFire(host, e, w) {
			e.Slot[i] = quiet
			d.quietHours++
		} else {
			e.Slot[i], _ = d.slots.New()
			d.slotsTaken++
		}
	}
	if e.Slot[i] < 0 {
		if e.Slot[i] == quiet && window.Established(c.ConnState, c.History) {
			e.Slot[i] = quietEst
		}
		return
	}
	s := d.slots.At(e.Slot[i])
	s.Conns++
	s.Est = s.Est || window.Established(c.ConnState, c.History)
	s.Bytes = window.AddBytes(s.Bytes, window.AddBytes(c.OrigBytes, c.RespBytes))
	s.Logged = s.Logged || c.HasOrigBytes || c.HasRespBytes
	s.Dsts.Add(window.HashAddr(c.Resp, 3), &d.hlls)
	s.UIDs.Add(c.UID)
}

// Advance closes due hours.
func (d *Detector) Advance(wm time.Time, emit detectors.Emit) {
	c, ok := d.win.CloseUpTo(wm)
	if ok || len(d.pending) > 0 {
		d.close(c, ok, emit)
	}
}

// Flush closes every hour.
func (d *Detector) Flush(emit detectors.Emit) { d.close(math.MaxInt64-1, true, emit) }

func (d *Detector) close(upto int64, ok bool, emit detectors.Emit) {
	d.pending = window.EmitAll(d.pending, emit)
	if !ok {
		return
	}
	d.bhod, d.bdays = [24]float64{}, 0
	d.t.Range(func(k window.IP, e *state) bool {
		for {
			o := window.Oldest(e.Win[:], e.Slot[:], int32(min(upto, math.MaxInt32)))
			if o < 0 {
				break
			}
			if n := d.eval(k, e, o); n != nil {
				emit(n)
			}
		}
		return false
	})
	// the global prior learns after the batch (order independent)
	for i := range d.GHOD {
		d.GHOD[i] += d.bhod[i]
	}
	d.sub.Range(func(_ window.IP, p *Prior) bool {
		for i := range p.HOD {
			p.HOD[i] += p.PHOD[i]
		}
		p.Days += p.PDays
		p.PHOD, p.PDays = [24]float32{}, 0
		return false
	})
	d.GHostDays += d.bdays
	d.win.Closed = upto
}

// subnetOf is the /24 (IPv4) or /64 (IPv6) of a host.
func subnetOf(a window.IP) window.IP {
	if a[10] == 0xff && a[11] == 0xff && a[0]|a[1]|a[2]|a[3]|a[4]|a[5]|a[6]|a[7]|a[8]|a[9] == 0 {
		a[15] = 0
		return a
	}
	clear(a[8:])
	return a
}

// observedDays is the days from hour first to hour w, less the gap
// between a model's archive and this run when first is in the archive.
func (d *Detector) observedDays(first, w int64) float64 {
	if d.trainedEnd != 0 && first < d.trainedEnd && w >= d.trainedEnd {
		w -= d.gap
	}
	return float64(w-first) / 24
}

func (d *Detector) hours(w int64) (how, hod int) {
	t := d.win.Start(w).In(d.loc)
	hod = t.Hour()
	how = int(t.Weekday())*24 + hod
	return
}

// cannotFire reports an hour w of host e that no row still to come can
// make fire: a quiet hour, kept without a slot (its connections,
// destinations and uids are only a notice's). Every row still to come is
// of a window after the last closed one, so the host's, its subnet's and
// the population's first hours cannot move past that; and learning only
// adds active hours, so a host's own rate at w can only rise. So w is
// quiet when the host's own history (its first hour closed) already puts
// its rate at w at max_prob or above, or when no history a basis could
// use, first hours moved as far back as rows still to come can move them,
// reaches min_days (the host's first week, all hosts' in a new deployment
// without a model). Nothing is known before the first watermark closes
// the hours before it.
func (d *Detector) cannotFire(hostIP window.IP, e *state, w int64) bool {
	if d.win.Closed < -1<<61 {
		return false
	}
	lo := d.win.Closed + 1
	if first := int64(e.FirstHour); first < lo && d.observedDays(first, w) >= float64(d.cfg.MinDays) {
		how, hod := d.hours(w)
		p, _, _ := d.prob(hostIP, e, w, how, hod)
		return p >= d.cfg.MaxProb
	}
	// (days before observedDays takes out a model's gap: at least as many)
	short := func(first int64) bool { return float64(w-min(first, lo))/24 < float64(d.cfg.MinDays) }
	if !short(int64(e.FirstHour)) || !short(d.GFirst) {
		return false
	}
	if sp := d.sub.Peek(subnetOf(hostIP)); sp != nil && !short(sp.First) {
		return false
	}
	return true
}

// eval judges the hour in slot i of host e, learns from it and frees it.
func (d *Detector) eval(hostIP window.IP, e *state, i int) *notice.Notice {
	host := hostIP.Addr()
	id, win := e.Slot[i], int64(e.Win[i])
	e.Slot[i] = 0
	how, hod := d.hours(win)
	if id < 0 {
		// a quiet hour: learnt, and it cannot fire (cannotFire)
		if d.trainedEnd == 0 || win < d.trainedFirst || win >= d.trainedEnd {
			d.learn(hostIP, e, win, id == quietEst, how, hod)
		}
		return nil
	}
	s := d.slots.At(id)
	defer d.free(id)
	p, days, basis := d.prob(hostIP, e, win, how, hod)
	ok := basis != ""
	// learn (after scoring): one active hour, unless the model's archive
	// counted it already (`eval -m` on the training capture, or a run
	// started on logs the archive covered, would count it twice: a
	// one-off night would look like two)
	if d.trainedEnd == 0 || win < d.trainedFirst || win >= d.trainedEnd {
		d.learn(hostIP, e, win, s.Est, how, hod)
	}
	if !ok || p >= d.cfg.MaxProb || int(s.Conns) < d.cfg.MinConns {
		return nil
	}
	ratio := math.Sqrt(float64(s.Conns) / float64(d.cfg.MinConns) * d.cfg.MaxProb / math.Max(p, 1e-3))
	start, end := d.win.Start(win), d.win.End(win)
	n := &notice.Notice{Rule: notice.RuleOffHours, Timestamp: end, Start: start, End: end, Source: host}
	dsts := math.Round(s.Dsts.Count(&d.hlls))
	lt := start.In(d.loc)
	// who is silent then, by whose history: a new host has none of its
	// own ("an hour it is normally silent (active 7% of the time, by its
	// subnet's hour of day (new host))")
	who, silent, by := host.String(), "it is", fmt.Sprintf("by %s, over %.0f days of its history", basis, math.Floor(days))
	switch basis {
	case basisSubnet:
		who, silent, by = who+", a new host,", "its subnet is", "by "+basis
	case basisAll:
		who, silent, by = who+", a new host,", "all hosts are", "by "+basis
	}
	// (the destinations, an estimate, are at most the connections)
	n.Message = fmt.Sprintf("%s made %d connections to %.0f hosts on %s %02d:00–%02d:00 %s, an hour %s normally silent (active then %.0f%% of the time %s)",
		who, s.Conns, min(dsts, float64(s.Conns)), lt.Weekday().String()[:3], lt.Hour(), (lt.Hour()+1)%24, lt.Format("MST"), silent, p*100, by)
	n.RiskScore = window.Risk(ratio)
	f := map[string]notice.Feature{
		"connections":    notice.F(float64(s.Conns), float64(d.cfg.MinConns), float64(s.Conns)/float64(d.cfg.MinConns)),
		"hour_active_p":  notice.F(p, d.cfg.MaxProb, p/d.cfg.MaxProb),
		"distinct_hosts": {Value: dsts},
		"bytes":          {Value: float64(s.Bytes)},
		"history_days":   {Value: math.Floor(days)},
	}
	if !s.Logged {
		// no row of the hour gave orig_bytes or resp_bytes (a log
		// without the columns, Zeek's "-" on every row): its bytes are
		// unknown, not 0 B
		delete(f, "bytes")
		n.Message += "; bytes not logged"
	}
	n.UIDs = s.UIDs.Strings()
	n.Explain = notice.Explanation{Detector: "contextual", Score: ratio, Features: f,
		Top: []string{"hour_active_p", "connections"}, Window: 3600}
	n.Finalize("")
	return n
}

// The bases of a new host's p (prob): its subnet's or all hosts' hours.
const (
	basisSubnet = "its subnet's hour of day"
	basisAll    = "all hosts' hour of day"
)

// prob is how often host e is active at hour win (how, hod), by the
// basis it names ("": none yet, the hour cannot be judged), and the days
// of the host's own history.
func (d *Detector) prob(hostIP window.IP, e *state, win int64, how, hod int) (p, days float64, basis string) {
	days = d.observedDays(int64(e.FirstHour), win)
	gdays := 0.0
	if d.GFirst != math.MaxInt64 {
		gdays = d.observedDays(d.GFirst, win)
	}
	sp := d.sub.Peek(subnetOf(hostIP))
	var rate func(dh int) float64 // p at the hour dh (-1, 0, +1) from this one
	// a neighbour's count leaves out one active hour: it may be this very
	// activity's own start (02:58 of a night that runs on past 03:00),
	// and one active hour is no habit
	count := func(c float64, dh int) float64 {
		if dh != 0 {
			return max(c-1, 0)
		}
		return c
	}
	switch {
	case days >= float64(d.cfg.MinDays):
		// the host's own profile: hour of day, and hour of week once
		// there are two weeks (weekends differ from weekdays)
		nd, weeks := math.Floor(days)+1, math.Floor(days/7)
		rate = func(dh int) float64 {
			p := (count(float64(e.daysAt((hod+24+dh)%24)), dh) + 0.5) / nd
			if weeks >= 2 {
				// hour of week, shrunk towards the hour-of-day rate (m = 2
				// pseudo-weeks), so a few weeks of history do not overreact
				p = (count(float64(e.HOW[(how+168+dh)%168]), dh) + 2*p) / (weeks + 2)
			}
			return p
		}
		basis = "hour of day"
		if weeks >= 2 {
			basis = "hour of week"
		}
	case sp != nil && d.observedDays(sp.First, win) >= float64(d.cfg.MinDays) && sp.Days > 0:
		// a new host: its subnet's hour-of-day prior, stricter
		rate = func(dh int) float64 {
			return 2 * (count(float64(sp.HOD[(hod+24+dh)%24]), dh) + 0.5) / (float64(sp.Days) + 1)
		}
		basis = basisSubnet
	case gdays >= float64(d.cfg.MinDays) && d.GHostDays > 0:
		// a new host: the population's hour-of-day prior, stricter
		rate = func(dh int) float64 { return 2 * (count(d.GHOD[(hod+24+dh)%24], dh) + 0.5) / (d.GHostDays + 1) }
		basis = basisAll
	}
	if rate != nil {
		// Hours are bins of a clock, not of the host's habits: a job at
		// 23:55 with a few minutes of jitter lands at 00:00 some days. So
		// an hour next to a habitual one is not a silent hour: p is at
		// least half the rate of either neighbour (circular over the day
		// and the week). Only the neighbours count, so an hour two or more
		// from any activity keeps its own, low p.
		p = max(rate(0), adjacentWeight*max(rate(-1), rate(1)))
	}
	return p, days, basis
}

// learn counts hour win as one active hour of host e (and, with an
// established connection (est), of its subnet's and the population's
// priors).
func (d *Detector) learn(hostIP window.IP, e *state, win int64, est bool, how, hod int) {
	if e.HOW[how] < math.MaxUint8 {
		e.HOW[how]++
	}
	if est {
		// the priors learn from hours with an established connection: a
		// flood of spoofed sources (S0) at 02:00 would make 03:00 an
		// hour next to activity for every new host
		d.bhod[hod]++
		sp, created := d.sub.GetHoldFor(subnetOf(hostIP), heldPrior)
		if created {
			sp.First = win
		}
		sp.First = min(sp.First, win)
		sp.PHOD[hod]++
		if day := int32(win / 24); day != e.LastDay {
			e.LastDay = day
			d.bdays++ // host-days: each day a host was active at all
			sp.PDays++
		}
	}
}

// snapshotVersion is bumped when the snapshot's form changes.
const snapshotVersion = 1

type snap struct {
	Entries   []window.Entry[window.IP, Entry]
	Subnets   []window.Entry[window.IP, Prior]
	SubEv     int64
	Ev        int64
	Closed    int64
	Late      int64
	GHOD      [24]float64
	GHostDays float64
	GFirst    int64
	Pending   []*notice.Notice
	Layout    window.Layout // where Entries sit in the table (eviction order)
	SubLayout window.Layout
	// a model's profiles: see Detector.trainedEnd
	TrainedEnd, Gap int64
	GapSet          bool
	TrainedFirst    int64
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
	if s.Entries, err = window.ReadChunks(dec, s.Chunks, 0, s.Entries); err != nil {
		return err
	}
	if s.Subnets, err = window.ReadChunks(dec, s.Chunks, 1, s.Subnets); err != nil {
		return err
	}
	return nil
}

// Snapshot encodes the state (gob), hosts as Entry values.
func (d *Detector) Snapshot() ([]byte, error) { return detectors.Encoded(d.Capture()) }

var _ detectors.Capturer = (*Detector)(nil)

// Capture copies the state; the returned function encodes the copy
// (detectors.Capturer).
func (d *Detector) Capture() func(io.Writer) error {
	live := d.t.Export()
	var slots []slot // the open hours, copied once (entries made as encoded)
	for j := range live {
		for i := range live[j].V.Slot {
			if live[j].V.Slot[i] > 0 { // (a quiet hour has none)
				slots = d.slots.CopyOutOne(&live[j].V.Slot[i], slots)
			}
		}
	}
	var ds []window.HLL // and their HLLs
	for i := range slots {
		ds = slots[i].Dsts.CopyOut(&d.hlls, ds)
	}
	subs := d.sub.Export()
	s := &snap{nil, nil, d.sub.Evicted(), d.t.Evicted(), d.win.Closed, d.win.Late, d.GHOD, d.GHostDays, d.GFirst, slices.Clone(d.pending), d.t.Layout(), d.sub.Layout(), d.trainedEnd, d.gap, d.gapSet, d.trainedFirst,
		[]int{window.Chunks(len(live)), window.Chunks(len(subs))}, snapshotVersion}
	entries := window.ChunkedFunc(len(live), func(j int, e *window.Entry[window.IP, Entry]) {
		v := &live[j].V
		e.K, e.V.HOW, e.V.HOD, e.V.FirstHour, e.V.LastDay = live[j].K, wideHOW(&v.HOW), v.hod(), int64(v.FirstHour), int64(v.LastDay)
		for i, id := range v.Slot {
			switch {
			case id > 0:
				slots[id-1].export(&e.V.Slots[i], int64(v.Win[i]), ds)
			case id < 0:
				e.V.Slots[i] = Slot{Used: true, Quiet: true, Win: int64(v.Win[i]), Est: id == quietEst}
			}
		}
	})
	return window.GobChunksLater(s, entries, window.Chunked(subs))
}

// Restore loads a Snapshot.
func (d *Detector) Restore(b []byte) error {
	var s snap
	dec, err := window.GobHead(b, &s)
	if err != nil {
		return err
	}
	if err := window.SnapshotVersion("contextual", s.Version, 0, snapshotVersion); err != nil {
		return err
	}
	var slots window.Slab[slot]
	var hlls window.Slab[window.HLL]
	var live []window.Entry[window.IP, state]
	var damaged error
	add := func(es []window.Entry[window.IP, Entry]) {
		for _, se := range es {
			if err := se.V.check(); err != nil {
				damaged = cmp.Or(damaged, fmt.Errorf("contextual snapshot, host %s: %w", se.K.Addr(), err))
				continue
			}
			live = append(live, window.Entry[window.IP, state]{K: se.K})
			e := &live[len(live)-1].V
			e.HOW, e.FirstHour, e.LastDay = narrowHOW(&se.V.HOW), int32(se.V.FirstHour), int32(se.V.LastDay)
			for i := range se.V.Slots {
				switch sl := &se.V.Slots[i]; {
				case sl.Used && sl.Quiet:
					e.Slot[i] = quiet
					if sl.Est {
						e.Slot[i] = quietEst
					}
					e.Win[i] = int32(sl.Win)
				case sl.Used:
					var p *slot
					e.Slot[i], p = slots.New()
					p.load(sl, &hlls)
					e.Win[i] = int32(sl.Win)
				}
			}
		}
	}
	add(s.Entries) // (an older snapshot's, in its head)
	if err := window.EachChunk(dec, s.Chunks, 0, add); err != nil {
		return err
	}
	if damaged != nil {
		return damaged
	}
	if s.Subnets, err = window.ReadChunks(dec, s.Chunks, 1, s.Subnets); err != nil {
		return err
	}
	d.slots, d.hlls = slots, hlls
	d.t.ImportLayout(live, s.Ev, s.Layout)
	d.sub.ImportLayout(s.Subnets, s.SubEv, s.SubLayout)
	d.win.Closed, d.win.Late, d.GHOD, d.GHostDays, d.GFirst, d.pending = s.Closed, s.Late, s.GHOD, s.GHostDays, s.GFirst, s.Pending
	d.trainedEnd, d.gap, d.gapSet = s.TrainedEnd, s.Gap, s.GapSet
	if s.TrainedFirst != 0 {
		// (a snapshot from before it was kept has none: the model's,
		// from LoadProfiles, stands)
		d.trainedFirst = s.TrainedFirst
	}
	return nil
}
