// Package inject plants labelled attacks into real benign Zeek logs (conn
// and dns), writing them back in the input's own format (TSV with its
// header, or JSON lines) with the Stratosphere label/detailedlabel columns
// added to every row, so that `zeekanom eval` can measure the detectors on
// known ground truth. See README.md.
package inject

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// Kinds are the attack classes planted by default, in planting order.
var Kinds = []string{"scan", "dos", "beacon", "dnstunnel", "exfil", "offhours"}

// OptInKinds are planted only when named: adding one to Kinds would change
// the default output, and with it every evaluation set built from it.
var OptInKinds = []string{"dga"}

// Options tune Inject.
type Options struct {
	Kinds []string // default: Kinds
	Seed  uint64
	// HistoryDays of benign history before the planted day: the
	// capture's own rows replayed, shifted back by whole days (see
	// history.go and README.md). 0: none.
	HistoryDays int
	// DGAInterval is the mean time between a dga walk's queries (each gap
	// 0.4 to 1.6 times it): a slow, throttled walk. 0: about a second,
	// the burst (output byte for byte as without the option).
	DGAInterval time.Duration
}

// Planted describes one planted attack.
type Planted struct {
	Kind     string
	Host     netip.Addr // the attacking (or, for dos, the victim) host
	Peer     string     // target, C2 or domain
	Start    time.Time
	End      time.Time
	ConnRows int
	DNSRows  int
}

// Summary is what Inject did.
type Summary struct {
	Files   []string // written
	Planted []Planted
	History History // zero without Options.HistoryDays
}

// Label values written into the label columns.
const (
	BenignLabel    = "benign"
	MaliciousLabel = "Malicious"
)

// DetailedLabel names the class of a planted row.
func DetailedLabel(kind string) string { return "From_malicious-Injected-" + kind }

type logFile struct {
	path    string
	kind    zeekreader.Kind
	json    bool
	gz      bool
	header  []string // TSV: every header line before the first row
	trailer []string // TSV: #close
	fields  []string
	types   []string // TSV: #types
	rows    []row
	tsIdx   int
	isoTS   bool            // JSON with ISO-8601 ts strings
	labeled bool            // already has label columns
	keys    map[string]bool // JSON: every key the file uses
}

type row struct {
	line string
	ts   float64
}

