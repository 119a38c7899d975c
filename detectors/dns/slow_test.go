package dns

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/output/notice"
)

// walk: one generated .com/.net/.ru name every gap (0.5-1.5 gap apart),
// NXDOMAIN, from start for dur.
func walk(client string, start time.Time, dur, gap time.Duration, seed uint64) []q {
	r := rand.New(rand.NewPCG(seed, 11))
	tlds := []string{"com", "net", "ru"}
	var out []q
	for t := start; t.Before(start.Add(dur)); t = t.Add(gap/2 + time.Duration(r.Int64N(int64(gap)))) {
		b := make([]byte, 10+r.IntN(8))
		for j := range b {
			b[j] = byte('a' + r.IntN(26))
		}
		out = append(out, q{t, client, string(b) + "." + tlds[r.IntN(3)], 1, 3})
	}
	return out
}

// every: the same kind of query every gap from start for dur; name gets
// the query's index.
func every(client string, start time.Time, dur, gap time.Duration, rcode uint64, name func(i int) string) []q {
	var out []q
	for i, t := 0, start; t.Before(start.Add(dur)); i, t = i+1, t.Add(gap) {
		out = append(out, q{t, client, name(i), 1, rcode})
	}
	return out
}

func merge(parts ...[]q) []q {
	var out []q
	for _, p := range parts {
		out = append(out, p...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ts.Before(out[j].ts) })
	return out
}

func randLabel(r *rand.Rand) string {
	b := make([]byte, 7+r.IntN(9))
	for j := range b {
		b[j] = byte('a' + r.IntN(26))
	}
	return string(b)
}

// ruleAt is a notice's rule and the start of its window.
type ruleAt struct {
	rule  string
	start time.Time
}

func (r ruleAt) String() string { return r.rule + "@" + r.start.Format("15:04") }

