// Package features turns conn, dns, http and ssl rows into one fixed-order
// feature vector per host (the connection originator) per event-time window.
// The vectors feed the isolation forest, the supervised classifier, the
// baselines of the model file and `zeekanom features` (CSV for peers).
//
// Windows are tumbling, aligned to the epoch, closed once the watermark has
// passed their end plus the lateness (conn rows are written at connection
// end, their ts is the start). Per-window state is bounded: at most MaxHosts
// hosts per window and MaxDistinct entries per distinct-count set; what is
// dropped is counted in Stats.
package features

import (
	"bytes"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// Names are the features, in vector order. Changing them changes the model
// format version (detectors/model).
var Names = []string{
	"conn_count",          // 0 conn rows originated
	"distinct_dst_ips",    // 1
	"distinct_dst_ports",  // 2
	"failed_ratio",        // 3 share of S0/REJ/RSTOS0/RSTRH/SH/SHR/OTH
	"bytes_out",           // 4 orig_bytes sum
	"bytes_in",            // 5 resp_bytes sum
	"mean_duration",       // 6 seconds
	"udp_ratio",           // 7
	"interarrival_cv",     // 8 coefficient of variation of conn start gaps (low = periodic)
	"dns_queries",         // 9
	"nxdomain_ratio",      // 10
	"distinct_domains",    // 11 registered domains queried
	"label_entropy",       // 12 mean Shannon entropy of the query's subdomain part
	"mean_query_len",      // 13
	"http_requests",       // 14
	"http_distinct_hosts", // 15
	"ssl_conns",           // 16
	"ssl_distinct_sni",    // 17
	"out_in_ratio",        // 18 log((out+1)/(in+1))
}

// Dim is the vector length as a constant (fixed-size per-host state);
// a test checks it against Names.
const Dim = 19

// N is the vector length.
var N = len(Names)

// Ratio reports whether feature i is a ratio/bounded value (not log-scaled
// by Transform).
func Ratio(i int) bool {
	switch i {
	case 3, 7, 8, 10, 12, 18:
		return true
	}
	return false
}

// Mean reports whether feature i is a mean over the window's rows
// (which, like a ratio, does not grow with the time a window covers).
func Mean(i int) bool { return i == 6 || i == 13 }

// Distinct reports whether feature i counts distinct values
// (destinations, ports, domains, HTTP hosts, server names): over more of
// a window it grows less than in proportion.
func Distinct(i int) bool {
	switch i {
	case 1, 2, 11, 15, 17:
		return true
	}
	return false
}

// Transform maps a raw vector to the space the models work in: log1p of
// counts and sums, ratios unchanged. dst may be v.
func Transform(v, dst []float64) []float64 {
	if dst == nil {
		dst = make([]float64, len(v))
	}
	for i, x := range v {
		if Ratio(i) {
			dst[i] = x
		} else {
			dst[i] = math.Log1p(math.Max(x, 0))
		}
	}
	return dst
}

// Vector is one host-window.
type Vector struct {
	Host   netip.Addr
	Start  time.Time
	End    time.Time
	Values []float64
	// Malicious is true when any row of the host-window carries a
	// Stratosphere label starting with "Malicious"/"malicious".
	Malicious bool
	// Class is the first malicious detailedlabel seen (ground truth only).
	Class string
	// Rows is the number of rows folded in.
	Rows int
	// UIDs is a sample of the window's uids (evidence).
	UIDs []string
	// Unobserved is how much of the window the input did not cover: the
	// time before its first row when it opens the input or follows a gap
	// (no row for longer than a window), and after its last row when it
	// ends the input or precedes one. 0: the whole window was observed
	// (or its span is not known: a window restored from a version 2
	// snapshot). Its counts are then those of part of the window.
	Unobserved time.Duration
	// Unlogged says which byte counts none of the window's conn rows
	// gave (a log written without orig_bytes or resp_bytes, Zeek's unset
	// "-" on every row, a JSON writer leaving the key out): bytes_out,
	// bytes_in and out_in_ratio then hold 0 for what the log never gave.
	// The values stay so (the models' input); messages say "not logged"
	// (Unlogged.Of). 0 for a window without conn rows, and for one
	// restored from a snapshot written before it existed.
	Unlogged Unlogged `json:",omitempty"`
}

// Observed is the share of the window the input covered: 1 for a whole
// window (Unobserved 0), less for one covered in part.
func (v *Vector) Observed() float64 {
	w := v.End.Sub(v.Start)
	if v.Unobserved <= 0 || w <= 0 {
		return 1
	}
	return max(0, 1-float64(v.Unobserved)/float64(w))
}

// Config tunes the extractor.
type Config struct {
	Window      time.Duration
	Lateness    time.Duration
	MaxHosts    int
	MaxDistinct int
	// MinRows drops host-windows with fewer rows (0 keeps all).
	MinRows int
	// Labeler, when set, is extra ground truth (e.g. eval label files): it
	// marks a row malicious of a class by its endpoints and time.
	Labeler func(orig, resp netip.Addr, ts time.Time) (class string, malicious bool)
}

// DefaultConfig is a 5-minute window with 2 minutes of lateness.
func DefaultConfig() Config {
	return Config{Window: 5 * time.Minute, Lateness: 2 * time.Minute, MaxHosts: 200000, MaxDistinct: 4096, MinRows: 1}
}

// Stats counts what the bounds dropped.
type Stats struct {
	Windows int64 // host-windows emitted (or left out by SkipBelow)
	// RefusedRows counts rows not tracked because their window was full
	// of hosts (or their host-window had math.MaxUint32 rows): rows, not
	// hosts, so not the metrics' hosts_evicted_total, which it was as
	// EvictedHosts (snapshots keep that name).
	RefusedRows int64 `json:"EvictedHosts"`
	CappedSets  int64 // distinct-set inserts dropped at the cap
	LateRows    int64 // rows for windows already closed
	// Reassigned counts conn rows whose start window had closed, folded
	// into the window of their end (ts + duration) instead.
	Reassigned int64
}

// Extractor accumulates rows into host-windows.
type Extractor struct {
	cfg    Config
	open   []*winState // open windows, in no order
	cur    *winState   // the window of the last row
	spare  []*winState // closed windows, emptied for reuse
	closed time.Time   // every window ending at or before this is closed
	stats  Stats
	order  []hostRef // close's scratch: accumulators in host order
	rank   []int32   // close's scratch: an accumulator's place in order, or -1
	times  []float64 // vector's scratch
	// countOnly is SkipBelow's bound: host-windows with fewer rows are
	// counted in Stats.Windows but not built.
	countOnly int
	// uidsFrom is SkipUIDsBelow's bound: host-windows with fewer rows are
	// built without their uids.
	uidsFrom int
	// prevEnd and prevLast are the end of the last window closed with
	// rows of its own and the ts of its last row (Unix ns): whether the
	// input covered the start of the next one (observed)
	prevEnd  time.Time
	prevLast int64
}

// maxSpare closed windows are kept for reuse (a window lives
// window + lateness, so two or three are open at a time).
const maxSpare = 2

// New returns an extractor.
func New(cfg Config) *Extractor {
	d := DefaultConfig()
	if cfg.Window <= 0 {
		cfg.Window = d.Window
	}
	if cfg.Lateness < 0 {
		cfg.Lateness = 0
	}
	if cfg.MaxHosts <= 0 {
		cfg.MaxHosts = d.MaxHosts
	}
	if cfg.MaxDistinct <= 0 {
		cfg.MaxDistinct = d.MaxDistinct
	}
	return &Extractor{cfg: cfg}
}

// Config returns the effective configuration.
func (x *Extractor) Config() Config { return x.cfg }

// Stats returns the counters.
func (x *Extractor) Stats() Stats { return x.stats }

// SkipBelow makes Advance and Flush leave out the host-windows with fewer
// than rows rows, for a caller that no longer reads them (the isolation
// forest once trained judges only windows of min_rows): on a large
// network they are most windows, and building each costs a few cache
// misses and allocations. They are still counted in Stats.Windows, as if
// returned. 0 returns every window again.
func (x *Extractor) SkipBelow(rows int) { x.countOnly = rows }

// SkipUIDsBelow makes Advance and Flush build the host-windows with fewer
// than rows rows without their UIDs, for a caller that only trains on
// them (the isolation forest before it has a forest: with 160,000 hosts,
// nine in ten windows, and reading each one's uids back was a cache miss
// and an allocation a uid). 0 gives every window its UIDs again.
func (x *Extractor) SkipUIDsBelow(rows int) { x.uidsFrom = rows }

// acc finds the host's accumulator for a row at ts, and the window
// holding it.
func (x *Extractor) acc(h netip.Addr, ts time.Time) (*winState, *hostAcc) { return x.accEnd(h, ts, 0) }

// accEnd finds the host's accumulator for a row starting at ts and lasting
// dur: in the window of ts, or, when that one is already closed (a long
// connection is logged when it ends), the window of its end.
func (x *Extractor) accEnd(h netip.Addr, ts time.Time, dur time.Duration) (*winState, *hostAcc) {
	w := x.cur
	if w == nil || ts.Before(w.start) || !ts.Before(w.end) || !x.isOpen(w) {
		w = x.windowOf(ts, dur)
		if w == nil {
			return nil, nil
		}
		x.cur = w
	}
	w.saw(ts)
	a := w.find(keyOf(h), x.cfg.MaxHosts)
	if a == nil || a.rows == math.MaxUint32 {
		// (a host-window of 2^32-1 rows takes no more: its counts are
		// uint32, and 4 billion rows of one host in a window are not
		// worth 8 bytes more of every accumulator)
		x.stats.RefusedRows++
		return nil, nil
	}
	a.rows++
	return w, a
}

// isOpen reports whether w ends after the closed mark.
func (x *Extractor) isOpen(w *winState) bool { return x.closed.IsZero() || w.end.After(x.closed) }

// windowOf finds or opens the window of a row at ts lasting dur (nil when
// late).
func (x *Extractor) windowOf(ts time.Time, dur time.Duration) *winState {
	start := ts.Truncate(x.cfg.Window)
	if !x.closed.IsZero() && !start.Add(x.cfg.Window).After(x.closed) {
		start = ts.Add(dur).Truncate(x.cfg.Window)
		if !start.Add(x.cfg.Window).After(x.closed) {
			x.stats.LateRows++
			return nil
		}
		x.stats.Reassigned++
	}
	for _, w := range x.open {
		if w.start.Equal(start) {
			return w
		}
	}
	return x.openWindow(start)
}

func (x *Extractor) openWindow(start time.Time) *winState {
	var w *winState
	if n := len(x.spare); n > 0 {
		w, x.spare = x.spare[n-1], x.spare[:n-1]
	} else {
		w = newWinState(x.cfg.MaxDistinct)
		w.reserve(x.busiestOpen())
	}
	w.reset(start, start.Add(x.cfg.Window))
	x.open = append(x.open, w)
	return w
}

// busiestOpen is the most hosts an open window holds: a new window is
// sized for as many, as the next window holds about the hosts of this
// one, and growing to 100,000 hosts copied 25 MB of accumulators.
func (x *Extractor) busiestOpen() int {
	n := 0
	for _, w := range x.open {
		n = max(n, len(w.accs))
	}
	return n
}

// setAdd adds hash h to a distinct set, counting a drop at the cap.
func (x *Extractor) setAdd(w *winState, s *hset, h uint64) {
	if !w.add(s, h, x.cfg.MaxDistinct) {
		x.stats.CappedSets++
	}
}

// IsMalicious applies the Stratosphere convention to a label column.
func IsMalicious(label []byte) bool {
	return len(label) >= 9 && (bytes.HasPrefix(label, []byte("Malicious")) || bytes.HasPrefix(label, []byte("malicious")))
}

// maxUIDs is how many uids a vector keeps as evidence.
const maxUIDs = 20

func (w *winState) label(a *hostAcc, label, detailed, uid []byte) {
	if IsMalicious(label) {
		if !a.mal() {
			w.setClass(a, ClassOf(string(detailed)))
		}
		a.flags |= accMal
	}
	if len(uid) > 0 && a.nUIDs < maxUIDs {
		w.addUID(a, uid)
	}
}

func (x *Extractor) extra(w *winState, a *hostAcc, o, r netip.Addr, ts time.Time) {
	if x.cfg.Labeler == nil || a.mal() {
		return
	}
	if c, ok := x.cfg.Labeler(o, r, ts); ok {
		a.flags |= accMal
		w.setClass(a, c)
	}
}

// ClassOf names an attack class from a detailedlabel ("" or "-" give
// "malicious").
func ClassOf(detailed string) string {
	if detailed == "" || detailed == "-" || detailed == "(empty)" {
		return "malicious"
	}
	return detailed
}

var failedStates = []string{"S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"}

// Failed reports whether a conn_state is a failed or unanswered attempt.
func Failed(state []byte) bool {
	for _, s := range failedStates {
		if string(state) == s {
			return true
		}
	}
	return false
}

// Observe folds one row in.
func (x *Extractor) Observe(ev *zeekreader.Event) {
	switch ev.Kind {
	case zeekreader.KindConn:
		c := ev.Conn
		w, a := x.accEnd(c.Orig, c.TS, c.Duration)
		if a == nil {
			return
		}
		a.conns++
		if Failed(c.ConnState) {
			a.failed++
		}
		if string(c.Proto) == "udp" {
			a.udp++
		}
		a.out += float64(c.OrigBytes)
		a.in += float64(c.RespBytes)
		if c.HasOrigBytes {
			a.flags |= accOut
		}
		if c.HasRespBytes {
			a.flags |= accIn
		}
		a.dur += c.Duration.Seconds()
		if !w.addAddr(&a.ips, c.Resp, x.cfg.MaxDistinct) {
			x.stats.CappedSets++
		}
		if !w.addPort(a, c.RespP, x.cfg.MaxDistinct) {
			x.stats.CappedSets++
		}
		if int(a.nTimes) < x.cfg.MaxDistinct {
			w.addTime(a, float64(c.TS.UnixNano())/1e9)
		}
		w.label(a, c.Label, c.DetailedLabel, c.UID)
		x.extra(w, a, c.Orig, c.Resp, c.TS)
	case zeekreader.KindDNS:
		q := ev.DNS
		w, a := x.acc(q.Orig, q.TS)
		if a == nil {
			return
		}
		s := w.side(a)
		s.dns++
		if q.HasRCode && q.RCode == 3 {
			s.nx++
		}
		name := strings.ToLower(strings.TrimSuffix(string(q.Query), "."))
		reg, sub := SplitDomain(name)
		if reg != "" {
			x.setAdd(w, &s.domains, hashString(reg))
		}
		s.ent += Entropy(sub)
		s.qlen += float64(len(name))
		w.label(a, q.Label, q.DetailedLabel, q.UID)
		x.extra(w, a, q.Orig, q.Resp, q.TS)
	case zeekreader.KindHTTP:
		h := ev.HTTP
		w, a := x.acc(h.Orig, h.TS)
		if a == nil {
			return
		}
		s := w.side(a)
		s.http++
		if len(h.Host) > 0 {
			x.setAdd(w, &s.hhosts, hashString(h.Host))
		}
		w.label(a, h.Label, h.DetailedLabel, h.UID)
		x.extra(w, a, h.Orig, h.Resp, h.TS)
	case zeekreader.KindSSL:
		s := ev.SSL
		w, a := x.acc(s.Orig, s.TS)
		if a == nil {
			return
		}
		side := w.side(a)
		side.ssl++
		if len(s.ServerName) > 0 {
			x.setAdd(w, &side.snis, hashString(s.ServerName))
		}
		w.label(a, s.Label, s.DetailedLabel, s.UID)
		x.extra(w, a, s.Orig, s.Resp, s.TS)
	}
}

// SplitDomain returns the registered domain (eTLD+1) of a query name and
// the part left of it ("" when the name is itself registered or has no
// public suffix, e.g. local names, where the first label is the domain).
func SplitDomain(name string) (reg, sub string) {
	if name == "" {
		return "", ""
	}
	if strings.HasSuffix(name, ".in-addr.arpa") || strings.HasSuffix(name, ".ip6.arpa") {
		return "arpa", ""
	}
	r, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		return name, ""
	}
	if len(name) > len(r) {
		sub = name[:len(name)-len(r)-1]
	}
	return r, sub
}

