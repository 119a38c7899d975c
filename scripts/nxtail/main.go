// Command nxtail measures what dns.dga counts on real DNS logs: per client
// and window, the distinct registered domains answered NXDOMAIN (allow-listed
// ones and names without a registered domain left out, as the detector does)
// and the share of the client's queries that failed. It prints, per input
// stream and over all of them, for each window length: the client-windows
// with any NXDOMAIN, the distribution tail of their distinct NX domains, the
// maximum with its ratio, and the top client-windows with the domains that
// make them; the sliding rows are the maximum over every window of that
// length starting at one of the client's queries (any alignment). With
// -icann only names under an ICANN top-level domain count, as in
// dns.dga_slow's window (no Chrome probes, no internal names).
//
// Each client-window also has its domain share, as dns.dga's domain rule
// counts it whatever -icann says: the distinct registered domains under
// an ICANN top-level domain answered NXDOMAIN over those the client asked
// about (any answer; allow-listed ones left out). A busy client's
// repeated lookups dilute its NX share of queries, not this one. Per
// window length: the tail of the domain share where at least 3 such
// domains failed, the most that failed at a share of 0.25, 0.5 and 0.75,
// and the client-windows that asked about at least 50 such domains (the
// busiest clients: resolvers, proxies, NAT gateways look like them).
//
//	go run ./scripts/nxtail [-top 5] [-windows 5m,1h] [-icann] PATH...
//
// PATH are dns logs or folders of them (zeekreader.Walk: each folder, or
// each file named, is a stream of its own).
package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/detectors/dns"
	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/zeekreader"
	"golang.org/x/net/publicsuffix"
)

// query is one dns row as dns.dga sees it: reg is set for an NXDOMAIN
// answer that counts (a registered domain, not allow-listed); icann is
// the registered domain of a name under an ICANN top-level domain (not
// allow-listed, any answer), icannNX set when it was answered NXDOMAIN.
type query struct {
	ts      time.Time
	reg     string
	icann   string
	icannNX bool
}

// cw is one client-window's counts.
type cw struct {
	stream  string
	client  netip.Addr
	start   time.Time
	queries int
	nx      int
	doms    map[string]int
	iNX     map[string]struct{} // ICANN registered domains answered NXDOMAIN
	iAll    map[string]struct{} // ICANN registered domains asked about
}

func (c *cw) ratio() float64 { return float64(c.nx) / float64(c.queries) }

// share is the domain share: of the ICANN registered domains asked
// about, those answered NXDOMAIN.
func (c *cw) share() float64 {
	if len(c.iAll) == 0 {
		return 0
	}
	return float64(len(c.iNX)) / float64(len(c.iAll))
}

func newCW(stream string, ip netip.Addr, start time.Time) *cw {
	return &cw{stream: stream, client: ip, start: start, doms: map[string]int{},
		iNX: map[string]struct{}{}, iAll: map[string]struct{}{}}
}

// count adds a query to the client-window.
func (c *cw) count(q query) {
	c.queries++
	if q.reg != "" {
		c.nx++
		c.doms[q.reg]++
	}
	if q.icann != "" {
		c.iAll[q.icann] = struct{}{}
		if q.icannNX {
			c.iNX[q.icann] = struct{}{}
		}
	}
}

