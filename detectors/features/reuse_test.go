package features

import (
	"fmt"
	"math/rand"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/output/metrics"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// windowRows is one 5-minute window of mixed rows from hosts: heavy hosts
// (many destinations, ports, names, times and uids, past the caps and past
// inlinePorts) and light ones, IPv4 and IPv6, some labelled.
func windowRows(start time.Time, hosts []netip.Addr, heavy bool, seed int64) []*zeekreader.Event {
	r := rand.New(rand.NewSource(seed))
	n := 60
	if heavy {
		n = 1500
	}
	var evs []*zeekreader.Event
	for i := 0; i < n; i++ {
		ts := start.Add(time.Duration(r.Int63n(int64(4 * time.Minute))))
		h := hosts[r.Intn(len(hosts))]
		uid := []byte(fmt.Sprintf("C%d-%d", seed, i))
		var label, detailed []byte
		if r.Intn(50) == 0 {
			label, detailed = []byte("Malicious"), []byte(fmt.Sprintf("class%d", seed))
		}
		spread := 4
		if heavy {
			spread = 400
		}
		switch r.Intn(6) {
		case 0, 1, 2:
			resp := netip.AddrFrom4([4]byte{93, byte(seed), byte(r.Intn(spread) >> 8), byte(r.Intn(spread))})
			if r.Intn(3) == 0 {
				resp = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(seed), 15: byte(r.Intn(spread))})
			}
			proto := "tcp"
			if r.Intn(4) == 0 {
				proto = "udp"
			}
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, UID: uid,
				Orig: h, Resp: resp, RespP: uint16(r.Intn(spread*3) + 1), Proto: []byte(proto), ConnState: []byte("SF"),
				OrigBytes: uint64(r.Intn(5000)), RespBytes: uint64(r.Intn(5000)), Duration: time.Duration(r.Intn(5000)) * time.Millisecond,
				Label: label, DetailedLabel: detailed}})
		case 3:
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindDNS, TS: ts, DNS: &zeekreader.DNS{TS: ts, UID: uid, Orig: h,
				Query: []byte(fmt.Sprintf("q%d.d%d.example%d.com", r.Intn(9), r.Intn(spread), seed)), RCode: uint64(r.Intn(4)), HasRCode: true,
				Label: label, DetailedLabel: detailed}})
		case 4:
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindHTTP, TS: ts, HTTP: &zeekreader.HTTP{TS: ts, UID: uid, Orig: h,
				Host: []byte(fmt.Sprintf("w%d.example%d.org", r.Intn(spread), seed))}})
		default:
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindSSL, TS: ts, SSL: &zeekreader.SSL{TS: ts, UID: uid, Orig: h,
				ServerName: []byte(fmt.Sprintf("s%d.example%d.net", r.Intn(spread), seed))}})
		}
	}
	return evs
}

func addrs(prefix string, n int) []netip.Addr {
	var out []netip.Addr
	for i := 1; i <= n; i++ {
		out = append(out, netip.MustParseAddr(fmt.Sprintf(prefix, i)))
	}
	return out
}

// covered clears the vectors' Unobserved: what the input covered of a
// window depends on the windows before it (Extractor.observed), which a
// fresh extractor has not seen.
func covered(vs []Vector) []Vector {
	for i := range vs {
		vs[i].Unobserved = 0
	}
	return vs
}

// A window built in storage reused from a closed one (other hosts, more of
// them, fuller sets and chains) gives the vectors a fresh extractor gives
// for its rows alone: nothing of the earlier hosts' sets, times, uids or
// classes shows through; the caps on hosts and sets apply the same way.
func TestReusedWindowMatchesFresh(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	cfg := DefaultConfig()
	cfg.MaxDistinct = 100
	cfg.MaxHosts = 12
	hostSets := [][]netip.Addr{addrs("10.1.0.%d", 20), addrs("fd00::%x", 6), addrs("10.2.0.%d", 3),
		append(addrs("10.1.0.%d", 2), addrs("fd00::1:%x", 2)...)}
	x := New(cfg)
	for k := 0; k < 10; k++ {
		start := t0.Add(time.Duration(k) * 5 * time.Minute)
		evs := windowRows(start, hostSets[k%len(hostSets)], k%2 == 0, int64(k))
		for _, ev := range evs {
			x.Observe(ev)
		}
		// closes window k alone (the next one has no rows yet)
		got := x.Advance(start.Add(5*time.Minute + cfg.Lateness))
		fresh := New(cfg)
		for _, ev := range evs {
			fresh.Observe(ev)
		}
		want := fresh.Flush()
		if len(want) == 0 || !reflect.DeepEqual(covered(got), covered(want)) {
			t.Fatalf("window %d: %d vectors, fresh %d\n got %+v\nwant %+v", k, len(got), len(want), got, want)
		}
	}
	if s := x.Stats(); s.RefusedRows == 0 || s.CappedSets == 0 {
		t.Fatalf("caps not reached: %+v", s)
	}
}