// Entropy is the Shannon entropy of s in bits per character (dots ignored).
func Entropy(s string) float64 {
	var counts [256]int
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			continue
		}
		counts[s[i]]++
		n++
	}
	if n == 0 {
		return 0
	}
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(n)
			h -= p * math.Log2(p)
		}
	}
	return h
}

// vector computes a's features. The counts are uint32 where they were
// float64 sums of 1 (exact below 2^53): float64 of them, and the ratios
// of those, are the same values bit for bit.
func (x *Extractor) vector(w *winState, a *hostAcc, v []float64) Vector {
	conns := float64(a.conns)
	v[0] = conns
	v[1] = float64(a.ips.n)
	v[2] = float64(w.distinctPorts(a))
	if a.conns > 0 {
		v[3] = float64(a.failed) / conns
		v[6] = a.dur / conns
		v[7] = float64(a.udp) / conns
	}
	v[4], v[5] = a.out, a.in
	v[8] = x.interarrivalCV(w, a)
	s := w.sideOf(a)
	dns := float64(s.dns)
	v[9] = dns
	if s.dns > 0 {
		v[10] = float64(s.nx) / dns
		v[12] = s.ent / dns
		v[13] = s.qlen / dns
	}
	v[11] = float64(s.domains.n)
	v[14] = float64(s.http)
	v[15] = float64(s.hhosts.n)
	v[16] = float64(s.ssl)
	v[17] = float64(s.snis.n)
	v[18] = math.Log((a.out + 1) / (a.in + 1))
	var uids []string
	if int(a.rows) >= x.uidsFrom {
		uids = w.uidList(a)
	}
	return Vector{Host: a.key().addr(), Start: w.start, End: w.end, Values: v, Malicious: a.mal(), Class: w.className(a),
		Rows: int(a.rows), UIDs: uids, Unobserved: w.unobserved,
		Unlogged: a.unlogged()}
}

