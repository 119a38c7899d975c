package beacon

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io"
	"math"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

var t0 = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

// beaconRows: src contacts dst:port every period ±jitter (uniform) for span.
func beaconRows(src, dst string, port uint16, proto string, period time.Duration, jitter float64, span time.Duration, seed int64, gaps bool) []window.Conn {
	r := rand.New(rand.NewSource(seed))
	var rows []window.Conn
	for t := t0.Add(time.Minute); t.Before(t0.Add(span)); {
		skip := gaps && t.Sub(t0) > 10*time.Hour && t.Sub(t0) < 12*time.Hour // host asleep
		if !skip {
			rows = append(rows, window.Conn{TS: t, Src: src, Dst: dst, SPort: uint16(40000 + r.Intn(20000)), DPort: port,
				Proto: proto, OrigBytes: uint64(300 + r.Intn(20)), RespBytes: 1200, Duration: time.Second})
		}
		f := 1 + jitter*(2*r.Float64()-1)
		t = t.Add(time.Duration(float64(period) * f))
	}
	return rows
}

// noise: a browsing host with irregular visits.
func noise(seed int64) []window.Conn {
	r := rand.New(rand.NewSource(seed))
	var rows []window.Conn
	t := t0
	for i := 0; i < 3000; i++ {
		t = t.Add(time.Duration(r.ExpFloat64() * float64(25*time.Second)))
		dst := []string{"93.184.216.34", "151.101.1.69", "142.250.74.46", "104.16.132.229"}[r.Intn(4)]
		rows = append(rows, window.Conn{TS: t, Src: "10.1.1.20", Dst: dst, SPort: uint16(40000 + i%20000), DPort: 443,
			OrigBytes: uint64(r.Intn(50000)), RespBytes: uint64(r.Intn(500000))})
	}
	return rows
}

func merge(sets ...[]window.Conn) []window.Conn {
	var all []window.Conn
	for _, s := range sets {
		all = append(all, s...)
	}
	return window.Shuffle(all, time.Second, 1) // time order
}

