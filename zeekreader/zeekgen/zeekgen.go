// Package zeekgen writes synthetic but realistic conn.log rows (TSV with the
// current Zeek header, or JSON lines) for benchmarks and scripts/bench.
package zeekgen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
)

const tsvHeader = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t2026-11-25-10-00-00\n" +
	"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n" +
	"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n"

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Options shape the traffic.
type Options struct {
	Rows  int
	Hosts int // distinct internal originators
	JSON  bool
	Seed  uint64
	Start float64 // epoch seconds of the first row
}

type row struct {
	ts                           float64
	uid                          [18]byte
	orig, resp                   string
	op, rp                       int
	proto, service, state, hist  string
	dur                          float64
	ob, rb, opk, oipb, rpk, ripb uint64
	hasDur                       bool
}

var services = []struct {
	port           int
	proto, service string
}{{443, "tcp", "ssl"}, {80, "tcp", "http"}, {53, "udp", "dns"}, {123, "udp", "ntp"}, {22, "tcp", "ssh"}, {445, "tcp", "-"}, {8080, "tcp", "http"}}

var states = []struct{ state, hist string }{{"SF", "ShADadFf"}, {"SF", "ShADadfF"}, {"S0", "S"}, {"REJ", "Sr"}, {"RSTO", "ShADadR"}, {"SH", "ShAFf"}, {"OTH", "Cd"}}

func gen(r *rand.Rand, o Options, i int, ts float64) row {
	var x row
	x.ts = ts
	x.uid[0] = 'C'
	for k := 1; k < 18; k++ {
		x.uid[k] = base62[r.IntN(62)]
	}
	h := r.IntN(max(o.Hosts, 1))
	x.orig = fmt.Sprintf("10.%d.%d.%d", 1+h>>16&0xff, h>>8&0xff, h&0xff)
	// Destinations follow a Zipf law over a pool of servers, as real
	// traffic does (a few services get most connections); a tenth of the
	// rows go to a fresh address anywhere.
	if r.IntN(10) == 0 {
		x.resp = fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(223), r.IntN(256), r.IntN(256), 1+r.IntN(254))
	} else {
		d := zipf(r, 20000)
		x.resp = fmt.Sprintf("%d.%d.%d.%d", 23+d%180, (d*7)&0xff, (d>>8)&0xff, 1+d%254)
	}
	s := services[r.IntN(len(services))]
	x.op, x.rp, x.proto, x.service = 1024+r.IntN(64000), s.port, s.proto, s.service
	st := states[0]
	if r.IntN(10) == 0 {
		st = states[r.IntN(len(states))]
	}
	x.state, x.hist = st.state, st.hist
	if st.state != "S0" && st.state != "REJ" {
		x.hasDur = true
		x.dur = r.ExpFloat64() * 2
		x.ob = uint64(r.ExpFloat64() * 800)
		x.rb = uint64(r.ExpFloat64() * 20000)
	}
	x.opk = 1 + x.ob/1200 + uint64(r.IntN(4))
	x.rpk = x.rb / 1200
	x.oipb = x.ob + 40*x.opk
	x.ripb = x.rb + 40*x.rpk
	return x
}

// zipf draws from 0..n-1 with P(k) ∝ 1/(k+1), by inverting the harmonic
// approximation (cheap, and exact enough for load generation).
func zipf(r *rand.Rand, n int) int {
	k := int(math.Exp(r.Float64()*math.Log(float64(n)+1))) - 1
	return min(max(k, 0), n-1)
}

// Write writes o.Rows rows to w.
func Write(w io.Writer, o Options) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	r := rand.New(rand.NewPCG(o.Seed, 7))
	if o.Start == 0 {
		o.Start = 1764064800 // 2025-11-25 10:00 UTC
	}
	if !o.JSON {
		bw.WriteString(tsvHeader)
	}
	ts := o.Start
	b := make([]byte, 0, 512)
	for i := 0; i < o.Rows; i++ {
		ts += r.ExpFloat64() * 0.002
		x := gen(r, o, i, ts)
		b = b[:0]
		if o.JSON {
			b = appendJSON(b, &x)
		} else {
			b = appendTSV(b, &x)
		}
		bw.Write(b)
	}
	if !o.JSON {
		bw.WriteString("#close\t2026-11-25-11-00-00\n")
	}
	return bw.Flush()
}

func appendTSV(b []byte, x *row) []byte {
	b = strconv.AppendFloat(b, x.ts, 'f', 6, 64)
	b = append(b, '\t')
	b = append(b, x.uid[:]...)
	b = append(b, '\t')
	b = append(b, x.orig...)
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(x.op), 10)
	b = append(b, '\t')
	b = append(b, x.resp...)
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(x.rp), 10)
	b = append(b, '\t')
	b = append(b, x.proto...)
	b = append(b, '\t')
	b = append(b, x.service...)
	b = append(b, '\t')
	if x.hasDur {
		b = strconv.AppendFloat(b, x.dur, 'f', 6, 64)
		b = append(b, '\t')
		b = strconv.AppendUint(b, x.ob, 10)
		b = append(b, '\t')
		b = strconv.AppendUint(b, x.rb, 10)
	} else {
		b = append(b, "-\t-\t-"...)
	}
	b = append(b, '\t')
	b = append(b, x.state...)
	b = append(b, "\tT\tF\t0\t"...)
	b = append(b, x.hist...)
	for _, v := range []uint64{x.opk, x.oipb, x.rpk, x.ripb} {
		b = append(b, '\t')
		b = strconv.AppendUint(b, v, 10)
	}
	return append(b, "\t(empty)\n"...)
}

func appendJSON(b []byte, x *row) []byte {
	b = append(b, `{"ts":`...)
	b = strconv.AppendFloat(b, x.ts, 'f', 6, 64)
	b = append(b, `,"uid":"`...)
	b = append(b, x.uid[:]...)
	b = append(b, `","id.orig_h":"`...)
	b = append(b, x.orig...)
	b = append(b, `","id.orig_p":`...)
	b = strconv.AppendInt(b, int64(x.op), 10)
	b = append(b, `,"id.resp_h":"`...)
	b = append(b, x.resp...)
	b = append(b, `","id.resp_p":`...)
	b = strconv.AppendInt(b, int64(x.rp), 10)
	b = append(b, `,"proto":"`...)
	b = append(b, x.proto...)
	b = append(b, '"')
	if x.service != "-" {
		b = append(b, `,"service":"`...)
		b = append(b, x.service...)
		b = append(b, '"')
	}
	if x.hasDur {
		b = append(b, `,"duration":`...)
		b = strconv.AppendFloat(b, x.dur, 'f', 6, 64)
		b = append(b, `,"orig_bytes":`...)
		b = strconv.AppendUint(b, x.ob, 10)
		b = append(b, `,"resp_bytes":`...)
		b = strconv.AppendUint(b, x.rb, 10)
	}
	b = append(b, `,"conn_state":"`...)
	b = append(b, x.state...)
	b = append(b, `","local_orig":true,"local_resp":false,"missed_bytes":0,"history":"`...)
	b = append(b, x.hist...)
	b = append(b, `","orig_pkts":`...)
	b = strconv.AppendUint(b, x.opk, 10)
	b = append(b, `,"orig_ip_bytes":`...)
	b = strconv.AppendUint(b, x.oipb, 10)
	b = append(b, `,"resp_pkts":`...)
	b = strconv.AppendUint(b, x.rpk, 10)
	b = append(b, `,"resp_ip_bytes":`...)
	b = strconv.AppendUint(b, x.ripb, 10)
	return append(b, "}\n"...)
}