// A snapshot taken mid-window and restored into an extractor that has
// already run (its spare windows hold other hosts' storage) continues as
// the uninterrupted run.
func TestRestoreIntoUsedExtractor(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	cfg := DefaultConfig()
	cfg.MaxDistinct = 100
	var evs []*zeekreader.Event
	for k := 0; k < 4; k++ {
		evs = append(evs, windowRows(t0.Add(time.Duration(k)*5*time.Minute), addrs("10.3.0.%d", 8), true, int64(20+k))...)
	}
	sortByTS(evs)
	whole := New(cfg)
	want := append(runRows(whole, evs), whole.Flush()...)

	const cut = 2500 // inside the third window, the second still open
	x := New(cfg)
	before := runRows(x, evs[:cut])
	b, err := x.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	y := New(cfg)
	for k := 0; k < 3; k++ {
		start := t0.Add(time.Duration(k) * 5 * time.Minute)
		for _, ev := range windowRows(start, addrs("fd00::%x", 30), true, int64(40+k)) {
			y.Observe(ev)
		}
		y.Advance(start.Add(7 * time.Minute))
	}
	y.Observe(evs[len(evs)-1]) // an open window of its own, to be replaced
	if err := y.Restore(b); err != nil {
		t.Fatal(err)
	}
	got := append(append(before, runRows(y, evs[cut:])...), y.Flush()...)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%d vectors, want %d", len(got), len(want))
	}
}

func sortByTS(evs []*zeekreader.Event) {
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].TS.Before(evs[j-1].TS); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

// SkipBelow leaves out the host-windows with fewer rows and still counts
// them: an extractor that skips returns the vectors of one that does not,
// less the small ones, with the same stats; SkipBelow(0) returns all again.
func TestSkipBelow(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	cfg := DefaultConfig()
	cfg.MinRows = 2 // the skip starts above the extractor's own bound
	all, skip := New(cfg), New(cfg)
	hosts := append(addrs("10.1.0.%d", 12), addrs("fd00::%x", 8)...)
	skipped := 0
	for k := 0; k < 6; k++ {
		start := t0.Add(time.Duration(k) * 5 * time.Minute)
		for _, ev := range windowRows(start, hosts, false, int64(k)) {
			all.Observe(ev)
			skip.Observe(ev)
		}
		rows := 4 * (k % 2) // off, on, off...
		skip.SkipBelow(rows)
		want := all.Advance(start.Add(5*time.Minute + cfg.Lateness))
		got := skip.Advance(start.Add(5*time.Minute + cfg.Lateness))
		kept := want[:0:0]
		for _, v := range want {
			if v.Rows >= rows {
				kept = append(kept, v)
			}
		}
		skipped += len(want) - len(kept)
		if len(kept) == 0 || !reflect.DeepEqual(got, kept) {
			t.Fatalf("window %d, skip below %d: %d vectors, want %d of %d", k, rows, len(got), len(kept), len(want))
		}
		if skip.Stats() != all.Stats() {
			t.Fatalf("window %d: stats %+v, want %+v", k, skip.Stats(), all.Stats())
		}
	}
	if skipped == 0 {
		t.Fatal("nothing skipped")
	}
}

// A window opened while a busier one is still open is sized for its hosts
// (reserve) and gives the vectors a fresh extractor gives for its rows.
func TestReservedWindowMatchesFresh(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	cfg := DefaultConfig()
	x := New(cfg)
	for _, ev := range windowRows(t0, append(addrs("10.3.%d.1", 250), addrs("fd00::2:%x", 200)...), true, 1) {
		x.Observe(ev)
	}
	second := windowRows(t0.Add(5*time.Minute), append(addrs("10.4.0.%d", 30), addrs("10.3.%d.1", 20)...), true, 2)
	for _, ev := range second {
		x.Observe(ev)
	}
	if len(x.open) != 2 || cap(x.open[1].accs) < len(x.open[0].accs) || len(x.open[0].accs) < 300 {
		t.Fatalf("second window not reserved: %d windows", len(x.open))
	}
	fresh := New(cfg)
	for _, ev := range second {
		fresh.Observe(ev)
	}
	got, want := x.Flush(), fresh.Flush()
	got = got[len(got)-len(want):]
	if len(want) == 0 || !reflect.DeepEqual(covered(got), covered(want)) {
		t.Fatalf("%d vectors, fresh %d", len(got), len(want))
	}
}

// The rows a full window refuses are rows, not hosts: as EvictedHosts
// they were the metrics' zeekanom_hosts_evicted_total{detector="iforest"}
// (a flood's 1.5M rows read as hosts evicted), whose name the metrics pick
// by (evicted, evicted_hosts, hosts_evicted).
func TestRefusedRowsAreNotEvictedHosts(t *testing.T) {
	st := metrics.Flatten(Stats{RefusedRows: 7})
	for _, k := range []string{"evicted", "evicted_hosts", "hosts_evicted"} {
		if _, ok := st[k]; ok {
			t.Errorf("stat %q: %v", k, st)
		}
	}
	if st["refused_rows"] != 7 {
		t.Errorf("refused_rows: %v", st)
	}
}
