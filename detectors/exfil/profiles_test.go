package exfil

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/window"
)

// Histories learnt from an archive (two days of office uploads) and loaded
// into a new detector, through their JSON: a week later, a host's first
// window of 2 GB out is judged against its own past. Without them nothing
// fires (no history, no prior). Another window length is refused.
func TestProfilesFromAnArchive(t *testing.T) {
	train := New(DefaultConfig())
	window.Run(train, sorted(office(5, 48, 1)))
	p := window.ThroughJSON[Profiles](t, train.Profiles())
	if len(p.Hosts) != 5 || p.Hosts[netip.MustParseAddr("10.0.0.3")].N < 40 || len(p.Global) == 0 {
		t.Fatalf("profiles of %d hosts, %d prior values", len(p.Hosts), len(p.Global))
	}
	live := upload("10.0.0.3", "203.0.113.50", t0.Add(9*24*time.Hour), 2e9, 60)
	plain, ns, _ := window.Started(t, func() *Detector { return New(DefaultConfig()) }, func(d *Detector) error { return d.LoadProfiles(&p) }, live)
	if len(plain) != 0 || len(ns) != 1 || ns[0].Source.String() != "10.0.0.3" || strings.Contains(ns[0].Message, "new hosts") {
		t.Fatalf("%d notices without the profiles, %d with: %v", len(plain), len(ns), window.Canon(ns))
	}
	bad := Profiles{WindowS: 3600, Hosts: map[netip.Addr]History{netip.MustParseAddr("10.0.0.9"): {Out: []float32{1}, N: 1}}}
	if err := New(DefaultConfig()).LoadProfiles(&bad); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("a history without its top destinations: %v", err)
	}
	cfg := DefaultConfig()
	cfg.Window = 10 * time.Minute
	if err := New(cfg).LoadProfiles(&p); err == nil || !strings.Contains(err.Error(), "3600s") {
		t.Fatalf("profiles of another window: %v", err)
	}
}

// A run over the logs its model's archive covered judges those windows but
// does not learn them again (each volume counted twice, an archived
// transfer would look twice as usual); windows after the archive are
// learnt as before.
func TestArchivedWindowsNotLearntTwice(t *testing.T) {
	rows := sorted(office(5, 30, 2))
	train := New(DefaultConfig())
	window.Run(train, rows)
	p := window.ThroughJSON[Profiles](t, train.Profiles())
	if p.End <= p.First {
		t.Fatalf("profiles without the archive's windows (%d..%d)", p.First, p.End)
	}
	again := New(DefaultConfig())
	if err := again.LoadProfiles(&p); err != nil {
		t.Fatal(err)
	}
	window.Run(again, rows)
	got := again.Profiles()
	for a, h := range p.Hosts {
		if got.Hosts[a].N != h.N {
			t.Errorf("%s: %d windows of history after the same logs again, the archive %d", a, got.Hosts[a].N, h.N)
		}
	}
	if !slices.Equal(got.Global, p.Global) {
		t.Error("the global prior learnt the archive's windows again")
	}
	next := New(DefaultConfig())
	next.LoadProfiles(&p)
	later := make([]window.Conn, len(rows))
	for i, r := range rows {
		r.TS = r.TS.Add(40 * time.Hour)
		later[i] = r
	}
	window.Run(next, later)
	a := netip.MustParseAddr("10.0.0.3")
	if n := next.Profiles().Hosts[a].N; n <= p.Hosts[a].N {
		t.Errorf("windows after the archive not learnt: %d, the archive %d", n, p.Hosts[a].N)
	}
}

// A new host's upload within the span of the model's archive (score -m
// on the logs the model came from, or on another capture of the same
// days) is judged but not learnt: its history_windows said 4294967295
// (0 windows less the one not learnt, in an unsigned count).
func TestHistoryWindowsOfAHostTheArchiveNeverSaw(t *testing.T) {
	train := New(DefaultConfig())
	window.Run(train, sorted(office(5, 48, 1)))
	p := window.ThroughJSON[Profiles](t, train.Profiles())
	d := New(DefaultConfig())
	if err := d.LoadProfiles(&p); err != nil {
		t.Fatal(err)
	}
	ns := window.Run(d, sorted(append(office(5, 48, 1), upload("10.0.0.99", "203.0.113.51", t0.Add(30*time.Hour), 3e9, 60)...)))
	if len(ns) != 1 || ns[0].Source.String() != "10.0.0.99" {
		t.Fatalf("%v", window.Canon(ns))
	}
	if h := ns[0].Explain.Features["history_windows"].Value; h != 0 {
		t.Fatalf("history_windows %g, want 0: %s", h, ns[0].Message)
	}
}
