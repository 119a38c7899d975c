package beacon

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/zeekanom/zeekanom/output/notice"
)

// Baseline is the periodic traffic an archive shows as normal, as a model
// file carries it: `zeekanom train` runs this detector over the archive,
// and each target it would have flagged (a destination address or domain,
// and port) becomes normal for the source that beaconed to it, and for
// every source when two or more did (a service: an update server, a
// monitoring poll). A detector with a baseline (LoadBaseline) drops their
// notices and counts them (Known), so that keep-alives the sensor's own
// history shows are not flagged every day.
type Baseline struct {
	Pairs    []Known  `json:"pairs"`
	Services []Target `json:"services,omitempty"`
}

// Target is a beacon notice's destination: address (or none, for a
// domain key), domain and port.
type Target struct {
	Dst    netip.Addr `json:"dst,omitzero"`
	Domain string     `json:"domain,omitempty"`
	Port   uint16     `json:"port"`
	// AnyPort marks a target whose notice named no port because its rows
	// spread over several (port 0, not ICMP's): normal on any port
	// (dropKnown). Port 0 without it is an ICMP beacon's, normal for
	// port 0 alone.
	AnyPort bool `json:"any_port,omitempty"`
}

// Known is a source's normal periodic target.
type Known struct {
	Src netip.Addr `json:"src"`
	Target
}

func targetOf(n *notice.Notice) Target {
	// (a domain key names no port, whatever its rows')
	spread := n.DestPort == 0 && n.Proto != "icmp" && n.Domain == ""
	return Target{n.Destination, n.Domain, n.DestPort, spread}
}

// keyed reports whether t names a destination: a net-keyed notice (a
// source rotating over one /24) carries only its port, which would make
// every rotation on that port normal, so those are neither learnt nor
// dropped.
func (t Target) keyed() bool { return t.Dst.IsValid() || t.Domain != "" }

// BaselineOf is the baseline of an archive's beacon notices (in their
// order).
func BaselineOf(ns []*notice.Notice) *Baseline {
	b := &Baseline{}
	pairs := map[Known]bool{}
	var targets []Target
	sources := map[Target]int{}
	for _, n := range ns {
		k := Known{n.Source, targetOf(n)}
		if !k.keyed() || pairs[k] {
			continue
		}
		pairs[k] = true
		b.Pairs = append(b.Pairs, k)
		if sources[k.Target]++; sources[k.Target] == 1 {
			targets = append(targets, k.Target)
		}
	}
	for _, t := range targets {
		if sources[t] >= 2 {
			b.Services = append(b.Services, t)
		}
	}
	return b
}

// LoadBaseline makes b's targets normal (see Baseline). It refuses keys
// that no notice carries (a hand-edited model): a pair without a source
// would be a service, normal for every source, and a mapped or zoned
// address, an upper-case or over-long domain, or a target with neither
// address nor domain would never match.
func (d *Detector) LoadBaseline(b *Baseline) error {
	for i, k := range b.Pairs {
		if !canonical(k.Src) {
			return fmt.Errorf("damaged beacon baseline: pair %d: source %q is not a plain address", i, k.Src)
		}
		if err := k.check(); err != nil {
			return fmt.Errorf("damaged beacon baseline: pair %d: %w", i, err)
		}
	}
	for i, t := range b.Services {
		if err := t.check(); err != nil {
			return fmt.Errorf("damaged beacon baseline: service %d: %w", i, err)
		}
	}
	d.known = map[Known]bool{}
	for _, k := range b.Pairs {
		d.known[k] = true
	}
	for _, t := range b.Services {
		d.known[Known{Target: t}] = true
	}
	return nil
}

// maxDomain is the longest domain a notice carries (Entry.Domain).
const maxDomain = len(Entry{}.Domain)

// canonical reports whether a is an address as notices carry it.
func canonical(a netip.Addr) bool { return a.IsValid() && !a.Is4In6() && a.Zone() == "" }

// check reports what makes t a key no notice carries.
func (t Target) check() error {
	switch {
	case !t.keyed():
		return errors.New("neither destination nor domain")
	case t.Dst.IsValid() && !canonical(t.Dst):
		return fmt.Errorf("destination %q is not a plain address", t.Dst)
	case t.Domain != strings.ToLower(t.Domain) || len(t.Domain) > maxDomain:
		return fmt.Errorf("domain %q is not lower case of at most %d bytes", t.Domain, maxDomain)
	}
	return nil
}

// dropKnown removes the notices of targets the baseline shows as normal.
// A target learnt without a port because its rows spread over several
// (AnyPort; its notice named none) is normal on any port: the pair's
// periodic traffic was, whichever port a later window's rows favour. A
// target learnt on one port does not make a later spread over several
// normal, nor does an ICMP beacon's (port 0 too) a later one on a port.
func (d *Detector) dropKnown(ns []*notice.Notice) []*notice.Notice {
	if len(d.known) == 0 {
		return ns
	}
	kept := ns[:0]
	for _, n := range ns {
		t := targetOf(n)
		anyPort := t
		anyPort.Port, anyPort.AnyPort = 0, true
		if t.keyed() && (d.known[Known{n.Source, t}] || d.known[Known{Target: t}] ||
			d.known[Known{n.Source, anyPort}] || d.known[Known{Target: anyPort}]) {
			d.Known++
			continue
		}
		kept = append(kept, n)
	}
	return kept
}
