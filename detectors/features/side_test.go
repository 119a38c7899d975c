package features

import (
	"encoding/json"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// A host-window takes a side record at its first dns, http or ssl row,
// ninth port or malicious label, and not before: a host with conn rows
// to a few ports has none, and one whose dns row comes last keeps the
// conn counts it had.
func TestSideRecordWhenNeeded(t *testing.T) {
	ts := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	conn := func(h string, port uint16, label string) *zeekreader.Event {
		return &zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, Orig: netip.MustParseAddr(h),
			Resp: netip.MustParseAddr("10.9.0.1"), RespP: port, Proto: []byte("udp"), ConnState: []byte("S0"), Label: []byte(label)}}
	}
	x := New(DefaultConfig())
	for p := range uint16(inlinePorts) {
		x.Observe(conn("10.0.0.1", p, ""))
		x.Observe(conn("10.0.0.2", p, ""))
		x.Observe(conn("10.0.0.3", p, ""))
	}
	w := x.cur
	if w.sides.n != 0 {
		t.Fatalf("conn rows to %d ports: side records taken", inlinePorts)
	}
	x.Observe(conn("10.0.0.4", 1, "Malicious"))
	x.Observe(conn("10.0.0.2", inlinePorts, ""))
	x.Observe(&zeekreader.Event{Kind: zeekreader.KindDNS, TS: ts, DNS: &zeekreader.DNS{TS: ts, Orig: netip.MustParseAddr("10.0.0.3"),
		Query: []byte("a.example.com"), HasRCode: true, RCode: 3}})
	for i, want := range []bool{false, true, true, true} {
		if a := &w.accs[i]; (a.side != 0) != want {
			t.Errorf("%v: side record %d, want one: %v", a.key().addr(), a.side, want)
		}
	}
	vs := x.Flush()
	for i, want := range [][]float64{
		{0: 8, 1: 1, 2: 8, 3: 1, 7: 1},
		{0: 9, 1: 1, 2: 9, 3: 1, 7: 1},
		{0: 8, 1: 1, 2: 8, 3: 1, 7: 1, 9: 1, 10: 1, 11: 1, 13: 13},
	} {
		for j, v := range want {
			if got := vs[i].Values[j]; got != v {
				t.Errorf("%v: %s %v, want %v", vs[i].Host, Names[j], got, v)
			}
		}
	}
	if vs[3].Class != "malicious" {
		t.Errorf("class %q", vs[3].Class)
	}
}

// A host-window of math.MaxUint32 rows takes no more: its counts, uint32,
// would wrap (the row is counted as evicted).
func TestRowsStopAtTheLimit(t *testing.T) {
	ts := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	ev := connEv(ts, "10.0.0.1", "10.0.0.2", 80, "SF", 1, 1, "")
	x := New(DefaultConfig())
	x.Observe(ev)
	x.cur.accs[0].rows = math.MaxUint32 - 1
	x.Observe(ev)
	x.Observe(ev)
	vs := x.Flush()
	if len(vs) != 1 || vs[0].Rows != math.MaxUint32 || vs[0].Values[0] != 2 || x.Stats().RefusedRows != 1 {
		t.Fatalf("%d vectors, %+v, stats %+v", len(vs), vs[0], x.Stats())
	}
}

// Restore refuses a snapshot whose counts an accumulator cannot hold as
// they are (fractions, -0, negative, past rows or 2^32-1), and leaves
// the extractor as it was.
func TestRestoreRefusesCounts(t *testing.T) {
	evs := mixedRows()
	x := New(DefaultConfig())
	runRows(x, evs[:200])
	good, err := x.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		set  func(h *snapHost)
	}{
		{"conns 1.5", func(h *snapHost) { h.Conns = 1.5 }},
		{"failed -0", func(h *snapHost) { h.Failed = math.Copysign(0, -1) }},
		{"udp -1", func(h *snapHost) { h.UDP = -1 }},
		{"dns past rows", func(h *snapHost) { h.DNS = float64(h.Rows + 1) }},
		{"nx 1e300", func(h *snapHost) { h.NX = 1e300 }},
		{"http 0.25", func(h *snapHost) { h.HTTP = 0.25 }},
		{"ssl past rows", func(h *snapHost) { h.SSL = float64(h.Rows) + 0.5 }},
		{"rows -1", func(h *snapHost) { h.Rows = -1 }},
		{"rows 2^32", func(h *snapHost) { h.Rows, h.Conns = 1<<32, 1<<32 }},
		{"a host twice", nil},
	} {
		var s snapshot
		if err := json.Unmarshal(good, &s); err != nil {
			t.Fatal(err)
		}
		if hs := &s.Windows[len(s.Windows)-1].Hosts; c.set != nil {
			c.set(&(*hs)[1])
		} else {
			// a second entry for a host (restored, the two were merged
			// into one accumulator: rows of one, sets and DNS counts of
			// both)
			*hs = append(*hs, (*hs)[0])
		}
		b, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.Restore(b); err == nil {
			t.Errorf("%s: restored", c.name)
		}
		if now, err := x.Snapshot(); err != nil || string(now) != string(good) {
			t.Fatalf("%s: refused, the extractor changed (%v)", c.name, err)
		}
	}
	var s snapshot
	if err := json.Unmarshal(good, &s); err != nil {
		t.Fatal(err)
	}
	h := &s.Windows[len(s.Windows)-1].Hosts[1]
	h.Rows, h.Conns, h.Failed = math.MaxUint32, math.MaxUint32, math.MaxUint32
	b, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Restore(b); err != nil {
		t.Errorf("counts of 2^32-1: %v", err)
	}
}
