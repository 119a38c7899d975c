// Package exfil flags hosts whose outbound bytes in an hour are far above
// their own history (a robust z-score on log bytes), with a global prior
// for hosts that have no history yet, and names the destination that got
// most of the bytes.
package exfil

import (
	"bytes"
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

// Config is the [detectors.exfil] section.
type Config struct {
	Enabled  bool          `toml:"enabled"`
	Window   time.Duration `toml:"window"`
	Lateness time.Duration `toml:"lateness"`
	// Z is the robust z-score (on log10 bytes) that fires.
	Z float64 `toml:"z"`
	// MinBytes is the least outbound volume in a window worth a notice.
	MinBytes uint64 `toml:"min_bytes"`
	// MinHistory is how many active windows a host needs before its own
	// baseline is used; before that the global prior is.
	MinHistory int `toml:"min_history"`
	// Internal networks (used when local_orig is not set in the logs).
	Internal []string `toml:"internal"`
	MaxHosts int      `toml:"max_hosts"`
	// Allow are destination CIDRs never counted (backup targets, CDNs).
	Allow []string `toml:"allow"`
	// Model is a model file from `zeekanom train` whose host histories
	// (Profiles) the detector starts from ("" none).
	Model string `toml:"model"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Enabled: true, Window: time.Hour, Lateness: 5 * time.Minute, Z: 5, MinBytes: 20e6,
		MinHistory: 6, Internal: window.DefaultInternal(), MaxHosts: 200000}
}

// Validate reports the first bad value of [detectors.exfil] as a
// *window.ConfigError naming its key.
func (cfg Config) Validate() error {
	var c window.Check
	c.Duration("window", cfg.Window, true)
	c.Duration("lateness", cfg.Lateness, false)
	c.Positive("z", cfg.Z)
	c.AtLeast("min_history", cfg.MinHistory, 1)
	c.Networks("internal", cfg.Internal)
	c.AtLeast("max_hosts", cfg.MaxHosts, 1)
	c.Networks("allow", cfg.Allow)
	return c.Err()
}

const histCap = 48

// Dst is a top-destination counter slot.
type Dst struct {
	Addr  window.IP
	Bytes uint64
}

// Slot is one window of one host as snapshots carry it (the detector
// keeps an open window as a slot, its bucket sketch sparse).
type Slot struct {
	Used  bool
	Win   int64
	Bytes uint64
	Conns uint32
	// bytes per destination bucket (a one-row count sketch: order
	// independent), and the destination of the largest connection
	Buckets [64]uint32 // kB
	MaxConn uint64
	MaxDst  window.IP
	UIDs    window.UIDs
	// Port and Proto (window.ProtoNum) of the largest connection: the
	// notice's; Proto is 0 in the snapshots of older versions
	Port  uint16
	Proto uint8
	// Est: a connection of the window was established
	// (window.Established); only such windows teach the global prior
	Est bool
}

// slot is an open window of one host (96 bytes, where a Slot is 488):
// a Slot without Used (a slot in use has an id), with its Buckets kept
// sparse (buckets) and its UIDs in a slab of their own (U).
type slot struct {
	Bytes   uint64
	MaxConn uint64
	MaxDst  window.IP
	Conns   uint32
	B       buckets
	Port    uint16
	Proto   uint8
	Est     bool
	// U is the window's uid sample (Slot.UIDs) in the detector's slab of
	// samples, taken at its first bulky connection (0: none yet, read as
	// the empty sample). Only a connection of 100 kB out adds a uid, which
	// none of the 272,246 windows of BenchmarkState160k's zeekgen hosts
	// has: inline, the 168-byte sample was most of the slot, and empty.
	U int32
}

// nSparse is how many buckets a window's sketch keeps inline: with
// 160,000 zeekgen hosts 94% of the windows have at most 8 nonzero
// buckets, a busy workstation's hour more than 32.
const nSparse = 8

// dense is a window's 64 buckets in full (Slot.Buckets).
type dense = [64]uint32

// buckets is Slot.Buckets as an open window keeps it: up to nSparse
// nonzero buckets inline (index and kB), and once the window has more,
// all 64 in the detector's slab of dense arrays, id D (0: inline). A
// bucket not inline is 0, so every count read is the dense form's.
type buckets struct {
	N   uint8 // inline buckets (while D is 0)
	Idx [nSparse]uint8
	KB  [nSparse]uint32
	D   int32
}

// add adds kB to bucket i (stopping at the largest count), moving the
// buckets to a dense array from sl when a bucket beyond nSparse becomes
// nonzero.
func (b *buckets) add(i uint8, kB uint64, sl *window.Slab[dense]) {
	if b.D != 0 {
		addKB(&sl.At(b.D)[i], kB)
		return
	}
	if kB == 0 {
		return // (a bucket not inline stays 0)
	}
	for j := range b.N {
		if b.Idx[j] == i {
			addKB(&b.KB[j], kB)
			return
		}
	}
	if b.N < nSparse {
		b.Idx[b.N] = i
		addKB(&b.KB[b.N], kB)
		b.N++
		return
	}
	id, a := sl.New()
	for j := range b.N {
		a[b.Idx[j]] = b.KB[j]
	}
	*b = buckets{D: id}
	addKB(&a[i], kB)
}

func addKB(b *uint32, kB uint64) { *b = uint32(min(uint64(*b)+kB, math.MaxUint32)) }

// top is the largest bucket.
func (b *buckets) top(sl *window.Slab[dense]) (m uint32) {
	if b.D != 0 {
		for _, v := range sl.At(b.D) {
			m = max(m, v)
		}
		return m
	}
	for _, v := range b.KB[:b.N] {
		m = max(m, v)
	}
	return m
}

// at is bucket i.
func (b *buckets) at(i uint8, sl *window.Slab[dense]) uint32 {
	if b.D != 0 {
		return sl.At(b.D)[i]
	}
	for j, x := range b.Idx[:b.N] {
		if x == i {
			return b.KB[j]
		}
	}
	return 0
}

// bucketOf is the bucket of a destination's bytes.
func bucketOf(dst window.IP) uint8 { return uint8(window.HashIP(dst, 0xe7f) % 64) }

// fill writes the buckets into a, zeroed, in their dense form; a dense
// array is ds[D-1] (a Capture's copy).
func (b *buckets) fill(a *dense, ds []dense) {
	if b.D != 0 {
		*a = ds[b.D-1]
		return
	}
	for j := range b.N {
		a[b.Idx[j]] = b.KB[j]
	}
}

// set makes b the buckets of a (b empty): inline when at most nSparse
// are nonzero, else a dense array from sl.
func (b *buckets) set(a *dense, sl *window.Slab[dense]) {
	if window.NonZero(a[:]) > nSparse {
		var p *dense
		b.D, p = sl.New()
		*p = *a
		return
	}
	for i, v := range a {
		if v != 0 {
			b.Idx[b.N], b.KB[b.N] = uint8(i), v
			b.N++
		}
	}
}

// export writes s into o (zeroed) as snapshots carry it; its dense
// buckets are ds[s.B.D-1], its uid sample us[s.U-1] (a Capture's copies).
func (s *slot) export(o *Slot, win int64, ds []dense, us []window.UIDSample) {
	*o = Slot{Used: true, Win: win, Bytes: s.Bytes, Conns: s.Conns, MaxConn: s.MaxConn, MaxDst: s.MaxDst,
		Port: s.Port, Proto: s.Proto, Est: s.Est}
	s.B.fill(&o.Buckets, ds)
	if s.U != 0 {
		us[s.U-1].Export(&o.UIDs)
	}
}

// load makes s (zeroed) the open window o, its buckets dense in sl when
// more than nSparse are nonzero, its uid sample in us unless it is the
// zero value (what export makes of no sample).
func (s *slot) load(o *Slot, sl *window.Slab[dense], us *window.Slab[window.UIDSample]) {
	*s = slot{Bytes: o.Bytes, Conns: o.Conns, MaxConn: o.MaxConn, MaxDst: o.MaxDst,
		Port: o.Port, Proto: o.Proto, Est: o.Est}
	s.B.set(&o.Buckets, sl)
	if o.UIDs != (window.UIDs{}) {
		var u *window.UIDSample
		s.U, u = us.New()
		u.Load(&o.UIDs)
	}
}

// nSlots is how many windows a host can have open at once.
const nSlots = 3

// Entry is one host as snapshots carry it.
type Entry struct {
	Slots [nSlots]Slot
	Hist  [histCap]float32 // log10 bytes of past active windows
	Top   [histCap]float32 // log10 bytes to the window's top destination
	NHist uint32
}

// state is one host's live state: per open window its number and the slot
// it holds in the detector's slab (0: none), then the
// history. A row reads the first cache line to find its slot, and a new
// host takes one slot, not three.
type state struct {
	Win   [nSlots]int64
	Slot  [nSlots]int32
	NHist uint32
	Hist  [histCap]log10
	Top   [histCap]log10
}

// log10 is a log10 of bytes + 1 in fixed point, 1/3000 apart (0.08% of
// bytes; up to 21.8, 2^64 bytes being 19.3): half a float32, in the
// history that is most of a host's state. Snapshots and model files
// keep float32.
type log10 uint16

const log10Scale = 3000

func toLog10(x float64) log10 {
	if !(x > 0) { // (and NaN, from a damaged snapshot or model)
		return 0
	}
	return log10(math.Round(min(x, float64(math.MaxUint16)/log10Scale) * log10Scale))
}

func (v log10) float() float64 { return float64(v) / log10Scale }

// toLog10s and floats convert a history to and from its float32 form.
func toLog10s(dst *[histCap]log10, src []float32) {
	for i, x := range src[:min(len(src), histCap)] {
		dst[i] = toLog10(float64(x))
	}
}

func floats(src *[histCap]log10) (dst [histCap]float32) {
	for i, v := range src {
		dst[i] = float32(v.float())
	}
	return dst
}

// held is how many passes of the eviction hand a host's history is held
// for when the host is seen: 10 a window of history, the most (MaxHold)
// from 25 on. A flood of new (spoofed) internal sources then churns
// through the unheld entries and cannot flush established histories
// (a host without one is judged by the global prior).
func held(e *state) uint8 { return uint8(min(10*e.NHist, window.MaxHold)) }

// Detector is the exfiltration detector.
type Detector struct {
	cfg      Config
	win      window.Windows
	t        *window.Table[window.IP, state]
	slots    window.Slab[slot]
	dense    window.Slab[dense]            // the buckets of slots with more than nSparse
	uids     window.Slab[window.UIDSample] // the uid samples of slots with a bulky connection
	internal window.Networks
	allow    window.Networks
	global   []float64 // prior: recent per-host window log bytes
	gpos     int
	// the global prior's median and MAD while gok: computed once each
	// time the prior learns (after a batch), not for every new host
	gmed, gmad float64
	gok        bool
	batch      []float64
	maxTS      time.Time
	xs, ys     []float64
	pending    []*notice.Notice
	// the windows judged, first and last (Profiles), and a model's
	// archive's (LoadProfiles): windows from trainedFirst to before
	// trainedEnd were learnt there, and are judged but not learnt again
	firstWin, lastWin        int64
	winSet                   bool
	trainedFirst, trainedEnd int64
}

const globalCap = 512

var _ detectors.Detector = (*Detector)(nil)
var _ detectors.Stateful = (*Detector)(nil)

// New builds the detector.
func New(cfg Config) *Detector {
	d := &Detector{cfg: cfg, win: window.NewWindows(cfg.Window, cfg.Lateness),
		t: window.NewIPTable[state](cfg.MaxHosts), internal: window.MustNetworks(cfg.Internal),
		allow: window.MustNetworks(cfg.Allow)}
	d.t.OnEvict = func(_ window.IP, e *state) {
		for i, id := range e.Slot {
			if id != 0 {
				d.free(id)
				e.Slot[i] = 0
			}
		}
	}
	return d
}

// free takes back slot id, its dense buckets and its uid sample: every
// path that drops a slot (eval, which closes a window, and OnEvict) comes
// here; Restore replaces the three slabs together.
func (d *Detector) free(id int32) {
	s := d.slots.At(id)
	if s.B.D != 0 {
		d.dense.Free(s.B.D)
	}
	if s.U != 0 {
		d.uids.Free(s.U)
	}
	d.slots.Free(id)
}

func (d *Detector) Name() string             { return "exfil" }
func (d *Detector) Kinds() []zeekreader.Kind { return []zeekreader.Kind{zeekreader.KindConn} }

// Needs: a conn row without orig_bytes is passed over (detectors.Needer).
func (d *Detector) Needs() []detectors.Need {
	return []detectors.Need{{Kind: zeekreader.KindConn, Columns: []string{"orig_bytes"}, Judges: "outbound volume"}}
}

// Stats reports tracked hosts, evictions and late rows.
func (d *Detector) Stats() window.Stats {
	s := d.t.Stats()
	s.Late = d.win.Late
	return s
}

func (d *Detector) local(a netip.Addr, t zeekreader.Tri) bool {
	switch t {
	case zeekreader.True:
		return true
	case zeekreader.False:
		return false
	}
	return d.internal.Contains(a)
}

// Observe takes a conn row.
func (d *Detector) Observe(ev *zeekreader.Event) {
	c := ev.Conn
	if c == nil || ev.Open || c.OrigBytes == 0 {
		return
	}
	if !d.local(c.Orig, c.LocalOrig) || d.local(c.Resp, c.LocalResp) || window.Special(c.Resp) || d.allow.Contains(c.Resp) {
		return
	}
	if c.TS.After(d.maxTS) {
		d.maxTS = c.TS
	}
	// bytes count in the window where the connection ended (rows are
	// written then), but never ahead of the newest start seen
	end := c.TS.Add(c.Duration)
	if end.After(d.maxTS) {
		end = d.maxTS
	}
	w, ok := d.win.Accept(end)
	if !ok {
		return
	}
	e, _ := d.t.GetHoldFor(window.IPOf(c.Orig), held)
	resp := window.IPOf(c.Resp)
	// a new window: when every slot holds an older one that is due, the
	// oldest is closed now
	s, _ := window.OpenSlot(&d.slots, e.Win[:], e.Slot[:], w, func(i int) {
		if n := d.eval(window.IPOf(c.Orig), e, i); n != nil {
			d.pending = append(d.pending, n)
		}
	})
	s.Bytes = window.AddBytes(s.Bytes, c.OrigBytes)
	s.Conns++
	s.Est = s.Est || window.Established(c.ConnState, c.History)
	if c.OrigBytes >= 1e5 {
		// the bulky connections are the evidence: the window's first
		// takes its sample
		if s.U == 0 {
			s.U, _ = d.uids.New()
		}
		d.uids.At(s.U).Add(c.UID)
	}
	s.B.add(bucketOf(resp), c.OrigBytes/1024+c.OrigBytes%1024/512, &d.dense) // kB, rounded
	if c.OrigBytes > s.MaxConn || (c.OrigBytes == s.MaxConn && bytes.Compare(resp[:], s.MaxDst[:]) < 0) {
		s.MaxConn, s.MaxDst, s.Port, s.Proto = c.OrigBytes, resp, c.RespP, window.ProtoNum(c.Proto)
	}
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
	d.batch = d.batch[:0]
	d.t.Range(func(k window.IP, e *state) bool {
		for {
			o := window.Oldest(e.Win[:], e.Slot[:], upto)
			if o < 0 {
				break
			}
			if n := d.eval(k, e, o); n != nil {
				emit(n)
			}
		}
		return false
	})
	// the global prior learns after the batch, in a fixed order
	d.gok = d.gok && len(d.batch) == 0
	slices.Sort(d.batch)
	for _, x := range d.batch {
		if len(d.global) < globalCap {
			d.global = append(d.global, x)
		} else {
			d.global[d.gpos] = x
			d.gpos = (d.gpos + 1) % globalCap
		}
	}
	d.win.Closed = upto
}

// globalStats is the median and MAD of the global prior.
func (d *Detector) globalStats() (med, mad float64) {
	if !d.gok {
		d.xs = append(d.xs[:0], d.global...)
		d.gmed = window.Median(d.xs)
		d.gmad = window.MAD(d.xs, d.gmed, d.ys)
		d.gok = true
	}
	return d.gmed, d.gmad
}

// eval judges slot i of host e, learns from it and frees it.
func (d *Detector) eval(hostIP window.IP, e *state, i int) *notice.Notice {
	host := hostIP.Addr()
	s, win := d.slots.At(e.Slot[i]), e.Win[i]
	defer func() {
		d.free(e.Slot[i])
		e.Slot[i] = 0
	}()
	x := math.Log10(float64(s.Bytes) + 1)
	// baseline: the host's own history, or the global prior
	d.xs = d.xs[:0]
	own := int(e.NHist) >= d.cfg.MinHistory
	if own {
		for _, v := range e.Hist[:min(int(e.NHist), histCap)] {
			d.xs = append(d.xs, v.float())
		}
	}
	var z, med float64
	have := own || len(d.global) >= d.cfg.MinHistory
	switch {
	case own:
		med = window.Median(d.xs)
		z = window.RobustZ(x, med, window.MAD(d.xs, med, d.ys), 0.15)
	case have:
		var mad float64
		med, mad = d.globalStats()
		z = 0.8 * window.RobustZ(x, med, mad, 0.15) // a population prior is less certain than the host's own history
	}
	// the top destination: the largest bucket (an upper bound on one
	// destination's bytes), named by the largest single connection
	top := Dst{Addr: s.MaxDst, Bytes: min(uint64(s.B.top(&d.dense))*1024, s.Bytes)}
	// one destination against the host's usual largest destination
	xt := math.Log10(float64(top.Bytes) + 1)
	var zt, medt float64
	if own {
		d.xs = d.xs[:0]
		for _, v := range e.Top[:min(int(e.NHist), histCap)] {
			d.xs = append(d.xs, v.float())
		}
		medt = window.Median(d.xs)
		zt = window.RobustZ(xt, medt, window.MAD(d.xs, medt, d.ys), 0.15)
	}
	hist := e.NHist // the windows of history this one is judged against
	// learn (after scoring), unless the model's archive learnt this
	// window already (eval -m on the training capture, a run started on
	// logs the archive covered: its volume would count twice)
	if d.trainedEnd == 0 || win < d.trainedFirst || win >= d.trainedEnd {
		e.Hist[e.NHist%histCap] = toLog10(x)
		e.Top[e.NHist%histCap] = toLog10(xt)
		e.NHist++
		if s.Est {
			// a flood of spoofed sources (unanswered) would pull the prior
			// for new hosts down to its packets
			d.batch = append(d.batch, x)
		}
	}
	if !d.winSet || win < d.firstWin {
		d.firstWin = win
	}
	if !d.winSet || win > d.lastWin {
		d.lastWin = win
	}
	d.winSet = true
	byDst := zt >= d.cfg.Z && zt > z && top.Bytes >= d.cfg.MinBytes
	if !have || !(z >= d.cfg.Z && s.Bytes >= d.cfg.MinBytes) && !byDst {
		return nil
	}
	share := float64(top.Bytes) / float64(s.Bytes)
	start, end := d.win.Start(win), d.win.End(win)
	baseBytes := math.Pow(10, med) - 1
	n := &notice.Notice{Rule: notice.RuleExfiltration, Timestamp: end, Start: start, End: end, Source: host}
	// whose baseline: "its" or "a new host" after the destination read as
	// the destination's
	basis := "the sender's baseline"
	if !own {
		basis = fmt.Sprintf("the sender has %d of the %d windows of history its own baseline needs: baseline for new hosts", hist, d.cfg.MinHistory)
	}
	n.Message = fmt.Sprintf("%s sent %s out in %s, %s of it to %s (%s %s per %s, z %.1f)",
		host, window.Bytes(s.Bytes), window.FmtDur(d.cfg.Window), d.shareOf(s, s.MaxDst), top.Addr.Addr(), basis, window.Bytes(uint64(baseBytes)), window.FmtDur(d.cfg.Window), z)
	score := z
	if byDst {
		score = zt
		n.Sub = "destination"
		n.Message = fmt.Sprintf("%s sent %s to %s in %s, far above its usual largest destination (baseline %s per %s, z %.1f)",
			host, window.Bytes(top.Bytes), top.Addr.Addr(), window.FmtDur(d.cfg.Window), window.Bytes(uint64(math.Pow(10, medt)-1)), window.FmtDur(d.cfg.Window), zt)
	}
	if share >= 0.5 || byDst {
		n.Destination = top.Addr.Addr()
		n.DestPort, n.Proto = s.Port, window.ProtoName(s.Proto)
	}
	ratio := score / d.cfg.Z
	n.RiskScore = window.Risk(ratio)
	f := map[string]notice.Feature{
		"out_bytes_log10": notice.F(x, med, z),
		"out_bytes":       notice.F(float64(s.Bytes), baseBytes, float64(s.Bytes)/math.Max(1, baseBytes)),
		"top_dst_share":   {Value: share},
		"top_dst_log10":   notice.F(xt, medt, zt),
		"connections":     {Value: float64(s.Conns)},
		"history_windows": {Value: float64(hist)},
	}
	var none window.UIDSample // (a window without a bulky connection)
	u := &none
	if s.U != 0 {
		u = d.uids.At(s.U)
	}
	n.UIDs = u.Strings()
	n.Explain = notice.Explanation{Detector: "exfil", Score: score, Features: f, Top: window.TopFeatures(f, 3),
		Window: d.cfg.Window.Seconds()}
	n.Finalize("")
	return n
}

// shareOf writes the share of the window's bytes that went to dst (the
// destination of its largest connection) for a message. The sketch gives
// no more than bounds: at least that connection, at most dst's bucket,
// which other destinations may share. It said "6% of it to X" from the
// largest bucket (top_dst_share, what the scores use) where X had 2%, one
// of 50 equal destinations: "2%" when the bounds agree to the percent,
// else "up to 4%".
func (d *Detector) shareOf(s *slot, dst window.IP) string {
	lo := float64(s.MaxConn) / float64(s.Bytes)
	hi := math.Max(lo, math.Min(float64(s.B.at(bucketOf(dst), &d.dense))*1024/float64(s.Bytes), 1))
	if math.Round(100*lo) == math.Round(100*hi) {
		return fmt.Sprintf("%.0f%%", 100*hi)
	}
	return fmt.Sprintf("up to %.0f%%", 100*hi)
}

// snapshotVersion is bumped when the snapshot's form changes.
const snapshotVersion = 1

type snap struct {
	Entries []window.Entry[window.IP, Entry]
	Ev      int64
	Closed  int64
	Late    int64
	Global  []float64
	GPos    int
	MaxTS   time.Time
	Pending []*notice.Notice
	Layout  window.Layout // where Entries sit in the table (eviction order)
	// the windows judged, and a model's archive's (see Detector)
	FirstWin, LastWin        int64
	TrainedFirst, TrainedEnd int64
	WinSet                   bool
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
	s.Entries, err = window.ReadChunks(dec, s.Chunks, 0, s.Entries)
	return err
}

// Snapshot encodes the state (gob), hosts as Entry values.
func (d *Detector) Snapshot() ([]byte, error) { return detectors.Encoded(d.Capture()) }

var _ detectors.Capturer = (*Detector)(nil)

// Capture copies the state; the returned function encodes the copy
// (detectors.Capturer).
func (d *Detector) Capture() func(io.Writer) error {
	live := d.t.Export()
	var slots []slot // the open windows, copied once (entries made as encoded)
	for j := range live {
		slots = d.slots.CopyOut(live[j].V.Slot[:], slots)
	}
	var ds []dense            // and their dense buckets (B.D rewritten to index ds)
	var us []window.UIDSample // and uid samples (U rewritten to index us)
	for i := range slots {
		ds = d.dense.CopyOutOne(&slots[i].B.D, ds)
		us = d.uids.CopyOutOne(&slots[i].U, us)
	}
	s := &snap{nil, d.t.Evicted(), d.win.Closed, d.win.Late, slices.Clone(d.global), d.gpos, d.maxTS, slices.Clone(d.pending), d.t.Layout(),
		d.firstWin, d.lastWin, d.trainedFirst, d.trainedEnd, d.winSet, []int{window.Chunks(len(live))}, snapshotVersion}
	return window.GobChunksLater(s, window.ChunkedFunc(len(live), func(j int, e *window.Entry[window.IP, Entry]) {
		le := &live[j]
		e.K, e.V.Hist, e.V.Top, e.V.NHist = le.K, floats(&le.V.Hist), floats(&le.V.Top), le.V.NHist
		for i, id := range le.V.Slot {
			if id != 0 {
				slots[id-1].export(&e.V.Slots[i], le.V.Win[i], ds, us)
			}
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
	if err := window.SnapshotVersion("exfil", s.Version, 0, snapshotVersion); err != nil {
		return err
	}
	var slots window.Slab[slot]
	var ds window.Slab[dense]
	var us window.Slab[window.UIDSample]
	var live []window.Entry[window.IP, state]
	add := func(es []window.Entry[window.IP, Entry]) {
		for _, se := range es {
			live = append(live, window.Entry[window.IP, state]{K: se.K})
			e := &live[len(live)-1].V
			toLog10s(&e.Hist, se.V.Hist[:])
			toLog10s(&e.Top, se.V.Top[:])
			e.NHist = se.V.NHist
			for i := range se.V.Slots {
				if sl := &se.V.Slots[i]; sl.Used {
					var p *slot
					e.Slot[i], p = slots.New()
					p.load(sl, &ds, &us)
					e.Win[i] = sl.Win
				}
			}
		}
	}
	add(s.Entries) // (an older snapshot's, in its head)
	if err := window.EachChunk(dec, s.Chunks, 0, add); err != nil {
		return err
	}
	d.slots, d.dense, d.uids = slots, ds, us
	d.t.ImportLayout(live, s.Ev, s.Layout)
	d.win.Closed, d.win.Late, d.global, d.gpos, d.maxTS, d.pending = s.Closed, s.Late, s.Global, s.GPos, s.MaxTS, s.Pending
	d.firstWin, d.lastWin, d.winSet = s.FirstWin, s.LastWin, s.WinSet
	if s.TrainedEnd != 0 {
		// (a snapshot from before they were kept has none: the model's,
		// from LoadProfiles, stand)
		d.trainedFirst, d.trainedEnd = s.TrainedFirst, s.TrainedEnd
	}
	d.gok = false
	return nil
}
