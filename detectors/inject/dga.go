package inject

import (
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// dgaTLDs: the TLDs of Conficker-, Necurs- and Ramnit-like generators, with
// the size of the SOA record (name compressed against the query) that a
// TLD's NXDOMAIN reply carries in its authority section.
var dgaTLDs = []struct {
	name string
	soa  int
}{{"com", 61}, {"net", 61}, {"org", 75}, {"info", 78}, {"biz", 73}, {"ru", 66}, {"cc", 67}, {"ws", 64}}

// plantDGA: an infected host walks the day's list of generated domains,
// 8-20 random lowercase letters (one in eight a digit) under three to five
// of dgaTLDs, about one query a second (g.dgaInterval: one every that many
// seconds on average, a slow walk over hours); nearly all are NXDOMAIN, one
// or two resolve (the domains the operator registered that day) and the
// host connects to the address at once over HTTP.
func (g *gen) plantDGA(p *Planted, add func(genRow)) {
	h := g.host()
	p.Host = h
	tlds := make([]int, 0, 5)
	for n := 3 + g.r.IntN(3); len(tlds) < n; {
		if i := g.r.IntN(len(dgaTLDs)); !slices.Contains(tlds, i) {
			tlds = append(tlds, i)
		}
	}
	queries := 250 + g.r.IntN(151)
	resolved := map[int]bool{queries/4 + g.r.IntN(queries/2): true}
	if g.r.IntN(2) == 0 {
		resolved[queries/2+g.r.IntN(queries/2)] = true
	}
	seen := map[string]bool{}
	gap := 1.0
	if g.dgaInterval > 0 {
		gap = g.dgaInterval
	}
	t := g.start(float64(queries) * gap)
	for i := 0; i < queries; i++ {
		t += (0.4 + g.r.Float64()*1.2) * gap
		tld := dgaTLDs[tlds[g.r.IntN(len(tlds))]]
		name := g.dgaLabel() + "." + tld.name
		for seen[name] {
			name = g.dgaLabel() + "." + tld.name
		}
		seen[name] = true
		q := dnsQuery{t: t, host: h, port: g.ephemeral(), uid: g.uid(), transID: g.r.IntN(65536), rtt: 0.015 + g.r.Float64()*0.12,
			query: name, qtype: 1, qtypeName: "A", rcode: 3}
		qb := len(name) + 2 + 12 + 4
		q.respBytes = qb + tld.soa
		var c2 netip.Addr
		if resolved[i] {
			c2 = g.public()
			q.rcode, q.answers, q.ttls = 0, c2.String(), tf(float64([]int{300, 600, 3600}[g.r.IntN(3)]))
			q.respBytes = qb + 16
			if p.Peer == "" {
				p.Peer = name
			}
		}
		c := g.query("dga", q)
		d := &g.dns[len(g.dns)-1]
		d.exact = map[string]float64{}
		if q.rcode == 0 {
			d.exact["rtt"] = q.rtt
		}
		g.shape(d, g.dnsF, h)
		c.exact = map[string]float64{"duration": q.rtt}
		g.shape(&c, g.connF, h)
		add(c)
		p.DNSRows++
		if !c2.IsValid() {
			continue
		}
		// the check-ins: an HTTP request or three to the new address
		ct := t + q.rtt
		for n := 1 + g.r.IntN(3); n > 0; n-- {
			ct += 0.05 + g.r.Float64()*2
			ob, rb := 200+g.r.IntN(400), 300+g.r.IntN(5000)
			dur := 0.2 + g.r.Float64()*1.5
			c := g.connRow("dga", ct, h, g.ephemeral(), c2, 80, "tcp", "http", dur, ob, rb, "SF", "ShADadFf", 4+g.r.IntN(3), 4+rb/1400, g.uid())
			c.exact = map[string]float64{"duration": dur}
			g.shape(&c, g.connF, h)
			add(c)
		}
	}
}

// dgaLabel is one generated second-level label.
func (g *gen) dgaLabel() string {
	var b strings.Builder
	for n := 8 + g.r.IntN(13); n > 0; n-- {
		if g.r.IntN(8) == 0 {
			b.WriteByte(byte('0' + g.r.IntN(10)))
		} else {
			b.WriteByte(byte('a' + g.r.IntN(26)))
		}
	}
	return b.String()
}

// jsonValue is v as the row's JSON value, times and intervals as Zeek's
// JSON writer prints doubles. An interval is exact's full-precision value
// when it has one (dga), else v's six decimals: either is rounded to
// Zeek's microsecond below.
func (r genRow) jsonValue(k, v string, isoTS bool) string {
	d, ok := r.exact[k]
	if !ok && fieldTypes[k] == "interval" {
		d, _ = strconv.ParseFloat(v, 64)
		ok = true
	}
	if ok {
		// Zeek's intervals are differences of two timestamps held to the
		// microsecond, so a whole number of ulps of ts (2^-22 s in 2020),
		// not any double
		ts, _ := strconv.ParseFloat(r.vals["ts"], 64)
		return zeekDouble(math.Round((ts+d)*1e6)/1e6 - ts)
	}
	if fieldTypes[k] == "time" && !isoTS {
		f, _ := strconv.ParseFloat(v, 64)
		return zeekDouble(f) // 1591425409.37723, not ...377230
	}
	if fieldTypes[k] == "vector[interval]" && v != "(empty)" {
		parts := strings.Split(v, ",")
		for i, p := range parts {
			f, _ := strconv.ParseFloat(p, 64)
			parts[i] = zeekDouble(f)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return jsonValue(k, v, isoTS)
}

// zeekDouble: the shortest decimal that reads back as f, with ".0" on whole
// numbers (Zeek's JSON: "rtt":0.020179033279418945, "TTLs":[23000.0]).
func zeekDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// shape makes a dga row Zeek-like in a JSON file: Zeek omits unset fields,
// so the template is a real row that has exactly the keys the planted row
// sets (an NXDOMAIN reply's row has no rtt, answers or TTLs; an S0 conn row
// no duration or bytes), the host's own row when it has one, and the
// planted keys then fall in Zeek's order. TSV columns are fixed: nothing to
// do.
func (g *gen) shape(r *genRow, lf *logFile, host netip.Addr) {
	if !lf.json {
		return
	}
	sh := g.shapes[lf]
	if sh == nil {
		sh = &rowShapes{}
		for _, row := range lf.rows {
			keys, _ := parseObject(row.line)
			var m uint64
			for _, k := range keys {
				if i := order(k); i < len(fieldOrder) {
					m |= 1 << i
				}
			}
			o, _, _ := lf.addrs(row.line)
			sh.masks = append(sh.masks, m)
			sh.orig = append(sh.orig, o)
		}
		g.shapes[lf] = sh
	}
	var all, want uint64
	for k, v := range r.vals {
		if i := order(k); i < len(fieldOrder) {
			all |= 1 << i
			if v != "-" && lf.keys[k] {
				want |= 1 << i
			}
		}
	}
	var same, own []int
	for i, m := range sh.masks {
		if m&all == want {
			same = append(same, i)
			if sh.orig[i] == host {
				own = append(own, i)
			}
		}
	}
	if len(own) > 0 {
		same = own
	}
	if len(same) > 0 {
		r.tmpl = same[g.r.IntN(len(same))]
	}
}

// rowShapes: per row of a JSON file, which fieldOrder keys it has (a bit
// each) and its originator.
type rowShapes struct {
	masks []uint64
	orig  []netip.Addr
}