// Inject reads the conn and dns logs among paths, plants the attacks and
// writes the results into outDir under the input file names.
func Inject(paths []string, outDir string, o Options) (*Summary, error) {
	if len(o.Kinds) == 0 {
		o.Kinds = Kinds
	}
	for _, k := range o.Kinds {
		if err := CheckKind(k); err != nil {
			return nil, err
		}
	}
	a, err := zeekreader.Walk(paths, zeekreader.KindConn, zeekreader.KindDNS)
	if err != nil {
		return nil, err
	}
	var conn, dns *logFile
	var files, connFiles, dnsFiles []*logFile
	for _, f := range a.Files() {
		k := zeekreader.KindOf(zeekreader.PathFromName(filepath.Base(f)))
		if k != zeekreader.KindConn && k != zeekreader.KindDNS {
			continue
		}
		lf, err := readLog(f, k)
		if err != nil {
			return nil, err
		}
		files = append(files, lf)
		if k == zeekreader.KindConn {
			connFiles = append(connFiles, lf)
		} else {
			dnsFiles = append(dnsFiles, lf)
		}
		if k == zeekreader.KindConn && (conn == nil || len(lf.rows) > len(conn.rows)) {
			conn = lf
		}
		if k == zeekreader.KindDNS && (dns == nil || len(lf.rows) > len(dns.rows)) {
			dns = lf
		}
	}
	// a zeekctl archive's hour files are planned on as one log, and each
	// planted row goes into the file of its hour
	connArc, err := archiveOf(connFiles)
	if err != nil {
		return nil, err
	}
	dnsArc, err := archiveOf(dnsFiles)
	if err != nil {
		return nil, err
	}
	if connArc != nil {
		conn = connArc.merged
	}
	if dnsArc != nil {
		dns = dnsArc.merged
	}
	if conn == nil || len(conn.rows) == 0 {
		return nil, errors.New("no conn.log rows to inject into")
	}
	if (connArc != nil || dnsArc != nil) && o.HistoryDays > 0 {
		return nil, errors.New("--history-days takes a capture, one file per log, not an archive's hour files: concatenate them into one conn.log and one dns.log first")
	}
	if o.HistoryDays < 0 {
		return nil, fmt.Errorf("history days %d: must be 0 or more", o.HistoryDays)
	}
	if o.DGAInterval < 0 {
		return nil, fmt.Errorf("dga interval %v: must be 0 or more", o.DGAInterval)
	}
	g := newGen(o.Seed, conn, dns)
	g.history = o.HistoryDays > 0
	g.dgaInterval = o.DGAInterval.Seconds()
	sum := &Summary{}
	for _, k := range o.Kinds {
		if (k == "dnstunnel" || k == "dga") && dns == nil {
			return nil, fmt.Errorf("%s needs a dns.log among the inputs (name one, or leave %s out of the kinds)", k, k)
		}
		sum.Planted = append(sum.Planted, g.plant(k))
	}
	var rp *replay
	if o.HistoryDays > 0 {
		rp = newReplay(o.Seed, o.HistoryDays, files, g.uids)
	}
	outs := make([]string, len(files))
	used := map[string]bool{}
	var names []string
	if connArc != nil || dnsArc != nil {
		names = archiveNames(files, paths)
	}
	for i, lf := range files {
		name := filepath.Base(lf.path)
		if names != nil {
			name = names[i]
		} else if used[name] {
			name = fmt.Sprintf("%d_%s", i, name)
		}
		used[name] = true
		outs[i] = filepath.Join(outDir, name)
		// -o the input's own directory replaced the real logs with
		// the injected ones
		if overwrites(outs[i], lf.path) {
			return nil, fmt.Errorf("%s: the output would replace this input: write to another directory", lf.path)
		}
	}
	var connTo, dnsTo map[*logFile][]genRow
	if connArc != nil {
		connTo, files, outs = connArc.add(g.conn, files, outs, names, used, outDir)
	}
	if dnsArc != nil {
		dnsTo, files, outs = dnsArc.add(g.dns, files, outs, names, used, outDir)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	for i, lf := range files {
		out := outs[i]
		var planted []genRow
		src := lf // the file whose rows the planted rows' templates index
		switch {
		case connArc.holds(lf):
			planted, src = connTo[lf], connArc.merged
		case dnsArc.holds(lf):
			planted, src = dnsTo[lf], dnsArc.merged
		case lf == conn:
			planted = g.conn
		case lf == dns:
			planted = g.dns
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, err
		}
		if err := lf.write(out, planted, g, rp, src); err != nil {
			return nil, err
		}
		sum.Files = append(sum.Files, out)
	}
	if rp != nil {
		sum.History = *rp.stats
	}
	return sum, nil
}

func known(k string) bool { return slices.Contains(Kinds, k) || slices.Contains(OptInKinds, k) }

// CheckKind says when k is no attack kind Inject plants (a default one or
// an opt-in one), naming those it knows.
func CheckKind(k string) error {
	if !known(k) {
		return fmt.Errorf("unknown attack kind %q (known: %s)", k, strings.Join(append(slices.Clip(Kinds), OptInKinds...), ","))
	}
	return nil
}

// overwrites reports whether writing out would replace the file in.
func overwrites(out, in string) bool {
	o, err := os.Stat(out)
	if err != nil {
		return false
	}
	i, err := os.Stat(in)
	return err == nil && os.SameFile(o, i)
}

func openMaybeGz(path string) (io.ReadCloser, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	br := bufio.NewReader(f)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, false, err
		}
		return struct {
			io.Reader
			io.Closer
		}{zr, f}, true, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{br, f}, false, nil
}

func readLog(path string, k zeekreader.Kind) (*logFile, error) {
	rc, gz, err := openMaybeGz(path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	lf := &logFile{path: path, kind: k, gz: gz, tsIdx: -1}
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if first {
			lf.json = strings.HasPrefix(line, "{")
			first = false
		}
		if lf.json {
			var obj map[string]json.RawMessage
			if json.Unmarshal([]byte(line), &obj) != nil {
				continue
			}
			if lf.keys == nil {
				lf.keys = map[string]bool{}
			}
			for k := range obj {
				lf.keys[k] = true
			}
			ts, iso := parseJSONTime(obj["ts"])
			lf.isoTS = lf.isoTS || iso
			if strings.Contains(line, `"label":`) {
				lf.labeled = true
			}
			lf.rows = append(lf.rows, row{line, ts})
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(line, "\t "), "#") {
			l := strings.TrimLeft(line, "\t ")
			if strings.HasPrefix(l, "#close") {
				lf.trailer = append(lf.trailer, l)
				continue
			}
			if len(lf.rows) > 0 {
				continue // a second header block: keep the first
			}
			if strings.HasPrefix(l, "#types\t") {
				lf.types = strings.Split(l, "\t")[1:]
			}
			if strings.HasPrefix(l, "#fields\t") {
				lf.fields = strings.Split(l, "\t")[1:]
				for i, f := range lf.fields {
					if f == "ts" {
						lf.tsIdx = i
					}
					if f == "label" {
						lf.labeled = true
					}
				}
			}
			lf.header = append(lf.header, l)
			continue
		}
		cols := strings.Split(line, "\t")
		ts := 0.0
		if lf.tsIdx >= 0 && lf.tsIdx < len(cols) {
			ts, _ = strconv.ParseFloat(cols[lf.tsIdx], 64)
		}
		lf.rows = append(lf.rows, row{line, ts})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !lf.json && lf.fields == nil {
		return nil, fmt.Errorf("%s: no #fields header", path)
	}
	return lf, nil
}

func parseJSONTime(raw json.RawMessage) (float64, bool) {
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		return f, false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return float64(t.UnixNano()) / 1e9, true
		}
	}
	return 0, false
}

