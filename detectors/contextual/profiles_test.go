package contextual

import (
	"encoding/json"
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
	b, err := json.Marshal(train.Profiles())
	if err != nil {
		t.Fatal(err)
	}
	var p Profiles
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
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
