package dns

import (
	"encoding/base32"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// dataDir finds shared/data/zeek beside the repository (or $ZEEKANOM_DATA).
func dataDir(t testing.TB) string {
	if d := os.Getenv("ZEEKANOM_DATA"); d != "" {
		return d
	}
	dir, _ := os.Getwd()
	for i := 0; i < 6; i++ {
		c := filepath.Join(dir, "shared", "data", "zeek")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
		dir = filepath.Dir(dir)
	}
	t.Skip("shared/data/zeek not found")
	return ""
}

type q struct {
	ts     time.Time
	client string
	name   string
	qtype  uint64
	rcode  uint64
}

func run(d *Detector, qs []q) []*notice.Notice {
	var out []*notice.Notice
	emit := func(n *notice.Notice) { out = append(out, n) }
	for i, x := range qs {
		d.Observe(event(x, i))
		d.Advance(x.ts, emit)
	}
	d.Flush(emit)
	return out
}

// event is query x as the i-th dns row.
func event(x q, i int) *zeekreader.Event {
	return &zeekreader.Event{Kind: zeekreader.KindDNS, TS: x.ts, DNS: &zeekreader.DNS{
		TS: x.ts, UID: []byte(fmt.Sprintf("C%017d", i)), Orig: netip.MustParseAddr(x.client),
		Resp: netip.MustParseAddr("10.0.0.53"), RespP: 53, Query: []byte(x.name),
		QType: x.qtype, RCode: x.rcode, HasRCode: true}}
}

// dnscat2-like: long hex/base32 labels under one domain, TXT/CNAME queries.
func tunnel(start time.Time, n int, client, domain string, seed uint64) []q {
	r := rand.New(rand.NewPCG(seed, 7))
	var out []q
	for i := 0; i < n; i++ {
		b := make([]byte, 30+r.IntN(20))
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		enc := strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString(b), "="))
		name := enc[:min(len(enc), 63)]
		if len(enc) > 63 {
			name += "." + enc[63:]
		}
		qt := uint64(16)
		if i%3 == 0 {
			qt = 5
		}
		out = append(out, q{start.Add(time.Duration(i) * 700 * time.Millisecond), client, name + "." + domain, qt, 0})
	}
	return out
}

// torture: DNS water torture, n queries at 10 a second from 200 clients,
// each a fresh random name of 8 to 16 letters and digits under domain,
// answered with rcode.
func torture(start time.Time, n int, domain string, rcode uint64, seed uint64) []q {
	r := rand.New(rand.NewPCG(seed, 9))
	const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	var out []q
	for i := 0; i < n; i++ {
		b := make([]byte, 8+r.IntN(9))
		for j := range b {
			b[j] = alnum[r.IntN(len(alnum))]
		}
		out = append(out, q{start.Add(time.Duration(i) * 100 * time.Millisecond), fmt.Sprintf("10.66.%d.%d", r.IntN(200)/100, r.IntN(200)),
			string(b) + "." + domain, 1, rcode})
	}
	return out
}

