package dns

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"time"

	dw "github.com/zeekanom/zeekanom/detectors/window"
)

// snapshotVersion is bumped when the snapshot layout changes. Version 2
// adds the slow windows and their closing time; a version 1 snapshot
// restores with none open (the hour under way counts from the restart).
// Version 3 adds each client's ICANN NXDOMAIN domain count and the
// sketch of the ICANN domains it asked about (the domain rule); in the
// windows of a version 1 or 2 snapshot those are unknown, and the
// clients' sketches restore full, so that only the query rule fires
// there (the windows opened after the restart count as usual).
const snapshotVersion = 3

type snapDomain struct {
	Reg      string             `json:"reg"`
	Queries  int                `json:"queries"`
	Subs     []string           `json:"subs"`
	LenSum   float64            `json:"len_sum"`
	EntSum   float64            `json:"ent_sum"`
	MaxLen   int                `json:"max_len"`
	Rare     int                `json:"rare"`
	Failed   int                `json:"failed,omitempty"` // (none in a snapshot written before it was counted)
	QBytes   int                `json:"q_bytes"`
	ABytes   int                `json:"a_bytes"`
	Clients  map[netip.Addr]int `json:"clients"`
	Resolver map[netip.Addr]int `json:"resolver"`
	UIDs     []string           `json:"uids,omitempty"`
	First    time.Time          `json:"first"`
	Last     time.Time          `json:"last"`
}

type snapClient struct {
	IP      netip.Addr `json:"ip"`
	Queries int        `json:"queries"`
	NX      int        `json:"nx"`
	NXDoms  []string   `json:"nx_domains,omitempty"`
	ICANNNX int        `json:"icann_nx,omitempty"`
	EntSum  float64    `json:"ent_sum"`
	UIDs    []string   `json:"uids,omitempty"`
	Resolv  netip.Addr `json:"resolver"`
	First   time.Time  `json:"first"`
	Last    time.Time  `json:"last"`
	// Fast: a slow window's client that a fast window reported
	Fast bool `json:"fast,omitempty"`
	// Doms: the words of the sketch of the ICANN registered domains it
	// asked about (none: an empty sketch)
	Doms []uint64 `json:"doms,omitempty"`
}

func set(list []string) map[string]struct{} {
	m := make(map[string]struct{}, len(list))
	for _, x := range list {
		m[x] = struct{}{}
	}
	return m
}

// nxCount is the client's NXDOMAIN counts (no set when it had none).
// The ICANN ones are some of the domains in the set: a damaged
// snapshot's count beyond it is cut to it.
func (c *snapClient) nxCount() nxCount {
	n := nxCount{nx: c.NX, entSum: c.EntSum, uids: c.UIDs}
	if len(c.NXDoms) > 0 {
		n.nxDoms = set(c.NXDoms)
	}
	n.icann = min(max(c.ICANNNX, 0), len(n.nxDoms))
	return n
}

// domains is the client's sketch of the domains it asked about, full
// when the snapshot's version did not keep it (below 3).
func (c *snapClient) domains(version int) (s domainSketch) {
	if version < 3 {
		s.fill()
	}
	copy(s[:], c.Doms) // (a damaged snapshot's extra words are left out)
	return s
}

// snapNX is the snapshot of a client's counts.
func snapNX(ip netip.Addr, queries int, n *nxCount, doms *domainSketch, resolv netip.Addr, first, last time.Time, fast bool) snapClient {
	c := snapClient{IP: ip, Queries: queries, NX: n.nx, NXDoms: keys(n.nxDoms), ICANNNX: n.icann, EntSum: n.entSum, UIDs: n.uids,
		Resolv: resolv, First: first, Last: last, Fast: fast}
	if *doms != (domainSketch{}) {
		c.Doms = doms[:]
	}
	return c
}

type snapWindow struct {
	Start   time.Time    `json:"start"`
	Domains []snapDomain `json:"domains"`
	Clients []snapClient `json:"clients"`
}

type snapSlowWindow struct {
	Start   time.Time    `json:"start"`
	Clients []snapClient `json:"clients"`
}