// genRow is a planted row: Zeek TSV values by field name ("-" unset).
type genRow struct {
	ts     float64
	vals   map[string]string
	kind   string
	tmpl   int // index of the template row in the file
	serial int
	// exact: full-precision intervals, written to JSON as Zeek writes
	// doubles (shortest round trip, "300.0"); nil: six decimals, as the
	// kinds before dga write them (kept so their output stays the same)
	exact map[string]float64
}

// types of the fields the generator sets, for JSON output.
var fieldTypes = map[string]string{
	"ts": "time", "id.orig_p": "port", "id.resp_p": "port", "duration": "interval",
	"orig_bytes": "count", "resp_bytes": "count", "missed_bytes": "count", "orig_pkts": "count",
	"orig_ip_bytes": "count", "resp_pkts": "count", "resp_ip_bytes": "count", "ip_proto": "count",
	"local_orig": "bool", "local_resp": "bool", "tunnel_parents": "set",
	"trans_id": "count", "rtt": "interval", "qclass": "count", "qtype": "count", "rcode": "count",
	"AA": "bool", "TC": "bool", "RD": "bool", "RA": "bool", "Z": "count", "rejected": "bool",
	"answers": "vector", "TTLs": "vector[interval]",
}

// write writes the file with its planted rows, rendered on templates of
// src's rows (lf itself, or the merged archive lf is an hour of).
func (lf *logFile) write(path string, planted []genRow, g *gen, rp *replay, src *logFile) error {
	sort.SliceStable(planted, func(i, j int) bool { return planted[i].ts < planted[j].ts })
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if !lf.json {
		for _, h := range lf.header {
			if !lf.labeled && strings.HasPrefix(h, "#fields\t") {
				h += "\tlabel\tdetailedlabel"
			}
			if !lf.labeled && strings.HasPrefix(h, "#types\t") {
				h += "\tstring\tstring"
			}
			w.WriteString(h)
			w.WriteByte('\n')
		}
	}
	p := 0
	emit := func(r genRow) {
		w.WriteString(src.render(r, g))
		w.WriteByte('\n')
	}
	benign := func(line string, ts float64) {
		for p < len(planted) && planted[p].ts < ts {
			emit(planted[p])
			p++
		}
		w.WriteString(lf.benign(line))
		w.WriteByte('\n')
	}
	// the replayed days first, oldest first, then the real capture
	for k := 0; rp != nil && k < rp.copies; k++ {
		for i := range lf.rows {
			if line, ts, ok := lf.replayed(rp, rp.copies-k, i); ok {
				benign(line, ts)
			}
		}
	}
	for _, r := range lf.rows {
		benign(r.line, r.ts)
	}
	for ; p < len(planted); p++ {
		emit(planted[p])
	}
	for _, t := range lf.trailer {
		w.WriteString(t)
		w.WriteByte('\n')
	}
	w.Flush()
	out := buf.Bytes()
	if lf.gz {
		out = gzipped(out)
	}
	return os.WriteFile(path, out, 0o644)
}

func gzipped(b []byte) []byte {
	var zb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zb, gzip.DefaultCompression)
	zw.Write(b)
	zw.Close()
	return zb.Bytes()
}

// benign adds the benign label columns to a real row (already-labelled
// inputs keep their labels).
func (lf *logFile) benign(line string) string {
	if lf.labeled {
		return line
	}
	if lf.json {
		i := strings.LastIndexByte(line, '}')
		if i < 0 {
			return line
		}
		sep := ","
		if strings.TrimSpace(line[:i]) == "{" {
			sep = ""
		}
		return line[:i] + sep + `"label":"` + BenignLabel + `","detailedlabel":"` + BenignLabel + `"` + line[i:]
	}
	return line + "\t" + BenignLabel + "\t" + BenignLabel
}