// The slow window: a walk too slow for any 5-minute window fires once per
// hour it fills; the benign patterns that pile up over an hour do not;
// a client the fast window reported is not reported again by the slow
// one for that hour.
func TestSlowDGA(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	benign := func(client string, dur, gap time.Duration) []q { // a host's own lookups, answered
		return every(client, t0, dur, gap, 0, func(i int) string { return fmt.Sprintf("www.site%d.example", i%7) })
	}
	r := rand.New(rand.NewPCG(5, 5))
	type want = ruleAt
	cases := []struct {
		name string
		qs   []q
		want []want
	}{
		{"walk, one query every 90 s for 2 h", merge(walk("10.0.0.20", t0, 2*time.Hour, 90*time.Second, 1), benign("10.0.0.20", 2*time.Hour, 5*time.Minute)),
			[]want{{notice.RuleDNSDGASlow, t0}, {notice.RuleDNSDGASlow, t0.Add(time.Hour)}}},
		{"walk, one query every 120 s for 3 h", walk("10.0.0.21", t0, 3*time.Hour, 2*time.Minute, 2),
			[]want{{notice.RuleDNSDGASlow, t0}, {notice.RuleDNSDGASlow, t0.Add(time.Hour)}, {notice.RuleDNSDGASlow, t0.Add(2 * time.Hour)}}},
		{"walk too slow: every 5 min", walk("10.0.0.22", t0, 3*time.Hour, 5*time.Minute, 3), nil},
		{"walk on a busy client: NX share of queries under 0.5, of its few domains over it", merge(walk("10.0.0.23", t0, time.Hour, 90*time.Second, 4),
			every("10.0.0.23", t0, time.Hour, 10*time.Second, 0, func(i int) string { return fmt.Sprintf("www.site%d.com", i%7) })),
			[]want{{notice.RuleDNSDGASlow, t0}}},
		{"walk on a resolver-like client: 40 NX among 360 domains an hour", merge(walk("10.0.0.31", t0, time.Hour, 90*time.Second, 4),
			every("10.0.0.31", t0, time.Hour, 10*time.Second, 0, func(i int) string { return fmt.Sprintf("www.site%d.com", i) })), nil},
		{"search-suffix NX all hour", every("10.0.0.24", t0, time.Hour, 12*time.Second, 3, func(int) string { return randLabel(r) + ".corp.example.com" }), nil},
		{"Chrome probes: 12 network changes in an hour", merge(
			every("10.0.0.25", t0, time.Hour, 5*time.Minute, 3, func(int) string { return randLabel(r) }),
			every("10.0.0.25", t0.Add(time.Second), time.Hour, 5*time.Minute, 3, func(int) string { return randLabel(r) }),
			every("10.0.0.25", t0.Add(2*time.Second), time.Hour, 5*time.Minute, 3, func(int) string { return randLabel(r) })), nil},
		{"internal names under an unlisted TLD", every("10.0.0.26", t0, time.Hour, time.Minute, 3, func(i int) string { return fmt.Sprintf("host%d.site%d.corp", i, i) }), nil},
		{"typos all hour", merge(every("10.0.0.27", t0, time.Hour, 4*time.Minute, 3, func(i int) string { return fmt.Sprintf("gogle%d.com", i) }), benign("10.0.0.27", time.Hour, time.Minute)), nil},
		{"burst in the hour, walk on: fast fires, slow only the next hour", merge(
			walk("10.0.0.28", t0.Add(10*time.Minute), time.Minute, 2*time.Second, 5),
			walk("10.0.0.28", t0, 2*time.Hour, 90*time.Second, 6)),
			[]want{{notice.RuleDNSDGA, t0.Add(10 * time.Minute)}, {notice.RuleDNSDGASlow, t0.Add(time.Hour)}}},
		{"a burst alone: fast only", walk("10.0.0.29", t0.Add(20*time.Minute), 2*time.Minute, 2*time.Second, 7),
			[]want{{notice.RuleDNSDGA, t0.Add(20 * time.Minute)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := New(DefaultConfig())
			ns := run(d, c.qs)
			var got []want
			for _, n := range ns {
				got = append(got, want{n.Rule, n.Start.Truncate(map[string]time.Duration{notice.RuleDNSDGA: 5 * time.Minute, notice.RuleDNSDGASlow: time.Hour}[n.Rule])})
				if n.RiskScore < 50 || n.ID == "" || len(n.UIDs) == 0 || n.DestPort != 53 {
					t.Errorf("bad notice: %+v", n)
				}
				if n.Rule != notice.RuleDNSDGASlow {
					continue
				}
				f := n.Explain.Features["nxdomain_domains"]
				if f.Value < 25 || n.Explain.Window != 3600 || !strings.Contains(n.Message, "slow DGA-like NXDOMAIN walk in 1h: ") ||
					!strings.Contains(n.Message, ", too slow for a 5m burst (mean entropy ") ||
					n.Start.Truncate(time.Hour) != n.End.Truncate(time.Hour) || n.End.Before(n.Start) {
					t.Errorf("slow notice: %s %v..%v %+v", n.Message, n.Start, n.End, f)
				}
			}
			// the fast notices of a window come before the slow one of its hour
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("notices %v, want %v", got, c.want)
			}
			if s := d.Stats(); s.SlowDGAs != int64(strings.Count(fmt.Sprint(got), notice.RuleDNSDGASlow)) || s.SlowWindows == 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// The slow window holds at most max_clients clients; the others are
// counted, not tracked. A row too late for its 5-minute window still
// counts in its open hour; one too late for the hour is counted.
func TestSlowBoundsAndLateness(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxClients = 3
	d := New(cfg)
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	var qs []q
	for i := 0; i < 10; i++ {
		qs = append(qs, q{t0, fmt.Sprintf("10.0.1.%d", i), "a.example.com", 1, 0})
	}
	run(d, qs)
	if s := d.Stats(); s.DroppedSlowClients != 7 || s.DroppedClients != 7 {
		t.Fatalf("stats %+v", s)
	}

	d = New(DefaultConfig())
	qs = walk("10.0.0.30", t0, time.Hour, 90*time.Second, 8)
	// hold back every fourth query by 10 minutes: late for its 5-minute
	// window, in time for the hour
	var late []q
	var onTime []q
	for i, x := range qs {
		if i%4 == 0 {
			late = append(late, x)
		} else {
			onTime = append(onTime, x)
		}
	}
	var ns []*notice.Notice
	emit := func(n *notice.Notice) { ns = append(ns, n) }
	feed(d, onTime[:len(onTime)/2], emit)
	feed(d, late[:len(late)/2], emit) // arrive 10+ minutes after their windows closed
	feed(d, onTime[len(onTime)/2:], emit)
	feed(d, late[len(late)/2:], emit)
	feed(d, []q{{t0.Add(3 * time.Hour), "10.9.9.9", "a.example.com", 1, 0}}, emit) // closes the hour
	feed(d, []q{{t0, "10.0.0.30", "late.com", 1, 3}}, emit)                        // too late for it
	d.Flush(emit)
	if len(ns) != 1 || ns[0].Rule != notice.RuleDNSDGASlow || ns[0].Explain.Features["nxdomain_domains"].Value != float64(len(qs)) {
		t.Fatalf("want one slow notice counting all %d queries, got %d: %v", len(qs), len(ns), ns)
	}
	if s := d.Stats(); s.LateRows == 0 || s.SlowLateRows != 1 {
		t.Errorf("stats %+v", s)
	}
}

// A client's NXDOMAIN registered domains beyond max_subdomains are
// dropped, in its 5-minute window and in its hour, and counted, as the
// README says of what the bounds drop.
func TestCappedNXDomainsCounted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxSubs = 3
	d := New(cfg)
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	run(d, every("10.0.0.50", t0, 10*time.Second, time.Second, 3, func(i int) string { return fmt.Sprintf("nx%d.com", i) }))
	if s := d.Stats(); s.CappedNXDomains != 7+7 {
		t.Errorf("%d NX domains counted as capped, want 7 in the window and 7 in the hour (stats %+v)", s.CappedNXDomains, s)
	}
}

// A slow window is held an hour: a busy client (its NX shares of queries
// and of 600 domains under 0.5, so it cannot fire) keeps at most slowCap of its NXDOMAIN domains there,
// not max_subdomains, and a client dns.dga reported keeps none.
func TestSlowWindowKeepsLittle(t *testing.T) {
	d := New(DefaultConfig())
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	busy := merge(
		every("10.0.0.60", t0, 50*time.Minute, time.Second, 0, func(i int) string { return fmt.Sprintf("www.site%d.com", i%600) }),
		every("10.0.0.60", t0, 50*time.Minute, 3*time.Second, 3, func(i int) string { return fmt.Sprintf("gone%d.com", i) }),
	)
	fast := walk("10.0.0.61", t0, 20*time.Minute, 2*time.Second, 9) // 20+ domains every 5 minutes
	var ns []*notice.Notice
	feed(d, merge(busy, fast), func(n *notice.Notice) { ns = append(ns, n) })
	sw := d.slow[t0.UnixNano()]
	if sw == nil {
		t.Fatal("the hour is not open")
	}
	if b := sw.clients[netip.MustParseAddr("10.0.0.60")]; b == nil || len(b.nxDoms) != d.slowCap() || d.slowCap() != 200 {
		t.Errorf("the busy client keeps %d domains in its hour, want slowCap %d (200)", len(b.nxDoms), d.slowCap())
	}
	if f := sw.clients[netip.MustParseAddr("10.0.0.61")]; f == nil || !f.fast || len(f.nxDoms) != 0 {
		t.Errorf("the client dns.dga reported keeps %+v in its hour, want nothing", f)
	}
	if len(ns) == 0 || ns[0].Rule != notice.RuleDNSDGA {
		t.Fatalf("notices %v: want dns.dga for the fast walk", ns)
	}
	d.Flush(func(n *notice.Notice) { ns = append(ns, n) })
	for _, n := range ns {
		if n.Rule == notice.RuleDNSDGASlow {
			t.Errorf("slow notice %s", n.Message)
		}
	}
}

func feed(d *Detector, qs []q, emit func(*notice.Notice)) {
	for i, x := range qs {
		d.Observe(event(x, i))
		d.Advance(x.ts, emit)
	}
}

// Snapshot mid-walk (an hour half full, a fast window open), restore, go
// on: the same notices as without the restart. A version 1 snapshot (no
// slow windows) restores with the open hour empty.
func TestSlowSnapshotRestore(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	qs := merge(walk("10.0.0.40", t0, 3*time.Hour, 80*time.Second, 9),
		walk("10.0.0.41", t0.Add(70*time.Minute), 2*time.Minute, 2*time.Second, 10),
		walk("10.0.0.41", t0, 3*time.Hour, 100*time.Second, 11))
	want := run(New(DefaultConfig()), qs)
	rules := map[string]int{}
	for _, n := range want {
		rules[n.Rule]++
	}
	if rules[notice.RuleDNSDGA] == 0 || rules[notice.RuleDNSDGASlow] < 4 {
		t.Fatalf("want fast and slow notices, got %v", rules)
	}
	// at 11:20: the second hour open, 0.41's burst in it reported
	half := sort.Search(len(qs), func(i int) bool { return !qs[i].ts.Before(t0.Add(80 * time.Minute)) })
	snap := restarted(t, qs, half, want)
	if !strings.Contains(string(snap), `"slow_windows":[{`) || !strings.Contains(string(snap), `"fast":true`) {
		t.Fatalf("snapshot without the open hour or the fast mark: %.300s", snap)
	}

	// version 1: as this build wrote it before the slow window
	var v1 map[string]json.RawMessage
	if err := json.Unmarshal(snap, &v1); err != nil {
		t.Fatal(err)
	}
	delete(v1, "slow_windows")
	delete(v1, "slow_closed")
	v1["version"] = json.RawMessage("1")
	old, _ := json.Marshal(v1)
	after := resumed(t, old, qs[half:], half)
	// the hour under way at the restart lost its first half: its slow
	// notice may be missing; the later hours' are all there
	late := 0
	for _, n := range after {
		if n.Rule == notice.RuleDNSDGASlow && n.Start.Truncate(time.Hour).After(t0.Add(time.Hour)) {
			late++
		}
	}
	if late != 2 {
		t.Errorf("after a version 1 restore: %d slow notices for the hours after the restart's, want 2 (%v)", late, after)
	}
	for _, bad := range []string{`{"version":4}`, `{"version":0}`} {
		if err := New(DefaultConfig()).Restore([]byte(bad)); err == nil {
			t.Errorf("%s restored", bad)
		}
	}
}

func feedFrom(d *Detector, qs []q, off int, emit func(*notice.Notice)) {
	for i, x := range qs {
		d.Observe(event(x, i+off))
		d.Advance(x.ts, emit)
	}
}

// restarted runs qs through a detector up to half, snapshots it,
// restores the snapshot into a fresh one (whose own snapshot must be the
// same) and runs the rest there: the notices must be want's, those of
// the uninterrupted run. It returns the snapshot.
func restarted(t *testing.T, qs []q, half int, want []*notice.Notice) []byte {
	t.Helper()
	var got []*notice.Notice
	emit := func(n *notice.Notice) { got = append(got, n) }
	a := New(DefaultConfig())
	feedFrom(a, qs[:half], 0, emit)
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b := New(DefaultConfig())
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if again, _ := b.Snapshot(); string(again) != string(snap) {
		t.Fatal("snapshot not stable across restore")
	}
	feedFrom(b, qs[half:], half, emit)
	b.Flush(emit)
	sameNotices(t, got, want)
	return snap
}

// resumed restores snap into a fresh detector and runs rest (rows off
// on) there: its notices.
func resumed(t *testing.T, snap []byte, rest []q, off int) []*notice.Notice {
	t.Helper()
	d := New(DefaultConfig())
	if err := d.Restore(snap); err != nil {
		t.Fatalf("restore: %v", err)
	}
	var out []*notice.Notice
	emit := func(n *notice.Notice) { out = append(out, n) }
	feedFrom(d, rest, off, emit)
	d.Flush(emit)
	return out
}

func TestSlowConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		set func(*Config)
		key string
	}{
		{func(c *Config) { c.SlowWindow = 7 * time.Minute }, "slow_window"},
		{func(c *Config) { c.SlowWindow = -time.Hour }, "slow_window"},
		{func(c *Config) { c.SlowMinNXDomains = 0 }, "slow_min_nx_domains"},
	} {
		cfg := DefaultConfig()
		c.set(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s: %v", c.key, err)
		}
	}
}

// A config that sets only window, to a length that does not divide an
// hour, was valid before slow_window existed and stays valid: slow_window
// 0 (unset) is the most whole windows in an hour, at least one. A
// slow_window that is set must be a whole number of windows: an hour was
// rounded down to 56m for a 7m window, the same as the default.
func TestSlowWindowOfWindow(t *testing.T) {
	for _, c := range []struct {
		window, slow time.Duration
		want         time.Duration // 0: an error naming slow_window
	}{
		{5 * time.Minute, 0, time.Hour},
		{7 * time.Minute, 0, 56 * time.Minute},
		{40 * time.Minute, 0, 40 * time.Minute},
		{90 * time.Minute, 0, 90 * time.Minute},
		{2 * time.Hour, 0, 2 * time.Hour},
		{7 * time.Minute, 84 * time.Minute, 84 * time.Minute},
		{5 * time.Minute, 2 * time.Hour, 2 * time.Hour},
		{2 * time.Hour, 2 * time.Hour, 2 * time.Hour},
		{7 * time.Minute, time.Hour, 0},
		{7 * time.Minute, 90 * time.Minute, 0},
		{2 * time.Hour, time.Hour, 0},
		{5 * time.Minute, 2 * time.Minute, 0},
	} {
		cfg := DefaultConfig()
		cfg.Window, cfg.SlowWindow = c.window, c.slow
		err := cfg.Validate()
		switch {
		case c.want == 0 && (err == nil || !strings.Contains(err.Error(), "slow_window")):
			t.Errorf("window %v, slow_window %v: %v, want a slow_window error", c.window, c.slow, err)
		case c.want != 0 && err != nil:
			t.Errorf("window %v, slow_window %v: %v", c.window, c.slow, err)
		case c.want != 0 && New(cfg).SlowWindow() != c.want:
			t.Errorf("window %v, slow_window %v: slow window %v, want %v", c.window, c.slow, New(cfg).SlowWindow(), c.want)
		}
	}
}

// The answers the reader leaves out of a row past zeekreader.MaxAnswers
// are counted, as the other bounds' drops are.
func TestCappedAnswersCounted(t *testing.T) {
	d := New(DefaultConfig())
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 2; i++ {
		ev := event(q{t0, "10.0.0.50", "a.example.com", 1, 0}, i)
		ev.DNS.AnswersCut = 5
		d.Observe(ev)
	}
	if s := d.Stats(); s.CappedAnswers != 10 {
		t.Errorf("%d answers counted as capped, want 10", s.CappedAnswers)
	}
}

// A window's sets keep a name longer than maxSetKey as a 33-byte digest:
// kept whole, 3 million queries of 250-byte names held 1.26 GB resident
// (528 MB with digests, the same notices). The count of distinct names is
// the same, names asked again count once, also across a snapshot, which
// holds no long name.
func TestLongNamesCountedByDigest(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	var qs []q
	for i := 0; i < 80; i++ {
		r := rand.New(rand.NewPCG(uint64(i%40), 1)) // 40 names, each asked twice
		var name []byte
		for k := 0; k < 243; k++ { // 4 labels of 60 bytes
			c := "abcdefghijklmnopqrstuvwxyz234567"[r.IntN(32)]
			if k%61 == 60 {
				c = '.'
			}
			name = append(name, c)
		}
		name = append(name, ".long-c2.com"...)
		qs = append(qs, q{t0.Add(time.Duration(i) * time.Second), "10.0.0.5", string(name), 16, 0})
	}
	want := run(New(DefaultConfig()), qs)
	if len(want) != 1 || want[0].Explain.Features["unique_subdomains"].Value != 40 {
		t.Fatalf("notices %v, want one of 40 unique subdomains", want)
	}
	snap := restarted(t, qs, 50, want)
	for _, k := range regexp.MustCompile(`"subs":\[[^]]*\]`).FindAllString(string(snap), -1) {
		if len(k) > len(`"subs":[]`)+40*36 {
			t.Errorf("snapshot keeps long names: %.200s", k)
		}
	}
	set := map[string]struct{}{}
	setAdd(set, strings.Repeat("x", 33), 10)
	setAdd(set, "short.name", 10)
	for k := range set {
		if k != "short.name" && (len(k) != 33 || k[0] != '#') {
			t.Errorf("set key %q", k)
		}
	}
	if _, ok := set["short.name"]; !ok || len(set) != 2 {
		t.Errorf("set %q", set)
	}
}

// A uid longer than notice.MaxUID (a hostile JSON log's, up to a line) is
// not kept whole for the notice, which cuts and marks it.
func TestLongUIDNotKeptWhole(t *testing.T) {
	d := New(DefaultConfig())
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	var out []*notice.Notice
	for i, x := range tunnel(t0, 60, "10.0.0.5", "evil-c2.com", 1) {
		ev := event(x, i)
		ev.DNS.UID = []byte(strings.Repeat("U", 1<<20))
		d.Observe(ev)
	}
	for _, c := range d.windows {
		for _, a := range c.domains {
			for _, u := range a.uids {
				if len(u) > notice.MaxUID+1 {
					t.Fatalf("a uid of %d bytes kept", len(u))
				}
			}
		}
	}
	d.Flush(func(n *notice.Notice) { out = append(out, n) })
	if len(out) == 0 {
		t.Fatal("no notice")
	}
	if u := out[0].UIDs; len(u) != 1 || u[0] != strings.Repeat("U", notice.MaxUID-3)+"..." {
		t.Errorf("uids %q, want the one cut and marked", u)
	}
}
