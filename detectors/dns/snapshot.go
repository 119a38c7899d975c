package dns

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"time"
)

// snapshotVersion is bumped when the snapshot layout changes.
const snapshotVersion = 1

type snapDomain struct {
	Reg      string             `json:"reg"`
	Queries  int                `json:"queries"`
	Subs     []string           `json:"subs"`
	LenSum   float64            `json:"len_sum"`
	EntSum   float64            `json:"ent_sum"`
	MaxLen   int                `json:"max_len"`
	Rare     int                `json:"rare"`
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
	EntSum  float64    `json:"ent_sum"`
	UIDs    []string   `json:"uids,omitempty"`
	Resolv  netip.Addr `json:"resolver"`
	First   time.Time  `json:"first"`
	Last    time.Time  `json:"last"`
}

type snapWindow struct {
	Start   time.Time    `json:"start"`
	Domains []snapDomain `json:"domains"`
	Clients []snapClient `json:"clients"`
}

type snapshot struct {
	Version int          `json:"version"`
	Closed  time.Time    `json:"closed"`
	Stats   Stats        `json:"stats"`
	Windows []snapWindow `json:"windows"`
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
	s := snapshot{Version: snapshotVersion, Closed: d.closed, Stats: d.stats}
	starts := make([]int64, 0, len(d.windows))
	for k := range d.windows {
		starts = append(starts, k)
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	for _, k := range starts {
		w := d.windows[k]
		sw := snapWindow{Start: w.start}
		for _, reg := range keys(w.domains) {
			a := w.domains[reg]
			sw.Domains = append(sw.Domains, snapDomain{Reg: reg, Queries: a.queries, Subs: keys(a.subs), LenSum: a.lenSum,
				EntSum: a.entSum, MaxLen: a.maxLen, Rare: a.rare, QBytes: a.qBytes, ABytes: a.aBytes, Clients: a.clients,
				Resolver: a.resolver, UIDs: a.uids, First: a.first, Last: a.last})
		}
		ips := make([]netip.Addr, 0, len(w.clients))
		for ip := range w.clients {
			ips = append(ips, ip)
		}
		sort.Slice(ips, func(i, j int) bool { return ips[i].Less(ips[j]) })
		for _, ip := range ips {
			c := w.clients[ip]
			sw.Clients = append(sw.Clients, snapClient{IP: ip, Queries: c.queries, NX: c.nx, NXDoms: keys(c.nxDoms),
				EntSum: c.entSum, UIDs: c.uids, Resolv: c.resolv, First: c.first, Last: c.last})
		}
		s.Windows = append(s.Windows, sw)
	}
	return json.Marshal(&s)
}

// Restore replaces the detector's state with a snapshot.
func (d *Detector) Restore(b []byte) error {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("dns snapshot: %w", err)
	}
	if s.Version != snapshotVersion {
		return fmt.Errorf("dns snapshot: version %d, this build reads %d", s.Version, snapshotVersion)
	}
	d.closed, d.stats = s.Closed, s.Stats
	d.windows = map[int64]*window{}
	set := func(list []string) map[string]struct{} {
		m := make(map[string]struct{}, len(list))
		for _, x := range list {
			m[x] = struct{}{}
		}
		return m
	}
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
				maxLen: a.MaxLen, rare: a.Rare, qBytes: a.QBytes, aBytes: a.ABytes, clients: a.Clients,
				resolver: a.Resolver, uids: a.UIDs, first: a.First, last: a.Last}
		}
		for _, c := range sw.Clients {
			ca := &clientAcc{queries: c.Queries, nx: c.NX, entSum: c.EntSum, uids: c.UIDs, resolv: c.Resolv, first: c.First, last: c.Last}
			if len(c.NXDoms) > 0 {
				ca.nxDoms = set(c.NXDoms)
			}
			w.clients[c.IP] = ca
		}
		d.windows[sw.Start.UnixNano()] = w
	}
	return nil
}