// interarrivalCV is cv of a's conn start times. The times are gathered
// only when cv uses them: most host-windows of a large network have a row
// or two, and reading their chains was a cache miss each.
func (x *Extractor) interarrivalCV(w *winState, a *hostAcc) float64 {
	if a.nTimes < minCVTimes {
		return cv(nil)
	}
	x.times = w.appendTimes(x.times[:0], a)
	return cv(x.times)
}

// minCVTimes is the least number of times cv measures.
const minCVTimes = 3

// cv is the coefficient of variation of the gaps between sorted times; 1
// (Poisson-like) when there are fewer than minCVTimes times.
func cv(ts []float64) float64 {
	if len(ts) < minCVTimes {
		return 1
	}
	sort.Float64s(ts)
	var sum, sq float64
	n := float64(len(ts) - 1)
	for i := 1; i < len(ts); i++ {
		sum += ts[i] - ts[i-1]
	}
	mean := sum / n
	if mean <= 0 {
		return 0
	}
	for i := 1; i < len(ts); i++ {
		d := ts[i] - ts[i-1] - mean
		sq += d * d
	}
	return math.Min(math.Sqrt(sq/n)/mean, 10)
}

// Advance closes the windows that end at or before wm - lateness and
// returns their vectors (ordered by window start, then host).
func (x *Extractor) Advance(wm time.Time) []Vector {
	cut := wm.Add(-x.cfg.Lateness)
	if cut.After(x.closed) {
		// only move closed to a window boundary
		x.closed = cut.Truncate(x.cfg.Window)
	}
	return x.close(func(w *winState) bool { return !w.end.After(cut) })
}

