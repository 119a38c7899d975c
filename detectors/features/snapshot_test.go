package features

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

var update = flag.Bool("update", false, "rewrite testdata/snapshot-v*.json and testdata/golden-rows.txt")

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
				OrigBytes: uint64(i * 7), RespBytes: uint64(i * 31 % 1000), HasOrigBytes: true, HasRespBytes: true,
				Duration: time.Duration(i%9) * time.Second,
				Label:    label, DetailedLabel: []byte("C&C")}})
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

// A window whose rows added nothing to any set (a dns row without a query,
// http without a host, ssl without an SNI) has no set pages: Snapshot
// panicked on it (found by FuzzDetectors, at a checkpoint of run). The
// snapshot restores to the same vectors.
func TestSnapshotWindowWithoutSets(t *testing.T) {
	ts := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	h := netip.MustParseAddr("10.0.0.1")
	for _, ev := range []*zeekreader.Event{
		{Kind: zeekreader.KindDNS, TS: ts, DNS: &zeekreader.DNS{TS: ts, Orig: h}},
		{Kind: zeekreader.KindHTTP, TS: ts, HTTP: &zeekreader.HTTP{TS: ts, Orig: h}},
		{Kind: zeekreader.KindSSL, TS: ts, SSL: &zeekreader.SSL{TS: ts, Orig: h}},
	} {
		x := New(DefaultConfig())
		x.Observe(ev)
		b, err := x.Snapshot()
		if err != nil {
			t.Fatalf("%s: %v", ev.Kind, err)
		}
		y := New(DefaultConfig())
		if err := y.Restore(b); err != nil {
			t.Fatalf("%s: %v", ev.Kind, err)
		}
		if got, want := y.Flush(), x.Flush(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: restored %+v, want %+v", ev.Kind, got, want)
		}
	}
}

// A uid that is not valid UTF-8 comes back from a snapshot byte for byte:
// as a JSON string it read back with U+FFFD for each bad byte (three
// bytes each), and a long one was cut shorter at maxUIDLen, so a restarted
// run explained its notices with other uids (found by FuzzDetectors).
func TestSnapshotKeepsUIDBytes(t *testing.T) {
	ts := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	h := netip.MustParseAddr("10.0.0.1")
	for _, uid := range [][]byte{[]byte("CabcdefghijklmnopQ"), []byte("C\xff\xfe"), bytes.Repeat([]byte("\xff00000"), maxUIDLen/6+1)} {
		x := New(DefaultConfig())
		x.Observe(&zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, Orig: h, UID: uid,
			Resp: netip.MustParseAddr("10.0.0.2"), Proto: []byte("tcp"), ConnState: []byte("SF")}})
		b, err := x.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		y := New(DefaultConfig())
		if err := y.Restore(b); err != nil {
			t.Fatal(err)
		}
		got, want := y.Flush(), x.Flush()
		if len(got) != 1 || !reflect.DeepEqual(got, want) {
			t.Errorf("uid of %d bytes: restored %q, want %q", len(uid), got[0].UIDs, want[0].UIDs)
		}
	}
}

// Snapshots (version 2) keep the sets' hashes, so the hashes must not
// change: these are the values version 2 was written with. Keys
// netip.Addr tells apart stay apart.
func TestHashesStable(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"10.1.2.3", hashAddr(netip.MustParseAddr("10.1.2.3")), 201388005783861595},
		{"10.1.2.3 as a key", keyOf(netip.MustParseAddr("10.1.2.3")).hash(), 201388005783861595},
		{"port 443", hashPort(443), 10535479020567031620},
		{"example.com", hashString("example.com"), 13930247685507406497},
		{"example.com bytes", hashString([]byte("example.com")), 13930247685507406497},
		{"2001:db8::1", hashAddr(netip.MustParseAddr("2001:db8::1")), 5519345828414429086},
	} {
		if c.got != c.want {
			t.Errorf("%s: hash %d, want %d", c.name, c.got, c.want)
		}
	}
	seen := map[uint64]netip.Addr{}
	addrs := []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("::ffff:10.1.2.3"),
		netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::"), netip.MustParseAddr("0.0.0.0"), {},
		netip.MustParseAddr("10.1.2.4"), netip.MustParseAddr("255.0.0.1"), netip.MustParseAddr("fe80::1")}
	for _, a := range addrs {
		for _, b := range addrs {
			if keyOf(a).less(keyOf(b)) != a.Less(b) {
				t.Errorf("%s < %s: %v", a, b, a.Less(b))
			}
		}
		if k := keyOf(a); k.addr() != a {
			t.Errorf("%s round-trips to %s", a, k.addr())
		}
		h := hashAddr(a)
		if o, dup := seen[h]; dup || h == 0 {
			t.Errorf("%s and %s share hash %d", a, o, h)
		}
		seen[h] = a
	}
}

