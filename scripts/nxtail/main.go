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
// answer that counts (a registered domain, not allow-listed).
type query struct {
	ts  time.Time
	reg string
}

// cw is one client-window's counts.
type cw struct {
	stream  string
	client  netip.Addr
	start   time.Time
	queries int
	nx      int
	doms    map[string]int
}

func (c *cw) ratio() float64 { return float64(c.nx) / float64(c.queries) }

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
			tum, n := tumbling(name, byClient, w)
			windows[w] += n
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
			sort.SliceStable(set.cws, func(i, j int) bool {
				if len(set.cws[i].doms) != len(set.cws[j].doms) {
					return len(set.cws[i].doms) > len(set.cws[j].doms)
				}
				return set.cws[i].ratio() > set.cws[j].ratio()
			})
			for _, c := range set.cws[:min(*top, len(set.cws))] {
				fmt.Printf("   %2d domains, %3d/%4d nx (%.2f)  %s  %s  %s\n", len(c.doms), c.nx, c.queries, c.ratio(),
					c.client, c.start.UTC().Format("2006-01-02 15:04"), c.stream)
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
		if q.HasRCode && q.RCode == 3 && reg != "" && !allow[reg] && (!icann || icannTLD(name)) {
			x.reg = reg
		}
		out[q.Orig] = append(out[q.Orig], x)
	}
	for _, qs := range out {
		sort.SliceStable(qs, func(i, j int) bool { return qs[i].ts.Before(qs[j].ts) })
	}
	return out, rows, hi.Sub(lo)
}

// tumbling: client-windows aligned to the epoch, those with any NXDOMAIN,
// and how many client-windows had any query.
func tumbling(stream string, byClient map[netip.Addr][]query, w time.Duration) ([]*cw, int) {
	var out []*cw
	n := 0
	for ip, qs := range byClient {
		m := map[time.Time]*cw{}
		for _, q := range qs {
			s := q.ts.Truncate(w)
			c := m[s]
			if c == nil {
				c = &cw{stream: stream, client: ip, start: s, doms: map[string]int{}}
				m[s] = c
			}
			c.queries++
			if q.reg != "" {
				c.nx++
				c.doms[q.reg]++
			}
		}
		n += len(m)
		for _, c := range m {
			if c.nx > 0 {
				out = append(out, c)
			}
		}
	}
	return out, n
}

// sliding: per client, the window of length w starting at one of its
// queries with the most distinct NX domains (ties: the higher ratio).
func sliding(stream string, byClient map[netip.Addr][]query, w time.Duration) []*cw {
	var out []*cw
	for ip, qs := range byClient {
		var best *cw
		for i := range qs {
			if qs[i].reg == "" {
				continue
			}
			c := &cw{stream: stream, client: ip, start: qs[i].ts, doms: map[string]int{}}
			for j := i; j < len(qs) && qs[j].ts.Sub(qs[i].ts) < w; j++ {
				c.queries++
				if qs[j].reg != "" {
					c.nx++
					c.doms[qs[j].reg]++
				}
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

// icannTLD is dns.dga_slow's filter: the name's last label is an ICANN
// top-level domain.
func icannTLD(name string) bool {
	_, icann := publicsuffix.PublicSuffix(name[strings.LastIndexByte(name, '.')+1:])
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