// Flush closes every window.
func (x *Extractor) Flush() []Vector {
	return x.close(func(*winState) bool { return true })
}

func (x *Extractor) close(due func(*winState) bool) []Vector {
	var ws []*winState
	keep := x.open[:0]
	for _, w := range x.open {
		if due(w) {
			ws = append(ws, w)
		} else {
			keep = append(keep, w)
		}
	}
	clear(x.open[len(keep):])
	x.open = keep
	if len(ws) == 0 {
		return nil
	}
	x.cur = nil
	sort.Slice(ws, func(i, j int) bool { return ws[i].start.Before(ws[j].start) })
	var out []Vector
	for _, w := range ws {
		x.observed(w, ws)
		build := max(x.cfg.MinRows, x.countOnly)
		var below int
		x.order, below = w.hostOrder(x.order[:0], build, x.cfg.MinRows)
		n := len(out)
		out = slices.Grow(out, len(x.order))[:n+len(x.order)] // (not one per host: most may be left out)
		// the window's values in one allocation, not one a vector (each
		// capped at its N: an append to one does not reach the next)
		vals := make([]float64, N*len(x.order))
		// built in the order the accumulators were taken, each put at its
		// host's place: read in host order, each accumulator (and its
		// side record, times and uids) was a cache miss
		x.rank = slices.Grow(x.rank[:0], len(w.accs))[:len(w.accs)]
		for i := range x.rank {
			x.rank[i] = -1
		}
		for k, r := range x.order {
			x.rank[r.i] = int32(k)
		}
		for i, k := range x.rank {
			if k >= 0 {
				out[n+int(k)] = x.vector(w, &w.accs[i], vals[int(k)*N:int(k+1)*N:int(k+1)*N])
			}
		}
		x.stats.Windows += int64(len(x.order) + below)
		if len(x.spare) < maxSpare {
			x.spare = append(x.spare, w)
		}
	}
	return out
}

