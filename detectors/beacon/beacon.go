// Package beacon flags command-and-control beaconing: a source contacting
// one destination (or one /24, or one TLS SNI / HTTP Host) at regular
// intervals with regular sizes, persistently over the observation window.
// Interval regularity is scored as RITA does (Bowley skewness and MAD of
// the inter-arrival times), plus size regularity and an hourly histogram
// that tests persistence and evenness.
package beacon

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// Config is the [detectors.beacon] section.
type Config struct {
	Enabled bool `toml:"enabled"`
	// Window is the observation span (tumbling, aligned to UTC).
	Window   time.Duration `toml:"window"`
	Lateness time.Duration `toml:"lateness"`
	// Threshold is the minimum beacon score in [0,1].
	Threshold float64 `toml:"threshold"`
	// MinConns is the minimum number of connections in a window.
	MinConns int `toml:"min_conns"`
	// MinSpan is the minimum time between first and last connection.
	MinSpan time.Duration `toml:"min_span"`
	// MinInterval / MaxInterval bound the median interval.
	MinInterval time.Duration `toml:"min_interval"`
	MaxInterval time.Duration `toml:"max_interval"`
	// MinDomainInterval is the least median interval for SNI/Host keys:
	// http.log rows are requests, and a page load makes bursts of them.
	MinDomainInterval time.Duration `toml:"min_domain_interval"`
	// MergeGap: connections starting closer than this are one burst.
	MergeGap time.Duration `toml:"merge_gap"`
	// IgnorePorts are "proto/port" never scored (NTP, DNS, ...).
	IgnorePorts []string `toml:"ignore_ports"`
	// Allow are destination CIDRs never scored (known keep-alives).
	Allow []string `toml:"allow"`
	// AllowDomains are domain suffixes never scored.
	AllowDomains []string `toml:"allow_domains"`
	// MaxHosts bounds the number of tracked keys (1/4 full entries, 3/4
	// compact first stages).
	MaxHosts int `toml:"max_hosts"`
	// MaxSources: a destination (address or domain, and port) that this
	// many sources or more beacon to in one window is a shared service
	// (update server, status poller, NAC agent), not command and control;
	// its notices are dropped and counted. 0 disables the check.
	MaxSources int `toml:"max_sources"`
	// Model is a model file from `zeekanom train` whose baseline of normal
	// periodic traffic (Baseline) the detector starts from ("" none).
	Model string `toml:"model"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Enabled: true, Window: 24 * time.Hour, Lateness: 5 * time.Minute,
		Threshold: 0.8, MinConns: 20, MinSpan: 2 * time.Minute,
		MinInterval: 200 * time.Millisecond, MaxInterval: 4 * time.Hour, MergeGap: 100 * time.Millisecond,
		MinDomainInterval: 10 * time.Second,
		IgnorePorts: []string{"udp/53", "tcp/53", "udp/123", "udp/137", "udp/138", "udp/67", "udp/68",
			"udp/5353", "udp/5355", "udp/1900", "udp/3702"},
		MaxHosts: 200000, MaxSources: 5}
}

// Validate reports the first bad value of [detectors.beacon] as a
// *window.ConfigError naming its key.
func (cfg Config) Validate() error {
	var c window.Check
	c.Duration("window", cfg.Window, true)
	c.Duration("lateness", cfg.Lateness, false)
	c.Positive("threshold", cfg.Threshold)
	c.Within("threshold", cfg.Threshold, 0, 1)
	c.AtLeast("min_conns", cfg.MinConns, 1)
	c.Duration("min_span", cfg.MinSpan, false)
	c.Duration("min_interval", cfg.MinInterval, false)
	c.Duration("max_interval", cfg.MaxInterval, true)
	c.Duration("min_domain_interval", cfg.MinDomainInterval, false)
	c.Duration("merge_gap", cfg.MergeGap, false)
	c.Ports("ignore_ports", cfg.IgnorePorts)
	c.Networks("allow", cfg.Allow)
	c.AtLeast("max_hosts", cfg.MaxHosts, 1)
	c.AtLeast("max_sources", cfg.MaxSources, 0)
	return c.Err()
}

const (
	tsCap    = 64
	deltaCap = 96
	sizeCap  = 48
	// unknownSize is the size of a row that does not give its orig_bytes
	// (no column in its log, Zeek's unset "-", a JSON writer that leaves
	// the field out): it enters neither the sizes nor the bytes, where it
	// read as 0 until 2026-12-02 and a key of such rows scored its sizes
	// as perfectly regular (size_regularity 1.00).
	unknownSize = math.MaxUint32
	pendCap     = 16
	hours       = 24
)

const (
	kPair uint8 = iota + 1
	kNet
	kDomain
)

// Key identifies a beacon candidate.
type Key struct {
	Src  window.IP
	Dst  window.IP // pair: the destination; net: the /24 (/64) base
	Kind uint8
	H    uint64 // domain hash
}

// preRows is how many rows a key collects in its compact first stage
// before it gets a full Entry: most keys never see that many in a window.
const preRows = 8

// PKey is a key within one window (first stages of adjacent windows
// coexist while the older waits for lateness).
type PKey struct {
	Key
	W int64
}

// srcHash is the part of a key's hash that depends on its source only:
// a conn row's pair and net keys share it.
func srcHash(src window.IP) uint64 { return window.KeyHash(src, 0) }

// hash is k's table hash given srcHash(k.Src). Its kind is mixed in
// apart from the destination's bytes (XORed into hi, it landed on an
// IPv4 address's last byte: a pair key to x.x.x.3 had its /24's hash)
// and owns the top two bits, which pkeyOf's window hash flips alike for
// every key of a window: a sighting, matched by its hash alone, is never
// another kind's key's.
func (k Key) hash(hs uint64) uint64 {
	lo, hi := binary.LittleEndian.Uint64(k.Dst[:8]), binary.LittleEndian.Uint64(k.Dst[8:])
	return window.Mix64(hs^lo^window.Mix64(hi^k.H)^uint64(k.Kind)*0x9e3779b97f4a7c15)>>2 | uint64(k.Kind)<<62
}

// hkey and pkey are the keys of the live tables: Key and PKey with their
// hash, computed once per row for both tables (and not again when an
// entry is evicted). The hash decides only where a table's index keeps a
// key, never an order.
type hkey struct {
	Key
	h uint64
}

type pkey struct {
	PKey
	h uint64
}

func newHKey(k Key) hkey { return hkey{k, k.hash(srcHash(k.Src))} }

// pkeyOf is k's first-stage key in window w; wh is Mix64(w).
func pkeyOf(k hkey, w int64, wh uint64) pkey { return pkey{PKey{k.Key, w}, k.h ^ wh} }

// Pre is the compact first stage of a key within one window, as
// snapshots carry it (live, the detector holds a first and its rows in
// its slab).
type Pre struct {
	Win  int64
	N    uint8
	MS   [preRows]uint32
	Size [preRows]uint32
	// Ports and Protos are each row's destination port and transport;
	// a version 1 snapshot has none, only its last row's (Port, Proto)
	Ports  [preRows]uint16
	Protos [preRows]uint8
	Port   uint16
	Proto  uint8
	NDst   uint8
	Dsts   [4]uint32
	// Hosts: a net key's hosts, a bit each (see sweeping; 0 in a
	// snapshot written before they were kept)
	Hosts uint64
	// Unans: the rows that went unanswered, a bit each (see sweeping;
	// version 3 on)
	Unans uint8
	UIDs  window.UIDs
}

// moreRows are a first stage's rows in the detector's slab (212 bytes, where
// a Pre is 288): a Pre without what its first holds (window and count)
// and with its uids in a window.UIDSample.
type moreRows struct {
	MS    [preRows]uint32
	Size  [preRows]uint32
	Port  [preRows]uint16
	Proto [preRows]uint8
	NDst  uint8
	Unans uint8 // the rows that went unanswered, a bit each
	Dsts  [4]uint32
	Hosts uint64
	UIDs  window.UIDSample
}

// export writes r into o (zeroed but for what the first holds).
func (r *moreRows) export(o *Pre) {
	o.MS, o.Size, o.Ports, o.Protos, o.NDst, o.Dsts, o.Hosts, o.Unans = r.MS, r.Size, r.Port, r.Proto, r.NDst, r.Dsts, r.Hosts, r.Unans
	r.UIDs.Export(&o.UIDs)
}

// first is a key's live first stage in a window: its count and its rows
// in the detector's slab. A key's first row is a sighting (see
// Sighting), so a first stage starts at its second row with both in the
// slab: a key and its first stage take 72 bytes (a first stage of one
// row, from a snapshot written before sightings, gets its row in the
// slab at Restore).
type first struct {
	N    uint8
	More int32 // the slab's rows
}

// preForm is p as snapshots carry it.
func (d *Detector) preForm(k PKey, p *first) Pre {
	o := Pre{Win: k.W, N: p.N}
	d.more.At(p.More).export(&o)
	return o
}

// firstOf is the live form of a snapshot's o.
func (d *Detector) firstOf(o *Pre) first {
	p := first{N: o.N}
	var r *moreRows
	p.More, r = d.more.New()
	r.MS, r.Size, r.Port, r.Proto, r.NDst, r.Dsts, r.Hosts, r.Unans = o.MS, o.Size, o.Ports, o.Protos, o.NDst, o.Dsts, o.Hosts, o.Unans
	r.UIDs.Load(&o.UIDs)
	return p
}

// Sighting is a key's first row in a window before it has a first stage:
// most keys are seen once in a window, and on a busy sensor they are so
// many that a table of first stages, full, evicts a key before its second
// row (a beacon's, minutes later). Sightings sit in a fixed array of
// two-slot buckets (no index, no eviction hand, 48 bytes each); a new key
// takes a free or stale slot of its bucket, else the one seen earlier,
// and its second row, when its sighting is still there, gives it a first
// stage holding both rows.
type Sighting struct {
	FP    uint64 // the first-stage key's hash, odd (0: free)
	W     uint32 // window (its low bits)
	MS    uint32
	Size  uint32
	Dst   uint32 // net keys: addDst's hash
	Port  uint16
	Proto uint8 // protoUnknown: restored from a version 1 snapshot
	// L is the uid's length, its top bit (sightUnans) set when the
	// row went unanswered
	L uint8
	// the row's uid (length 0 for one longer than that: not kept; Zeek's
	// are 18 bytes at most)
	UID [20]byte
}

// sightUnans is the bit of a Sighting's L set when its row went
// unanswered (see sweeping).
const sightUnans = 0x80

func (s *Sighting) uid() []byte { return s.UID[:s.L&^sightUnans] }

// sightingsFor is the number of sighting slots for max_hosts keys: two
// per key, a power of two (512 Ki, at most 24 MiB, for the default 200,000).
func sightingsFor(maxHosts int) int {
	n := 16
	for n < 2*maxHosts {
		n *= 2
	}
	return n
}

// sightings holds n slots in pages allocated when first written, so a
// detector built for a small input (a test, a short capture) does not
// clear megabytes it never uses; a busy sensor soon touches every page.
type sightings struct {
	n     int
	pages [][]Sighting
}

// sightPage is the slots of a page (512, 24 KiB; a bucket never spans
// two).
const sightPage = 512

func newSightings(n int) sightings {
	return sightings{n: n, pages: make([][]Sighting, (n+sightPage-1)/sightPage)}
}

// bucket is the first slot of a sighting's bucket.
func (s *sightings) bucket(fp uint64) int { return int(fp>>1) & (s.n/2 - 1) * 2 }

// at returns slots i and i+1 (i even), allocating their page.
func (s *sightings) at(i int) (a, b *Sighting) {
	p := s.pages[i/sightPage]
	if p == nil {
		p = make([]Sighting, sightPage)
		window.HugePages(p)
		s.pages[i/sightPage] = p
	}
	return &p[i%sightPage], &p[i%sightPage+1]
}

// peek reads the bucket of a sighting with hash h, when its page exists,
// and returns its slots' hashes XORed: a row's two keys' buckets, read at
// once, miss the caches together instead of one after the other.
func (s *sightings) peek(h uint64) uint64 {
	i := s.bucket(h | 1)
	if p := s.pages[i/sightPage]; p != nil {
		return p[i%sightPage].FP ^ p[i%sightPage+1].FP
	}
	return 0
}

// warm reads, before a conn row's pair (hash ph) and net (nh) keys are
// looked up, the cache lines each lookup starts from: both keys'
// sighting buckets and their first index slots in the entries' and the
// first stages' tables. Found one key after the other, a row's misses
// followed one another (most keys are new, so each row missed in both
// sighting buckets); read at once, they overlap (beacon alone, 2026-12-02,
// medians of 12 interleaved pairs: 534 -> 474 cpu-ns/row with 3,000
// hosts, 463 -> 372 with 160,000). What it reads is kept in peeked only
// so that it is read. (Reading the entries the slots name too, when
// their hashes match, made it slower: 538 -> 670 and 420 -> 538.)
func (d *Detector) warm(ph, nh, wh uint64) {
	d.peeked += d.sights.peek(ph^wh) ^ d.sights.peek(nh^wh) ^
		d.t.PeekSlot(ph) ^ d.t.PeekSlot(nh) ^ d.pre.PeekSlot(ph^wh) ^ d.pre.PeekSlot(nh^wh)
}

// sight finds pk's sighting in window w, or records this row as its
// sighting and returns nil.
func (d *Detector) sight(pk pkey, w int64, ms, size uint32, unans bool, dst uint32, port uint16, proto uint8, uid []byte) *Sighting {
	fp, ww := pk.h|1, uint32(w)
	a, c := d.sights.at(d.sights.bucket(fp))
	switch {
	case a.FP == fp && a.W == ww:
		return a
	case c.FP == fp && c.W == ww:
		return c
	}
	// a free slot or another window's, else the one seen earlier
	v := a
	switch {
	case a.FP == 0 || a.W != ww:
	case c.FP == 0 || c.W != ww || c.MS < a.MS:
		v = c
	}
	*v = Sighting{FP: fp, W: ww, MS: ms, Size: size, Dst: dst, Port: port, Proto: proto}
	if len(uid) <= len(v.UID) {
		v.L = uint8(copy(v.UID[:], uid))
	}
	if unans {
		v.L |= sightUnans
	}
	return nil
}

// nextSample is the uid sample of a's entry's pending rows, new when
// it has none.
func (d *Detector) nextSample(a *Acc) *window.UIDSample {
	if a.pendUID == 0 {
		var u *window.UIDSample
		a.pendUID, u = d.nextUIDs.New()
		return u
	}
	return d.nextUIDs.At(a.pendUID)
}

func (d *Detector) freeNextUIDs(a *Acc) {
	if a.pendUID != 0 {
		d.nextUIDs.Free(a.pendUID)
		a.pendUID = 0
	}
}

func (d *Detector) freeRows(p *first) {
	if p.More != 0 {
		d.more.Free(p.More)
		p.More = 0
	}
}

// Acc accumulates one window of one key.
type Acc struct {
	Used    bool
	pendUID int32 // live only: see Detector.nextUIDs (in Used's padding)
	Win     int64
	Conns   uint32
	N       uint16
	TS      [tsCap]uint32 // ms into the window, not yet folded
	HasPrev bool
	Prev    uint32
	NDelta  uint32
	Delta   [deltaCap]uint32 // reservoir of intervals (ms)
	NSize   uint32
	Size    [sizeCap]uint32 // reservoir of orig bytes
	Hist    [hours]uint16   // connections per hour of the window
	First   uint32
	Last    uint32
	Bytes   uint64
	Rng     uint64
	UIDs    window.UIDs
	Ports   portCounts
	// Port and Proto are what a version 1 snapshot kept instead of
	// Ports: its last row's (Restore counts every row on them)
	Port  uint16
	Proto uint8
	NDst  uint8
	Dsts  [4]uint32
	// Unans: the rows that went unanswered (see sweeping; version 3 on)
	Unans uint32
	// Hosts: a net key's hosts, a bit each (see sweeping; 0 in a
	// snapshot written before they were kept)
	Hosts uint64
}

// Pend is a row for the next window while the previous is still open
// (snapshots carry it as a PendForm).
type Pend struct {
	MS    uint32 // into the window of the key's pending rows (Entry.NextW)
	Size  uint32
	Dst   uint32 // a net key's destination (addDst's hash), when pendDst
	Port  uint16
	Proto uint8
	F     uint8 // pendUnans, pendDst
}

// A Pend's F: its row went unanswered (see sweeping); it has its
// destination (a net key's, and not restored from a version 3 snapshot
// or older, which kept none).
const (
	pendUnans = 1 << iota
	pendDst
)

// Entry is one key's state (snapshots carry it as an EntryForm).
type Entry struct {
	Acc    Acc
	Next   [pendCap]Pend
	NNext  uint8
	DomLen uint8
	Domain [64]byte // SNI / Host (truncated to 64 bytes for display)
	// NextW is the window of the pending rows, after Acc.Win: Acc.Win +
	// NextW (4 bytes of padding: the entry stays 1,504 bytes)
	NextW uint32
}

func (e *Entry) domain() string { return string(e.Domain[:e.DomLen]) }

// Detector is the beacon detector.
type Detector struct {
	cfg     Config
	win     window.Windows
	t       *window.Table[hkey, Entry]
	pre     *window.Table[pkey, first]
	more    window.Slab[moreRows] // first stages' rows from the second on
	sights  sightings             // keys' first rows (see Sighting)
	peeked  uint64                // what warm read (see warm)
	ignore  map[uint32]bool
	allow   window.Networks
	domains []string
	// Dropped: rows lost when a pending buffer was full, or of a window
	// after the one of the rows pending (replayed into one window)
	Dropped int64
	Shared  int64 // notices dropped as shared services (MaxSources)
	Sweeps  int64 // net keys' notices dropped as sweeps (see sweeping)
	Known   int64 // notices dropped as normal by a model's baseline
	known   map[Known]bool
	xs, ys  []float64
	// heldEntry and heldFirst: the holds a key's entry and first stage
	// earn when found again (recurHold, none for a sweep)
	heldEntry func(*Entry) uint8
	heldFirst func(*first) uint8

	// nextUIDs are the uid samples of full entries' pending rows (their
	// Acc.pendUID, 0: none): a block only while a key has rows waiting
	// for its window to close (snapshots carry it as EntryForm.NextUIDs)
	nextUIDs window.Slab[window.UIDSample]
}

var _ detectors.Detector = (*Detector)(nil)
var _ detectors.Stateful = (*Detector)(nil)

// New builds the detector.
func New(cfg Config) *Detector {
	d := &Detector{cfg: cfg, win: window.NewWindows(cfg.Window, cfg.Lateness),
		t:   window.NewTableHash[hkey, Entry](max(cfg.MaxHosts/4, 16), func(k hkey) uint64 { return k.h }),
		pre: window.NewTableHash[pkey, first](max(cfg.MaxHosts*3/4, 16), func(k pkey) uint64 { return k.h }), ignore: map[uint32]bool{},
		allow: window.MustNetworks(cfg.Allow), sights: newSightings(sightingsFor(cfg.MaxHosts))}
	d.pre.OnEvict = func(_ pkey, p *first) { d.freeRows(p) }
	d.t.OnEvict = func(_ hkey, e *Entry) { d.freeNextUIDs(&e.Acc) }
	d.heldEntry = func(e *Entry) uint8 { return recurHoldUnless(sweeping(e.Acc.Hosts, e.Acc.Conns, e.Acc.Unans)) }
	d.heldFirst = func(p *first) uint8 {
		r := d.more.At(p.More)
		return recurHoldUnless(sweeping(r.Hosts, uint32(p.N), uint32(bits.OnesCount8(r.Unans))))
	}
	for _, s := range cfg.IgnorePorts {
		if k, err := window.PortKey(s); err == nil {
			d.ignore[k] = true
		}
	}
	for _, s := range cfg.AllowDomains {
		d.domains = append(d.domains, strings.ToLower(strings.TrimPrefix(s, ".")))
	}
	return d
}

func (d *Detector) Name() string { return "beacon" }
func (d *Detector) Kinds() []zeekreader.Kind {
	return []zeekreader.Kind{zeekreader.KindConn, zeekreader.KindSSL, zeekreader.KindHTTP}
}

// Needs: without orig_bytes a series is judged on its timing alone
// (detectors.Needer).
func (d *Detector) Needs() []detectors.Need {
	return []detectors.Need{{Kind: zeekreader.KindConn, Columns: []string{"orig_bytes"}, Judges: "size regularity of connections"}}
}

// Stats is what the detector reports (the metrics' detector_stat, the
// score summary): window.Stats and the rows it dropped.
type Stats struct {
	window.Stats
	// Dropped is Detector.Dropped: a key's rows of the next window past
	// the pendCap held while its window waits for lateness, or of a
	// window after theirs, left out of the key's windows; counted per
	// key (a row its pair's key and its /24's both drop counts twice)
	Dropped int64 `json:"dropped,omitempty"`
}

// Stats reports tracked keys, evictions, late and dropped rows, and the
// notices suppressed.
func (d *Detector) Stats() Stats {
	s, p := d.t.Stats(), d.pre.Stats()
	return Stats{Stats: window.Stats{Tracked: s.Tracked + p.Tracked, Evicted: s.Evicted + p.Evicted, Late: d.win.Late, Suppressed: d.Shared + d.Known + d.Sweeps},
		Dropped: d.Dropped}
}

func netOf(a window.IP) window.IP {
	if a[10] == 0xff && a[11] == 0xff && a[0]|a[1]|a[2]|a[3]|a[4]|a[5]|a[6]|a[7]|a[8]|a[9] == 0 {
		a[15] = 0 // IPv4 /24
		return a
	}
	clear(a[8:]) // IPv6 /64
	return a
}

func hashBytes(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= 1099511628211
	}
	return window.Mix64(h)
}

func (d *Detector) allowedDomain(b []byte) bool {
	for _, s := range d.domains {
		if len(b) < len(s) {
			continue
		}
		tail := b[len(b)-len(s):]
		if bytes.EqualFold(tail, []byte(s)) && (len(b) == len(s) || b[len(b)-len(s)-1] == '.') {
			return true
		}
	}
	return false
}

// Observe takes conn, ssl and http rows.
func (d *Detector) Observe(ev *zeekreader.Event) {
	switch {
	case ev.Conn != nil:
		if ev.Open {
			return
		}
		c := ev.Conn
		if window.Special(c.Resp) || window.Special(c.Orig) || d.allow.Contains(c.Resp) {
			return
		}
		proto := window.ProtoNum(c.Proto)
		if d.ignore[uint32(proto)<<16|uint32(c.RespP)] {
			return
		}
		w, ok := d.win.Accept(c.TS)
		if !ok {
			return
		}
		size := uint32(unknownSize)
		if c.HasOrigBytes {
			size = uint32(min(c.OrigBytes, unknownSize-1))
		}
		src, dst := window.IPOf(c.Orig), window.IPOf(c.Resp)
		hs, wh := srcHash(src), window.Mix64(uint64(w))
		pair, net := Key{Src: src, Dst: dst, Kind: kPair}, Key{Src: src, Dst: netOf(dst), Kind: kNet}
		unans := unanswered(c)
		ph, nh := pair.hash(hs), net.hash(hs)
		d.warm(ph, nh, wh)
		d.add(hkey{pair, ph}, w, wh, c.TS, size, unans, c.RespP, proto, c.UID, dst, nil)
		d.add(hkey{net, nh}, w, wh, c.TS, size, unans, c.RespP, proto, c.UID, dst, nil)
	case ev.SSL != nil:
		s := ev.SSL
		if len(s.ServerName) == 0 || d.allowedDomain(s.ServerName) || d.allow.Contains(s.Resp) {
			return
		}
		if w, ok := d.win.Accept(s.TS); ok {
			d.add(newHKey(Key{Src: window.IPOf(s.Orig), Kind: kDomain, H: hashBytes(s.ServerName)}), w, window.Mix64(uint64(w)), s.TS, 0, false, s.RespP, 6, s.UID, window.IPOf(s.Resp), s.ServerName)
		}
	case ev.HTTP != nil:
		h := ev.HTTP
		if len(h.Host) == 0 || d.allowedDomain(h.Host) || d.allow.Contains(h.Resp) {
			return
		}
		if w, ok := d.win.Accept(h.TS); ok {
			d.add(newHKey(Key{Src: window.IPOf(h.Orig), Kind: kDomain, H: hashBytes(h.Host) ^ 1}), w, window.Mix64(uint64(w)), h.TS, uint32(min(h.RequestBodyLen, math.MaxUint32)), false, h.RespP, 6, h.UID, window.IPOf(h.Resp), h.Host)
		}
	}
}

// unanswered says whether a conn row went unanswered (see sweeping):
// window.Failed, or no response bytes. A row that does not give its
// response's size (no resp_bytes column in its log, Zeek's unset, a JSON
// writer that leaves out zeros: zeekreader.Conn.HasRespBytes) is told
// by what its log does give: its history, answered when the responder
// sent data ('d', what a size above 0 would have said: a handshake
// alone is not an answer, as with the size), else its state alone,
// answered unless window.Failed. Until 2026-12-02 such a row read as
// unanswered: a C2 rotating over more than four hosts of a /24, logged
// without resp_bytes, was a sweep and gave no notice.
func unanswered(c *zeekreader.Conn) bool {
	if window.Failed(c.ConnState) {
		return true
	}
	data, known := window.RespData(c)
	return known && !data
}

// recurHold is how many passes of its table's eviction hand a key seen
// more than once in a window outlives (window.Table.GetHold): a beacon
// calls minutes apart, while a busy sensor's one-off keys fill the first
// stage within a minute or two.
const recurHold = 32

// sweeping says whether a net key of n rows, unans of them unanswered,
// to the hosts whose bits are set is a sweep: more than the four hosts
// it names, and most of its rows unanswered (window.Failed, or no
// response bytes). A scanner sweeping a /8 reaches each /24 a few dozen
// times over the sweep, at random times, each a new host; its S0 rows,
// all of one size, scored 0.80-0.86 as beacons (19,497 notices for a
// 30-minute sweep planted in TrickBot's week), and its 65,536 /24s, each
// seen again and so held against eviction, took the full entries of the
// C2 pairs (12 of the day's 14 beacons lost). A C2 rotating over a /24 is
// answered, with data, at each check-in, over however many of its hosts.
// Until 2026-12-01 a sweep was told by its hosts alone (about one for
// every two rows or fewer rows, see sweptByHosts): a C2 calling a new
// host of its /24 every 5 minutes read as a sweep once it had reached
// about 140, and a sweep of more than about 620 rows a /24 (past what 64
// bits count) as none.
func sweeping(hosts uint64, n, unans uint32) bool {
	return bits.OnesCount64(hosts) > 4 && uint64(unans)*2 > uint64(n)
}

// sweptByHosts is how a sweep was told before its rows' answers were
// counted (snapshot version 2): more than four hosts, and about one host
// (by linear counting over the 64 bits) for every two rows or fewer rows.
func sweptByHosts(hosts uint64, n uint32) bool {
	set := bits.OnesCount64(hosts)
	if set <= 4 {
		return false
	}
	// linear counting; with every bit set, as many as it can tell
	est := 64 * math.Log(64/math.Max(float64(64-set), 0.5))
	return 2*est >= float64(n)
}

func recurHoldUnless(sweep bool) uint8 {
	if sweep {
		return 0
	}
	return recurHold
}

func (d *Detector) add(hk hkey, w int64, wh uint64, ts time.Time, size uint32, unans bool, port uint16, proto uint8, uid []byte, dst window.IP, domain []byte) {
	// a key without a full entry collects its first rows in a compact
	// first stage (most keys never get a full entry)
	k := hk.Key
	e := d.t.FindHoldFor(hk, d.heldEntry)
	if e == nil {
		pk := pkeyOf(hk, w, wh)
		ms := uint32(ts.Sub(d.win.Start(w)) / time.Millisecond)
		p := d.pre.FindHoldFor(pk, d.heldFirst)
		var r *moreRows
		if p == nil {
			// a key's first row is a sighting; its second gives it a first
			// stage, held against the one-off keys churning through
			var dh uint32
			if k.Kind == kNet {
				dh = dstHash(dst)
			}
			sg := d.sight(pk, w, ms, size, unans, dh, port, proto, uid)
			if sg == nil {
				return
			}
			p, _ = d.pre.GetHold(pk, recurHold)
			p.More, r = d.more.New()
			p.N = 1
			r.MS[0], r.Size[0], r.Port[0], r.Proto[0] = sg.MS, sg.Size, sg.Port, sg.Proto
			if sg.Proto == protoUnknown {
				r.Port[0], r.Proto[0] = port, proto
			}
			if k.Kind == kNet {
				r.NDst, r.Dsts[0], r.Hosts = 1, sg.Dst, hostBit(sg.Dst)
			}
			if sg.L&sightUnans != 0 {
				r.Unans = 1
			}
			r.UIDs.Add(sg.uid())
			*sg = Sighting{}
		} else {
			r = d.more.At(p.More)
		}
		r.MS[p.N], r.Size[p.N], r.Port[p.N], r.Proto[p.N] = ms, size, port, proto
		if unans {
			r.Unans |= 1 << p.N
		}
		r.UIDs.Add(uid)
		if k.Kind == kNet {
			r.Hosts |= addDst(&r.NDst, &r.Dsts, dst)
		}
		p.N++
		if p.N < preRows {
			return
		}
		e, _ = d.t.GetHold(hk, recurHoldUnless(sweeping(r.Hosts, uint32(p.N), uint32(bits.OnesCount8(r.Unans))))) // a new entry: Find found none
		if domain != nil {
			e.DomLen = uint8(copy(e.Domain[:], bytes.ToLower(domain)))
		}
		a := &e.Acc
		d.open(a, k, w)
		for i := 0; i < int(p.N); i++ {
			d.put(a, r.MS[i], r.Size[i], r.Unans>>i&1 != 0)
			a.Ports.add(r.Port[i], r.Proto[i])
		}
		var u window.UIDs
		r.UIDs.Export(&u)
		a.UIDs.Merge(&u)
		for i := 0; i < int(r.NDst); i++ {
			addHash(&a.NDst, &a.Dsts, r.Dsts[i])
		}
		a.Hosts = r.Hosts
		d.freeRows(p)
		d.pre.Delete(pk)
		return
	}
	a := &e.Acc
	if !a.Used {
		d.open(a, k, w)
	}
	if w != a.Win {
		if w < a.Win { // a row for an older, still-open window we already moved past: rare
			d.win.Late++
			return
		}
		// the next window while this one waits for lateness (its rows
		// replayed into it as close opens it, hosts and all: see
		// replay)
		nw := w - a.Win
		if int(e.NNext) >= pendCap || nw > math.MaxUint32 || e.NNext > 0 && uint32(nw) != e.NextW {
			d.Dropped++
			return
		}
		p := Pend{MS: uint32(ts.Sub(d.win.Start(w)) / time.Millisecond), Size: size, Port: port, Proto: proto}
		if unans {
			p.F |= pendUnans
		}
		if k.Kind == kNet {
			p.Dst, p.F = dstHash(dst), p.F|pendDst
		}
		e.Next[e.NNext], e.NextW = p, uint32(nw)
		e.NNext++
		d.nextSample(a).Add(uid)
		return
	}
	ms := uint32(ts.Sub(d.win.Start(w)) / time.Millisecond)
	d.put(a, ms, size, unans)
	a.Ports.add(port, proto)
	a.UIDs.Add(uid)
	if k.Kind == kNet {
		a.Hosts |= addDst(&a.NDst, &a.Dsts, dst)
	}
}

// addDst adds dst to a net key's destinations (the first four, which its
// message counts) and returns its bit among the key's hosts.
func addDst(n *uint8, dsts *[4]uint32, dst window.IP) uint64 {
	h := dstHash(dst)
	addHash(n, dsts, h)
	return hostBit(h)
}

// hostBit is a destination's bit in a net key's hosts (a 64-bit linear
// counting sketch: see sweeping).
func hostBit(dstHash uint32) uint64 { return 1 << (dstHash >> 26) }

func dstHash(dst window.IP) uint32 { return uint32(window.HashIP(dst, 7)) }

func addHash(n *uint8, dsts *[4]uint32, hh uint32) {
	for i := 0; i < int(*n); i++ {
		if dsts[i] == hh {
			return
		}
	}
	if int(*n) < len(dsts) {
		dsts[*n] = hh
		*n++
	}
}

func (d *Detector) open(a *Acc, k Key, w int64) {
	*a = Acc{Used: true, Win: w, First: math.MaxUint32}
	a.Rng = window.Mix64(window.HashIP(k.Src, k.H) ^ window.HashIP(k.Dst, uint64(k.Kind)) ^ uint64(w))
	if a.Rng == 0 {
		a.Rng = 1
	}
}

func (d *Detector) put(a *Acc, ms, size uint32, unans bool) {
	inc(&a.Conns)
	if unans {
		inc(&a.Unans)
	}
	a.First = min(a.First, ms)
	a.Last = max(a.Last, ms)
	h := int(uint64(ms) * hours / uint64(d.cfg.Window/time.Millisecond))
	if h >= hours {
		h = hours - 1
	}
	if a.Hist[h] < math.MaxUint16 {
		a.Hist[h]++
	}
	if size != unknownSize {
		a.Bytes += uint64(size)
		inc(&a.NSize)
		if a.NSize <= sizeCap {
			a.Size[a.NSize-1] = size
		} else if j := a.rand() % uint64(a.NSize); j < sizeCap {
			a.Size[j] = size
		}
	}
	if int(a.N) == tsCap {
		d.fold(a, tsCap/4)
	}
	a.TS[a.N] = ms
	a.N++
}

// inc counts one more, up to 2^32-1: a key-window of 2^32 rows (50,000 a
// second for a day) or a damaged snapshot wrapped a count to 0, and its
// reservoir indexed slot -1.
func inc(n *uint32) {
	if *n < math.MaxUint32 {
		*n++
	}
}

func (a *Acc) rand() uint64 {
	x := a.Rng
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	a.Rng = x
	return x
}

// fold sorts the buffered timestamps and turns all but keep of them into
// intervals (bursts closer than MergeGap count once).
func (d *Detector) fold(a *Acc, keep int) {
	buf := a.TS[:a.N]
	slices.Sort(buf)
	n := len(buf) - keep
	gap := uint32(d.cfg.MergeGap / time.Millisecond)
	for _, t := range buf[:n] {
		if !a.HasPrev {
			a.Prev, a.HasPrev = t, true
			continue
		}
		if t < a.Prev || t-a.Prev < gap {
			continue
		}
		x := t - a.Prev
		a.Prev = t
		inc(&a.NDelta)
		if a.NDelta <= deltaCap {
			a.Delta[a.NDelta-1] = x
		} else if j := a.rand() % uint64(a.NDelta); j < deltaCap {
			a.Delta[j] = x
		}
	}
	copy(buf, buf[n:])
	a.N = uint16(keep)
}

// Advance closes due windows.
func (d *Detector) Advance(wm time.Time, emit detectors.Emit) {
	if c, ok := d.win.CloseUpTo(wm); ok {
		d.close(c, emit)
		d.win.Closed = c
	}
}

// Flush closes every window.
func (d *Detector) Flush(emit detectors.Emit) {
	d.close(math.MaxInt64-1, emit)
	d.close(math.MaxInt64-1, emit) // the pending next windows
}

func (d *Detector) close(upto int64, emit detectors.Emit) {
	d.pre.Range(func(k pkey, p *first) bool {
		if k.W > upto {
			return false
		}
		d.freeRows(p)
		return true
	})
	var found []*notice.Notice
	var nets []window.IP // per notice: the /24 or /64 of a net key, else zero
	d.t.Range(func(hk hkey, e *Entry) bool {
		k := hk.Key
		a := &e.Acc
		if !a.Used || a.Win > upto {
			return false
		}
		if n := d.score(k, e); n != nil {
			found = append(found, n)
			var net window.IP
			if k.Kind == kNet {
				net = k.Dst
			}
			nets = append(nets, net)
		}
		a.Used = false
		if e.NNext == 0 {
			return true
		}
		d.replay(k, e)
		return false
	})
	for _, n := range d.dropKnown(d.dropShared(found, nets)) {
		emit(n)
	}
}

// replay opens the window of e's pending rows (the next, which came
// while its window waited for lateness) and counts them there as add
// counts a row: a net key's hosts too, so that a key whose rows cross
// a boundary is judged as one within a window. Until 2026-12-02 they
// were counted, the unanswered ones too, without their hosts: a /24
// sweep that began the day before, 16 rows in the first 5 minutes and 4
// after, was 20 rows on 4 hosts, no sweep, and a beacon notice
// (TestSweepAcrossWindows). Their uids join the window's sample; until
// 2026-12-02 they were not kept (TestPendingRowsKeepUIDs).
func (d *Detector) replay(k Key, e *Entry) {
	a := &e.Acc
	uids := a.pendUID
	d.open(a, k, a.Win+int64(e.NextW))
	if uids != 0 {
		var u window.UIDs
		d.nextUIDs.At(uids).Export(&u)
		a.UIDs.Merge(&u)
		d.nextUIDs.Free(uids)
	}
	for _, p := range e.Next[:e.NNext] {
		d.put(a, p.MS, p.Size, p.F&pendUnans != 0)
		a.Ports.add(p.Port, p.Proto)
		if p.F&pendDst != 0 {
			addHash(&a.NDst, &a.Dsts, p.Dst)
			a.Hosts |= hostBit(p.Dst)
		}
	}
	e.NNext, e.NextW = 0, 0
}

// dropShared removes the notices of destinations that MaxSources or more
// sources beacon to: periodic traffic that many hosts share is a service.
// A net-keyed notice (nets[i], its /24 or /64) names no destination, only
// a port: its net is its destination here, so that hosts rotating over
// different networks on one port are not taken for one service.
func (d *Detector) dropShared(ns []*notice.Notice, nets []window.IP) []*notice.Notice {
	if d.cfg.MaxSources <= 0 || len(ns) < d.cfg.MaxSources {
		return ns
	}
	type target struct {
		dst    netip.Addr
		domain string
		port   uint16
		net    window.IP
	}
	targetOf := func(i int) target { return target{ns[i].Destination, ns[i].Domain, ns[i].DestPort, nets[i]} }
	sources := map[target]map[netip.Addr]bool{}
	for i, n := range ns {
		t := targetOf(i)
		if sources[t] == nil {
			sources[t] = map[netip.Addr]bool{}
		}
		sources[t][n.Source] = true
	}
	kept := ns[:0]
	for i, n := range ns {
		if len(sources[targetOf(i)]) >= d.cfg.MaxSources {
			d.Shared++
			continue
		}
		kept = append(kept, n)
	}
	return kept
}

// Score is a beacon verdict with its parts.
type Score struct {
	Score, TS, DS, Hist             float64
	Skew, MADRatio, Median          float64
	SizeSkew, SizeMADRatio, SizeMed float64
	Coverage, Evenness              float64
	Span                            time.Duration
	Conns                           int
}

func (d *Detector) parts(a *Acc, sizes bool) Score {
	d.fold(a, 0)
	var s Score
	s.Conns = int(a.Conns)
	if a.Last > a.First {
		s.Span = time.Duration(a.Last-a.First) * time.Millisecond
	}
	nd := min(int(a.NDelta), deltaCap)
	d.xs = d.xs[:0]
	for _, x := range a.Delta[:nd] {
		d.xs = append(d.xs, float64(x)/1000)
	}
	if len(d.xs) >= 3 {
		q1, q2, q3 := window.Quartiles(d.xs)
		s.Median = q2
		if q2 > 0 {
			s.MADRatio = window.MAD(d.xs, q2, d.ys) / q2
		} else {
			s.MADRatio = 1
		}
		// when most intervals sit within a few percent of the median the
		// series is periodic whatever the tail: damp the skew
		s.Skew = damp(window.Bowley(q1, q2, q3), q1, q2, q3) * math.Min(1, s.MADRatio/0.05)
		s.TS = ((1 - math.Abs(s.Skew)) + math.Max(0, 1-s.MADRatio)) / 2
	}
	ns := min(int(a.NSize), sizeCap)
	d.xs = d.xs[:0]
	for _, x := range a.Size[:ns] {
		d.xs = append(d.xs, float64(x))
	}
	if sizes && len(d.xs) >= 3 {
		q1, q2, q3 := window.Quartiles(d.xs)
		s.SizeMed = q2
		s.SizeSkew = damp(window.Bowley(q1, q2, q3), q1, q2, q3)
		if q2 > 0 {
			s.SizeMADRatio = window.MAD(d.xs, q2, d.ys) / q2
		}
		s.DS = ((1 - math.Abs(s.SizeSkew)) + math.Max(0, 1-s.SizeMADRatio)) / 2
	}
	// hourly histogram over the active span: persistence and evenness
	lo, hi := -1, -1
	for i, c := range a.Hist {
		if c > 0 {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	if lo >= 0 {
		nz, sum, sq := 0.0, 0.0, 0.0
		inner := a.Hist[lo : hi+1]
		if len(inner) > 2 {
			inner = inner[1 : len(inner)-1] // the first and last hours are partial
		}
		for _, c := range inner {
			if c > 0 {
				nz++
				sum += float64(c)
				sq += float64(c) * float64(c)
			}
		}
		s.Coverage = nz / float64(len(inner))
		if nz == 0 {
			nz, sum = 1, 1
		}
		mean := sum / nz
		cv := math.Sqrt(math.Max(0, sq/nz-mean*mean)) / mean
		s.Evenness = math.Max(0, 1-math.Min(1, cv))
		if hi-lo+1 <= 2 {
			s.Evenness = 1
		}
		s.Hist = (s.Coverage + s.Evenness) / 2
	}
	if sizes {
		s.Score = 0.4*s.TS + 0.3*s.DS + 0.3*s.Hist
	} else {
		s.Score = 0.55*s.TS + 0.45*s.Hist
	}
	return s
}

// sized says whether a key's rows give their sizes (orig_bytes): all of
// them, or at least the three a size regularity needs. A key whose rows
// do not (a log without orig_bytes; apt-investigation's conn.log leaves
// it unset in 1,152 of 1,156 rows) is scored on its intervals and hours
// alone, as a domain key is, instead of on sizes it does not have.
func sized(a *Acc) bool {
	return a.NSize >= 3 || a.NSize == a.Conns
}

// damp scales the quartile skewness down when the spread is tiny (under
// 10 % of the median): a 1 % IQR has a meaningless, noisy skew.
func damp(skew, q1, q2, q3 float64) float64 {
	if q2 <= 0 {
		return skew
	}
	rel := (q3 - q1) / q2
	if rel < 0.1 {
		return skew * rel / 0.1
	}
	return skew
}

func (d *Detector) score(k Key, e *Entry) *notice.Notice {
	a := &e.Acc
	if int(a.Conns) < d.cfg.MinConns {
		return nil
	}
	if k.Kind == kNet && a.NDst < 2 {
		return nil // the pair key already covers a single destination
	}
	if k.Kind == kNet && sweeping(a.Hosts, a.Conns, a.Unans) {
		d.Sweeps++
		return nil
	}
	// sizes are scored where the rows give them (a domain key's rows are
	// TLS handshakes: no size of the beacon's own)
	sizes := k.Kind != kDomain && sized(a)
	s := d.parts(a, sizes)
	if k.Kind == kDomain && s.Median*float64(time.Second) < float64(d.cfg.MinDomainInterval) {
		return nil
	}
	if s.Span < d.cfg.MinSpan || s.Median*float64(time.Second) < float64(d.cfg.MinInterval) ||
		s.Median*float64(time.Second) > float64(d.cfg.MaxInterval) || s.Score < d.cfg.Threshold {
		return nil
	}
	start := d.win.Start(a.Win)
	// First and Last are truncated to the millisecond: the end is rounded
	// up so that the last connection (Zeek's ts has microseconds) lies
	// within [start, end] like every other row of the evidence
	n := &notice.Notice{Rule: notice.RuleBeacon, Source: k.Src.Addr(), Timestamp: d.win.End(a.Win),
		Start: start.Add(time.Duration(a.First) * time.Millisecond),
		End:   start.Add(time.Duration(a.Last+1) * time.Millisecond)}
	ratio := window.RatioForScore(s.Score, d.cfg.Threshold)
	n.RiskScore = window.Risk(ratio)
	target := ""
	keyS := ""
	// the ports of the key's rows, not its last row's (see portCounts);
	// a domain key's notice names none
	ps := portsSaid{}
	if k.Kind != kDomain {
		ps = a.Ports.said()
		n.DestPort, n.Proto = ps.port, window.ProtoName(ps.proto)
	}
	switch k.Kind {
	case kPair:
		n.Destination = k.Dst.Addr()
		target = window.Endpoint(n.Destination, ps.port, n.Proto) // (an ICMP one read ":0")
		if !ps.named {
			target = n.Destination.String() + " " + ps.where
		}
	case kNet:
		bits := 24
		if !k.Dst.Addr().Is4() {
			bits = 64
		}
		n.DestNet = netip.PrefixFrom(k.Dst.Addr(), bits)
		target = fmt.Sprintf("%d hosts in %s %s", a.NDst, n.DestNet, ps.where) // (the port was left out)
		keyS = "net:" + k.Dst.String()
	case kDomain:
		n.Domain = e.domain()
		target = n.Domain
		keyS = "domain"
	}
	if ps.split != "" {
		ps.split = " (" + ps.split + ")"
	}
	// connections, not times: a burst of connections is one beacon of the
	// interval ("20 times over 35m" at a 5-minute interval were 4 bursts
	// of 5); the score against its threshold, which "score 0.97" left out
	n.Message = fmt.Sprintf("%s beaconed to %s: %d connections%s over %s (median interval %s, spread %s; beacon score %.2f, threshold %.2f)",
		k.Src.Addr(), target, s.Conns, ps.split, window.FmtDur(s.Span.Round(time.Second)), window.FmtDur(time.Duration(s.Median*float64(time.Second)).Round(100*time.Millisecond)), spread(s.MADRatio), s.Score, d.cfg.Threshold)
	f := map[string]notice.Feature{
		"interval_regularity": notice.F(s.TS, d.cfg.Threshold, s.TS-d.cfg.Threshold),
		"interval_skew":       notice.F(s.Skew, 0, s.Skew),
		"interval_mad_ratio":  notice.F(s.MADRatio, 0, s.MADRatio),
		"interval_median_s":   {Value: s.Median},
		"histogram":           notice.F(s.Hist, d.cfg.Threshold, s.Hist-d.cfg.Threshold),
		"hour_coverage":       {Value: s.Coverage},
		"connections":         notice.F(float64(s.Conns), float64(d.cfg.MinConns), float64(s.Conns)/float64(d.cfg.MinConns)),
		"span_s":              {Value: s.Span.Seconds()},
	}
	if sizes {
		f["size_regularity"] = notice.F(s.DS, d.cfg.Threshold, s.DS-d.cfg.Threshold)
		f["size_median"] = notice.Feature{Value: s.SizeMed}
	}
	n.UIDs = a.UIDs.Strings()
	n.Explain = notice.Explanation{Detector: "beacon", Score: s.Score, Features: f,
		Top: []string{"interval_regularity", "size_regularity", "histogram"}, Window: d.cfg.Window.Seconds()}
	if !sizes {
		n.Explain.Top = []string{"interval_regularity", "histogram"}
	}
	n.Finalize(keyS)
	return n
}

// service names a port for a message: "on tcp/443", "with ICMP".
func service(port uint16, proto string) string {
	if proto == "icmp" {
		return "with ICMP"
	}
	return "on " + portName(port, proto)
}

// snapshotVersion is bumped when the snapshot's form changes. Version 2
// counts each key's rows by port (Acc.Ports, each first-stage row's and
// each sighting's port); version 1, written before it had a version,
// kept a key's last row's port alone, and Restore counts all its rows
// on that port (what that build's notice named) and gives its
// sightings the port of their key's next row. Version 3 counts a key's
// unanswered rows (Acc.Unans, Pre.Unans, Pend.Unans and a sighting's
// sightUnans); a version 2 key's rows are all unanswered when its hosts
// made it a sweep then (sweptByHosts), else none, so it is judged as it
// was. Version 4 keeps a net key's pending rows' destinations
// (PendForm.Dst); a version 3 key's are replayed without hosts, as
// that build counted them. Version 5 keeps the pending rows' uid sample
// (EntryForm.NextUIDs); an older key's pending rows are replayed without
// uids, as that build did.
const snapshotVersion = 5

type snap struct {
	Version int // (0: version 1)
	Entries []window.Entry[Key, EntryForm]
	Pre     []window.Entry[PKey, Pre]
	PreEv   int64
	Ev      int64
	Closed  int64
	Late    int64
	Dropped int64
	// where Entries and Pre sit in their tables (eviction order)
	Layout, PreLayout window.Layout
	// Sights are the sightings of open windows, by slot (older snapshots
	// have none: those keys start again at their next row)
	Sights []SightAt
	// Chunks is how many gob messages of entries follow this one, per
	// table (window.GobChunksLater); none in older snapshots, which
	// hold their entries here
	Chunks []int
}

// ReadChunks reads the entries that follow a chunked snapshot's head
// (window.GobChunksLater).
func (s *snap) ReadChunks(dec *gob.Decoder) (err error) {
	if s.Entries, err = window.ReadChunks(dec, s.Chunks, 0, s.Entries); err != nil {
		return err
	}
	if s.Pre, err = window.ReadChunks(dec, s.Chunks, 1, s.Pre); err != nil {
		return err
	}
	if s.Sights, err = window.ReadChunks(dec, s.Chunks, 2, s.Sights); err != nil {
		return err
	}
	return nil
}

// EntryForm is an Entry as snapshots carry it: its pending rows at their
// time (as versions 1 to 3 wrote them), not in a window.
type EntryForm struct {
	Acc    Acc
	Next   [pendCap]PendForm
	NNext  uint8
	DomLen uint8
	Domain [64]byte
	// NextUIDs is the uid sample of the pending rows (version 5 on;
	// older ones kept none)
	NextUIDs window.UIDs
}

// PendForm is a Pend as snapshots carry it.
type PendForm struct {
	MS    int64 // Unix milliseconds
	Size  uint32
	Port  uint16
	Proto uint8 // (0 in a version 1 snapshot: Restore takes its entry's)
	Unans bool  // (version 3 on)
	// Dst is a net key's destination when HasDst (version 4 on)
	Dst    uint32
	HasDst bool
}

func (d *Detector) entryForm(e *Entry) EntryForm {
	f := EntryForm{Acc: e.Acc, NNext: e.NNext, DomLen: e.DomLen, Domain: e.Domain}
	if e.Acc.pendUID != 0 {
		d.nextUIDs.At(e.Acc.pendUID).Export(&f.NextUIDs)
	}
	start := d.win.Start(e.Acc.Win + int64(e.NextW)).UnixMilli()
	for i, p := range e.Next[:e.NNext] {
		f.Next[i] = PendForm{MS: start + int64(p.MS), Size: p.Size, Port: p.Port, Proto: p.Proto,
			Unans: p.F&pendUnans != 0, Dst: p.Dst, HasDst: p.F&pendDst != 0}
	}
	return f
}

// entryOf is the live form of a snapshot's f. Its pending rows are the
// first's window's, after its own (the ones of another window, which
// versions 1 to 3 could hold, were left out when replayed).
func (d *Detector) entryOf(f *EntryForm) Entry {
	e := Entry{Acc: f.Acc, DomLen: f.DomLen, Domain: f.Domain}
	var w int64
	for i, p := range f.Next[:f.NNext] {
		pw := d.win.Index(time.UnixMilli(p.MS))
		if i == 0 {
			w = pw
		}
		if pw != w || w <= f.Acc.Win || w-f.Acc.Win > math.MaxUint32 {
			continue
		}
		x := Pend{MS: uint32(p.MS - d.win.Start(w).UnixMilli()), Size: p.Size, Port: p.Port, Proto: p.Proto}
		if p.Unans {
			x.F |= pendUnans
		}
		if p.HasDst {
			x.Dst, x.F = p.Dst, x.F|pendDst
		}
		e.Next[e.NNext], e.NextW = x, uint32(w-f.Acc.Win)
		e.NNext++
	}
	if e.NNext > 0 && f.NextUIDs.N > 0 {
		d.nextSample(&e.Acc).Load(&f.NextUIDs)
	}
	return e
}

// fromVersion1 counts the rows of a version 1 snapshot's e on the one
// port it kept (its last row's), and its pending rows on its transport.
func (e *EntryForm) fromVersion1() {
	a := &e.Acc
	a.Ports = portCounts{}
	if a.Conns > 0 {
		a.Ports.Port[0], a.Ports.Proto[0], a.Ports.N[0] = a.Port, a.Proto, a.Conns
	}
	a.Port, a.Proto = 0, 0
	for i := range e.Next {
		e.Next[i].Proto = a.Ports.Proto[0]
	}
}

// check refuses what no detector writes (a damaged snapshot): a kind that
// is none, a first stage of no rows or of a full entry's, and counts past
// their arrays, which a key's next row indexed with (FuzzRestore).
func (s *snap) check() error {
	kind := func(k Key) bool { return k.Kind >= kPair && k.Kind <= kDomain }
	for i := range s.Entries {
		k, e := s.Entries[i].K, &s.Entries[i].V
		if a := &e.Acc; !kind(k) || int(a.N) > len(a.TS) || int(a.NDst) > len(a.Dsts) ||
			int(e.NNext) > len(e.Next) || int(e.DomLen) > len(e.Domain) {
			return fmt.Errorf("beacon snapshot: damaged entry %d (kind %d, %d timestamps, %d destinations, %d rows pending, a domain of %d bytes)",
				i, k.Kind, a.N, a.NDst, e.NNext, e.DomLen)
		}
	}
	seen := make(map[PKey]struct{}, len(s.Pre))
	for i := range s.Pre {
		k, p := s.Pre[i].K, &s.Pre[i].V
		if !kind(k.Key) || p.N < 1 || p.N >= preRows || int(p.NDst) > len(p.Dsts) {
			return fmt.Errorf("beacon snapshot: damaged first stage %d (kind %d, %d rows, %d destinations)", i, k.Kind, p.N, p.NDst)
		}
		// (restoring takes its rows from the slab before the table keeps
		// one of the two: the other's would never be freed)
		if _, dup := seen[k]; dup {
			return fmt.Errorf("beacon snapshot: damaged first stage %d (its key is named twice)", i)
		}
		seen[k] = struct{}{}
	}
	for i := range s.Sights {
		if x := &s.Sights[i].S; int(x.L) > len(x.UID) {
			return fmt.Errorf("beacon snapshot: damaged sighting %d (a uid of %d bytes)", i, x.L)
		}
	}
	return nil
}

// SightAt is a sighting and its slot, in snapshots.
type SightAt struct {
	I int32
	S SightForm
}

// SightForm is a Sighting as snapshots carry it: its uid in 22 bytes, as
// version 1 wrote it, whose sightings held uids of up to 22.
type SightForm struct {
	FP               uint64
	W, MS, Size, Dst uint32
	Port             uint16
	Proto, L         uint8
	UID              [22]byte
	Unans            bool // (version 3 on)
}

func (s *Sighting) form() SightForm {
	f := SightForm{FP: s.FP, W: s.W, MS: s.MS, Size: s.Size, Dst: s.Dst, Port: s.Port, Proto: s.Proto, L: s.L &^ sightUnans, Unans: s.L&sightUnans != 0}
	copy(f.UID[:], s.uid())
	return f
}

// live is f as the detector holds it (its uid not kept when longer than
// a live sighting's: version 1 kept uids of 21 and 22 bytes).
func (f *SightForm) live() Sighting {
	s := Sighting{FP: f.FP, W: f.W, MS: f.MS, Size: f.Size, Dst: f.Dst, Port: f.Port, Proto: f.Proto}
	if int(f.L) <= len(s.UID) {
		s.L = uint8(copy(s.UID[:], f.UID[:f.L]))
	}
	if f.Unans {
		s.L |= sightUnans
	}
	return s
}

// Snapshot encodes the state (gob).
func (d *Detector) Snapshot() ([]byte, error) { return detectors.Encoded(d.Capture()) }

var _ detectors.Capturer = (*Detector)(nil)

// Capture copies the state; the returned function encodes the copy.
func (d *Detector) Capture() func(io.Writer) error {
	live, livePre := d.t.Export(), d.pre.Export()
	es := make([]window.Entry[Key, EntryForm], len(live))
	for i := range live {
		es[i] = window.Entry[Key, EntryForm]{K: live[i].K.Key, V: d.entryForm(&live[i].V)}
	}
	pre := make([]window.Entry[PKey, Pre], len(livePre))
	for i, e := range livePre {
		pre[i] = window.Entry[PKey, Pre]{K: e.K.PKey, V: d.preForm(e.K.PKey, &e.V)}
	}
	var sights []SightAt
	for pi, p := range d.sights.pages {
		for i := range p {
			// (a window after the last closed, W's low bits compared mod 2^32)
			if sg := &p[i]; sg.FP != 0 && int32(sg.W-uint32(d.win.Closed)) > 0 {
				sights = append(sights, SightAt{int32(pi*sightPage + i), sg.form()})
			}
		}
	}
	s := &snap{snapshotVersion, nil, nil, d.pre.Evicted(), d.t.Evicted(), d.win.Closed, d.win.Late, d.Dropped, d.t.Layout(), d.pre.Layout(), nil,
		[]int{window.Chunks(len(es)), window.Chunks(len(pre)), window.Chunks(len(sights))}}
	return window.GobChunksLater(s, window.Chunked(es), window.Chunked(pre), window.Chunked(sights))
}

// Restore loads a Snapshot.
func (d *Detector) Restore(b []byte) error {
	var s snap
	if err := window.DecodeGobInto(b, &s); err != nil {
		return err
	}
	if err := window.SnapshotVersion("beacon", s.Version, 0, snapshotVersion); err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	v1, v2 := s.Version <= 1, s.Version <= 2
	d.nextUIDs = window.Slab[window.UIDSample]{}
	es := make([]window.Entry[hkey, Entry], len(s.Entries))
	for i, e := range s.Entries {
		if v1 {
			e.V.fromVersion1()
		}
		if a := &e.V.Acc; v2 && sweptByHosts(a.Hosts, a.Conns) {
			a.Unans = a.Conns
		}
		es[i] = window.Entry[hkey, Entry]{K: newHKey(e.K), V: d.entryOf(&e.V)}
	}
	d.t.ImportLayout(es, s.Ev, s.Layout)
	d.more = window.Slab[moreRows]{}
	pre := make([]window.Entry[pkey, first], len(s.Pre))
	for i, e := range s.Pre {
		if v1 {
			for j := range e.V.N {
				e.V.Ports[j], e.V.Protos[j] = e.V.Port, e.V.Proto
			}
		}
		if v2 && sweptByHosts(e.V.Hosts, uint32(e.V.N)) {
			e.V.Unans = 1<<e.V.N - 1
		}
		pre[i] = window.Entry[pkey, first]{K: pkeyOf(newHKey(e.K.Key), e.K.W, window.Mix64(uint64(e.K.W))), V: d.firstOf(&e.V)}
	}
	d.pre.ImportLayout(pre, s.PreEv, s.PreLayout)
	d.win.Closed, d.win.Late, d.Dropped = s.Closed, s.Late, s.Dropped
	d.sights = newSightings(d.sights.n)
	for _, x := range s.Sights {
		sg := x.S.live()
		if v1 {
			sg.Port, sg.Proto = 0, protoUnknown
		}
		// its slot, or (another max_hosts) a free one of its bucket
		b := d.sights.bucket(sg.FP)
		a, c := d.sights.at(b)
		switch {
		case x.I == int32(b):
			*a = sg
		case x.I == int32(b+1):
			*c = sg
		case a.FP == 0:
			*a = sg
		case c.FP == 0:
			*c = sg
		}
	}
	return nil
}

// spread writes the intervals' MAD over their median as a percentage:
// whole percents from 10 %, a tenth under ("±0.3%", "±2.5%"), "under 0.1%"
// under a twentieth. "±0%" read as perfectly regular for a 0.26 % spread
// and "±3%" hid the difference between 2.5 % and 3.4 %.
func spread(madRatio float64) string {
	p := madRatio * 100
	switch {
	case p >= 9.95:
		return fmt.Sprintf("±%.0f%%", p)
	case p >= 0.05:
		return fmt.Sprintf("±%.1f%%", p)
	case p > 0:
		return "under 0.1%"
	}
	return "±0%"
}