func TestUnhashPort(t *testing.T) {
	for p := 0; p < 1<<16; p++ {
		if q := unhashPort(hashPort(uint16(p))); q != uint16(p) {
			t.Fatalf("port %d comes back as %d", p, q)
		}
	}
}

// Ports move from the accumulator to a set past inlinePorts, and the cap
// applies to both.
func TestPorts(t *testing.T) {
	for _, limit := range []int{3, inlinePorts, 20} {
		w := newWinState(limit)
		w.reset(time.Time{}, time.Time{})
		a := w.find(keyOf(netip.MustParseAddr("10.0.0.1")), 10)
		dropped := 0
		for i := 0; i < 50; i++ {
			if !w.addPort(a, uint16(i%30*1000), limit) {
				dropped++
			}
		}
		// 30 distinct ports, then the first 20 again: a repeat is
		// dropped when the port was
		want := min(limit, 30)
		if w.distinctPorts(a) != want || dropped != 30-want+max(0, 20-want) {
			t.Errorf("max %d: %d ports, %d dropped", limit, w.distinctPorts(a), dropped)
		}
		if got := w.portList(a); len(got) != want || got[0] != 0 {
			t.Errorf("max %d: ports %v", limit, got)
		}
	}
}

// A Capture copies the open windows: encoded after more rows (windows
// closed, their storage reused, sets grown), it is the snapshot of its
// moment, taken at every 25th row.
func TestCaptureCopies(t *testing.T) {
	evs := mixedRows()
	cfg := DefaultConfig()
	cfg.MaxDistinct = 12
	x := New(cfg)
	var wants [][]byte
	var encodes []func(io.Writer) error
	for i := range evs {
		if i%25 == 0 {
			b, err := x.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			wants, encodes = append(wants, b), append(encodes, x.Capture())
		}
		runRows(x, evs[i:i+1])
	}
	x.Flush()
	for i := range wants {
		var got bytes.Buffer
		if err := encodes[i](&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), wants[i]) {
			t.Fatalf("capture %d of %d differs from the snapshot at its moment", i+1, len(wants))
		}
	}
}

// The snapshot is written a host at a time, as json.Marshal would write
// the whole: what it holds, marshalled again, is the same bytes (with no
// window, one, and several with hosts whose uids are not UTF-8).
func TestSnapshotStreamed(t *testing.T) {
	evs := mixedRows()
	for i, ev := range evs {
		if c := ev.Conn; c != nil && i%9 == 0 {
			c.UID = append([]byte{0xff}, c.UID...)
		}
	}
	x := New(DefaultConfig())
	for i := range evs {
		if i == 0 || i == 1 || i%40 == 0 || i == len(evs)-1 {
			b, err := x.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			var s snapshot
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatalf("row %d: %v\n%s", i, err, b)
			}
			want, err := json.Marshal(&s)
			if err != nil {
				t.Fatal(err)
			}
			if i == len(evs)-1 && (len(s.Windows) < 2 || !bytes.Contains(b, []byte(`"uid_bytes"`))) {
				t.Fatalf("the last snapshot has %d windows, want several, and uids not UTF-8:\n%s", len(s.Windows), b)
			}
			if !bytes.Equal(b, want) {
				t.Fatalf("row %d: streamed\n%s\nmarshalled\n%s", i, b, want)
			}
		}
		runRows(x, evs[i:i+1])
	}
}