// observed sets w.unobserved, the part of closing window w the input did
// not cover, and moves prevEnd and prevLast on to w. The input covered
// w's start when the window before it closed with rows of its own and
// its last row came at most a window before w's first; w's end when the
// window after it (open, or closing with w) has a row at most a window
// after w's last. A window without rows of its own (only conn rows
// reassigned to it, or restored from a version 2 snapshot) counts as
// covered, and as covering its end.
func (x *Extractor) observed(w *winState, closing []*winState) {
	gap := int64(x.cfg.Window)
	if w.first > w.last {
		w.unobserved = 0
		x.prevEnd, x.prevLast = w.end, w.end.UnixNano()
		return
	}
	var un int64
	if !x.prevEnd.Equal(w.start) || w.first-x.prevLast > gap {
		un += w.first - w.start.UnixNano()
	}
	next := func(ws []*winState) *winState {
		for _, n := range ws {
			if n.start.Equal(w.end) && n.first <= n.last {
				return n
			}
		}
		return nil
	}
	n := next(x.open)
	if n == nil {
		n = next(closing)
	}
	if n == nil || n.first-w.last > gap {
		un += w.end.UnixNano() - w.last
	}
	w.unobserved = time.Duration(un)
	x.prevEnd, x.prevLast = w.end, w.last
}