func TestTable(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	cdn := func() []q { // many benign machine-made subdomains under an allow-listed CDN
		var out []q
		for i := 0; i < 200; i++ {
			out = append(out, q{t0.Add(time.Duration(i) * time.Second), "10.0.0.7", fmt.Sprintf("e%d.a%x.akamaiedge.net", i, i*7919), 1, 0})
		}
		return out
	}
	shortSubs := func() []q { // many distinct but short, low-entropy names
		var out []q
		for i := 0; i < 200; i++ {
			out = append(out, q{t0.Add(time.Duration(i) * time.Second), "10.0.0.8", fmt.Sprintf("host%d.corp.example.com", i), 1, 0})
		}
		return out
	}
	dga := func() []q {
		r := rand.New(rand.NewPCG(3, 3))
		var out []q
		for i := 0; i < 60; i++ {
			b := make([]byte, 12)
			for j := range b {
				b[j] = byte('a' + r.IntN(26))
			}
			out = append(out, q{t0.Add(time.Duration(i) * 2 * time.Second), "10.0.0.9", string(b) + ".com", 1, 3})
		}
		return out
	}
	fewNX := func() []q {
		var out []q
		for i := 0; i < 5; i++ {
			out = append(out, q{t0.Add(time.Duration(i) * time.Second), "10.0.0.10", fmt.Sprintf("typo%d.com", i), 1, 3})
		}
		return out
	}
	// exfiltration over DNS: a tunnel's long encoded names sent fast, 10
	// a second for 3 minutes, to a name server that answers NXDOMAIN (the
	// data is in the queries; nothing comes back)
	exfilNX := func() []q {
		out := tunnel(t0, 1800, "10.0.0.11", "exfil-c2.com", 4)
		for i := range out {
			out[i].ts, out[i].qtype, out[i].rcode = t0.Add(time.Duration(i)*100*time.Millisecond), 1, 3
		}
		return out
	}
	cases := []struct {
		name string
		qs   []q
		rule string // "" = no notice
		dom  string
	}{
		{"dnscat2 tunnel", tunnel(t0, 300, "10.0.0.5", "evil-c2.com", 1), notice.RuleDNSTunnel, "evil-c2.com"},
		{"tunnel under ccTLD", tunnel(t0, 120, "10.0.0.6", "t.example.co.uk", 2), notice.RuleDNSTunnel, "example.co.uk"},
		{"allow-listed CDN", cdn(), "", ""},
		{"short subdomains", shortSubs(), "", ""},
		{"too few queries", tunnel(t0, 10, "10.0.0.5", "evil-c2.com", 1), "", ""},
		{"DGA burst", dga(), notice.RuleDNSDGA, ""},
		{"a few typos", fewNX(), "", ""},
		{"water torture", torture(t0, 2500, "victim-bank.com", 3, 1), notice.RuleDNSRandomSub, "victim-bank.com"},
		{"water torture, SERVFAIL", torture(t0, 2500, "victim-bank.com", 2, 1), notice.RuleDNSRandomSub, "victim-bank.com"},
		{"water torture of too few names", torture(t0, 900, "victim-bank.com", 3, 1), "", ""},
		{"many names that resolve", torture(t0, 2500, "cdn-example.net", 0, 1), "", ""},
		{"a tunnel answered NXDOMAIN", exfilNX(), notice.RuleDNSTunnel, "exfil-c2.com"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := run(New(DefaultConfig()), c.qs)
			if c.rule == "" {
				if len(ns) != 0 {
					t.Fatalf("want no notice, got %d: %s", len(ns), ns[0].Message)
				}
				return
			}
			if len(ns) == 0 {
				t.Fatal("want a notice, got none")
			}
			for _, n := range ns {
				if n.Rule != c.rule || n.Domain != c.dom || n.RiskScore < 50 || n.ID == "" || len(n.UIDs) == 0 {
					t.Fatalf("bad notice: %+v", n)
				}
			}
		})
	}
}

func TestAllowExtra(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AllowExtra = []string{"evil-c2.com"}
	if ns := run(New(cfg), tunnel(time.Unix(1e9, 0), 300, "10.0.0.5", "evil-c2.com", 1)); len(ns) != 0 {
		t.Fatalf("allow-listed domain fired: %s", ns[0].Message)
	}
}

func TestBoundedState(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxDomains = 10
	d := New(cfg)
	t0 := time.Unix(1e9, 0)
	var qs []q
	for i := 0; i < 100; i++ {
		qs = append(qs, q{t0, "10.1.1.1", fmt.Sprintf("a.b%d.com", i), 1, 0})
	}
	run(d, qs)
	if s := d.Stats(); s.DroppedDomains != 90 || s.Rows != 100 {
		t.Fatalf("stats %+v", s)
	}
}

func TestLateRows(t *testing.T) {
	d := New(DefaultConfig())
	t0 := time.Unix(1e9, 0).Truncate(5 * time.Minute)
	run(d, []q{{t0.Add(20 * time.Minute), "10.1.1.1", "a.b.com", 1, 0}, {t0, "10.1.1.1", "a.b.com", 1, 0}})
	if d.Stats().LateRows != 1 {
		t.Fatalf("stats %+v", d.Stats())
	}
}