func (lf *logFile) render(r genRow, g *gen) string {
	r.vals["label"] = MaliciousLabel
	r.vals["detailedlabel"] = DetailedLabel(r.kind)
	tmpl := lf.rows[r.tmpl].line
	if !lf.json {
		cols := strings.Split(tmpl, "\t")
		fields := lf.fields
		if !lf.labeled {
			cols = append(cols, "", "")
			fields = append(append([]string(nil), fields...), "label", "detailedlabel")
		}
		for i, f := range fields {
			if v, ok := r.vals[f]; ok {
				cols[i] = v
			} else if clearField(f) {
				cols[i] = "-"
			}
		}
		return strings.Join(cols, "\t")
	}
	keys, vals := parseObject(tmpl)
	seen := map[string]bool{}
	type kv struct{ k, v string }
	var row []kv
	for i, k := range keys {
		seen[k] = true
		if v, ok := r.vals[k]; ok {
			if v != "-" {
				row = append(row, kv{k, r.jsonValue(k, v, lf.isoTS)})
			}
			continue
		}
		if clearField(k) {
			continue
		}
		row = append(row, kv{k, vals[i]})
	}
	// fields the template lacks (JSON omits unset keys), each after the
	// last key that Zeek writes before it
	extra := make([]string, 0)
	for k := range r.vals {
		if !seen[k] && r.vals[k] != "-" && lf.keys[k] && k != "label" && k != "detailedlabel" {
			extra = append(extra, k)
		}
	}
	sort.Slice(extra, func(i, j int) bool { return order(extra[i]) < order(extra[j]) })
	for _, k := range extra {
		at, o := 0, order(k)
		for i, p := range row {
			if po := order(p.k); po < len(fieldOrder) && po < o {
				at = i + 1
			}
		}
		row = slices.Insert(row, at, kv{k, r.jsonValue(k, r.vals[k], lf.isoTS)})
	}
	var obj objectWriter
	put := obj.put
	for _, p := range row {
		put(p.k, p.v)
	}
	if !lf.labeled || !seen["label"] {
		put("label", jsonValue("label", MaliciousLabel, false))
		put("detailedlabel", jsonValue("detailedlabel", DetailedLabel(r.kind), false))
	}
	return obj.String()
}

// objectWriter writes a JSON object key by key: keys quoted, values raw.
type objectWriter struct {
	b strings.Builder
	n int
}

func (o *objectWriter) put(k, raw string) {
	if o.n == 0 {
		o.b.WriteByte('{')
	} else {
		o.b.WriteByte(',')
	}
	kb, _ := json.Marshal(k)
	o.b.Write(kb)
	o.b.WriteByte(':')
	o.b.WriteString(raw)
	o.n++
}

func (o *objectWriter) String() string {
	if o.n == 0 {
		return "{}"
	}
	return o.b.String() + "}"
}

var fieldOrder = []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
	"trans_id", "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode", "rcode_name", "AA", "TC", "RD", "RA", "Z",
	"answers", "TTLs", "rejected", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
	"missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "ip_proto"}

func order(k string) int {
	for i, f := range fieldOrder {
		if f == k {
			return i
		}
	}
	return len(fieldOrder)
}

// clearField: template values that would be wrong for a planted row.
func clearField(f string) bool {
	switch f {
	case "community_id", "tunnel_parents", "orig_l2_addr", "resp_l2_addr", "vlan", "inner_vlan",
		"orig_mac_oui", "resp_mac_oui", "app", "pcr", "corelight_shunted", "conn_uids", "id.orig_h_name.src",
		"id.resp_h_name.src", "id.orig_h_name.vals", "id.resp_h_name.vals", "_write_ts", "_node_name":
		return true
	}
	return false
}

func jsonValue(k, v string, isoTS bool) string {
	switch fieldTypes[k] {
	case "time":
		if isoTS {
			f, _ := strconv.ParseFloat(v, 64)
			t := time.Unix(0, int64(math.Round(f*1e6))*1000).UTC()
			return `"` + t.Format("2006-01-02T15:04:05.000000Z") + `"`
		}
		return v
	case "port", "count", "interval":
		return v
	case "bool":
		if v == "T" {
			return "true"
		}
		return "false"
	case "vector", "set", "vector[interval]":
		if v == "(empty)" {
			return "[]"
		}
		parts := strings.Split(v, ",")
		if fieldTypes[k] == "vector[interval]" {
			return "[" + strings.Join(parts, ",") + "]"
		}
		b, _ := json.Marshal(parts)
		return string(b)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// parseObject splits a JSON object into its keys and raw values, in order.
func parseObject(s string) ([]string, []string) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var keys, vals []string
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		k, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			break
		}
		keys = append(keys, k)
		vals = append(vals, string(raw))
	}
	return keys, vals
}