// Robust is a per-feature median and MAD (scaled by 1.4826 so it estimates
// the standard deviation), in Transform space, plus raw medians for
// display. Each feature's statistics are over the rows where it is
// Defined (Count of them): a window without conn rows says nothing about
// the typical conn_count, and one without dns rows nothing about the
// typical nxdomain_ratio.
type Robust struct {
	Median    []float64 `json:"median"`
	MAD       []float64 `json:"mad"`
	RawMedian []float64 `json:"raw_median"`
	N         int       `json:"n"`
	// Count is, per feature, the rows it was defined in (nil in baselines
	// written before it existed: every feature counts as defined).
	Count []int `json:"count,omitempty"`
	// Scope says whose baseline this is: ScopeHost or ScopePopulation.
	// Not stored; whoever builds or loads the baseline sets it.
	Scope string `json:"-"`
}

// Baseline scopes, as shown in explanations.
const (
	ScopeHost       = "host"       // the host's own earlier windows
	ScopePopulation = "population" // every host's windows of the baseline period
)

// Defined reports whether feature i of raw vector v was observed rather
// than a placeholder: the conn features (0–8, 18) need a conn row, the
// per-query dns averages (10, 12, 13) a dns row; counts always are.
func Defined(v []float64, i int) bool {
	switch {
	case i <= 8 || i == 18:
		return v[0] > 0
	case i == 10 || i == 12 || i == 13:
		return v[9] > 0
	}
	return true
}

// ComputeRobust computes Robust from raw vectors.
func ComputeRobust(raw [][]float64) Robust {
	r := Robust{Median: make([]float64, N), MAD: make([]float64, N), RawMedian: make([]float64, N),
		Count: make([]int, N), N: len(raw)}
	col := make([]float64, 0, len(raw))
	for j := 0; j < N; j++ {
		col = col[:0]
		for _, v := range raw {
			if Defined(v, j) {
				col = append(col, v[j])
			}
		}
		r.Count[j] = len(col)
		if len(col) == 0 {
			continue
		}
		r.RawMedian[j] = median(col)
		for i, x := range col {
			if !Ratio(j) {
				col[i] = math.Log1p(math.Max(x, 0))
			}
		}
		m := median(col)
		r.Median[j] = m
		for i := range col {
			col[i] = math.Abs(col[i] - m)
		}
		r.MAD[j] = 1.4826 * median(col)
	}
	return r
}

func median(x []float64) float64 {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// minScale floors the MAD so that constant baseline features do not give
// infinite z-scores: 0.25 in log space (about a 28% change) for counts,
// 0.05 for ratios.
func minScale(i int) float64 {
	if Ratio(i) {
		if i == 8 || i == 12 || i == 18 {
			return 0.25
		}
		return 0.05
	}
	return 0.25
}

// Z returns the robust z-score of each feature of raw vector v against r;
// 0 where the feature is not Defined in v or r has no row defining it.
func (r Robust) Z(v []float64) []float64 {
	t := Transform(v, nil)
	z := make([]float64, len(t))
	for i := range t {
		if i >= len(r.Median) {
			break
		}
		if !Defined(v, i) || (r.Count != nil && r.Count[i] == 0) {
			continue
		}
		s := math.Max(r.MAD[i], minScale(i))
		z[i] = (t[i] - r.Median[i]) / s
	}
	return z
}
