package features

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// goldenRows is a seeded random stream of conn, dns, http and ssl rows
// over ten windows, out of order within the lateness and a few past it,
// from 180 hosts of four kinds by index: conn rows only (i%4 == 0); conn
// rows, and dns, http and ssl rows only in the last minute of a window
// (1); everything throughout (2); no conn rows (3). Every 16th (from 0) is a
// scanner (ports and destinations past the caps). Hosts with low indices
// are busier (conn start times past the inline ones, across blocks, to
// the cap); a few rows are labelled malicious, some uids are not UTF-8.
func goldenRows() []*zeekreader.Event {
	r := rand.New(rand.NewPCG(7, 11))
	t0 := time.Date(2024, 6, 3, 9, 0, 0, 0, time.UTC)
	var hosts []netip.Addr
	for i := range 180 {
		if i%6 == 5 {
			hosts = append(hosts, netip.AddrFrom16([16]byte{0xfd, 14: byte(i >> 8), 15: byte(i)}))
		} else {
			hosts = append(hosts, netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}))
		}
	}
	states := []string{"SF", "SF", "SF", "S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR", "OTH", "S1"}
	classes := []string{"", "-", "C&C", "DDoS", "(empty)"}
	const n = 20000
	span := 50 * time.Minute
	var evs []*zeekreader.Event
	for i := range n {
		ts := t0.Add(span * time.Duration(i) / n).Add(-time.Duration(r.Int64N(int64(90 * time.Second))))
		if r.IntN(30) == 0 {
			ts = ts.Add(-time.Duration(r.Int64N(int64(12 * time.Minute)))) // some late, some reassigned
		}
		hi := r.IntN(r.IntN(len(hosts)) + 1)
		h := hosts[hi]
		uid := []byte(fmt.Sprintf("C%x", r.Uint32()))
		switch r.IntN(40) {
		case 0:
			uid = append(uid, 0xff, 0xfe)
		case 1:
			uid = nil
		}
		var label, detailed []byte
		if r.IntN(60) == 0 {
			label, detailed = []byte("Malicious"), []byte(classes[r.IntN(len(classes))])
		}
		conn := false
		switch hi % 4 {
		case 0:
			conn = true
		case 1:
			conn = ts.Sub(ts.Truncate(5*time.Minute)) < 4*time.Minute || r.IntN(4) == 0
		case 2:
			conn = r.IntN(2) == 0
		}
		if conn {
			resp := netip.AddrFrom4([4]byte{93, 184, 0, byte(r.IntN(6))})
			port := []uint16{80, 443, 53, 22}[r.IntN(4)]
			switch {
			case hi%16 == 0:
				resp = netip.AddrFrom4([4]byte{172, 16, byte(r.IntN(4)), byte(r.IntN(256))})
				port = uint16(r.IntN(3000))
			case hi%4 == 2:
				port = uint16(8000 + r.IntN(12)) // some past the inline ports
			}
			if h.Is6() {
				resp = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(r.IntN(9))})
			}
			proto := "tcp"
			if r.IntN(4) == 0 {
				proto = "udp"
			}
			dur := time.Duration(r.Int64N(int64(30 * time.Second)))
			if r.IntN(50) == 0 {
				dur = time.Duration(r.Int64N(int64(25 * time.Minute)))
			}
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, UID: uid,
				Orig: h, Resp: resp, RespP: port, Proto: []byte(proto), ConnState: []byte(states[r.IntN(len(states))]),
				OrigBytes: uint64(r.Int64N(1 << uint(r.IntN(40)))), RespBytes: uint64(r.Int64N(1 << uint(r.IntN(40)))),
				HasOrigBytes: true, HasRespBytes: true, Duration: dur, Label: label, DetailedLabel: detailed}})
			continue
		}
		switch r.IntN(3) {
		case 0:
			sub := make([]byte, r.IntN(14))
			for j := range sub {
				sub[j] = "abcdefghijklmnopqrstuvwxyz0123456789.-"[r.IntN(38)]
			}
			q := fmt.Sprintf("%s.Site%d.example.co.uk.", sub, r.IntN(60))
			if r.IntN(10) == 0 {
				q = ""
			}
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindDNS, TS: ts, DNS: &zeekreader.DNS{TS: ts, UID: uid, Orig: h,
				Query: []byte(q), RCode: uint64(r.IntN(4)), HasRCode: r.IntN(5) != 0, Label: label, DetailedLabel: detailed}})
		case 1:
			host := fmt.Sprintf("www%d.example.com", r.IntN(50))
			if r.IntN(8) == 0 {
				host = ""
			}
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindHTTP, TS: ts, HTTP: &zeekreader.HTTP{TS: ts, UID: uid, Orig: h,
				Host: []byte(host), Label: label, DetailedLabel: detailed}})
		default:
			sni := fmt.Sprintf("sni%d.example.net", r.IntN(50))
			if r.IntN(8) == 0 {
				sni = ""
			}
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindSSL, TS: ts, SSL: &zeekreader.SSL{TS: ts, UID: uid, Orig: h,
				ServerName: []byte(sni), Label: label, DetailedLabel: detailed}})
		}
	}
	return evs
}