// ---------------------------------------------------------------- generator

type gen struct {
	r         *rand.Rand
	ur        *rand.Rand // uids only
	connF     *logFile
	dnsF      *logFile
	tmin      float64
	tmax      float64
	hosts     []netip.Addr // internal originators, busiest first
	resolver  netip.Addr
	used      map[netip.Addr]bool
	conn, dns []genRow
	serial    int
	uids      map[string]bool
	tmplByOrg map[netip.Addr]int
	history   bool // replayed days precede the capture: off-hours goes to its last day's quietest hour
	shapes    map[*logFile]*rowShapes
	// dgaInterval: the mean gap between dga queries in seconds, 0 for
	// the burst's ~1 s
	dgaInterval float64
}

func newGen(seed uint64, conn, dns *logFile) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x5eed)), ur: rand.New(rand.NewPCG(seed^0x5eed, seed)), connF: conn, dnsF: dns, used: map[netip.Addr]bool{},
		uids: map[string]bool{}, tmplByOrg: map[netip.Addr]int{}, shapes: map[*logFile]*rowShapes{}, tmin: math.Inf(1), tmax: math.Inf(-1)}
	counts := map[netip.Addr]int{}
	res := map[netip.Addr]int{}
	for i, r := range conn.rows {
		if r.ts > 0 {
			g.tmin, g.tmax = math.Min(g.tmin, r.ts), math.Max(g.tmax, r.ts)
		}
		o, rp, port := conn.addrs(r.line)
		if o.IsValid() && (o.IsPrivate() || o.IsLoopback()) && o.Is4() {
			counts[o]++
			if _, ok := g.tmplByOrg[o]; !ok {
				g.tmplByOrg[o] = i
			}
		}
		if port == "53" && rp.IsValid() {
			res[rp]++
		}
	}
	if dns != nil {
		for _, r := range dns.rows {
			_, rp, _ := dns.addrs(r.line)
			if rp.IsValid() {
				res[rp]++
			}
		}
	}
	for h := range counts {
		g.hosts = append(g.hosts, h)
	}
	sort.Slice(g.hosts, func(i, j int) bool {
		if counts[g.hosts[i]] != counts[g.hosts[j]] {
			return counts[g.hosts[i]] > counts[g.hosts[j]]
		}
		return g.hosts[i].Less(g.hosts[j])
	})
	best := -1
	for a, n := range res {
		if n > best || (n == best && a.Less(g.resolver)) {
			g.resolver, best = a, n
		}
	}
	if !g.resolver.IsValid() {
		g.resolver = netip.MustParseAddr("8.8.8.8")
	}
	if math.IsInf(g.tmin, 0) {
		g.tmin, g.tmax = 1.6e9, 1.6e9+3600
	}
	return g
}

// addrs returns id.orig_h, id.resp_h and id.resp_p of a row.
func (lf *logFile) addrs(line string) (netip.Addr, netip.Addr, string) {
	if lf.json {
		var v struct {
			O string          `json:"id.orig_h"`
			R string          `json:"id.resp_h"`
			P json.RawMessage `json:"id.resp_p"`
		}
		json.Unmarshal([]byte(line), &v)
		o, _ := netip.ParseAddr(v.O)
		r, _ := netip.ParseAddr(v.R)
		return o, r, string(v.P)
	}
	cols := strings.Split(line, "\t")
	var o, r netip.Addr
	p := ""
	for i, f := range lf.fields {
		if i >= len(cols) {
			break
		}
		switch f {
		case "id.orig_h":
			o, _ = netip.ParseAddr(cols[i])
		case "id.resp_h":
			r, _ = netip.ParseAddr(cols[i])
		case "id.resp_p":
			p = cols[i]
		}
	}
	return o, r, p
}

// zeekDigits are the digits of Zeek's base 62 (util::uitoa_n).
const zeekDigits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// zeekUID makes a uid as Zeek does (UID::Base62 with the default uid_bits
// of 96): "C", then a random 32-bit word and a random 64-bit word, each in
// base 62 least significant digit first without padding, so 18 characters
// about three times in four and 17 about once in five, as in every shared
// capture.
func zeekUID(r *rand.Rand) string {
	b := make([]byte, 1, 18)
	b[0] = 'C'
	b = appendBase62(b, r.Uint64()>>32)
	return string(appendBase62(b, r.Uint64()))
}

