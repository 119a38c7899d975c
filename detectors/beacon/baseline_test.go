package beacon

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

// later shifts rows by d.
func later(rows []window.Conn, d time.Duration) []window.Conn {
	out := make([]window.Conn, len(rows))
	for i, r := range rows {
		r.TS = r.TS.Add(d)
		out[i] = r
	}
	return out
}

// A baseline learnt from an archive's beacons (through its JSON) makes a
// source's archived keep-alive normal on later days, and a target two
// sources polled normal for every source; a new target, or a source's new
// periodic traffic to a target only another source had, is still
// flagged.
func TestBaselineDropsKnownPeriodicTraffic(t *testing.T) {
	day := 24 * time.Hour
	poll := func(src string) []window.Conn {
		return beaconRows(src, "198.51.100.7", 8443, "tcp", 5*time.Minute, 0.1, day, 1, false)
	}
	agent := beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", 10*time.Minute, 0.1, day, 2, false)
	archive := New(DefaultConfig())
	ns := window.Run(archive, merge(agent, poll("10.1.1.6"), poll("10.1.1.7")))
	if len(ns) != 3 {
		t.Fatalf("archive: %d notices, want 3", len(ns))
	}
	base := window.ThroughJSON[Baseline](t, BaselineOf(ns))
	if len(base.Pairs) != 3 || len(base.Services) != 1 {
		t.Fatalf("baseline: %+v", base)
	}
	for _, c := range []struct {
		name string
		rows []window.Conn
		want int
	}{
		{"the agent again", agent, 0},
		{"a third host polls the service", poll("10.1.1.8"), 0},
		{"the agent's host to a new target (C2)", beaconRows("10.1.1.5", "192.0.2.66", 443, "tcp", 5*time.Minute, 0.3, day, 3, false), 1},
		{"another host to the agent's target", beaconRows("10.1.1.9", "203.0.113.9", 443, "tcp", 10*time.Minute, 0.1, day, 4, false), 1},
	} {
		d := New(DefaultConfig())
		if err := d.LoadBaseline(&base); err != nil {
			t.Fatal(err)
		}
		got := window.Run(d, merge(later(c.rows, 7*day)))
		if len(got) != c.want || int(d.Known) != 1-c.want || d.Stats().Suppressed != d.Known+d.Shared {
			t.Errorf("%s: %d notices (%d known), want %d", c.name, len(got), d.Known, c.want)
		}
	}
}

// A net-keyed notice (a source rotating over one /24) names no
// destination address nor domain, only the port: learnt, it made every
// later rotation of that source (or, from two sources, of any source) on
// that port normal, whatever its /24.
func TestBaselineKeepsNetBeacons(t *testing.T) {
	day := 24 * time.Hour
	rotate := func(src, net string, seed int64) []window.Conn {
		rows := beaconRows(src, "", 443, "tcp", 5*time.Minute, 0.2, day, seed, false)
		for i := range rows {
			rows[i].Dst = net + []string{"1", "2", "3"}[i%3]
		}
		return rows
	}
	ns := window.Run(New(DefaultConfig()), merge(rotate("10.1.1.5", "198.51.100.", 11), rotate("10.1.1.6", "198.51.100.", 12)))
	nets := func(ns []*notice.Notice) (k int) {
		for _, n := range ns {
			if !n.Destination.IsValid() && n.Domain == "" {
				k++
			}
		}
		return k
	}
	if nets(ns) != 2 {
		t.Fatalf("archive: %d net notices, want 2: %v", nets(ns), window.Canon(ns))
	}
	base := BaselineOf(ns)
	for _, src := range []string{"10.1.1.5", "10.1.1.9"} {
		d := New(DefaultConfig())
		if err := d.LoadBaseline(base); err != nil {
			t.Fatal(err)
		}
		got := window.Run(d, merge(later(rotate(src, "192.0.2.", 13), 7*day)))
		if nets(got) != 1 || d.Known != 0 {
			t.Errorf("%s rotating over another /24: %d net notices (%d known), want it flagged", src, nets(got), d.Known)
		}
	}
}

