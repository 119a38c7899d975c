// Command genflood plants an attack on the network itself into real benign
// Zeek TSV logs, at a sensor's scale: a SYN flood from spoofed sources, a
// sweep of a /8, or DNS water torture (random names under one victim
// domain). zeekanom inject builds each planted row as a map and holds the
// whole output in memory, fine for its few hundred rows and not for
// millions; this streams, a row at a time, merged by ts into the benign
// rows.
//
//	go run ./scripts/genflood -kind synflood -rate 1000 -duration 30m \
//	    -o DIR conn.log [dns.log]
//
// Writes DIR/conn.log (and DIR/dns.log for water torture) with the
// benign log's header and label/detailedlabel columns as zeekanom inject
// writes them (benign rows "benign"; planted rows "Malicious",
// "From_malicious-Injected-<kind>"), so eval can score it. Other logs
// (ssl, http) can be linked beside them unchanged.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type options struct {
	kind      string
	start     float64 // epoch seconds; 0: the middle of the benign conn.log
	duration  time.Duration
	rate      float64 // planted conn rows a second
	seed      uint64
	victim    netip.AddrPort // synflood
	src       netip.Prefix   // synflood: the spoofed sources' range
	answered  float64        // synflood: share the victim answers (S1, Sh)
	scanner   netip.Addr     // sweep
	sweep     netip.Prefix   // sweep: the /8 swept
	ports     []int          // sweep
	domain    string         // watertorture
	clients   netip.Prefix   // watertorture: the querying hosts
	nclients  int
	resolver  netip.Addr // watertorture; unset: the benign dns.log's busiest
	outDir    string
	connPath  string
	dnsPath   string
	connCount int
	dnsCount  int
}

func main() {
	var o options
	var start, victim, src, scanner, sweep, ports, clients, resolver string
	flag.StringVar(&o.kind, "kind", "synflood", "synflood, sweep or watertorture")
	flag.StringVar(&start, "start", "", "first planted row (epoch seconds or RFC 3339; default the middle of conn.log)")
	flag.DurationVar(&o.duration, "duration", 30*time.Minute, "how long the attack lasts")
	flag.Float64Var(&o.rate, "rate", 1000, "planted conn rows a second")
	flag.Uint64Var(&o.seed, "seed", 1, "random seed")
	flag.StringVar(&victim, "victim", "", "synflood: victim address:port (default the busiest internal responder:80)")
	flag.StringVar(&src, "src", "0.0.0.0/0", "synflood: range of the spoofed sources")
	flag.Float64Var(&o.answered, "answered", 0, "synflood: share of SYNs the victim answers (S1, history Sh)")
	flag.StringVar(&scanner, "scanner", "198.51.100.23", "sweep: the scanning host")
	flag.StringVar(&sweep, "sweep", "10.0.0.0/8", "sweep: the range swept, in a random order (masscan's)")
	flag.StringVar(&ports, "ports", "445", "sweep: ports probed, comma-separated")
	flag.StringVar(&o.domain, "domain", "victim-bank.com", "watertorture: the victim domain")
	flag.StringVar(&clients, "clients", "10.66.0.0/16", "watertorture: range of the querying hosts (bots, or the resolver as /32)")
	flag.IntVar(&o.nclients, "nclients", 200, "watertorture: distinct querying hosts")
	flag.StringVar(&resolver, "resolver", "", "watertorture: the queries' destination (default the dns.log's busiest)")
	flag.StringVar(&o.outDir, "o", "", "output directory")
	flag.Parse()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "genflood:", err)
		os.Exit(1)
	}
	if o.outDir == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: genflood -kind K [flags] -o DIR conn.log [dns.log]")
		os.Exit(2)
	}
	for _, p := range flag.Args() {
		switch {
		case strings.HasPrefix(filepath.Base(p), "conn"):
			o.connPath = p
		case strings.HasPrefix(filepath.Base(p), "dns"):
			o.dnsPath = p
		}
	}
	var err error
	if o.src, err = netip.ParsePrefix(src); err != nil {
		fail(err)
	}
	if o.scanner, err = netip.ParseAddr(scanner); err != nil {
		fail(err)
	}
	if o.sweep, err = netip.ParsePrefix(sweep); err != nil {
		fail(err)
	}
	if o.clients, err = netip.ParsePrefix(clients); err != nil {
		fail(err)
	}
	for _, p := range strings.Split(ports, ",") {
		n, err := strconv.Atoi(p)
		if err != nil {
			fail(fmt.Errorf("-ports %s: %v", ports, err))
		}
		o.ports = append(o.ports, n)
	}
	if victim != "" {
		if o.victim, err = netip.ParseAddrPort(victim); err != nil {
			fail(err)
		}
	}
	if resolver != "" {
		if o.resolver, err = netip.ParseAddr(resolver); err != nil {
			fail(err)
		}
	}
	if start != "" {
		if v, err := strconv.ParseFloat(start, 64); err == nil {
			o.start = v
		} else if t, err := time.Parse(time.RFC3339, start); err == nil {
			o.start = float64(t.UnixNano()) / 1e9
		} else {
			fail(fmt.Errorf("-start %s: epoch seconds or RFC 3339", start))
		}
	}
	if err := run(&o); err != nil {
		fail(err)
	}
	fmt.Printf("%s: %d conn rows, %d dns rows planted from %s for %s\n", o.kind, o.connCount, o.dnsCount,
		time.Unix(0, int64(o.start*1e9)).UTC().Format(time.RFC3339), o.duration)
}

