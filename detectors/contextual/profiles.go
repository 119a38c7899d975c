package contextual

import (
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"

	"github.com/zeekanom/zeekanom/detectors/window"
)

// Profiles is what `zeekanom train` learns for this detector from archived
// logs and a model file carries: each internal host's hour profile, the
// subnet priors and the population prior, at the end of the archive. A
// detector that starts from them (LoadProfiles) judges hosts against their
// archived habits from its first hour, not after min_days of its own, and
// goes on learning from there.
type Profiles struct {
	// Location is the time zone the hours of week and day were counted in;
	// EndHour is the hour (since 1970) after the archive's last row.
	Location string                     `json:"location"`
	EndHour  int64                      `json:"end_hour"`
	Hosts    map[netip.Addr]HostProfile `json:"hosts"`
	Subnets  map[netip.Addr]SubnetPrior `json:"subnets,omitempty"`
	Global   PopulationPrior            `json:"global"`
}

// HostProfile is one host's hour profile (see state).
type HostProfile struct {
	HOW       [168]uint16 `json:"how"`        // weeks active at each hour of week
	HOD       [24]uint16  `json:"hod"`        // days active at each hour of day (HOW's sum over weekdays; not read back)
	FirstHour int64       `json:"first_hour"` // first hour seen (hours since 1970)
	LastDay   int64       `json:"last_day"`   // last day active (-1: none with an established connection)
}

// SubnetPrior is a /24 or /64's active host-hours per hour of day and its
// host-days (see Prior), keyed by the subnet's first address.
type SubnetPrior struct {
	HOD   [24]float32 `json:"hod"`
	Days  float32     `json:"days"`
	First int64       `json:"first_hour"`
}

// PopulationPrior is every host's active host-hours per hour of day and
// host-days.
type PopulationPrior struct {
	HOD       [24]float64 `json:"hod"`
	HostDays  float64     `json:"host_days"`
	FirstHour int64       `json:"first_hour"`
}

// Profiles returns the detector's profiles (after Flush: the hours still
// open are not in them).
func (d *Detector) Profiles() *Profiles {
	p := &Profiles{Location: d.cfg.Location, EndHour: d.lastWin + 1, Hosts: map[netip.Addr]HostProfile{}, Subnets: map[netip.Addr]SubnetPrior{},
		Global: PopulationPrior{HOD: d.GHOD, HostDays: d.GHostDays, FirstHour: d.GFirst}}
	for _, e := range d.t.Export() {
		p.Hosts[e.K.Addr()] = HostProfile{HOW: wideHOW(&e.V.HOW), HOD: e.V.hod(), FirstHour: int64(e.V.FirstHour), LastDay: int64(e.V.LastDay)}
	}
	for _, e := range d.sub.Export() {
		p.Subnets[e.K.Addr()] = SubnetPrior{HOD: e.V.HOD, Days: e.V.Days, First: e.V.First}
	}
	return p
}

// LoadProfiles starts the detector (new, before any row) from p. Hosts go
// in address order, so that with more than max_hosts the same ones stay.
// The hours from the archive's end to this run's first row are not days
// the profiles observed: they do not count in their rates (observedDays).
func (d *Detector) LoadProfiles(p *Profiles) error {
	if p.Location != d.cfg.Location {
		return fmt.Errorf("profiles counted in time zone %q, the detector uses %q: train with the same [detectors.contextual] location", p.Location, d.cfg.Location)
	}
	if err := p.check(); err != nil {
		return fmt.Errorf("damaged contextual profiles: %w", err)
	}
	for _, a := range sortedAddrs(p.Hosts) {
		h := p.Hosts[a]
		e, _ := d.t.Get(window.IPOf(a))
		e.HOW, e.FirstHour, e.LastDay = narrowHOW(&h.HOW), int32(h.FirstHour), int32(h.LastDay) // (HOD: state.daysAt; p.check: they fit)
	}
	for _, a := range sortedAddrs(p.Subnets) {
		sp := p.Subnets[a]
		e, _ := d.sub.Get(window.IPOf(a))
		e.HOD, e.Days, e.First = sp.HOD, sp.Days, sp.First
	}
	d.GHOD, d.GHostDays, d.GFirst = p.Global.HOD, p.Global.HostDays, p.Global.FirstHour
	d.trainedEnd, d.trainedFirst = p.EndHour, p.Global.FirstHour
	return nil
}

// check rejects what Profiles never writes and the detector would judge
// by nonsense (a hand-edited file): hours after the archive's end, a last
// active day outside the host's hours, negative counts of days or hours,
// a host's hours beyond int32 (Entry.check).
func (p *Profiles) check() error {
	if p.EndHour <= 0 {
		return fmt.Errorf("end_hour %d", p.EndHour)
	}
	for a, h := range p.Hosts {
		e := Entry{FirstHour: h.FirstHour, LastDay: h.LastDay}
		if h.FirstHour >= p.EndHour || h.LastDay != -1 && (h.LastDay < h.FirstHour/24 || h.LastDay > p.EndHour/24) || e.check() != nil {
			return fmt.Errorf("host %s: first_hour %d, last_day %d, end_hour %d", a, h.FirstHour, h.LastDay, p.EndHour)
		}
	}
	for a, sp := range p.Subnets {
		if sp.First >= p.EndHour || !(sp.Days >= 0) || slices.ContainsFunc(sp.HOD[:], func(v float32) bool { return !(v >= 0) }) {
			return fmt.Errorf("subnet %s: first_hour %d, %g days, end_hour %d", a, sp.First, sp.Days, p.EndHour)
		}
	}
	g := p.Global
	if g.FirstHour != math.MaxInt64 && g.FirstHour >= p.EndHour || !(g.HostDays >= 0) || slices.ContainsFunc(g.HOD[:], func(v float64) bool { return !(v >= 0) }) {
		return fmt.Errorf("global: first_hour %d, %g host-days, end_hour %d", g.FirstHour, g.HostDays, p.EndHour)
	}
	return nil
}

// sortedAddrs is m's keys in address order.
func sortedAddrs[V any](m map[netip.Addr]V) []netip.Addr {
	return slices.SortedFunc(maps.Keys(m), netip.Addr.Compare)
}