func appendBase62(b []byte, v uint64) []byte {
	for {
		b = append(b, zeekDigits[v%62])
		if v /= 62; v == 0 {
			return b
		}
	}
}

// uid is a fresh Zeek uid, unique in the output, drawn from a stream of
// its own. The main stream still advances as it did when uids were 17
// uniform base-62 draws from it, so a seed plants the same attacks (times,
// hosts, sizes) as before and the evaluation tables stay comparable.
func (g *gen) uid() string {
	for i := 0; i < 17; i++ {
		g.r.IntN(62)
	}
	for {
		if u := zeekUID(g.ur); !g.uids[u] {
			g.uids[u] = true
			return u
		}
	}
}

// host picks an internal host not used by another planted attack.
func (g *gen) host() netip.Addr {
	for _, h := range g.hosts {
		if !g.used[h] {
			g.used[h] = true
			return h
		}
	}
	// more attacks than hosts: invent one in the busiest host's /24
	base := netip.MustParseAddr("10.0.0.1")
	if len(g.hosts) > 0 {
		base = g.hosts[0]
	}
	for {
		b := base.As4()
		b[3] = byte(2 + g.r.IntN(250))
		h := netip.AddrFrom4(b)
		if !g.used[h] {
			g.used[h] = true
			return h
		}
	}
}

func (g *gen) public() netip.Addr {
	for {
		a := netip.AddrFrom4([4]byte{byte(1 + g.r.IntN(222)), byte(g.r.IntN(256)), byte(g.r.IntN(256)), byte(1 + g.r.IntN(254))})
		if !a.IsPrivate() && !a.IsLoopback() && a.IsGlobalUnicast() && a.As4()[0] != 127 && a.As4()[0] != 100 {
			return a
		}
	}
}

func (g *gen) ephemeral() string { return strconv.Itoa(49152 + g.r.IntN(16383)) }

func tf(ts float64) string { return strconv.FormatFloat(ts, 'f', 6, 64) }
func ui(n int) string      { return strconv.Itoa(n) }

func boolTV(b bool) string {
	if b {
		return "T"
	}
	return "F"
}

func local(a netip.Addr) string { return boolTV(a.IsPrivate() || a.IsLoopback()) }

// start picks a start time that leaves room for dur inside the capture.
func (g *gen) start(dur float64) float64 {
	span := g.tmax - g.tmin - dur
	if span <= 0 {
		return g.tmin
	}
	return g.tmin + g.r.Float64()*span
}

func (g *gen) tmplFor(h netip.Addr, lf *logFile) int {
	if lf == g.connF {
		if i, ok := g.tmplByOrg[h]; ok {
			return i
		}
	}
	return g.r.IntN(len(lf.rows))
}

// connRow builds a conn row; history and state must agree (the callers
// pass Zeek-consistent pairs).
func (g *gen) connRow(kind string, ts float64, o netip.Addr, op string, r netip.Addr, rp int, proto, service string,
	dur float64, ob, rb int, state, hist string, opk, rpk int, uid string) genRow {
	hdr := 20
	ipProto := "6"
	if proto == "udp" {
		hdr, ipProto = 8, "17"
	}
	v := map[string]string{
		"ts": tf(ts), "uid": uid, "id.orig_h": o.String(), "id.orig_p": op, "id.resp_h": r.String(), "id.resp_p": ui(rp),
		"proto": proto, "service": service, "conn_state": state, "missed_bytes": "0", "history": hist,
		"orig_pkts": ui(opk), "orig_ip_bytes": ui(ob + opk*(20+hdr)), "resp_pkts": ui(rpk), "resp_ip_bytes": ui(rb + rpk*(20+hdr)),
		"local_orig": local(o), "local_resp": local(r), "ip_proto": ipProto,
	}
	if dur < 0 {
		v["duration"], v["orig_bytes"], v["resp_bytes"] = "-", "-", "-"
	} else {
		v["duration"], v["orig_bytes"], v["resp_bytes"] = tf(dur), ui(ob), ui(rb)
	}
	g.serial++
	return genRow{ts: ts, vals: v, kind: kind, tmpl: g.tmplFor(o, g.connF), serial: g.serial}
}

// dnsQuery is one planted query to the capture's main resolver.
type dnsQuery struct {
	t             float64
	host          netip.Addr
	port, uid     string
	transID       int
	rtt           float64 // reply time: the dns row's rtt (when answered) and its conn row's duration
	query         string
	qtype         int
	qtypeName     string
	rcode         int    // 0 NOERROR or 3 NXDOMAIN
	answers, ttls string // TSV vectors; unused for NXDOMAIN
	respBytes     int    // the reply's udp payload
}

