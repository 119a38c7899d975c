package features

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/zeekanom/zeekanom/detectors/window"
)

// snapshotVersion 3 keeps what the input covered of the windows (each
// window's first and last row, the last window closed): version 2's
// windows restore as covered whole. Version 2 keeps the distinct sets of
// addresses and names as their 64-bit hashes (what the extractor holds
// since it stopped keeping the elements); version 1, with the elements,
// still restores (they are hashed as rows would be).
const snapshotVersion = 3

type snapHost struct {
	Host   netip.Addr `json:"host"`
	Rows   int        `json:"rows"`
	Conns  float64    `json:"conns"`
	Failed float64    `json:"failed"`
	UDP    float64    `json:"udp"`
	Out    float64    `json:"out"`
	In     float64    `json:"in"`
	Dur    float64    `json:"dur"`
	// IPHashes and the other ...Hashes fields are the sets (version 2),
	// sorted; ports are kept as they are (exact, and a host's first few
	// are held inline, not hashed).
	IPHashes     []uint64  `json:"ip_hashes,omitempty"`
	Ports        []uint16  `json:"ports,omitempty"`
	Times        []float64 `json:"times,omitempty"`
	DNS          float64   `json:"dns"`
	NX           float64   `json:"nx"`
	Ent          float64   `json:"ent"`
	QLen         float64   `json:"qlen"`
	DomainHashes []uint64  `json:"domain_hashes,omitempty"`
	HTTP         float64   `json:"http"`
	HHostHashes  []uint64  `json:"http_host_hashes,omitempty"`
	SSL          float64   `json:"ssl"`
	SNIHashes    []uint64  `json:"sni_hashes,omitempty"`
	Mal          bool      `json:"mal,omitempty"`
	Class        string    `json:"class,omitempty"`
	UIDs         []string  `json:"uids,omitempty"`
	// UIDBytes replaces UIDs when a uid is not valid UTF-8: a JSON string
	// would read back with U+FFFD in it, longer, and cut at maxUIDLen
	UIDBytes [][]byte `json:"uid_bytes,omitempty"`
	// NoOut and NoIn: the host has conn rows, none of which gave
	// orig_bytes, resp_bytes (hostAcc.flags' accOut, accIn). Optional
	// keys, the version stays 3: a snapshot without them restores as if
	// the rows gave both, as its build read them; an older build reads
	// the bytes as before.
	NoOut bool `json:"no_out,omitempty"`
	NoIn  bool `json:"no_in,omitempty"`

	// The other sets' elements, version 1 only.
	IPs     []netip.Addr `json:"ips,omitempty"`
	Domains []string     `json:"domains,omitempty"`
	HHosts  []string     `json:"http_hosts,omitempty"`
	SNIs    []string     `json:"snis,omitempty"`
}

type snapWindow struct {
	Start time.Time `json:"start"`
	// Span is the ts (Unix ns) of the window's first and last row; none
	// when it has no rows of its own (version 3)
	Span  []int64    `json:"span,omitempty"`
	Hosts []snapHost `json:"hosts"`
}

// snapPrev is the last window closed with rows of its own: its end and
// the ts of its last row (Unix ns), version 3.
type snapPrev struct {
	End  time.Time `json:"end"`
	Last int64     `json:"last"`
}

type snapshot struct {
	Version int          `json:"version"`
	Closed  time.Time    `json:"closed"`
	Stats   Stats        `json:"stats"`
	Prev    *snapPrev    `json:"prev,omitempty"`
	Windows []snapWindow `json:"windows"`
}