func run(o *options) error {
	if o.connPath == "" {
		return fmt.Errorf("no conn log among the inputs")
	}
	if o.kind == "watertorture" && o.dnsPath == "" {
		return fmt.Errorf("watertorture needs a dns log among the inputs")
	}
	if o.kind != "synflood" && o.kind != "sweep" && o.kind != "watertorture" {
		return fmt.Errorf("-kind %s: synflood, sweep or watertorture", o.kind)
	}
	if err := survey(o); err != nil {
		return err
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return err
	}
	n, err := merge(o, o.connPath, filepath.Join(o.outDir, "conn.log"), false)
	if err != nil {
		return err
	}
	o.connCount = n
	if o.dnsPath != "" {
		n, err := merge(o, o.dnsPath, filepath.Join(o.outDir, "dns.log"), true)
		if err != nil {
			return err
		}
		o.dnsCount = n
	}
	return nil
}

// survey reads the benign logs for the defaults: the attack's start (the
// middle of conn.log's span), the flood's victim (the busiest internal
// responder) and the resolver (dns.log's busiest destination).
func survey(o *options) error {
	tmin, tmax := math.Inf(1), math.Inf(-1)
	resp := map[netip.Addr]int{}
	err := eachRow(o.connPath, func(fields []string, cols []string) {
		ts, _ := strconv.ParseFloat(col(fields, cols, "ts"), 64)
		if ts > 0 {
			tmin, tmax = math.Min(tmin, ts), math.Max(tmax, ts)
		}
		if a, err := netip.ParseAddr(col(fields, cols, "id.resp_h")); err == nil && a.IsPrivate() {
			resp[a]++
		}
	})
	if err != nil {
		return err
	}
	if o.start == 0 {
		o.start = math.Floor((tmin + tmax) / 2)
	}
	if !o.victim.IsValid() {
		o.victim = netip.AddrPortFrom(busiest(resp, netip.MustParseAddr("10.0.0.80")), 80)
	}
	if o.kind == "watertorture" && !o.resolver.IsValid() {
		res := map[netip.Addr]int{}
		if err := eachRow(o.dnsPath, func(fields []string, cols []string) {
			if a, err := netip.ParseAddr(col(fields, cols, "id.resp_h")); err == nil {
				res[a]++
			}
		}); err != nil {
			return err
		}
		o.resolver = busiest(res, netip.MustParseAddr("8.8.8.8"))
	}
	return nil
}

func busiest(m map[netip.Addr]int, none netip.Addr) netip.Addr {
	best, n := none, 0
	for a, c := range m {
		if c > n || (c == n && a.Less(best)) {
			best, n = a, c
		}
	}
	return best
}

func col(fields, cols []string, name string) string {
	for i, f := range fields {
		if f == name && i < len(cols) {
			return cols[i]
		}
	}
	return "-"
}

func eachRow(path string, f func(fields, cols []string)) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var fields []string
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "#fields\t"); ok {
			fields = strings.Split(rest, "\t")
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		f(fields, strings.Split(line, "\t"))
	}
	return sc.Err()
}

// planted is one planted row's values by field name; unnamed fields are
// unset.
type planted struct {
	ts   float64
	vals map[string]string
}