// query plants q's dns row and returns its udp/53 conn row (same uid) for
// the caller to add. An NXDOMAIN reply carries no answer records, and Zeek
// sets rtt, AA and RA only from answer records: they stay unset / F, as in
// every NXDOMAIN row of the shared captures.
func (g *gen) query(kind string, q dnsQuery) genRow {
	rtt, aa, ra, answers, ttls, rname := tf(q.rtt), "F", "T", q.answers, q.ttls, "NOERROR"
	if q.rcode == 3 {
		rtt, ra, answers, ttls, rname = "-", "F", "-", "-", "NXDOMAIN"
	}
	dv := map[string]string{
		"ts": tf(q.t), "uid": q.uid, "id.orig_h": q.host.String(), "id.orig_p": q.port, "id.resp_h": g.resolver.String(), "id.resp_p": "53",
		"proto": "udp", "trans_id": ui(q.transID), "rtt": rtt, "query": q.query, "qclass": "1", "qclass_name": "C_INTERNET",
		"qtype": ui(q.qtype), "qtype_name": q.qtypeName, "rcode": ui(q.rcode), "rcode_name": rname, "AA": aa, "TC": "F", "RD": "T", "RA": ra,
		"Z": "0", "answers": answers, "TTLs": ttls, "rejected": "F",
	}
	g.serial++
	g.dns = append(g.dns, genRow{ts: q.t, vals: dv, kind: kind, tmpl: g.tmplFor(q.host, g.dnsF), serial: g.serial})
	qb := len(q.query) + 2 + 12 + 4
	return g.connRow(kind, q.t, q.host, q.port, g.resolver, 53, "udp", "dns", q.rtt, qb, q.respBytes, "SF", "Dd", 1, 1, q.uid)
}