// goldenConfig caps the sets at 40 (and the conn start times a host keeps)
// and the hosts at 130 a window, and labels some rows by their endpoints.
func goldenConfig() Config {
	cfg := DefaultConfig()
	cfg.MaxDistinct = 40
	cfg.MaxHosts = 130
	cfg.Labeler = func(orig, resp netip.Addr, ts time.Time) (string, bool) {
		if resp == netip.AddrFrom4([4]byte{93, 184, 0, 5}) && ts.Minute()%7 == 0 {
			return "labeller", true
		}
		return "", false
	}
	return cfg
}

// goldenLine is a digest of vectors, one line of testdata/golden-rows.txt.
func goldenLine(what string, vs []Vector) string {
	d := sha256.New()
	for _, v := range vs {
		fmt.Fprintf(d, "%v %d %d", v.Host, v.Start.UnixNano(), v.End.UnixNano())
		for _, x := range v.Values {
			fmt.Fprintf(d, " %016x", math.Float64bits(x))
		}
		fmt.Fprintf(d, " %v %q %d %q\n", v.Malicious, v.Class, v.Rows, v.UIDs)
	}
	return fmt.Sprintf("%s %d %x", what, len(vs), d.Sum(nil)[:12])
}

// The vectors, snapshots and stats of goldenRows are those the extractor
// gave before its accumulators shrank (testdata/golden-rows.txt, written
// by commit 5c43c5d: digests of each batch of vectors and of each
// snapshot, bit for bit; the snapshots' since version 3 added the
// windows' spans), and a snapshot restores to itself and to the
// vectors of the uninterrupted run. go test -run TestGoldenRows -update
// rewrites the file.
func TestGoldenRows(t *testing.T) {
	evs := goldenRows()
	cfg := goldenConfig()
	x := New(cfg)
	var got []string
	var wm time.Time
	var restored *Extractor // restored at the first snapshot, fed the same rows since
	var want, fromRestored []Vector
	for i, ev := range evs {
		x.Observe(ev)
		if restored != nil {
			restored.Observe(ev)
		}
		if ev.TS.After(wm) {
			wm = ev.TS
		}
		if i%41 == 40 {
			vs := x.Advance(wm)
			want = append(want, vs...)
			if restored != nil {
				fromRestored = append(fromRestored, restored.Advance(wm)...)
			}
			if len(vs) > 0 {
				got = append(got, goldenLine(fmt.Sprintf("row %d: vectors", i), vs))
			}
		}
		if i%1500 == 1000 {
			b, err := x.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("row %d: snapshot %d %x", i, len(b), sha256.Sum256(b)))
			y := New(cfg)
			if err := y.Restore(b); err != nil {
				t.Fatalf("row %d: %v", i, err)
			}
			if again, err := y.Snapshot(); err != nil || !bytes.Equal(again, b) {
				t.Errorf("row %d: the restored extractor's snapshot differs (%v)", i, err)
			}
			if restored == nil {
				restored = y
				want = want[:0]
			}
		}
	}
	vs := x.Flush()
	want = append(want, vs...)
	fromRestored = append(fromRestored, restored.Flush()...)
	got = append(got, goldenLine("flush: vectors", vs), fmt.Sprintf("stats %+v", x.Stats()))
	if !reflect.DeepEqual(fromRestored, want) {
		t.Errorf("restored at row 1000: %d vectors after, want %d, or not the same", len(fromRestored), len(want))
	}

	const path = "testdata/golden-rows.txt"
	if *update {
		if err := os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var golden []string
	for s := bufio.NewScanner(f); s.Scan(); {
		golden = append(golden, s.Text())
	}
	for i := range max(len(got), len(golden)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(golden) {
			w = golden[i]
		}
		if g != w {
			t.Fatalf("line %d of %s:\n got %s\nwant %s", i+1, path, g, w)
		}
	}
}