// merge writes in's header with the label columns, then its rows and the
// planted rows of its kind (dns or conn) in ts order.
func merge(o *options, in, out string, dns bool) (int, error) {
	src, err := os.Open(in)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	dst, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(dst, 1<<20)
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	g := newGen(o)
	next, ok := g.next(dns)
	var fields []string
	n := 0
	row := make([]string, 0, 32)
	emit := func() {
		row = row[:0]
		for _, f := range fields {
			v, ok := next.vals[f]
			if !ok {
				v = "-"
			}
			row = append(row, v)
		}
		w.WriteString(strings.Join(row, "\t"))
		w.WriteString("\tMalicious\tFrom_malicious-Injected-" + o.kind + "\n")
		n++
		next, ok = g.next(dns)
	}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			switch {
			case strings.HasPrefix(line, "#fields\t"):
				fields = strings.Split(line[len("#fields\t"):], "\t")
				line += "\tlabel\tdetailedlabel"
			case strings.HasPrefix(line, "#types\t"):
				line += "\tstring\tstring"
			case strings.HasPrefix(line, "#close"):
				for ok {
					emit()
				}
			}
			w.WriteString(line + "\n")
			continue
		}
		ts, _ := strconv.ParseFloat(line[:max(strings.IndexByte(line, '\t'), 0)], 64)
		for ok && next.ts < ts {
			emit()
		}
		w.WriteString(line + "\tbenign\tbenign\n")
	}
	for ok {
		emit()
	}
	if err := sc.Err(); err != nil {
		return n, err
	}
	if err := w.Flush(); err != nil {
		return n, err
	}
	return n, dst.Close()
}

// gen makes the planted rows in ts order; the conn and dns passes each
// make a gen of the same seed, so a dns row and its conn row share a uid.
type gen struct {
	o    *options
	r    *rand.Rand
	i    int
	rows int
	ts   float64
	vals map[string]string
}

func newGen(o *options) *gen {
	g := &gen{o: o, r: rand.New(rand.NewPCG(o.seed, 0xf100d)), ts: o.start, vals: map[string]string{}}
	g.rows = int(o.duration.Seconds() * o.rate)
	return g
}

const b62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func (g *gen) uid() string {
	b := make([]byte, 18)
	b[0] = 'C'
	for i := 1; i < len(b); i++ {
		b[i] = b62[g.r.IntN(62)]
	}
	return string(b)
}

func tf(ts float64) string { return strconv.FormatFloat(ts, 'f', 6, 64) }

func local(a netip.Addr) string {
	if a.IsPrivate() {
		return "T"
	}
	return "F"
}

// randIn is a random address of p (IPv4), not a private one when p is
// wider than a /8 (spoofed sources of the Internet).
func (g *gen) randIn(p netip.Prefix) netip.Addr {
	for {
		b := p.Addr().As4()
		base := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		host := uint32(0)
		if bits := 32 - p.Bits(); bits > 0 {
			host = uint32(g.r.Uint64() & (1<<bits - 1))
		}
		v := base | host
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		if p.Bits() >= 8 || (a.IsGlobalUnicast() && !a.IsPrivate() && v>>24 != 127 && v>>24 < 224) {
			return a
		}
	}
}