// hashes lists a set's hashes, sorted.
func (w *winState) hashes(s hset) []uint64 {
	if s.inline() {
		return []uint64{s.inlineHash()}
	}
	var out []uint64
	for _, h := range w.setSlots(s) {
		if h != 0 {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

// addHashes adds a snapshot's hashes to s (dropping those past max, if
// the cap was lowered since).
func (w *winState) addHashes(s *hset, hs []uint64, max int) {
	for _, v := range hs {
		if v != 0 {
			w.add(s, v, max)
		}
	}
}

// Capture copies the open windows; the returned function writes the
// copy's encoding, as Snapshot's, to w (for a checkpoint encoded while rows
// flow).
func (x *Extractor) Capture() func(w io.Writer) error {
	c := &Extractor{closed: x.closed, stats: x.stats, prevEnd: x.prevEnd, prevLast: x.prevLast}
	for _, w := range x.open {
		c.open = append(c.open, w.clone())
	}
	return c.encode
}

// Snapshot encodes the open windows deterministically (JSON).
func (x *Extractor) Snapshot() ([]byte, error) {
	var b bytes.Buffer
	err := x.encode(&b)
	return b.Bytes(), err
}

// encode writes the snapshot json.Marshal would make of the open windows
// (TestSnapshotStreamed), a host at a time: a busy sensor's windows hold
// 160,000 hosts, and one Marshal of them all took several times their
// size in memory.
func (x *Extractor) encode(w io.Writer) error {
	var prev *snapPrev
	if !x.prevEnd.IsZero() {
		prev = &snapPrev{x.prevEnd, x.prevLast}
	}
	head, err := json.Marshal(struct {
		Version int       `json:"version"`
		Closed  time.Time `json:"closed"`
		Stats   Stats     `json:"stats"`
		Prev    *snapPrev `json:"prev,omitempty"`
	}{snapshotVersion, x.closed, x.stats, prev})
	if err != nil {
		return err
	}
	ws := slices.Clone(x.open)
	sort.Slice(ws, func(i, j int) bool { return ws[i].start.Before(ws[j].start) })
	j := window.NewJSONStream(w)
	j.Raw(head[:len(head)-1], `,"windows":`)
	if len(ws) == 0 {
		j.Raw(nil, "null")
	}
	for i, win := range ws {
		j.Sep(i, "[")
		start, err := json.Marshal(win.start)
		if err != nil {
			return err
		}
		j.Raw(nil, `{"start":`)
		if win.first <= win.last {
			j.Raw(start, fmt.Sprintf(`,"span":[%d,%d]`, win.first, win.last))
			start = nil
		}
		j.Raw(start, `,"hosts":`)
		order, _ := win.hostOrder(nil, 0, 0)
		if len(order) == 0 {
			j.Raw(nil, "null")
		}
		for k, r := range order {
			a := &win.accs[r.i]
			s := win.sideOf(a)
			h := snapHost{Host: a.key().addr(), Rows: int(a.rows), Conns: float64(a.conns), Failed: float64(a.failed),
				UDP: float64(a.udp), Out: a.out, In: a.in, Dur: a.dur, IPHashes: win.hashes(a.ips), Ports: win.portList(a),
				Times: win.appendTimes(nil, a), DNS: float64(s.dns), NX: float64(s.nx), Ent: s.ent, QLen: s.qlen,
				DomainHashes: win.hashes(s.domains), HTTP: float64(s.http), HHostHashes: win.hashes(s.hhosts), SSL: float64(s.ssl),
				SNIHashes: win.hashes(s.snis), Mal: a.mal(), Class: win.className(a), UIDs: win.uidList(a),
				NoOut: a.unlogged()&UnloggedOut != 0, NoIn: a.unlogged()&UnloggedIn != 0}
			if !allValid(h.UIDs) {
				for _, u := range h.UIDs {
					h.UIDBytes = append(h.UIDBytes, []byte(u))
				}
				h.UIDs = nil
			}
			j.Sep(k, "[")
			if err := j.Value(&h); err != nil {
				return err
			}
		}
		if len(order) > 0 {
			j.Raw(nil, "]")
		}
		j.Raw(nil, "}")
	}
	if len(ws) > 0 {
		j.Raw(nil, "]")
	}
	j.Raw(nil, "}")
	return j.Flush()
}

// allValid reports whether every string is valid UTF-8.
func allValid(ss []string) bool {
	return !slices.ContainsFunc(ss, func(s string) bool { return !utf8.ValidString(s) })
}

// hashAll maps a version-1 element list to hashes.
func hashAll[K any](list []K, hash func(K) uint64) []uint64 {
	out := make([]uint64, len(list))
	for i, k := range list {
		out[i] = hash(k)
	}
	return out
}

// Restore replaces the extractor's windows with a snapshot's (version 1 to
// 3); on error the extractor is unchanged.
func (x *Extractor) Restore(b []byte) error {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("features snapshot: %w", err)
	}
	if err := window.SnapshotVersion("features", s.Version, 1, snapshotVersion); err != nil {
		return err
	}
	if s.Version == 1 {
		for i := range s.Windows {
			for j := range s.Windows[i].Hosts {
				h := &s.Windows[i].Hosts[j]
				h.IPHashes = hashAll(h.IPs, hashAddr)
				h.DomainHashes, h.HHostHashes = hashAll(h.Domains, hashString[string]), hashAll(h.HHosts, hashString[string])
				h.SNIHashes = hashAll(h.SNIs, hashString[string])
			}
		}
	}
	for _, sw := range s.Windows {
		seen := make(map[hostKey]bool, len(sw.Hosts))
		for i := range sw.Hosts {
			h := &sw.Hosts[i]
			if err := h.checkCounts(); err != nil {
				return fmt.Errorf("features snapshot: window %v, host %v: %w", sw.Start, h.Host, err)
			}
			if k := keyOf(h.Host); seen[k] { // (the two would be merged into one accumulator)
				return fmt.Errorf("features snapshot: window %v, host %v twice", sw.Start, h.Host)
			} else {
				seen[k] = true
			}
		}
	}
	x.closed, x.stats = s.Closed, s.Stats
	x.prevEnd, x.prevLast = time.Time{}, 0
	if s.Prev != nil {
		x.prevEnd, x.prevLast = s.Prev.End, s.Prev.Last
	}
	x.open, x.cur = x.open[:0], nil
	for _, sw := range s.Windows {
		w := x.openWindow(sw.Start)
		if sp := sw.Span; len(sp) == 2 && sp[0] <= sp[1] && sp[0] >= w.start.UnixNano() && sp[1] < w.end.UnixNano() {
			// (a span not in the window, as the window's length was
			// changed since, is left out: the window counts as covered)
			w.first, w.last = sp[0], sp[1]
		}
		for _, h := range sw.Hosts {
			a := w.find(keyOf(h.Host), math.MaxInt)
			a.rows, a.conns, a.failed, a.udp = uint32(h.Rows), uint32(h.Conns), uint32(h.Failed), uint32(h.UDP)
			a.out, a.in, a.dur = h.Out, h.In, h.Dur
			if h.Mal {
				a.flags |= accMal
			}
			if h.Conns > 0 && !h.NoOut {
				a.flags |= accOut
			}
			if h.Conns > 0 && !h.NoIn {
				a.flags |= accIn
			}
			w.addHashes(&a.ips, h.IPHashes, x.cfg.MaxDistinct)
			if h.hasSide() {
				s := w.side(a)
				s.dns, s.nx, s.http, s.ssl = uint32(h.DNS), uint32(h.NX), uint32(h.HTTP), uint32(h.SSL)
				s.ent, s.qlen = h.Ent, h.QLen
				w.addHashes(&s.domains, h.DomainHashes, x.cfg.MaxDistinct)
				w.addHashes(&s.hhosts, h.HHostHashes, x.cfg.MaxDistinct)
				w.addHashes(&s.snis, h.SNIHashes, x.cfg.MaxDistinct)
			}
			for _, p := range h.Ports {
				w.addPort(a, p, x.cfg.MaxDistinct)
			}
			for _, t := range h.Times {
				w.addTime(a, t)
			}
			for _, u := range h.UIDs[:min(len(h.UIDs), maxUIDs)] {
				w.addUID(a, []byte(u))
			}
			for _, u := range h.UIDBytes[:min(len(h.UIDBytes), maxUIDs)] {
				w.addUID(a, u)
			}
			if h.Class != "" {
				w.setClass(a, h.Class)
			}
		}
	}
	return nil
}

// checkCounts reports an error unless h's counts are what an accumulator
// can hold: whole numbers (not -0) from 0 to rows, rows at most
// math.MaxUint32. The accumulator keeps them as uint32, and every row
// adds 1 to rows and at most 1 to each, so a snapshot the extractor wrote
// always passes; one that did not would neither restore to its values
// nor be safe from wrapping past rows' limit.
func (h *snapHost) checkCounts() error {
	if h.Rows < 0 || h.Rows > math.MaxUint32 {
		return fmt.Errorf("%d rows", h.Rows)
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"conns", h.Conns}, {"failed", h.Failed}, {"udp", h.UDP}, {"dns", h.DNS}, {"nx", h.NX}, {"http", h.HTTP}, {"ssl", h.SSL}} {
		if !(c.v >= 0 && c.v <= float64(h.Rows)) || c.v != math.Trunc(c.v) || math.Signbit(c.v) {
			return fmt.Errorf("%s %v of %d rows", c.name, c.v, h.Rows)
		}
	}
	return nil
}

// hasSide reports whether h sets any of a side record's values but the
// ports (addPort takes one for them) and the class (setClass does).
func (h *snapHost) hasSide() bool {
	return h.DNS != 0 || h.NX != 0 || h.HTTP != 0 || h.SSL != 0 ||
		math.Float64bits(h.Ent) != 0 || math.Float64bits(h.QLen) != 0 ||
		len(h.DomainHashes) > 0 || len(h.HHostHashes) > 0 || len(h.SNIHashes) > 0
}
