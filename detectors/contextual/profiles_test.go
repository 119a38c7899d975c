package contextual

import (
	"maps"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/window"
)

// Profiles learnt from an archive (three weeks of office hours) and
// loaded into a new detector, through their JSON: a host's first night
// activity a month later is judged against its own hour-of-week profile
// from the run's first hour. Without them nothing fires (no min_days of
// history). The month between the archive and the run does not count as
// observed days (that would make 03:00 look rarer than it was).
func TestProfilesFromAnArchive(t *testing.T) {
	hosts := []string{"10.0.0.5", "10.0.0.6", "10.0.0.7"}
	train := New(DefaultConfig())
	window.Run(train, window.Shuffle(workdays(hosts, 21), time.Nanosecond, 1))
	p := window.ThroughJSON[Profiles](t, train.Profiles())
	if len(p.Hosts) != 3 || p.Global.HostDays != 45 {
		t.Fatalf("profiles of %d hosts, %v host-days", len(p.Hosts), p.Global.HostDays)
	}
	later := monday.AddDate(0, 0, 51) // a Wednesday, a month after the archive
	live := burst("10.0.0.5", later.Add(3*time.Hour), 200)
	plain, ns, d := window.Started(t, func() *Detector { return New(DefaultConfig()) }, func(d *Detector) error { return d.LoadProfiles(&p) }, live)
	if len(plain) != 0 || len(ns) != 1 || ns[0].Source.String() != "10.0.0.5" || !strings.Contains(ns[0].Message, "by hour of week") {
		t.Fatalf("%d notices without the profiles, %d with: %v", len(plain), len(ns), window.Canon(ns))
	}
	if d.gap < 24*27 {
		t.Fatalf("gap %d hours", d.gap)
	}
	cfg := DefaultConfig()
	cfg.Location = "Europe/Berlin"
	if err := New(cfg).LoadProfiles(&p); err == nil || !strings.Contains(err.Error(), "UTC") {
		t.Fatalf("profiles of another time zone: %v", err)
	}
}

// A hand-edited model's profiles that Profiles never writes are refused
// (loaded, negative host-days made every new host's hours rare, a flood of
// notices); an archive's own profiles load.
func TestDamagedProfiles(t *testing.T) {
	train := New(DefaultConfig())
	window.Run(train, window.Shuffle(workdays([]string{"10.0.0.5"}, 9), time.Nanosecond, 1))
	good := train.Profiles()
	if err := New(DefaultConfig()).LoadProfiles(good); err != nil {
		t.Fatalf("an archive's profiles: %v", err)
	}
	host := good.Hosts[netip.MustParseAddr("10.0.0.5")]
	for name, damage := range map[string]func(p *Profiles){
		"no end_hour": func(p *Profiles) { p.EndHour = 0 },
		"first hour after end": func(p *Profiles) {
			h := host
			h.FirstHour = p.EndHour + 5
			p.Hosts[netip.MustParseAddr("10.0.0.6")] = h
		},
		"last day before first": func(p *Profiles) {
			h := host
			h.LastDay = h.FirstHour/24 - 1
			p.Hosts[netip.MustParseAddr("10.0.0.6")] = h
		},
		"negative subnet days": func(p *Profiles) {
			p.Subnets[netip.MustParseAddr("10.0.1.0")] = SubnetPrior{Days: -1, First: host.FirstHour}
		},
		"first hour beyond int32": func(p *Profiles) {
			h := host
			h.FirstHour, h.LastDay = -1<<40, -1
			p.Hosts[netip.MustParseAddr("10.0.0.6")] = h
		},
		"negative host-days":   func(p *Profiles) { p.Global.HostDays = -3 },
		"negative global hour": func(p *Profiles) { p.Global.HOD[3] = -1 },
	} {
		p := *good
		p.Hosts, p.Subnets = maps.Clone(good.Hosts), maps.Clone(good.Subnets)
		damage(&p)
		if err := New(DefaultConfig()).LoadProfiles(&p); err == nil || !strings.Contains(err.Error(), "damaged") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A run over the logs its model's archive covered (eval -m on the
// training capture, a sidecar started on files the archive also held)
// judges those hours but does not count them again: the profiles after it
// are the archive's. Counted twice, a host's one night at 03:00 became
// two, half-way to a habit. Hours after the archive are learnt as before.
func TestArchivedHoursNotLearntTwice(t *testing.T) {
	hosts := []string{"10.0.0.5", "10.0.0.6"}
	rows := window.Shuffle(append(workdays(hosts, 14), burst("10.0.0.5", monday.AddDate(0, 0, 9).Add(3*time.Hour), 50)...), time.Nanosecond, 1)
	train := New(DefaultConfig())
	window.Run(train, rows)
	p := window.ThroughJSON[Profiles](t, train.Profiles())
	again := New(DefaultConfig())
	if err := again.LoadProfiles(&p); err != nil {
		t.Fatal(err)
	}
	window.Run(again, rows)
	got := again.Profiles()
	for _, h := range hosts {
		a := netip.MustParseAddr(h)
		if got.Hosts[a].HOD != p.Hosts[a].HOD || got.Hosts[a].HOW != p.Hosts[a].HOW {
			t.Errorf("%s: hours counted again: 03:00 on %d days, the archive %d", h, got.Hosts[a].HOD[3], p.Hosts[a].HOD[3])
		}
	}
	if got.Global.HOD != p.Global.HOD || got.Global.HostDays != p.Global.HostDays {
		t.Errorf("population prior counted again: %v host-days, the archive %v", got.Global.HostDays, p.Global.HostDays)
	}
	if p.Hosts[netip.MustParseAddr("10.0.0.5")].HOD[3] != 1 {
		t.Fatalf("the archive has the night %d times: the test proves nothing", p.Hosts[netip.MustParseAddr("10.0.0.5")].HOD[3])
	}
	// a week after the archive: learnt
	next := New(DefaultConfig())
	next.LoadProfiles(&p)
	window.Run(next, window.Shuffle(burst("10.0.0.5", monday.AddDate(0, 0, 21).Add(3*time.Hour), 50), time.Nanosecond, 1))
	if n := next.Profiles().Hosts[netip.MustParseAddr("10.0.0.5")].HOD[3]; n != 2 {
		t.Errorf("a night after the archive: 03:00 on %d days, want 2", n)
	}
}