func main() {
	top := flag.Int("top", 5, "client-windows listed per window length")
	wins := flag.String("windows", "5m,1h", "window lengths")
	icann := flag.Bool("icann", false, "count only NXDOMAIN names under an ICANN top-level domain (dns.dga_slow)")
	flag.Parse()
	var lens []time.Duration
	for _, s := range strings.Split(*wins, ",") {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			fmt.Fprintln(os.Stderr, "nxtail: bad window", s)
			os.Exit(2)
		}
		lens = append(lens, d)
	}
	allow := map[string]bool{}
	for _, a := range dns.DefaultAllow {
		allow[a] = true
	}
	a, err := zeekreader.Walk(flag.Args(), zeekreader.KindDNS)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nxtail:", err)
		os.Exit(1)
	}
	all := map[time.Duration][]*cw{}
	slideAll := map[time.Duration][]*cw{}
	windows := map[time.Duration]int{} // client-windows with any query
	busy := map[time.Duration][]*cw{}  // client-windows asking about >= 50 ICANN domains
	var totalRows, totalClients int
	var totalSpan time.Duration
	for _, ch := range a.Chains {
		if ch.Kind != zeekreader.KindDNS {
			continue
		}
		name := ch.Files[0]
		if len(ch.Files) > 1 {
			name += fmt.Sprintf(" (+%d)", len(ch.Files)-1)
		}
		byClient, rows, span := read(ch, allow, *icann)
		if rows == 0 {
			continue
		}
		totalRows += rows
		totalClients += len(byClient)
		totalSpan += span
		fmt.Printf("== %s: %d rows, %d clients, %.2f h\n", name, rows, len(byClient), span.Hours())
		for _, w := range lens {
			tum, n, b := tumbling(name, byClient, w)
			windows[w] += n
			busy[w] = append(busy[w], b...)
			sl := sliding(name, byClient, w)
			all[w] = append(all[w], tum...)
			slideAll[w] = append(slideAll[w], sl...)
			fmt.Printf("   %-8s %s\n", w, summary(tum))
			fmt.Printf("   %-8s %s\n", "sliding", summary(sl))
		}
	}
	fmt.Printf("\n== all: %d streams' rows %d, client-streams %d, %.1f stream-hours\n", len(a.Chains), totalRows, totalClients, totalSpan.Hours())
	for _, w := range lens {
		for _, set := range []struct {
			name string
			cws  []*cw
		}{{w.String() + " tumbling", all[w]}, {w.String() + " sliding", slideAll[w]}} {
			fmt.Printf("\n-- %s: %s\n", set.name, summary(set.cws))
			if strings.HasSuffix(set.name, "tumbling") {
				fmt.Printf("   client-windows with any query: %d\n", windows[w])
			}
			fmt.Printf("   distinct NX domains, client-windows with any NX: %s\n", quantiles(set.cws))
			fmt.Printf("   domain share (ICANN), client-windows with >= 3 ICANN NX domains: %s\n", shareQuantiles(set.cws, 3))
			fmt.Printf("   most ICANN NX domains at a domain share >= 0.25 / 0.5 / 0.75: %s\n", atShare(set.cws, 0.25, 0.5, 0.75))
			if strings.HasSuffix(set.name, "tumbling") {
				fmt.Printf("   client-windows asking about >= 50 ICANN domains: %s\n", busyLine(busy[w]))
			}
			sort.SliceStable(set.cws, func(i, j int) bool {
				if len(set.cws[i].doms) != len(set.cws[j].doms) {
					return len(set.cws[i].doms) > len(set.cws[j].doms)
				}
				return set.cws[i].ratio() > set.cws[j].ratio()
			})
			for _, c := range set.cws[:min(*top, len(set.cws))] {
				fmt.Printf("   %2d domains, %3d/%4d nx (%.2f), ICANN %d/%d domains (%.2f)  %s  %s  %s\n", len(c.doms), c.nx, c.queries, c.ratio(),
					len(c.iNX), len(c.iAll), c.share(), c.client, c.start.UTC().Format("2006-01-02 15:04"), c.stream)
				fmt.Printf("      %s\n", domains(c.doms, 12))
			}
		}
	}
}

// read takes a chain's rows, per client, in time order.
func read(ch zeekreader.Chain, allow map[string]bool, icann bool) (map[netip.Addr][]query, int, time.Duration) {
	src := (&zeekreader.Archive{Chains: []zeekreader.Chain{ch}}).Open(false)
	defer src.Close()
	out := map[netip.Addr][]query{}
	rows := 0
	var lo, hi time.Time
	for {
		ev, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if zeekreader.Skippable(err) {
				continue
			}
			fmt.Fprintln(os.Stderr, "nxtail:", err)
			os.Exit(1)
		}
		q := ev.DNS
		if q == nil || len(q.Query) == 0 {
			continue // the detector skips these too
		}
		rows++
		if lo.IsZero() || q.TS.Before(lo) {
			lo = q.TS
		}
		if q.TS.After(hi) {
			hi = q.TS
		}
		name := strings.ToLower(strings.TrimSuffix(string(q.Query), "."))
		reg, _ := features.SplitDomain(name)
		x := query{ts: q.TS}
		nx := q.HasRCode && q.RCode == 3 && reg != "" && !allow[reg]
		it := reg != "" && !allow[reg] && icannTLD(name)
		if nx && (!icann || it) {
			x.reg = reg
		}
		if it {
			x.icann, x.icannNX = reg, nx
		}
		out[q.Orig] = append(out[q.Orig], x)
	}
	for _, qs := range out {
		sort.SliceStable(qs, func(i, j int) bool { return qs[i].ts.Before(qs[j].ts) })
	}
	return out, rows, hi.Sub(lo)
}

// tumbling: client-windows aligned to the epoch, those with any NXDOMAIN,
// how many client-windows had any query, and those that asked about at
// least 50 ICANN registered domains.
func tumbling(stream string, byClient map[netip.Addr][]query, w time.Duration) ([]*cw, int, []*cw) {
	var out, busy []*cw
	n := 0
	for ip, qs := range byClient {
		m := map[time.Time]*cw{}
		for _, q := range qs {
			s := q.ts.Truncate(w)
			c := m[s]
			if c == nil {
				c = newCW(stream, ip, s)
				m[s] = c
			}
			c.count(q)
		}
		n += len(m)
		for _, c := range m {
			if c.nx > 0 || len(c.iNX) > 0 {
				out = append(out, c)
			}
			if len(c.iAll) >= 50 {
				busy = append(busy, c)
			}
		}
	}
	return out, n, busy
}

