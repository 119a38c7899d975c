package features

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

var update = flag.Bool("update", false, "rewrite testdata/snapshot-v*.json")

// mixedRows is a deterministic stream over three windows: IPv4 and IPv6
// hosts, conn, dns, http and ssl rows, labels, repeated and new
// destinations, and more uids than a vector keeps.
func mixedRows() []*zeekreader.Event {
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	hosts := []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"),
		netip.MustParseAddr("fd00::7"), netip.MustParseAddr("192.168.1.9")}
	var evs []*zeekreader.Event
	for i := 0; i < 600; i++ {
		ts := t0.Add(time.Duration(i) * 1300 * time.Millisecond)
		h := hosts[i%len(hosts)]
		uid := []byte(fmt.Sprintf("C%05d", i))
		label := []byte("benign")
		if i%97 == 5 {
			label = []byte("Malicious")
		}
		switch i % 7 {
		case 0, 1, 2, 3:
			resp := netip.AddrFrom4([4]byte{93, 184, byte(i % 5), byte(i % 37)})
			if h.Is6() {
				resp = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i % 23)})
			}
			proto, state := "tcp", "SF"
			if i%5 == 0 {
				proto = "udp"
			}
			if i%11 == 0 {
				state = "S0"
			}
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, UID: uid,
				Orig: h, Resp: resp, RespP: uint16(80 + i%13), Proto: []byte(proto), ConnState: []byte(state),
				OrigBytes: uint64(i * 7), RespBytes: uint64(i * 31 % 1000), Duration: time.Duration(i%9) * time.Second,
				Label: label, DetailedLabel: []byte("C&C")}})
		case 4:
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindDNS, TS: ts, DNS: &zeekreader.DNS{TS: ts, UID: uid, Orig: h,
				Query: []byte(fmt.Sprintf("x%dq.host%d.Example.co.uk.", i%17, i%3)), RCode: uint64(i % 4), HasRCode: true, Label: label}})
		case 5:
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindHTTP, TS: ts, HTTP: &zeekreader.HTTP{TS: ts, UID: uid, Orig: h,
				Host: []byte(fmt.Sprintf("www%d.example.com", i%6))}})
		case 6:
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindSSL, TS: ts, SSL: &zeekreader.SSL{TS: ts, UID: uid, Orig: h,
				ServerName: []byte(fmt.Sprintf("sni%d.example.net", i%4))}})
		}
	}
	return evs
}

// runRows feeds evs, advancing the watermark every 50 rows, and returns
// every vector.
func runRows(x *Extractor, evs []*zeekreader.Event) []Vector {
	var out []Vector
	for i, ev := range evs {
		x.Observe(ev)
		if i%50 == 49 {
			out = append(out, x.Advance(ev.TS)...)
		}
	}
	return out
}

// A snapshot taken mid-stream, restored into a new extractor, gives the
// same vectors as the uninterrupted run; so does the version-1 snapshot
// (exact sets as element lists) written by the extractor before hashed
// sets, at the same point.
func TestSnapshotRestore(t *testing.T) {
	evs := mixedRows()
	const cut = 333
	cfg := DefaultConfig()
	cfg.MaxDistinct = 12 // some sets hit the cap
	whole := New(cfg)
	want := append(runRows(whole, evs), whole.Flush()...)

	x := New(cfg)
	before := runRows(x, evs[:cut])
	b, err := x.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, b []byte) {
		t.Helper()
		y := New(cfg)
		if err := y.Restore(b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := append(append(append([]Vector(nil), before...), runRows(y, evs[cut:])...), y.Flush()...)
		if len(got) != len(want) {
			t.Fatalf("%s: %d vectors, want %d", name, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("%s: vector %d\n got %+v\nwant %+v", name, i, got[i], want[i])
			}
		}
		if y.Stats() != whole.Stats() {
			t.Errorf("%s: stats %+v, want %+v", name, y.Stats(), whole.Stats())
		}
	}
	check("current", b)
	path := fmt.Sprintf("testdata/snapshot-v%d.json", snapshotVersion)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for v := 1; v <= snapshotVersion; v++ {
		old, err := os.ReadFile(fmt.Sprintf("testdata/snapshot-v%d.json", v))
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("version %d", v), old)
	}
	if err := New(cfg).Restore([]byte(`{"version":99}`)); err == nil {
		t.Error("version 99 restored")
	}
}