// Real benign DNS must not fire.
func TestBenignRealLogs(t *testing.T) {
	root := dataDir(t)
	for _, p := range []string{"zat-data/dns.log", "zat-data/json/dns.log", "evanswj-zeeklogs-json/dns.log", "simir-iot-home-json/dns.log"} {
		t.Run(p, func(t *testing.T) {
			path := filepath.Join(root, p)
			if _, err := os.Stat(path); err != nil {
				t.Skip(err)
			}
			d := New(DefaultConfig())
			ns, rows := runFile(t, d, path)
			if rows == 0 {
				t.Fatal("no rows read")
			}
			for _, n := range ns {
				t.Errorf("benign log fired: %s %s", n.Rule, n.Message)
			}
		})
	}
}

func runFile(t testing.TB, d *Detector, paths ...string) ([]*notice.Notice, int) {
	a, err := zeekreader.Walk(paths, zeekreader.KindDNS)
	if err != nil {
		t.Fatal(err)
	}
	src := a.Open(false)
	defer src.Close()
	var out []*notice.Notice
	emit := func(n *notice.Notice) { out = append(out, n) }
	rows := 0
	for {
		ev, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if zeekreader.Skippable(err) {
				continue
			}
			t.Fatal(err)
		}
		if ev.Kind != zeekreader.KindDNS {
			continue
		}
		rows++
		d.Observe(ev)
		d.Advance(ev.TS, emit)
	}
	d.Flush(emit)
	return out, rows
}