type snapshot struct {
	Version     int              `json:"version"`
	Closed      time.Time        `json:"closed"`
	Stats       Stats            `json:"stats"`
	Windows     []snapWindow     `json:"windows"`
	SlowClosed  time.Time        `json:"slow_closed"`
	SlowWindows []snapSlowWindow `json:"slow_windows"`
}

func sortedAddrs[V any](m map[netip.Addr]V) []netip.Addr {
	out := make([]netip.Addr, 0, len(m))
	for ip := range m {
		out = append(out, ip)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

func sortedStarts[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Snapshot encodes the open windows (deterministically) so that a restarted
// sidecar resumes them.
func (d *Detector) Snapshot() ([]byte, error) {
	s := snapshot{Version: snapshotVersion, Closed: d.closed, Stats: d.stats, SlowClosed: d.slowClosed}
	for _, k := range sortedStarts(d.windows) {
		w := d.windows[k]
		sw := snapWindow{Start: w.start}
		for _, reg := range keys(w.domains) {
			a := w.domains[reg]
			sw.Domains = append(sw.Domains, snapDomain{Reg: reg, Queries: a.queries, Subs: keys(a.subs), LenSum: a.lenSum,
				EntSum: a.entSum, MaxLen: a.maxLen, Rare: a.rare, Failed: a.failed, QBytes: a.qBytes, ABytes: a.aBytes, Clients: a.clients,
				Resolver: a.resolver, UIDs: a.uids, First: a.first, Last: a.last})
		}
		for _, ip := range sortedAddrs(w.clients) {
			c := w.clients[ip]
			sw.Clients = append(sw.Clients, snapNX(ip, c.queries, &c.nxCount, &c.doms, c.resolv, c.first, c.last, false))
		}
		s.Windows = append(s.Windows, sw)
	}
	for _, k := range sortedStarts(d.slow) {
		w := d.slow[k]
		sw := snapSlowWindow{Start: w.start}
		for _, ip := range sortedAddrs(w.clients) {
			c := w.clients[ip]
			sw.Clients = append(sw.Clients, snapNX(ip, c.queries, &c.nxCount, &c.doms, c.resolv, c.first, c.last, c.fast))
		}
		s.SlowWindows = append(s.SlowWindows, sw)
	}
	return json.Marshal(&s)
}

// Restore replaces the detector's state with a snapshot.
func (d *Detector) Restore(b []byte) error {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("dns snapshot: %w", err)
	}
	if err := dw.SnapshotVersion("dns", s.Version, 1, snapshotVersion); err != nil {
		return err
	}
	d.closed, d.stats, d.slowClosed = s.Closed, s.Stats, s.SlowClosed
	d.windows = map[int64]*window{}
	d.slow = map[int64]*slowWindow{}
	for _, sw := range s.Windows {
		w := &window{start: sw.Start, domains: map[string]*domainAcc{}, clients: map[netip.Addr]*clientAcc{}}
		for _, a := range sw.Domains {
			if a.Clients == nil {
				a.Clients = map[netip.Addr]int{}
			}
			if a.Resolver == nil {
				a.Resolver = map[netip.Addr]int{}
			}
			w.domains[a.Reg] = &domainAcc{queries: a.Queries, subs: set(a.Subs), lenSum: a.LenSum, entSum: a.EntSum,
				maxLen: a.MaxLen, rare: a.Rare, failed: max(a.Failed, 0), qBytes: a.QBytes, aBytes: a.ABytes, clients: a.Clients,
				resolver: a.Resolver, uids: a.UIDs, first: a.First, last: a.Last}
		}
		for _, c := range sw.Clients {
			w.clients[c.IP] = &clientAcc{queries: c.Queries, nxCount: c.nxCount(), doms: c.domains(s.Version), resolv: c.Resolv, first: c.First, last: c.Last}
		}
		d.windows[sw.Start.UnixNano()] = w
	}
	for _, sw := range s.SlowWindows {
		w := &slowWindow{start: sw.Start, clients: map[netip.Addr]*slowAcc{}}
		for _, c := range sw.Clients {
			w.clients[c.IP] = &slowAcc{queries: c.Queries, nxCount: c.nxCount(), doms: c.domains(s.Version), resolv: c.Resolv, first: c.First, last: c.Last, fast: c.Fast}
		}
		d.slow[sw.Start.UnixNano()] = w
	}
	return nil
}