// sliding: per client, the window of length w starting at one of its
// queries with the most distinct NX domains (ties: the higher ratio).
func sliding(stream string, byClient map[netip.Addr][]query, w time.Duration) []*cw {
	var out []*cw
	for ip, qs := range byClient {
		var best *cw
		for i := range qs {
			if qs[i].reg == "" && !qs[i].icannNX {
				continue
			}
			c := newCW(stream, ip, qs[i].ts)
			for j := i; j < len(qs) && qs[j].ts.Sub(qs[i].ts) < w; j++ {
				c.count(qs[j])
			}
			if best == nil || len(c.doms) > len(best.doms) || len(c.doms) == len(best.doms) && c.ratio() > best.ratio() {
				best = c
			}
		}
		if best != nil {
			out = append(out, best)
		}
	}
	return out
}

// icannTLD is the DGA rules' filter: the name's last label is an ICANN
// top-level domain (a single label is not a name under one).
func icannTLD(name string) bool {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return false
	}
	_, icann := publicsuffix.PublicSuffix(name[dot+1:])
	return icann
}

func summary(cws []*cw) string {
	if len(cws) == 0 {
		return "no NXDOMAIN"
	}
	var mx, mxHalf *cw
	for _, c := range cws {
		if mx == nil || len(c.doms) > len(mx.doms) {
			mx = c
		}
		if c.ratio() >= 0.5 && (mxHalf == nil || len(c.doms) > len(mxHalf.doms)) {
			mxHalf = c
		}
	}
	s := fmt.Sprintf("%d client-windows with NX; max %d domains (ratio %.2f, %s)", len(cws), len(mx.doms), mx.ratio(), mx.client)
	if mxHalf != nil {
		s += fmt.Sprintf("; max with ratio >= 0.5: %d (%.2f, %s)", len(mxHalf.doms), mxHalf.ratio(), mxHalf.client)
	} else {
		s += "; none with ratio >= 0.5"
	}
	return s
}

// quantiles of the distinct NX domains per client-window.
func quantiles(cws []*cw) string {
	if len(cws) == 0 {
		return "-"
	}
	n := make([]int, len(cws))
	for i, c := range cws {
		n[i] = len(c.doms)
	}
	sort.Ints(n)
	q := func(p float64) int { return n[min(len(n)-1, int(p*float64(len(n))))] }
	return fmt.Sprintf("p50 %d, p90 %d, p99 %d, p99.9 %d, max %d (n=%d)", q(0.5), q(0.9), q(0.99), q(0.999), n[len(n)-1], len(n))
}

// shareQuantiles: the domain share of the client-windows with at least
// minDoms ICANN NX domains.
func shareQuantiles(cws []*cw, minDoms int) string {
	var v []float64
	for _, c := range cws {
		if len(c.iNX) >= minDoms {
			v = append(v, c.share())
		}
	}
	if len(v) == 0 {
		return "-"
	}
	sort.Float64s(v)
	q := func(p float64) float64 { return v[min(len(v)-1, int(p*float64(len(v))))] }
	return fmt.Sprintf("p50 %.2f, p90 %.2f, p99 %.2f, max %.2f (n=%d)", q(0.5), q(0.9), q(0.99), v[len(v)-1], len(v))
}

// atShare: per share, the most ICANN NX domains of a client-window whose
// domain share reaches it, with that share.
func atShare(cws []*cw, shares ...float64) string {
	var out []string
	for _, s := range shares {
		var best *cw
		for _, c := range cws {
			if len(c.iNX) > 0 && c.share() >= s && (best == nil || len(c.iNX) > len(best.iNX)) {
				best = c
			}
		}
		if best == nil {
			out = append(out, "none")
			continue
		}
		out = append(out, fmt.Sprintf("%d (%.2f, %s)", len(best.iNX), best.share(), best.client))
	}
	return strings.Join(out, " / ")
}

// busyLine: how many client-windows asked about many ICANN domains, the
// most they asked about, their domain share's tail and most ICANN NX
// domains.
func busyLine(cws []*cw) string {
	if len(cws) == 0 {
		return "none"
	}
	v := make([]float64, len(cws))
	most, mostNX := cws[0], cws[0]
	for i, c := range cws {
		v[i] = c.share()
		if len(c.iAll) > len(most.iAll) {
			most = c
		}
		if len(c.iNX) > len(mostNX.iNX) {
			mostNX = c
		}
	}
	sort.Float64s(v)
	q := func(p float64) float64 { return v[min(len(v)-1, int(p*float64(len(v))))] }
	return fmt.Sprintf("%d, at most %d domains (%s, share %.2f); share p50 %.2f, p90 %.2f, max %.2f; most NX %d of %d (%s)",
		len(cws), len(most.iAll), most.client, most.share(), q(0.5), q(0.9), v[len(v)-1], len(mostNX.iNX), len(mostNX.iAll), mostNX.client)
}

func domains(m map[string]int, k int) string {
	ks := make([]string, 0, len(m))
	for d := range m {
		ks = append(ks, d)
	}
	sort.Slice(ks, func(i, j int) bool {
		if m[ks[i]] != m[ks[j]] {
			return m[ks[i]] > m[ks[j]]
		}
		return ks[i] < ks[j]
	})
	var b strings.Builder
	for i, d := range ks {
		if i == k {
			fmt.Fprintf(&b, " … +%d", len(ks)-k)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s×%d", d, m[d])
	}
	return b.String()
}
