package dns

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/output/notice"
)

// The domain rule: a DGA burst on a busy client fires although its own
// repeated lookups keep the NX share of its queries far under 0.5; the
// clients the query share kept quiet for their many benign NXDOMAINs
// (a resolver, a NAT gateway, a mail server) stay quiet, as the domains
// they ask about are many, or their failures are not under an ICANN TLD.
func TestDomainRule(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(7, 7))
	sites := func(client string, gap time.Duration, n int) []q { // its own lookups, answered, of n sites (n 0: a new one each time)
		return every(client, t0, 5*time.Minute, gap, 0, func(i int) string {
			if n > 0 {
				i %= n
			}
			return fmt.Sprintf("www.site%d.com", i)
		})
	}
	probes := func(client string, n int) []q { // Chrome's NX-hijack probes: random single labels
		return every(client, t0, 5*time.Minute, 5*time.Minute/time.Duration(n), 3, func(int) string { return randLabel(r) })
	}
	cases := []struct {
		name      string
		share     float64 // min_nx_domain_share; 0: the default
		qs        []q
		fires     bool
		byDomains bool // the domain rule scored higher: its message and top features
	}{
		{"busy workstation: a burst of ~90 among 600 lookups of 20 sites", 0,
			merge(walk("10.0.1.1", t0.Add(time.Minute), 3*time.Minute, 2*time.Second, 1), sites("10.0.1.1", 500*time.Millisecond, 20)), true, true},
		{"the same with min_nx_domain_share 1 (the query rule alone)", 1,
			merge(walk("10.0.1.1", t0.Add(time.Minute), 3*time.Minute, 2*time.Second, 1), sites("10.0.1.1", 500*time.Millisecond, 20)), false, false},
		{"a burst on a quiet host: the query rule, as before", 0,
			merge(walk("10.0.1.2", t0.Add(time.Minute), 3*time.Minute, 2*time.Second, 2), sites("10.0.1.2", time.Minute, 3)), true, false},
		{"resolver: 60 NX domains and 100 probes among 1,000 domains", 0,
			merge(walk("10.0.1.3", t0, 5*time.Minute, 5*time.Second, 3), probes("10.0.1.3", 100), sites("10.0.1.3", 300*time.Millisecond, 0)), false, false},
		{"NAT gateway at 9:00: 50 browsers' probes (150 labels) among 30 sites", 0,
			merge(probes("10.0.1.4", 150), sites("10.0.1.4", time.Second, 30)), false, false},
		{"mail server: 30 spam sender domains NX among 200 senders", 0, merge(
			every("10.0.1.5", t0, 5*time.Minute, 10*time.Second, 3, func(i int) string { return fmt.Sprintf("%s.com", randLabel(r)) }),
			every("10.0.1.5", t0, 5*time.Minute, 1500*time.Millisecond, 0, func(i int) string { return fmt.Sprintf("mx.sender%d.com", i) })), false, false},
		{"internal names: 60 NX under .corp among 5 sites", 0, merge(
			every("10.0.1.6", t0, 5*time.Minute, 5*time.Second, 3, func(i int) string { return fmt.Sprintf("host%d.site%d.corp", i, i) }),
			sites("10.0.1.6", time.Second, 5)), false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if c.share > 0 {
				cfg.MinNXDomainShare = c.share
			}
			ns := run(New(cfg), c.qs)
			if !c.fires {
				for _, n := range ns {
					t.Errorf("fired: %s %s", n.Rule, n.Message)
				}
				return
			}
			if len(ns) != 1 || ns[0].Rule != notice.RuleDNSDGA {
				t.Fatalf("want one dns.dga notice, got %v", ns)
			}
			n := ns[0]
			f := n.Explain.Features
			share, ratio := f["nxdomain_domain_share"], f["nxdomain_ratio"]
			dev := func(k string) float64 { return *f[k].Deviation }
			score := math.Max(math.Min(dev("nxdomain_domains"), dev("nxdomain_ratio")), math.Min(dev("icann_nxdomain_domains"), dev("nxdomain_domain_share")))
			if math.Abs(n.Explain.Score-score) > 0.002 || n.RiskScore < 50 || *share.Baseline != 0.5 || f["icann_domains"].Value < f["icann_nxdomain_domains"].Value {
				t.Errorf("score %v risk %v, features %+v", n.Explain.Score, n.RiskScore, f)
			}
			byDomains := strings.Contains(n.Message, "registered domains it asked about do not exist")
			if byDomains != c.byDomains || (n.Explain.Top[0] == "icann_nxdomain_domains") != c.byDomains {
				t.Errorf("by the domain rule %v, want %v: %s (top %v)", byDomains, c.byDomains, n.Message, n.Explain.Top)
			}
			if c.byDomains && (ratio.Value >= 0.5 || share.Value < 0.5) {
				t.Errorf("NX share of queries %v, of domains %v: want under and over 0.5", ratio.Value, share.Value)
			}
		})
	}
}