// A hand-edited baseline that notices never carry is refused: a pair
// without a source was a service (normal for every source), and a mapped,
// zoned or upper-case key or a key without destination or domain never
// matched, silently.
func TestLoadBaselineRefusesDamaged(t *testing.T) {
	for _, js := range []string{
		`{"pairs":[{"dst":"203.0.113.9","port":443}]}`,
		`{"pairs":[{"src":"","dst":"203.0.113.9","port":443}]}`,
		`{"pairs":[{"src":"::ffff:10.1.1.5","dst":"203.0.113.9","port":443}]}`,
		`{"pairs":[{"src":"10.1.1.5","dst":"::ffff:203.0.113.9","port":443}]}`,
		`{"pairs":[{"src":"fe80::1%eth0","dst":"203.0.113.9","port":443}]}`,
		`{"pairs":[{"src":"10.1.1.5","port":443}]}`,
		`{"pairs":[{"src":"10.1.1.5","domain":"C2.Example.net"}]}`,
		`{"pairs":[],"services":[{"port":443}]}`,
	} {
		var b Baseline
		if err := json.Unmarshal([]byte(js), &b); err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		if err := New(DefaultConfig()).LoadBaseline(&b); err == nil {
			t.Errorf("%s: loaded", js)
		}
	}
	good := `{"pairs":[{"src":"10.1.1.5","dst":"203.0.113.9","port":443},{"src":"fd00::5","domain":"c2.example.net"}],"services":[{"dst":"2001:db8::7","port":8443}]}`
	var b Baseline
	if err := json.Unmarshal([]byte(good), &b); err != nil {
		t.Fatal(err)
	}
	if err := New(DefaultConfig()).LoadBaseline(&b); err != nil {
		t.Errorf("%s: %v", good, err)
	}
}

// A pair whose periodic rows alternate between two ports has a notice that
// names no port, and is learnt without one: normal on any port later, as
// its notice could not say which port it was on. A pair learnt on one
// port is not normal when its rows spread over two.
func TestBaselineOfMixedPorts(t *testing.T) {
	day := 24 * time.Hour
	alternate := func(src, dst string, seed int64) []window.Conn {
		rows := beaconRows(src, dst, 443, "tcp", 5*time.Minute, 0.1, day, seed, false)
		for i := range rows {
			if i%2 == 1 {
				rows[i].DPort = 8080
			}
		}
		return rows
	}
	learn := func(rows []window.Conn) Baseline {
		ns := window.Run(New(DefaultConfig()), rows)
		if len(ns) != 1 {
			t.Fatalf("archive: %d notices, want 1", len(ns))
		}
		return window.ThroughJSON[Baseline](t, BaselineOf(ns))
	}
	mixed := learn(alternate("10.1.1.5", "203.0.113.9", 21))
	if p := mixed.Pairs; len(p) != 1 || p[0].Port != 0 || !p[0].AnyPort {
		t.Fatalf("mixed pair learnt as %+v, want port 0, any port", p)
	}
	ping := learn(beaconRows("10.1.1.5", "203.0.113.9", 0, "icmp", 5*time.Minute, 0.1, day, 28, false))
	if p := ping.Pairs; len(p) != 1 || p[0].Port != 0 || p[0].AnyPort {
		t.Fatalf("ICMP pair learnt as %+v, want port 0 alone", p)
	}
	single := learn(beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", 5*time.Minute, 0.1, day, 22, false))
	for _, c := range []struct {
		name string
		base Baseline
		rows []window.Conn
		want int
	}{
		{"learnt mixed, later on 443", mixed, beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", 5*time.Minute, 0.1, day, 23, false), 0},
		{"learnt mixed, later mixed", mixed, alternate("10.1.1.5", "203.0.113.9", 24), 0},
		{"learnt mixed, another target", mixed, beaconRows("10.1.1.5", "198.51.100.7", 443, "tcp", 5*time.Minute, 0.1, day, 25, false), 1},
		{"learnt on 443, later mixed", single, alternate("10.1.1.5", "203.0.113.9", 26), 1},
		{"learnt on 443, later on 8080", single, beaconRows("10.1.1.5", "203.0.113.9", 8080, "tcp", 5*time.Minute, 0.1, day, 27, false), 1},
		{"learnt over ICMP, later ICMP", ping, beaconRows("10.1.1.5", "203.0.113.9", 0, "icmp", 5*time.Minute, 0.1, day, 29, false), 0},
		{"learnt over ICMP, later on 443", ping, beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", 5*time.Minute, 0.1, day, 30, false), 1},
	} {
		d := New(DefaultConfig())
		if err := d.LoadBaseline(&c.base); err != nil {
			t.Fatal(err)
		}
		if got := window.Run(d, later(c.rows, 7*day)); len(got) != c.want || int(d.Known) != 1-c.want {
			t.Errorf("%s: %d notices (%d known), want %d", c.name, len(got), d.Known, c.want)
		}
	}
}