func TestBeaconTable(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		name string
		rows []window.Conn
		cfg  func(*Config)
		want int // notices on the pair 10.1.1.5 -> 203.0.113.9
	}{
		{"5m beacon 30% jitter over a day", beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", 5*time.Minute, 0.3, day, 1, false), nil, 1},
		{"5m beacon 30% jitter with a 2h gap", beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", 5*time.Minute, 0.3, day, 2, true), nil, 1},
		{"60s beacon 10% jitter", beaconRows("10.1.1.5", "203.0.113.9", 8443, "tcp", time.Minute, 0.1, 6*time.Hour, 3, false), nil, 1},
		{"NTP every 64s is ignored", beaconRows("10.1.1.5", "203.0.113.9", 123, "udp", 64*time.Second, 0.02, day, 4, false), nil, 0},
		{"DNS to the resolver is ignored", beaconRows("10.1.1.5", "203.0.113.9", 53, "udp", 30*time.Second, 0.1, day, 5, false), nil, 0},
		{"allow-listed keep-alive", beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", 30*time.Second, 0.05, day, 6, false),
			func(c *Config) { c.Allow = []string{"203.0.113.0/24"} }, 0},
		{"interval above max_interval", beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", 5*time.Minute, 0.05, day, 7, false),
			func(c *Config) { c.MaxInterval = time.Minute }, 0},
		{"too few connections", beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", time.Hour, 0.05, 12*time.Hour, 8, false), nil, 0},
		{"random browsing is not a beacon", noise(9), nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			ns := window.Run(New(cfg), merge(tc.rows, noise(99)))
			got := 0
			for _, n := range ns {
				if n.Rule != notice.RuleBeacon {
					t.Fatalf("rule %s", n.Rule)
				}
				if n.Source.String() == "10.1.1.5" && n.Destination.String() == "203.0.113.9" {
					got++
					if n.RiskScore < 50 || !strings.Contains(n.Message, "beaconed to 203.0.113.9") || len(n.UIDs) == 0 || n.ID == "" {
						t.Errorf("bad notice %+v", n)
					}
					t.Logf("%s risk %.1f", n.Message, n.RiskScore)
				} else {
					t.Errorf("unexpected notice: %s", n.Message)
				}
			}
			if got != tc.want {
				t.Errorf("got %d notices, want %d", got, tc.want)
			}
		})
	}
}

func TestBeaconDomainAndNet(t *testing.T) {
	rows := beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", 5*time.Minute, 0.2, 24*time.Hour, 11, false)
	for i := range rows {
		rows[i].Dst = []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"}[i%3] // rotating C2 in one /24
		if i%2 == 0 {
			r := rows[i]
			r.ServerName = "update.example-c2.net"
			rows = append(rows, r)
		}
	}
	ns := window.Run(New(DefaultConfig()), merge(rows))
	var net, dom bool
	for _, n := range ns {
		if n.Domain == "update.example-c2.net" {
			dom = true
		}
		if strings.Contains(n.Message, "beaconed to 3 hosts in 198.51.100.0/24 on tcp/443: ") { // (the port was left out)
			net = true
		}
	}
	if !net || !dom {
		t.Fatalf("net %v domain %v: %v", net, dom, window.Canon(ns))
	}
}

// A host beaconing to two rotating networks on one port gets a net notice
// for each, each naming its network in DestNet (the Zeek feed's dst_net):
// neither names a destination, and the Zeek package's suppression
// identifier, of rule, hosts, port and domain alone, took the second
// network for a repeat of the first. IPv6 networks are /64s.
func TestBeaconNetsNameTheirNetwork(t *testing.T) {
	nets := []struct {
		prefix string
		dsts   []string
	}{
		{"198.51.100.0/24", []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"}},
		{"192.0.2.0/24", []string{"192.0.2.10", "192.0.2.20", "192.0.2.30"}},
		{"2001:db8:1:2::/64", []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3"}},
	}
	var sets [][]window.Conn
	for i, nt := range nets {
		rows := beaconRows("10.1.1.5", "", 443, "tcp", 5*time.Minute, 0.2, 24*time.Hour, int64(11+i), false)
		for j := range rows {
			rows[j].Dst = nt.dsts[j%len(nt.dsts)]
		}
		sets = append(sets, rows)
	}
	ns := window.Run(New(DefaultConfig()), merge(sets...))
	seen := map[string]int{}
	for _, n := range ns {
		if n.Destination.IsValid() || n.Domain != "" {
			continue
		}
		if !n.DestNet.IsValid() || n.DestPort != 443 {
			t.Errorf("net notice without its network or port: %s (DestNet %v)", n.Message, n.DestNet)
			continue
		}
		if !strings.Contains(n.Message, " hosts in "+n.DestNet.String()+" on tcp/443: ") {
			t.Errorf("DestNet %s is not the message's network: %s", n.DestNet, n.Message)
		}
		seen[n.DestNet.String()]++
	}
	for _, nt := range nets {
		if seen[nt.prefix] == 0 {
			t.Errorf("no net notice for %s: %v", nt.prefix, seen)
		}
	}
	for _, n := range ns {
		if n.Destination.IsValid() && n.DestNet.IsValid() {
			t.Errorf("a pair notice with DestNet %s: %s", n.DestNet, n.Message)
		}
	}
}

// A lone beacon is one pair notice counting all its rows, whatever the
// destination's last byte: the kind was XORed into the byte of the hash
// that holds it, so a pair key to x.x.x.3 (or ::3) had its /24's (/64's)
// hash and shared its sighting: the pair lost its first row, and the net
// key counted it twice, once with no destination, for "2 hosts".
func TestLoneBeaconIsOnePair(t *testing.T) {
	for _, dst := range []string{"203.0.113.3", "203.0.113.4", "203.0.113.0", "2001:db8::3", "2001:db8::4"} {
		rows := beaconRows("10.1.1.5", dst, 443, "tcp", 5*time.Minute, 0.1, 24*time.Hour, 1, false)
		ns := window.Run(New(DefaultConfig()), rows)
		if len(ns) != 1 || ns[0].Destination.String() != dst {
			t.Errorf("%s: %v, want one pair notice", dst, window.Canon(ns))
			continue
		}
		if c := ns[0].Explain.Features["connections"].Value; int(c) != len(rows) {
			t.Errorf("%s: %v connections counted, want %d", dst, c, len(rows))
		}
	}
}

func TestBeaconDeterminismAndSnapshot(t *testing.T) {
	rows := merge(beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", 5*time.Minute, 0.3, 48*time.Hour, 21, false), noise(3))
	a := window.Canon(window.Run(New(DefaultConfig()), rows))
	b := window.Canon(window.Run(New(DefaultConfig()), rows))
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Fatalf("not deterministic or empty: %d %d", len(a), len(b))
	}
	sh := window.Canon(window.Run(New(DefaultConfig()), window.Shuffle(rows, 5*time.Minute, 7)))
	if !reflect.DeepEqual(a, sh) {
		t.Errorf("shuffled within lateness differs:\n%v\n%v", a, sh)
	}
	for _, cut := range []int{len(rows) / 3, len(rows) / 2} {
		s, err := window.RunSnapshot(New(DefaultConfig()), New(DefaultConfig()), rows, cut)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, window.Canon(s)) {
			t.Errorf("snapshot at %d differs", cut)
		}
	}
}

func TestEntrySize(t *testing.T) {
	// (with its pending rows' uid sample, a slab block while they wait)
	if sz := reflect.TypeOf(Entry{}).Size() + reflect.TypeOf(window.UIDSample{}).Size(); sz > 2048 {
		t.Fatalf("entry %d bytes with its pending rows' uids", sz)
	}
	// what the README's figures say: a net key's unanswered rows, hosts
	// and pending rows' destinations, and the number of the pending
	// rows' uid sample (Acc.pendUID), took padding, not room
	for _, c := range []struct {
		what string
		size uintptr
		want uintptr
	}{
		{"full entry", reflect.TypeOf(Entry{}).Size(), 1504},
		{"first stage's slab block", reflect.TypeOf(moreRows{}).Size(), 224},
		{"sighting", reflect.TypeOf(Sighting{}).Size(), 48},
	} {
		if c.size != c.want {
			t.Errorf("%s %d bytes, want %d", c.what, c.size, c.want)
		}
	}
	// a first stage holds its rows in the slab (a key seen once holds
	// none: its row is a sighting)
	live := reflect.TypeOf(pkey{}).Size() + reflect.TypeOf(first{}).Size()
	if live != 72 {
		t.Errorf("live first stage with its key %d bytes, want 72", live)
	}
	t.Logf("entry %d bytes, first stage %d live (%d with its rows, as snapshots carry it)",
		reflect.TypeOf(Entry{}).Size(), live, reflect.TypeOf(Pre{}).Size())
}

// firstStageRows is a beacon with uids longer than a sample keeps (their
// hash is of all their bytes), short and missing, a second destination in
// its /24 and a neighbour seen once.
func firstStageRows() []window.Conn {
	var rows []window.Conn
	for i, r := range beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", time.Minute, 0.05, 3*time.Hour, 4, false) {
		switch i % 3 {
		case 0:
			r.UID = fmt.Sprintf("Cthesame22byteprefix__%d", i) // truncated alike, hashed apart
		case 1:
			r.UID = fmt.Sprintf("C%d", i)
		}
		rows = append(rows, r)
		// a second destination in the /24 and a neighbour seen once
		if i == 0 || i == 4 {
			r.Dst, r.UID = "203.0.113.10", fmt.Sprintf("Canotherhostinthe24net_%d", i)
			rows = append(rows, r)
		}
	}
	return rows
}

// TestFirstStageSnapshot cuts a run while keys are sightings or in their
// first stage: the restored run gives the notices, uid samples included,
// of the uninterrupted one, and a restored detector snapshots the same
// bytes.
func TestFirstStageSnapshot(t *testing.T) {
	rows := firstStageRows()
	want := window.Canon(window.Run(New(DefaultConfig()), rows))
	if len(want) == 0 {
		t.Fatal("no notice")
	}
	for _, cut := range []int{1, 2, 3, 5, 8, 9, 11} {
		got, err := window.RunSnapshot(New(DefaultConfig()), New(DefaultConfig()), rows, cut)
		if err != nil {
			t.Fatal(err)
		}
		if g := window.Canon(got); !reflect.DeepEqual(g, want) {
			t.Errorf("cut at %d:\n%v\nwant\n%v", cut, g, want)
		}
		d := New(DefaultConfig())
		for _, r := range rows[:cut] {
			d.Observe(r.Event())
		}
		b, err := d.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		d2 := New(DefaultConfig())
		if err := d2.Restore(b); err != nil {
			t.Fatal(err)
		}
		if b2, err := d2.Snapshot(); err != nil || !bytes.Equal(b, b2) {
			t.Errorf("cut at %d: a restored detector snapshots other bytes (%v)", cut, err)
		}
	}
}

// beforeSightings snapshots its Detector, which has taken rows, as one
// written before sightings would: each sighting a first stage of one row.
type beforeSightings struct {
	*Detector
	rows []window.Conn
}

func (o beforeSightings) Snapshot() ([]byte, error) {
	b, err := o.Detector.Snapshot()
	var v snap
	if err == nil {
		err = window.DecodeGobInto(b, &v)
	}
	if err != nil {
		return nil, err
	}
	for _, x := range v.Sights {
		found := false
		for _, c := range o.rows {
			w := o.win.Index(c.TS)
			for _, k := range uidKeys(c) {
				if pkeyOf(newHKey(k), w, window.Mix64(uint64(w))).h|1 != x.S.FP || found {
					continue
				}
				p := Pre{Win: w, N: 1}
				p.MS[0], p.Size[0], p.Ports[0], p.Protos[0] = x.S.MS, x.S.Size, c.DPort, 6
				if k.Kind == kNet {
					p.NDst, p.Dsts[0] = 1, x.S.Dst
				}
				p.UIDs.Add(x.S.UID[:x.S.L])
				v.Pre = append(v.Pre, window.Entry[PKey, Pre]{K: PKey{k, w}, V: p})
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("no key for sighting %+v", x)
		}
	}
	v.Sights, v.Chunks, v.PreLayout = nil, nil, window.Layout{}
	var buf bytes.Buffer
	err = gob.NewEncoder(&buf).Encode(v)
	return buf.Bytes(), err
}

// A snapshot written before sightings holds a key seen once as a first
// stage of one row, which Restore gives its row in the slab: the run goes
// on as the uninterrupted one.
func TestRestoreOneRowFirstStage(t *testing.T) {
	rows := firstStageRows()
	want := window.Canon(window.Run(New(DefaultConfig()), rows))
	for _, cut := range []int{1, 2, 3, 5} {
		got, err := window.RunSnapshot(beforeSightings{New(DefaultConfig()), rows[:cut]}, New(DefaultConfig()), rows, cut)
		if err != nil {
			t.Fatal(err)
		}
		if g := window.Canon(got); !reflect.DeepEqual(g, want) {
			t.Errorf("cut at %d:\n%v\nwant\n%v", cut, g, want)
		}
	}
}

// TestSlowLogNotLate: ssl.log lags conn.log by 20 minutes (more than the
// lateness); the Engine advances multi-log detectors on the slower log, so
// no ssl row is late.
func TestSlowLogNotLate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Window = time.Hour
	d := New(cfg)
	var conns, ssls []window.Conn
	for i := 0; i < 60*6; i++ {
		ts := t0.Add(time.Duration(i) * time.Minute)
		conns = append(conns, window.Conn{TS: ts, Src: "10.1.1.9", Dst: "93.184.216.34", DPort: 443, OrigBytes: uint64(i * 997 % 5000)})
		ssls = append(ssls, window.Conn{TS: ts.Add(17 * time.Second), Src: "10.1.1.5", Dst: "203.0.113.9", DPort: 443, ServerName: "c2.example.net"})
	}
	// interleave: each ssl row arrives with the conn row 20 minutes newer
	var rows []window.Conn
	for i := range conns {
		rows = append(rows, conns[i])
		if i >= 20 {
			rows = append(rows, ssls[i-20])
		}
	}
	rows = append(rows, ssls[len(ssls)-20:]...)
	ns := window.Run(d, rows)
	if late := d.Stats().Late; late != 0 {
		t.Fatalf("%d ssl rows late", late)
	}
	found := false
	for _, n := range ns {
		found = found || n.Domain == "c2.example.net"
	}
	if !found {
		t.Fatalf("no domain beacon: %v", window.Canon(ns))
	}
}

// TestSharedServiceIsNotC2: the same 5-minute beacon from six hosts to one
// server (an update service, a status poller) is dropped; from two hosts
// (two infected machines) it is reported.
func TestSharedServiceIsNotC2(t *testing.T) {
	for _, c := range []struct {
		hosts, want int
	}{{2, 2}, {6, 0}} {
		var sets [][]window.Conn
		for h := 0; h < c.hosts; h++ {
			src := "10.1.1." + string(rune('1'+h))
			sets = append(sets, beaconRows(src, "198.51.100.7", 443, "tcp", 5*time.Minute, 0.1, 24*time.Hour, int64(h+1), false))
		}
		d := New(DefaultConfig())
		got := 0
		for _, n := range window.Run(d, merge(sets...)) {
			if n.Destination.String() == "198.51.100.7" {
				got++
			}
		}
		if got != c.want {
			t.Errorf("%d hosts beaconing to one server: %d notices, want %d", c.hosts, got, c.want)
		}
		if c.want == 0 && d.Shared == 0 {
			t.Errorf("%d hosts: nothing counted as shared", c.hosts)
		}
	}
}

// TestNoticeSpansItsEvidence: a notice's [start, end] holds every
// connection it scored, the first and the last included, also when the
// timestamps have microseconds (Zeek's) and when the rows are those of the
// next window, held while the previous one waited for lateness. The window
// keeps milliseconds; an end truncated to them left the last connection
// after event.end.
func TestNoticeSpansItsEvidence(t *testing.T) {
	subMS := func(rows []window.Conn, us time.Duration) []window.Conn {
		for i := range rows {
			rows[i].TS = rows[i].TS.Truncate(time.Millisecond).Add(us)
		}
		return rows
	}
	sni := func(rows []window.Conn) []window.Conn {
		for i := range rows {
			rows[i].ServerName = "c2.example.net"
		}
		return rows
	}
	for _, tc := range []struct {
		name string
		rows []window.Conn
	}{
		{"pair, 877 µs into the millisecond", subMS(beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", time.Minute, 0.02, 2*time.Hour, 31, false), 877*time.Microsecond)},
		{"pair, 1 µs into the millisecond", subMS(beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", time.Minute, 0.02, 2*time.Hour, 32, false), time.Microsecond)},
		{"pair, on the millisecond", subMS(beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", time.Minute, 0.02, 2*time.Hour, 33, false), 0)},
		{"pair, two days (the second held while the first waits)", subMS(beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", 5*time.Minute, 0.05, 48*time.Hour, 34, false), 999*time.Microsecond)},
		{"domain", sni(subMS(beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", time.Minute, 0.02, 2*time.Hour, 35, false), 640*time.Microsecond))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			ns := window.Run(New(cfg), merge(tc.rows, noise(99)))
			if len(ns) == 0 {
				t.Fatal("no notice")
			}
			for _, n := range ns {
				if n.Source.String() != "10.1.1.5" {
					continue
				}
				win := n.Timestamp.Add(-cfg.Window)
				for _, r := range tc.rows {
					if r.TS.Before(win) || !r.TS.Before(n.Timestamp) {
						continue // another window's row
					}
					if r.TS.Before(n.Start) || r.TS.After(n.End) {
						t.Errorf("%s: row at %s outside the notice's %s .. %s", n.Message,
							r.TS.Format(time.RFC3339Nano), n.Start.Format(time.RFC3339Nano), n.End.Format(time.RFC3339Nano))
					}
				}
			}
		})
	}
}

// Keys evicted with open windows, a restore, Flush twice: slab ids freed once.
func TestEvictionFreesSlab(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxHosts = 64
	fresh := New(cfg)
	window.CheckEvicting(t, New(cfg), fresh, fresh.more.Len)
}

// Stopped and restored halfway while keys are being evicted, a run ends
// as the one that never stopped: same state, same notices.
func TestRestoreExactUnderEviction(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxHosts = 64
	window.CheckRestoreExact(t, func() detectors.Detector { return New(cfg) }, window.DecodeGob[snap])
}

// A 5-minute beacon with 30 % jitter on a sensor whose one-off keys fill
// the first stage many times over between two check-ins: its first row
// waits as a sighting, and from its second on its key is held, so it is
// found. Here max_hosts is 2,000 and the churn 6 rows/s; with the default
// 200,000 the same happens at 500 rows/s over a day (measured), where the
// beacon was lost before sightings and holds.
func TestBeaconUnderChurn(t *testing.T) {
	rows := merge(window.Churn(t0, 1, 3000, 6, 12*time.Hour),
		beaconRows("10.200.0.9", "198.51.100.77", 443, "tcp", 5*time.Minute, 0.3, 12*time.Hour, 1, false))
	cfg := DefaultConfig()
	cfg.MaxHosts = 2000
	d := New(cfg)
	found := false
	for _, n := range window.Run(d, rows) {
		found = found || n.Source.String() == "10.200.0.9" && n.Destination.String() == "198.51.100.77"
	}
	if !found {
		t.Fatal("the beacon was not found")
	}
}

// A checkpoint's Capture copies: encoded after more rows, it is the state
// of its moment (run encodes it while rows flow).
func TestCaptureCopies(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxHosts = 64
	window.CheckCapture(t, func() detectors.Detector { return New(cfg) }, window.DecodeGob[snap])
}

// Five hosts each beaconing over a /24 of their own on one port (C2
// rotating its addresses) are five beacons, not a shared service: a
// net-keyed notice names no address, only its port, and its network is
// its destination for max_sources. Five hosts over the same /24 are a
// service.
func TestRotatingSourcesAreNotOneService(t *testing.T) {
	rotate := func(src string, net int) []window.Conn {
		rows := beaconRows(src, "198.51.100.1", 443, "tcp", 5*time.Minute, 0.1, 24*time.Hour, int64(net), false)
		for j := range rows {
			rows[j].Dst = fmt.Sprintf("198.51.%d.%d", net, 1+j%40)
		}
		return rows
	}
	for _, c := range []struct {
		name      string
		sameNet   bool
		want      int
		wantShare int64
	}{{"a /24 each", false, 5, 0}, {"one /24", true, 0, 5}} {
		var sets [][]window.Conn
		for i := 0; i < 5; i++ {
			net := 10 + i
			if c.sameNet {
				net = 10
			}
			sets = append(sets, rotate(fmt.Sprintf("10.1.2.%d", i+1), net))
		}
		d := New(DefaultConfig())
		ns := window.Run(d, merge(sets...))
		if len(ns) != c.want || d.Shared != c.wantShare {
			t.Errorf("%s: %d notices, %d shared, want %d and %d", c.name, len(ns), d.Shared, c.want, c.wantShare)
		}
	}
}

// A checkpoint written before snapshots were chunked restores as a chunked
// one does; a chunked one cut short does not restore.
func TestRestoreUnchunked(t *testing.T) {
	window.CheckRestoreUnchunked[snap](t, func() detectors.Detector { return New(DefaultConfig()) })
}

// damagedRows is a detector that took a beacon (a full entry for its
// pair and /24), a second destination in the /24 seen twice (a first
// stage) and one in another /24 seen once (sightings), its snapshot, and
// rows for each of those keys again.
func damagedRows(t *testing.T) (*Detector, snap, []window.Conn) {
	rows := beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", time.Minute, 0.05, time.Hour, 1, false)
	rows[3].Dst, rows[5].Dst, rows[7].Dst = "203.0.113.10", "203.0.113.10", "198.51.100.1"
	rows[40].Dst, rows[41].Dst = "203.0.113.10", "198.51.100.1"
	d := New(DefaultConfig())
	for _, r := range rows[:30] {
		d.Observe(r.Event())
	}
	b, err := d.Snapshot()
	var v snap
	if err == nil {
		err = window.DecodeGobInto(b, &v)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Entries) == 0 || len(v.Pre) == 0 || len(v.Sights) == 0 {
		t.Fatalf("%d entries, %d first stages, %d sightings: the test proves nothing", len(v.Entries), len(v.Pre), len(v.Sights))
	}
	return d, v, rows[30:]
}

// gobOf is v as a snapshot (unchunked, as older ones).
func gobOf(t *testing.T, v snap) []byte {
	v.Chunks = nil
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Restore refuses what no detector writes, counts most of which the
// key's next row indexed past its arrays with (a panic rows after a
// restart), and leaves the detector as it was.
func TestRestoreRefusesDamaged(t *testing.T) {
	for _, c := range []struct {
		name  string
		entry func(e *window.Entry[Key, EntryForm])
		pre   func(e *window.Entry[PKey, Pre])
		sight func(x *SightAt)
		whole func(v *snap)
	}{
		{name: "entry of 65 timestamps", entry: func(e *window.Entry[Key, EntryForm]) { e.V.Acc.N = tsCap + 1 }},
		{name: "entry of 5 destinations", entry: func(e *window.Entry[Key, EntryForm]) { e.V.Acc.NDst = 5 }},
		{name: "entry with 17 rows pending", entry: func(e *window.Entry[Key, EntryForm]) { e.V.NNext = pendCap + 1 }},
		{name: "entry with a 65-byte domain", entry: func(e *window.Entry[Key, EntryForm]) { e.V.DomLen = 65 }},
		{name: "entry of kind 0", entry: func(e *window.Entry[Key, EntryForm]) { e.K.Kind = 0 }},
		{name: "entry of kind 4", entry: func(e *window.Entry[Key, EntryForm]) { e.K.Kind = kDomain + 1 }},
		{name: "first stage of 8 rows", pre: func(e *window.Entry[PKey, Pre]) { e.V.N = preRows }},
		{name: "first stage of 255 rows", pre: func(e *window.Entry[PKey, Pre]) { e.V.N = 255 }},
		{name: "first stage of no row", pre: func(e *window.Entry[PKey, Pre]) { e.V.N = 0 }},
		{name: "first stage of 5 destinations", pre: func(e *window.Entry[PKey, Pre]) { e.V.NDst = 5 }},
		{name: "first stage of kind 0", pre: func(e *window.Entry[PKey, Pre]) { e.K.Kind = 0 }},
		{name: "sighting of a 23-byte uid", sight: func(x *SightAt) { x.S.L = 23 }},
		// its rows would be taken twice from the slab, one copy dropped
		{name: "first stage named twice", whole: func(v *snap) { v.Pre = append(v.Pre, v.Pre[0]) }},
	} {
		d, v, rest := damagedRows(t)
		good, err := d.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		for i := range v.Entries {
			if c.entry != nil {
				c.entry(&v.Entries[i])
			}
		}
		for i := range v.Pre {
			if c.pre != nil {
				c.pre(&v.Pre[i])
			}
		}
		for i := range v.Sights {
			if c.sight != nil {
				c.sight(&v.Sights[i])
			}
		}
		if c.whole != nil {
			c.whole(&v)
		}
		if err := d.Restore(gobOf(t, v)); err == nil {
			t.Errorf("%s: restored", c.name)
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s: restored, then panicked: %v", c.name, r)
					}
				}()
				window.Run(d, rest)
			}()
			continue
		}
		if now, err := d.Snapshot(); err != nil || !bytes.Equal(now, good) {
			t.Errorf("%s: refused, the detector changed (%v)", c.name, err)
		}
	}
}

// Counts at 2^32-1 restore, and the key's next rows and its window's
// close keep them there: they wrapped to 0, and the reservoirs indexed
// their slot -1.
func TestCountsSaturate(t *testing.T) {
	d, v, rest := damagedRows(t)
	for i := range v.Entries {
		a := &v.Entries[i].V.Acc
		a.Conns, a.NSize, a.NDelta = math.MaxUint32, math.MaxUint32, math.MaxUint32
	}
	if err := d.Restore(gobOf(t, v)); err != nil {
		t.Fatal(err)
	}
	eng := detectors.NewEngine(func(*notice.Notice) {}, d)
	for _, r := range rest {
		eng.Observe(r.Event())
	}
	n := 0
	d.t.Range(func(_ hkey, e *Entry) bool {
		if a := &e.Acc; a.Conns != math.MaxUint32 || a.NSize != math.MaxUint32 || a.NDelta != math.MaxUint32 {
			t.Errorf("%d connections, %d sizes, %d intervals", a.Conns, a.NSize, a.NDelta)
		}
		n++
		return false
	})
	if n == 0 {
		t.Fatal("no entry")
	}
	eng.Flush() // folds the timestamps into intervals, scores
}

// An ICMP beacon (a ping every minute) is named by its address and
// transport, not a port: it read "beaconed to 203.0.113.9:0".
func TestICMPBeaconMessage(t *testing.T) {
	ns := window.Run(New(DefaultConfig()), beaconRows("10.1.1.5", "203.0.113.9", 0, "icmp", time.Minute, 0.02, 2*time.Hour, 3, false))
	if len(ns) != 1 || !strings.HasPrefix(ns[0].Message, "10.1.1.5 beaconed to 203.0.113.9 (icmp): ") {
		t.Fatalf("%v", window.Canon(ns))
	}
}

// sweepRows: a scanner SYNs every address of 10.64.0.0/12 in a random
// order (masscan's), n rows a second for span from start, each
// unanswered: each /24 is reached every n/4096 seconds on average, at
// random times, each time a new host.
func sweepRows(start time.Time, span time.Duration, n int, seed int64) []window.Conn {
	r := rand.New(rand.NewSource(seed))
	perm := r.Perm(1 << 20)
	rows := make([]window.Conn, 0, int(span.Seconds())*n)
	for i := 0; i < cap(rows) && i < len(perm); i++ {
		a := perm[i]
		rows = append(rows, window.Conn{TS: start.Add(time.Duration(i) * time.Second / time.Duration(n)), Src: "198.51.100.23",
			Dst: fmt.Sprintf("10.%d.%d.%d", 64+a>>16, a>>8&0xff, a&0xff), SPort: uint16(40000 + i%1000), DPort: 445, State: "S0"})
	}
	return rows
}

// A sweep is no beacon. A scanner reaching each /24 of a range a few
// dozen times at random, each time a new host, all of one size (S0),
// scored 0.80-0.86 on its net keys: a 30-minute sweep of a /8 planted in
// TrickBot's week (scripts/genflood) gave 19,497 beacon notices, one per
// /24, and its /24s, each seen again and so held against eviction, took
// the full entries of the C2 pairs: 12 of the day's 14 beacons were lost.
// Here the 4,096 /24s of a /12 (about 90 rows each) outnumber the 500
// full entries of max_hosts 2,000; the C2 pair and a C2 rotating over
// three hosts of a /24 are still found, and the sweep's keys that stayed
// to be judged (they are not held) are counted as dropped.
func TestSweepIsNoBeacon(t *testing.T) {
	// both from 12:00 to 15:00: after the sweep (14:00-14:30) too few
	// rows are left to fire on
	c2 := beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", 3*time.Minute, 0.2, 3*time.Hour, 11, false)
	rot := beaconRows("10.1.1.6", "198.51.100.1", 443, "tcp", 3*time.Minute, 0.2, 3*time.Hour, 12, false)
	for i := range rot {
		rot[i].Dst = []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"}[i%3]
	}
	for _, rs := range [][]window.Conn{c2, rot} {
		for i := range rs {
			rs[i].TS = rs[i].TS.Add(12 * time.Hour)
		}
	}
	rows := merge(c2, rot, sweepRows(t0.Add(14*time.Hour), 30*time.Minute, 200, 1))
	cfg := DefaultConfig()
	cfg.MaxHosts = 2000
	d := New(cfg)
	var pair, net bool
	swept := 0
	for _, n := range window.Run(d, rows) {
		switch {
		case n.Source.String() == "198.51.100.23":
			swept++
		case n.Source.String() == "10.1.1.5" && n.Destination.String() == "203.0.113.9":
			pair = true
		case n.Source.String() == "10.1.1.6" && strings.Contains(n.Message, "3 hosts in 198.51.100.0/24"):
			net = true
		}
	}
	if swept > 0 {
		t.Errorf("the sweep gave %d beacon notices", swept)
	}
	if !pair || !net {
		t.Errorf("C2 pair found %v, rotating C2 found %v (evicted %d)", pair, net, d.Stats().Evicted)
	}
	if d.Sweeps == 0 {
		t.Error("no net key counted as a sweep")
	}
	// cut during the sweep, a restart gives the same notices
	cut := sort.Search(len(rows), func(i int) bool { return rows[i].TS.After(t0.Add(14*time.Hour + 10*time.Minute)) })
	a, b := New(cfg), New(cfg)
	s, err := window.RunSnapshot(a, b, rows, cut)
	if err != nil {
		t.Fatal(err)
	}
	want := window.Canon(window.Run(New(cfg), rows))
	if !reflect.DeepEqual(want, window.Canon(s)) {
		t.Errorf("restored during the sweep: %v, want %v", window.Canon(s), want)
	}
	// and so does a version 2 snapshot, which kept no unanswered rows
	s, err = window.RunSnapshot(asVersion2{New(cfg), t}, New(cfg), rows, cut)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, window.Canon(s)) {
		t.Errorf("restored from version 2 during the sweep: %v, want %v", window.Canon(s), want)
	}
}

// asVersion2 is a Detector whose snapshot is as version 2 wrote it: no
// unanswered rows counted (unchunked, which Restore takes too).
type asVersion2 struct {
	*Detector
	t *testing.T
}

func (d asVersion2) Snapshot() ([]byte, error) {
	b, err := d.Detector.Snapshot()
	if err != nil {
		return nil, err
	}
	var s snap
	if err := window.DecodeGobInto(b, &s); err != nil {
		return nil, err
	}
	unans := 0
	for i := range s.Entries {
		unans += int(s.Entries[i].V.Acc.Unans)
		s.Entries[i].V.Acc.Unans = 0
		for j := range s.Entries[i].V.Next {
			s.Entries[i].V.Next[j].Unans = false
		}
	}
	for i := range s.Pre {
		s.Pre[i].V.Unans = 0
	}
	for i := range s.Sights {
		s.Sights[i].S.Unans = false
	}
	if unans == 0 {
		d.t.Error("the snapshot counts no unanswered rows")
	}
	s.Version, s.Chunks = 2, nil
	return detectors.Encoded(func(w io.Writer) error { return gob.NewEncoder(w).Encode(&s) })
}

// rotatingC2 calls 198.51.100.(1+i%hosts) at its i-th check-in, every 5
// minutes ±30 % for a day, its rows of state, history and resp_bytes.
func rotatingC2(hosts int, state, history string, resp uint64) []window.Conn {
	rows := beaconRows("10.1.1.6", "198.51.100.1", 443, "tcp", 5*time.Minute, 0.3, 24*time.Hour, 13, false)
	for i := range rows {
		rows[i].Dst = fmt.Sprintf("198.51.100.%d", 1+i%hosts)
		rows[i].State, rows[i].History, rows[i].RespBytes = state, history, resp
	}
	return rows
}

// slowSweep is a /24 scanned a probe every 2 minutes, in a new order each
// of 3 rounds (762 rows, 720 in the first day), its rows of state and
// history.
func slowSweep(state, history string) []window.Conn {
	r := rand.New(rand.NewSource(14))
	var rows []window.Conn
	for round := 0; round < 3; round++ {
		for _, h := range r.Perm(254) {
			rows = append(rows, window.Conn{TS: t0.Add(time.Duration(len(rows)) * 2 * time.Minute), Src: "198.51.100.23",
				Dst: fmt.Sprintf("10.9.9.%d", 1+h), SPort: uint16(40000 + len(rows)), DPort: 445, State: state, History: history})
		}
	}
	return rows
}

// A sweep's rows go unanswered, a C2's check-ins are answered with data:
// that, not how many hosts a /24's rows reach, tells them apart. Until
// 2026-12-01 a net key with about one host for every two rows or fewer
// rows was a sweep (64 bits count about 310 hosts): a C2 calling a new
// address of its /24 at each check-in read as one once it had reached
// about 140, and a sweep of more than about 620 rows a /24 as none.
func TestSweepOrRotatingC2(t *testing.T) {
	rotating := func(hosts int, state string, resp uint64) []window.Conn { return rotatingC2(hosts, state, "", resp) }
	slow := func(state string) []window.Conn { return slowSweep(state, "") }
	withState := func(rows []window.Conn, state string) []window.Conn {
		for i := range rows {
			rows[i].State = state
		}
		return rows
	}
	for _, c := range []struct {
		name       string
		rows       []window.Conn
		want       int // notices
		wantSweeps bool
	}{
		{"C2 over all 254 hosts of its /24, answered", rotating(254, "SF", 1200), 1, false},
		{"C2 over 40 hosts of its /24, answered", rotating(40, "SF", 1200), 1, false},
		{"C2 over all 254 hosts, handshakes without data", rotating(254, "SF", 0), 0, true},
		{"sweep of a /12, S0", sweepRows(t0, 30*time.Minute, 200, 1), 0, true},
		{"sweep of a /12 answered by RST (REJ)", withState(sweepRows(t0, 30*time.Minute, 200, 1), "REJ"), 0, true},
		{"a /24 scanned slowly, 762 rows, S0", slow("S0"), 0, true},
		{"a /24 scanned slowly, 762 rows, RSTO", slow("RSTO"), 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := New(DefaultConfig())
			ns := window.Run(d, c.rows)
			if len(ns) != c.want || (d.Sweeps > 0) != c.wantSweeps {
				t.Errorf("%d notices, %d sweeps dropped, want %d notices and sweeps %v", len(ns), d.Sweeps, c.want, c.wantSweeps)
			}
			for _, n := range ns {
				if !strings.Contains(n.Message, "hosts in 198.51.100.0/24") {
					t.Errorf("notice %q, want the /24's", n.Message)
				}
			}
		})
	}
}

// The spread in a message: "±0%" read as perfectly regular for a spread
// of 0.26 % (TrickBot's :449 pairs in the golden file).
func TestSpreadWords(t *testing.T) {
	for _, c := range []struct {
		mad  float64
		want string
	}{
		{0.47, "±47%"},
		{0.0995, "±10%"},
		{0.0319, "±3.2%"},
		{0.025, "±2.5%"},
		{0.0026, "±0.3%"},
		{0.0005, "±0.1%"},
		{0.00038, "under 0.1%"}, // ("<" is "\u003c" in the JSON)
		{0, "±0%"},
	} {
		if got := spread(c.mad); got != c.want {
			t.Errorf("spread(%g) = %q, want %q", c.mad, got, c.want)
		}
	}
	// and in a notice: a 1-minute beacon of ±0.5 % uniform jitter (a
	// spread of about a quarter percent)
	ns := window.Run(New(DefaultConfig()), beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", time.Minute, 0.005, 6*time.Hour, 3, false))
	if len(ns) != 1 {
		t.Fatalf("%d notices, want 1", len(ns))
	}
	mad := ns[0].Explain.Features["interval_mad_ratio"].Value
	t.Log(ns[0].Message)
	if mad <= 0 || mad >= 0.005 {
		t.Fatalf("interval_mad_ratio %g, want a fraction of a percent", mad)
	}
	if want := fmt.Sprintf("spread ±%.1f%%;", 100*mad); !strings.Contains(ns[0].Message, want) {
		t.Errorf("message %q lacks %q", ns[0].Message, want)
	}
}