// The sketch counts distinct domains within a few per cent where the
// domain rule decides, the same bit for a domain in every process (the
// snapshot keeps the bits), 0 empty and 3,194 full.
func TestDomainSketch(t *testing.T) {
	var s domainSketch
	if s.count() != 0 {
		t.Fatalf("empty: %v", s.count())
	}
	s.add("example.com")
	s.add("example.com")
	if s[154/64] != 1<<(154%64) || bits.OnesCount64(s[0]|s[1]|s[3]|s[4]|s[5]|s[6]|s[7]) != 0 || math.Abs(s.count()-1) > 0.001 {
		t.Fatalf("example.com sets %x, counts %v: want bit 154 alone, 1", s, s.count())
	}
	s.fill()
	if c := s.count(); math.Round(c) != 3194 {
		t.Fatalf("full: %v", c)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		n   int
		rms float64
	}{{20, 0.04}, {100, 0.04}, {400, 0.045}, {1000, 0.06}} {
		var sum float64
		const draws = 100
		for range draws {
			var s domainSketch
			for i := range c.n {
				s.add(fmt.Sprintf("%s%d.com", randLabel(r), i))
			}
			e := s.count()/float64(c.n) - 1
			sum += e * e
		}
		if rms := math.Sqrt(sum / draws); rms > c.rms {
			t.Errorf("%d domains: error %.3f (root mean square), want at most %.3f", c.n, rms, c.rms)
		}
	}
}

// A snapshot mid-burst on a busy client (its sketch and ICANN counts in
// both windows) restores to the notices of the uninterrupted run. A
// version 2 snapshot (without them) restores with the open windows' sketches
// full: the busy client's burst in the window under way at the restart
// is not reported (the query rule alone is silent), the next window's is.
func TestDomainRuleSnapshot(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	own := every("10.0.2.1", t0, 10*time.Minute, 500*time.Millisecond, 0, func(i int) string { return fmt.Sprintf("www.site%d.com", i%20) })
	qs := merge(own, walk("10.0.2.1", t0.Add(time.Minute), 8*time.Minute, 2*time.Second, 5))
	want := run(New(DefaultConfig()), qs)
	if len(want) != 2 || !strings.Contains(want[0].Message, "asked about") || !strings.Contains(want[1].Message, "asked about") {
		t.Fatalf("want two notices by the domain rule, got %v", want)
	}
	half := sort.Search(len(qs), func(i int) bool { return !qs[i].ts.Before(t0.Add(3 * time.Minute)) })
	snap := restarted(t, qs, half, want)
	if !strings.Contains(string(snap), `"version":3`) || !strings.Contains(string(snap), `"icann_nx":`) || !strings.Contains(string(snap), `"doms":[`) {
		t.Fatalf("snapshot without the domain rule's state: %.400s", snap)
	}

	// version 2: as the build before the domain rule wrote it
	var v2 map[string]any
	if err := json.Unmarshal(snap, &v2); err != nil {
		t.Fatal(err)
	}
	v2["version"] = 2
	for _, ws := range []string{"windows", "slow_windows"} {
		for _, w := range v2[ws].([]any) {
			for _, c := range w.(map[string]any)["clients"].([]any) {
				delete(c.(map[string]any), "icann_nx")
				delete(c.(map[string]any), "doms")
			}
		}
	}
	old, _ := json.Marshal(v2)
	if after := resumed(t, old, qs[half:], half); len(after) != 1 || after[0].ID != want[1].ID {
		t.Fatalf("after a version 2 restore: %v, want the second window's notice alone", after)
	}
}

func TestDomainShareConfig(t *testing.T) {
	for _, v := range []float64{0, -0.5, 1.5} {
		cfg := DefaultConfig()
		cfg.MinNXDomainShare = v
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "min_nx_domain_share") {
			t.Errorf("min_nx_domain_share %v: %v", v, err)
		}
	}
	cfg := DefaultConfig()
	cfg.MinNXDomainShare = 1
	if err := cfg.Validate(); err != nil {
		t.Errorf("min_nx_domain_share 1: %v", err)
	}
}

// A DGA notice names the resolver that answered the client's NXDOMAINs,
// not the address of its last query of any kind: dataleak's busy host
// also asks mDNS (224.0.0.251:5353), and a notice naming that was
// credited with none of the walk's flows.
func TestDGANamesTheFailingResolver(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		rule string
		qs   []q
	}{
		{notice.RuleDNSDGA, walk("10.0.1.1", t0.Add(time.Minute), 3*time.Minute, 2*time.Second, 1)},
		{notice.RuleDNSDGASlow, walk("10.0.1.1", t0.Add(time.Minute), 2*time.Hour, 90*time.Second, 2)},
	} {
		d := New(DefaultConfig())
		var ns []*notice.Notice
		emit := func(n *notice.Notice) { ns = append(ns, n) }
		for i, x := range c.qs {
			d.Observe(event(x, 2*i))
			// the client's mDNS query after each (no rcode: multicast)
			m := event(q{x.ts.Add(time.Second), x.client, "_googlecast._tcp.local", 12, 0}, 2*i+1)
			m.DNS.Resp, m.DNS.RespP, m.DNS.HasRCode = netip.MustParseAddr("224.0.0.251"), 5353, false
			d.Observe(m)
			d.Advance(m.TS, emit)
		}
		d.Flush(emit)
		n := 0
		for _, x := range ns {
			if x.Rule == c.rule {
				n++
				if x.Destination != netip.MustParseAddr("10.0.0.53") {
					t.Errorf("%s names %v, not the resolver that answered NXDOMAIN", c.rule, x.Destination)
				}
			}
		}
		if n == 0 {
			t.Errorf("no %s notice: the test proves nothing (%d notices)", c.rule, len(ns))
		}
	}
}