func (g *gen) plant(kind string) Planted {
	p := Planted{Kind: kind}
	add := func(r genRow) {
		g.conn = append(g.conn, r)
		p.ConnRows++
		t := time.Unix(0, int64(r.ts*1e9)).UTC()
		if p.Start.IsZero() || t.Before(p.Start) {
			p.Start = t
		}
		if t.After(p.End) {
			p.End = t
		}
	}
	switch kind {
	case "scan":
		h := g.host()
		p.Host = h
		b := h.As4()
		b[2] = byte(g.r.IntN(256))
		port := []int{22, 445, 3389, 23}[g.r.IntN(4)]
		p.Peer = fmt.Sprintf("%d.%d.%d.0/24:%d", b[0], b[1], b[2], port)
		t := g.start(90)
		op := g.ephemeral()
		for i := 1; i < 255; i++ {
			b[3] = byte(i)
			dst := netip.AddrFrom4(b)
			t += 0.05 + g.r.Float64()*0.3
			if g.r.IntN(5) == 0 { // host up, port closed
				add(g.connRow(kind, t, h, op, dst, port, "tcp", "-", 0.0002+g.r.Float64()*0.002, 0, 0, "REJ", "Sr", 1, 1, g.uid()))
			} else {
				add(g.connRow(kind, t, h, op, dst, port, "tcp", "-", -1, 0, 0, "S0", "S", 1, 0, g.uid()))
			}
		}
	case "dos":
		victim := g.host()
		p.Host, p.Peer = victim, victim.String()+":80"
		t := g.start(40)
		for i := 0; i < 400; i++ {
			src := g.public()
			t += g.r.Float64() * 0.1
			r := g.connRow(kind, t, src, g.ephemeral(), victim, 80, "tcp", "-", -1, 0, 0, "S0", "S", 1, 0, g.uid())
			add(r)
		}
	case "beacon":
		h := g.host()
		c2 := g.public()
		p.Host, p.Peer = h, c2.String()+":443"
		// one C2 check-in a minute for up to two hours (faster in short captures)
		interval, length := 60.0, math.Min(g.tmax-g.tmin, 7200)
		if length < 40*interval {
			interval = math.Max(length/40, 2)
		}
		t := g.start(length)
		end := t + length
		for ; t < end; t += interval + (g.r.Float64()-0.5)*interval*0.05 {
			ob, rb := 180+g.r.IntN(80), 90+g.r.IntN(60)
			add(g.connRow(kind, t, h, g.ephemeral(), c2, 443, "tcp", "ssl", 0.15+g.r.Float64()*0.3, ob, rb, "SF", "ShADadFf", 6+g.r.IntN(3), 5+g.r.IntN(2), g.uid()))
		}
	case "dnstunnel":
		h := g.host()
		dom := []string{"cdn-sync.top", "updates-check.xyz", "telemetry-gw.net", "static-img.info"}[g.r.IntN(4)]
		zone := "t." + dom
		p.Host, p.Peer = h, dom
		t := g.start(200)
		for i := 0; i < 240; i++ {
			t += 0.3 + g.r.Float64()*0.8
			n := 24 + g.r.IntN(20)
			raw := make([]byte, n)
			for j := range raw {
				raw[j] = byte(g.r.IntN(256))
			}
			label := strings.ToLower(strings.TrimRight(b32.EncodeToString(raw), "="))
			name := label
			if len(label) > 63 {
				name = label[:63] + "." + label[63:]
			}
			q := name + "." + zone
			ttl := tf(float64(30 + g.r.IntN(270)))
			qt, qtn, ans := 16, "TXT", strings.ToLower(strings.TrimRight(b32.EncodeToString(raw[:n/2]), "="))
			if g.r.IntN(3) == 0 {
				qt, qtn, ans = 5, "CNAME", strings.ToLower(strings.TrimRight(b32.EncodeToString(raw[:8]), "="))+"."+zone
			}
			uid := g.uid()
			op := g.ephemeral()
			rtt := 0.01 + g.r.Float64()*0.08
			tid := g.r.IntN(65536)
			qb := len(q) + 2 + 12 + 4
			add(g.query(kind, dnsQuery{t: t, host: h, port: op, uid: uid, transID: tid, rtt: rtt, query: q, qtype: qt, qtypeName: qtn,
				answers: ans, ttls: ttl, respBytes: qb + len(ans) + 16}))
			p.DNSRows++
		}
	case "exfil":
		h := g.host()
		dst := g.public()
		p.Host, p.Peer = h, dst.String()+":443"
		t := g.start(60)
		for i := 0; i < 3; i++ {
			ob := 60_000_000 + g.r.IntN(140_000_000)
			rb := 200_000 + g.r.IntN(800_000)
			dur := 300 + g.r.Float64()*900
			add(g.connRow(kind, t, h, g.ephemeral(), dst, 443, "tcp", "ssl", dur, ob, rb, "SF", "ShADadFf", ob/1400+3, rb/1400+ob/2800, g.uid()))
			t += 5 + g.r.Float64()*20
		}
	case "dga":
		g.plantDGA(&p, add)
	case "offhours":
		h := g.host()
		p.Host = h
		day := time.Unix(int64(g.tmin), 0).UTC().Truncate(24 * time.Hour)
		hour := 3
		if g.history {
			day = time.Unix(int64(g.tmax), 0).UTC().Truncate(24 * time.Hour)
			hour = g.quietHour()
		}
		t := float64(day.Add(time.Duration(hour)*time.Hour).Unix()) + g.r.Float64()*600
		p.Peer = fmt.Sprintf("%02d:00 UTC", hour)
		for i := 0; i < 40; i++ {
			dst := g.public()
			t += 5 + g.r.Float64()*25
			ob, rb := 500+g.r.IntN(3000), 2000+g.r.IntN(60000)
			add(g.connRow(kind, t, h, g.ephemeral(), dst, 443, "tcp", "ssl", 0.5+g.r.Float64()*5, ob, rb, "SF", "ShADadFf", 8+g.r.IntN(10), 10+g.r.IntN(40), g.uid()))
		}
	}
	return p
}

// quietHour is the UTC hour of day for the off-hours plant: 03:00 when the
// capture has no conn row from 02:00 to 04:59 on any day, else the hour
// nearest to 03:00 that is silent along with both neighbours (replayed
// days are shifted by up to ±15 minutes), else the nearest silent hour,
// else the hour with the fewest rows.
func (g *gen) quietHour() int {
	var n [24]int
	for _, r := range g.connF.rows {
		if r.ts > 0 {
			n[time.Unix(int64(r.ts), 0).UTC().Hour()]++
		}
	}
	near := func(ok func(h int) bool) int {
		for d := 0; d <= 12; d++ {
			for _, h := range []int{(3 + d) % 24, (3 - d + 24) % 24} {
				if ok(h) {
					return h
				}
			}
		}
		return -1
	}
	if h := near(func(h int) bool { return n[(h+23)%24] == 0 && n[h] == 0 && n[(h+1)%24] == 0 }); h >= 0 {
		return h
	}
	if h := near(func(h int) bool { return n[h] == 0 }); h >= 0 {
		return h
	}
	least := slices.Min(n[:])
	return near(func(h int) bool { return n[h] == least })
}