func (g *gen) next(dns bool) (planted, bool) {
	for g.i < g.rows {
		g.i++
		g.ts += g.r.ExpFloat64() / g.o.rate
		clear(g.vals)
		v := g.vals
		v["ts"], v["uid"] = tf(g.ts), g.uid()
		v["proto"], v["missed_bytes"], v["tunnel_parents"] = "tcp", "0", "(empty)"
		v["ip_proto"] = "6"
		op := strconv.Itoa(1024 + g.r.IntN(64511))
		switch g.o.kind {
		case "synflood":
			s := g.randIn(g.o.src)
			v["id.orig_h"], v["id.orig_p"] = s.String(), op
			v["id.resp_h"], v["id.resp_p"] = g.o.victim.Addr().String(), strconv.Itoa(int(g.o.victim.Port()))
			v["conn_state"], v["history"], v["orig_pkts"], v["orig_ip_bytes"], v["resp_pkts"], v["resp_ip_bytes"] = "S0", "S", "1", "40", "0", "0"
			if g.r.Float64() < g.o.answered {
				v["conn_state"], v["history"], v["resp_pkts"], v["resp_ip_bytes"] = "S1", "Sh", "1", "44"
			}
			v["local_orig"], v["local_resp"] = local(s), local(g.o.victim.Addr())
		case "sweep":
			k := permute(uint64(g.i), 32-g.o.sweep.Bits(), g.o.seed)
			b := g.o.sweep.Addr().As4()
			base := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
			x := base | k
			d := netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
			v["id.orig_h"], v["id.orig_p"] = g.o.scanner.String(), strconv.Itoa(40000+g.i%1000)
			v["id.resp_h"], v["id.resp_p"] = d.String(), strconv.Itoa(g.o.ports[g.i%len(g.o.ports)])
			v["conn_state"], v["history"], v["orig_pkts"], v["orig_ip_bytes"], v["resp_pkts"], v["resp_ip_bytes"] = "S0", "S", "1", "40", "0", "0"
			if g.r.IntN(50) == 0 { // a host that is up and refuses
				v["conn_state"], v["history"], v["resp_pkts"], v["resp_ip_bytes"], v["duration"] = "REJ", "Sr", "1", "40", "0.000412"
				v["orig_bytes"], v["resp_bytes"] = "0", "0"
			}
			v["local_orig"], v["local_resp"] = local(g.o.scanner), local(d)
		case "watertorture":
			c := g.o.clients.Addr()
			if g.o.clients.Bits() < 32 {
				c = g.clientAt(g.r.IntN(g.o.nclients))
			}
			name := g.label() + "." + g.o.domain
			rtt := 0.02 + g.r.Float64()*0.3
			nx := g.r.IntN(20) != 0              // the victim's servers, swamped, answer NXDOMAIN or not at all
			tid := strconv.Itoa(g.r.IntN(65536)) // drawn in both passes: they share a uid
			v["id.orig_h"], v["id.orig_p"] = c.String(), op
			v["id.resp_h"], v["id.resp_p"] = g.o.resolver.String(), "53"
			v["proto"], v["ip_proto"] = "udp", "17"
			if dns {
				v["trans_id"], v["query"], v["qclass"], v["qclass_name"] = tid, name, "1", "C_INTERNET"
				v["qtype"], v["qtype_name"], v["AA"], v["TC"], v["RD"], v["RA"], v["Z"], v["rejected"] = "1", "A", "F", "F", "T", "F", "0", "F"
				if nx {
					v["rcode"], v["rcode_name"] = "3", "NXDOMAIN"
				}
				return planted{ts: g.ts, vals: v}, true
			}
			qb := len(name) + 18
			v["service"], v["duration"], v["orig_bytes"] = "dns", tf(rtt), strconv.Itoa(qb)
			v["conn_state"], v["history"], v["orig_pkts"], v["orig_ip_bytes"] = "SF", "Dd", "1", strconv.Itoa(qb+28)
			v["resp_bytes"], v["resp_pkts"], v["resp_ip_bytes"] = strconv.Itoa(qb+64), "1", strconv.Itoa(qb+92)
			if !nx {
				v["conn_state"], v["history"], v["duration"], v["resp_bytes"], v["resp_pkts"], v["resp_ip_bytes"] = "S0", "D", "-", "0", "0", "0"
			}
			v["local_orig"], v["local_resp"] = local(c), local(g.o.resolver)
		}
		if dns {
			continue // a conn-only kind: no dns row
		}
		return planted{ts: g.ts, vals: v}, true
	}
	return planted{}, false
}

// clientAt is the i-th querying host, spread over the clients' range.
func (g *gen) clientAt(i int) netip.Addr {
	b := g.o.clients.Addr().As4()
	base := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	size := uint32(1) << (32 - g.o.clients.Bits())
	x := base | (uint32(i)*2654435761+1)%size
	return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
}

// label is a water-torture name's random first label: 8 to 16 letters and
// digits, as the Mirai-era attacks send.
func (g *gen) label() string {
	b := make([]byte, 8+g.r.IntN(9))
	for i := range b {
		b[i] = b62[g.r.IntN(36)]
	}
	return string(b)
}

// permute is i's place among the 2^bits addresses of a sweep, a
// pseudo-random permutation as masscan's (a Feistel network, cycle-walked
// to the range), so that no /24 is visited at a regular interval. A
// multiplicative stride visits each /24 almost periodically, which the
// beacon detector takes for beacons.
func permute(i uint64, bits int, seed uint64) uint64 {
	half := (bits + 1) / 2
	mask := uint64(1)<<half - 1
	for {
		l, r := i>>half&mask, i&mask
		for round := uint64(0); round < 4; round++ {
			x := (r ^ seed ^ round<<40) * 0x9e3779b97f4a7c15
			x ^= x >> 29
			l, r = r, (l^x)&mask
		}
		i = l<<half | r
		if i < uint64(1)<<bits {
			return i
		}
	}
}
