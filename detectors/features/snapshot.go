package features

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"time"
)

const snapshotVersion = 1

type snapHost struct {
	Host    netip.Addr   `json:"host"`
	Rows    int          `json:"rows"`
	Conns   float64      `json:"conns"`
	Failed  float64      `json:"failed"`
	UDP     float64      `json:"udp"`
	Out     float64      `json:"out"`
	In      float64      `json:"in"`
	Dur     float64      `json:"dur"`
	IPs     []netip.Addr `json:"ips,omitempty"`
	Ports   []uint16     `json:"ports,omitempty"`
	Times   []float64    `json:"times,omitempty"`
	DNS     float64      `json:"dns"`
	NX      float64      `json:"nx"`
	Ent     float64      `json:"ent"`
	QLen    float64      `json:"qlen"`
	Domains []string     `json:"domains,omitempty"`
	HTTP    float64      `json:"http"`
	HHosts  []string     `json:"http_hosts,omitempty"`
	SSL     float64      `json:"ssl"`
	SNIs    []string     `json:"snis,omitempty"`
	Mal     bool         `json:"mal,omitempty"`
	Class   string       `json:"class,omitempty"`
	UIDs    []string     `json:"uids,omitempty"`
}

type snapWindow struct {
	Start time.Time  `json:"start"`
	Hosts []snapHost `json:"hosts"`
}

type snapshot struct {
	Version int          `json:"version"`
	Closed  time.Time    `json:"closed"`
	Stats   Stats        `json:"stats"`
	Windows []snapWindow `json:"windows"`
}

func sortedKeys[K comparable](m map[K]struct{}, less func(a, b K) bool) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out
}

func toSet[K comparable](list []K) map[K]struct{} {
	if len(list) == 0 {
		return nil
	}
	m := make(map[K]struct{}, len(list))
	for _, k := range list {
		m[k] = struct{}{}
	}
	return m
}

func strLess(a, b string) bool      { return a < b }
func addrLess(a, b netip.Addr) bool { return a.Less(b) }
func portLess(a, b uint16) bool     { return a < b }

// Snapshot encodes the open windows deterministically (JSON).
func (x *Extractor) Snapshot() ([]byte, error) {
	s := snapshot{Version: snapshotVersion, Closed: x.closed, Stats: x.stats}
	ks := make([]int64, 0, len(x.windows))
	for k := range x.windows {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	for _, k := range ks {
		w := x.windows[k]
		sw := snapWindow{Start: w.start}
		hosts := make([]netip.Addr, 0, len(w.hosts))
		for h := range w.hosts {
			hosts = append(hosts, h)
		}
		sort.Slice(hosts, func(i, j int) bool { return hosts[i].Less(hosts[j]) })
		for _, h := range hosts {
			a := w.hosts[h]
			sw.Hosts = append(sw.Hosts, snapHost{Host: h, Rows: a.rows, Conns: a.conns, Failed: a.failed, UDP: a.udp,
				Out: a.out, In: a.in, Dur: a.dur, IPs: sortedKeys(a.ips, addrLess), Ports: sortedKeys(a.ports, portLess),
				Times: a.times, DNS: a.dns, NX: a.nx, Ent: a.ent, QLen: a.qlen, Domains: sortedKeys(a.domains, strLess),
				HTTP: a.http, HHosts: sortedKeys(a.hhosts, strLess), SSL: a.ssl, SNIs: sortedKeys(a.snis, strLess),
				Mal: a.mal, Class: a.class, UIDs: a.uids})
		}
		s.Windows = append(s.Windows, sw)
	}
	return json.Marshal(&s)
}

// Restore replaces the extractor's windows with a snapshot's.
func (x *Extractor) Restore(b []byte) error {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("features snapshot: %w", err)
	}
	if s.Version != snapshotVersion {
		return fmt.Errorf("features snapshot: version %d, this build reads %d", s.Version, snapshotVersion)
	}
	x.closed, x.stats = s.Closed, s.Stats
	x.windows = map[int64]*window{}
	for _, sw := range s.Windows {
		w := &window{start: sw.Start, hosts: map[netip.Addr]*hostAcc{}}
		for _, h := range sw.Hosts {
			w.hosts[h.Host] = &hostAcc{rows: h.Rows, conns: h.Conns, failed: h.Failed, udp: h.UDP, out: h.Out, in: h.In,
				dur: h.Dur, ips: toSet(h.IPs), ports: toSet(h.Ports), times: h.Times, dns: h.DNS, nx: h.NX, ent: h.Ent,
				qlen: h.QLen, domains: toSet(h.Domains), http: h.HTTP, hhosts: toSet(h.HHosts), ssl: h.SSL,
				snis: toSet(h.SNIs), mal: h.Mal, class: h.Class, uids: h.UIDs}
		}
		x.windows[sw.Start.UnixNano()] = w
	}
	return nil
}