// BenchmarkObserve: a tunnel among ordinary names (half the rows unique
// tunnel names), and NXDOMAIN answers for ever new registered domains
// from 50 clients (the DGA counts of both windows on every row).
func BenchmarkObserve(b *testing.B) {
	tun := tunnel(time.Unix(1e9, 0), 4096, "10.0.0.5", "evil-c2.com", 1)
	for i := range tun {
		if i%2 == 0 {
			tun[i].name = fmt.Sprintf("www%d.example%d.com", i%50, i%300)
		}
	}
	var nx []q
	for i := range 4096 {
		nx = append(nx, q{time.Unix(1e9, 0), fmt.Sprintf("10.0.1.%d", i%50), fmt.Sprintf("x%dq%d.com", i, i*7919%1000), 1, 3})
	}
	for _, bc := range []struct {
		name string
		qs   []q
	}{{"tunnel", tun}, {"nxdomain", nx}} {
		b.Run(bc.name, func(b *testing.B) {
			evs := make([]*zeekreader.Event, len(bc.qs))
			for i, x := range bc.qs {
				evs[i] = &zeekreader.Event{Kind: zeekreader.KindDNS, TS: x.ts, DNS: &zeekreader.DNS{TS: x.ts, UID: []byte("CabcdefghijklmnopQ"),
					Orig: netip.MustParseAddr(x.client), Resp: netip.MustParseAddr("10.0.0.53"), Query: []byte(x.name), QType: x.qtype,
					HasRCode: true, RCode: x.rcode}}
			}
			b.ReportAllocs()
			b.ResetTimer()
			d := New(DefaultConfig())
			emit := func(*notice.Notice) {}
			for i := 0; i < b.N; i++ {
				ev := evs[i%len(evs)]
				ev.TS = time.Unix(1e9, 0).Add(time.Duration(i) * time.Millisecond)
				ev.DNS.TS = ev.TS
				d.Observe(ev)
				if i%1000 == 0 {
					d.Advance(ev.TS, emit)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// The dataleak set's malicious dns logs hold only small NXDOMAIN bursts
// (dns (7).log: three random single-label names, the pattern of Chrome's
// NX-hijack probes): below the DGA thresholds. Neither they nor the good
// capture may fire.
func TestDataleakQuiet(t *testing.T) {
	root := filepath.Join(dataDir(t), "dataleak-detector-good-vs-malicious", "dns_dataset")
	if _, err := os.Stat(root); err != nil {
		t.Skip(err)
	}
	ns, rows := runFile(t, New(DefaultConfig()), root)
	if rows < 1000 {
		t.Fatalf("read %d rows", rows)
	}
	for _, n := range ns {
		t.Errorf("fired: %s", n.Message)
	}
}

// Snapshot mid-stream, restore into a fresh detector, go on: the same
// notices as without the restart.
func TestSnapshotRestore(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	qs := append(tunnel(t0, 600, "10.0.0.5", "evil-c2.com", 1), tunnel(t0.Add(time.Minute), 100, "10.0.0.6", "other-c2.net", 2)...)
	sort.SliceStable(qs, func(i, j int) bool { return qs[i].ts.Before(qs[j].ts) })
	want := run(New(DefaultConfig()), qs)
	if len(want) < 2 {
		t.Fatalf("want several notices, got %d", len(want))
	}
	restarted(t, qs, len(qs)/2, want)
	// and a water torture cut in its window: its failed queries are kept
	qs = torture(t0, 2500, "victim-bank.com", 3, 2)
	want = run(New(DefaultConfig()), qs)
	if len(want) != 1 || want[0].Rule != notice.RuleDNSRandomSub {
		t.Fatalf("water torture: %d notices", len(want))
	}
	restarted(t, qs, len(qs)/2, want)
	if err := New(DefaultConfig()).Restore([]byte(`{"version":99}`)); err == nil {
		t.Fatal("want version error")
	}
}

// sameNotices: a run restarted from a snapshot gave the notices of the
// uninterrupted one.
func sameNotices(t *testing.T, got, want []*notice.Notice) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d notices after restore, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID || got[i].Message != want[i].Message {
			t.Fatalf("notice %d differs:\n%s\n%s", i, got[i].Message, want[i].Message)
		}
	}
}

// A water torture's notice names the domain, its clients and how many of
// the queries failed.
func TestRandomSubdomainMessage(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	ns := run(New(DefaultConfig()), torture(t0, 2500, "victim-bank.com", 3, 1))
	if len(ns) != 1 || !regexp.MustCompile(`^random subdomains of victim-bank\.com \(DNS water torture\): 2500 queries in 5m from 64 or more clients \(\d+ from 10\.66\.\d+\.\d+\), 2500 distinct subdomains, 100% of the queries failed \(NXDOMAIN, SERVFAIL or no answer\)$`).MatchString(ns[0].Message) ||
		ns[0].Sub != "clients=64" || ns[0].RiskScore < 70 {
		t.Fatalf("%d notices: %v", len(ns), ns)
	}
}

// The messages say over how long, the entropy's unit, and, for a tunnel,
// the share of rare query types, which multiplies its score (dnscat2 on
// rita-test-data fired with 23 unique subdomains, under the 25 the
// message's other figures suggest), and that share is among the top
// features.
func TestMessages(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	ns := run(New(DefaultConfig()), tunnel(t0, 60, "10.0.0.5", "evil-c2.com", 1))
	if len(ns) != 1 || !regexp.MustCompile(`^10\.0\.0\.5: possible DNS tunnel via evil-c2\.com: 60 queries in 5m \(60 from this client\), 100% of them TXT, NULL, CNAME, MX or ANY, 60 unique subdomains, mean subdomain length \d+, entropy \d\.\d\d bits/char$`).MatchString(ns[0].Message) ||
		!slices.Contains(ns[0].Explain.Top, "rare_qtype_share") {
		t.Fatalf("%d notices: %v", len(ns), ns)
	}
	var dga []q
	for i := 0; i < 60; i++ {
		dga = append(dga, q{t0.Add(time.Duration(i) * 2 * time.Second), "10.0.0.9", fmt.Sprintf("q%dxkzvbwt.com", i), 1, 3})
	}
	ns = run(New(DefaultConfig()), dga)
	if len(ns) != 1 || !regexp.MustCompile(`^10\.0\.0\.9: DGA-like NXDOMAIN burst in 5m: 60 of 60 queries failed across 60 registered domains \(mean entropy \d\.\d\d bits/char\)$`).MatchString(ns[0].Message) {
		t.Fatalf("%d notices: %v", len(ns), ns)
	}
}
