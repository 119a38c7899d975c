package features

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/zeekanom/zeekanom/zeekreader"
)

func connEv(ts time.Time, src, dst string, port uint16, state string, ob, rb uint64, label string) *zeekreader.Event {
	return &zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, UID: []byte("C1"),
		Orig: netip.MustParseAddr(src), Resp: netip.MustParseAddr(dst), RespP: port, Proto: []byte("tcp"),
		ConnState: []byte(state), OrigBytes: ob, RespBytes: rb, HasOrigBytes: true, HasRespBytes: true,
		Duration: 2 * time.Second, Label: []byte(label)}}
}

func TestVector(t *testing.T) {
	x := New(DefaultConfig())
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	x.Observe(connEv(t0, "10.0.0.1", "1.1.1.1", 80, "SF", 100, 1000, "benign"))
	x.Observe(connEv(t0.Add(time.Second), "10.0.0.1", "1.1.1.2", 443, "S0", 0, 0, "Malicious"))
	x.Observe(connEv(t0.Add(2*time.Second), "10.0.0.1", "1.1.1.2", 443, "REJ", 0, 0, ""))
	x.Observe(&zeekreader.Event{Kind: zeekreader.KindDNS, TS: t0, DNS: &zeekreader.DNS{TS: t0, Orig: netip.MustParseAddr("10.0.0.1"),
		Query: []byte("abc.example.co.uk"), RCode: 3, HasRCode: true, DetailedLabel: []byte("x")}})
	x.Observe(connEv(t0.Add(6*time.Minute), "10.0.0.2", "1.1.1.1", 80, "SF", 1, 1, ""))
	if vs := x.Advance(t0.Add(6 * time.Minute)); len(vs) != 0 {
		t.Fatalf("window closed before lateness: %d", len(vs))
	}
	vs := x.Advance(t0.Add(7*time.Minute + time.Second))
	if len(vs) != 1 {
		t.Fatalf("got %d vectors", len(vs))
	}
	v := vs[0].Values
	want := map[string]float64{"conn_count": 3, "distinct_dst_ips": 2, "distinct_dst_ports": 2, "failed_ratio": 2.0 / 3,
		"bytes_out": 100, "bytes_in": 1000, "mean_duration": 2, "dns_queries": 1, "nxdomain_ratio": 1, "distinct_domains": 1,
		"mean_query_len": 17, "interarrival_cv": 0, "out_in_ratio": math.Log(101.0 / 1001)}
	for i, n := range Names {
		if w, ok := want[n]; ok && math.Abs(v[i]-w) > 1e-9 {
			t.Errorf("%s = %v, want %v", n, v[i], w)
		}
	}
	if !vs[0].Malicious || vs[0].Rows != 4 {
		t.Fatalf("label/rows: %+v", vs[0])
	}
	// a late row for the closed window is counted, not added
	x.Observe(connEv(t0, "10.0.0.1", "1.1.1.1", 80, "SF", 1, 1, ""))
	if x.Stats().LateRows != 1 {
		t.Fatal("late row not counted")
	}
	// a long connection logged at its end lands in the window of its end
	long := connEv(t0.Add(time.Minute), "10.0.0.3", "1.1.1.1", 443, "SF", 5e8, 1e5, "")
	long.Conn.Duration = 9 * time.Minute
	x.Observe(long)
	if x.Stats().Reassigned != 1 {
		t.Fatalf("stats %+v", x.Stats())
	}
	if vs := x.Flush(); len(vs) != 2 || vs[0].Host.String() != "10.0.0.2" || vs[1].Host.String() != "10.0.0.3" || vs[1].Values[4] != 5e8 || !vs[1].Start.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("flush: %+v", vs)
	}
}

// A window's vectors come in address order (IPv4 before IPv6, as
// netip.Addr.Less), and a host with fewer than minCVTimes conns has
// interarrival_cv 1 without its times being read.
func TestCloseOrder(t *testing.T) {
	x := New(DefaultConfig())
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		h := fmt.Sprintf("10.%d.%d.%d", r.IntN(2), r.IntN(40), r.IntN(256))
		if r.IntN(3) == 0 {
			h = fmt.Sprintf("2001:db8::%x:%x", r.IntN(2), r.IntN(800))
		}
		x.Observe(connEv(t0.Add(time.Duration(r.IntN(240e3))*time.Millisecond), h, "1.1.1.1", 80, "SF", 1, 1, ""))
	}
	vs := x.Flush()
	if len(vs) < 1000 {
		t.Fatalf("%d vectors", len(vs))
	}
	few := 0
	for i, v := range vs {
		if i > 0 && !vs[i-1].Host.Less(v.Host) {
			t.Fatalf("vector %d: %s after %s", i, v.Host, vs[i-1].Host)
		}
		if v.Values[0] < minCVTimes {
			few++
			if v.Values[8] != 1 {
				t.Fatalf("%s: %v conns, interarrival_cv %v", v.Host, v.Values[0], v.Values[8])
			}
		}
	}
	if few == 0 || few == len(vs) {
		t.Fatalf("%d of %d vectors with few conns", few, len(vs))
	}
}

func TestSplitEntropy(t *testing.T) {
	for _, c := range []struct{ name, reg, sub string }{
		{"www.google.com", "google.com", "www"},
		{"a.b.example.co.uk", "example.co.uk", "a.b"},
		{"example.com", "example.com", ""},
		{"4.3.2.1.in-addr.arpa", "arpa", ""},
	} {
		r, s := SplitDomain(c.name)
		if r != c.reg || s != c.sub {
			t.Errorf("%s: %q %q", c.name, r, s)
		}
	}
	if Entropy("aaaa") != 0 || math.Abs(Entropy("abcd")-2) > 1e-9 {
		t.Fatal("entropy")
	}
}

func TestRisk(t *testing.T) {
	for _, c := range []struct{ ratio, want float64 }{{1, 50}, {2, 73.9}, {4, 88.9}, {10, 96.9}, {0, 0}} {
		if r := Risk(c.ratio); math.Abs(r-c.want) > 0.1 {
			t.Errorf("Risk(%v) = %v, want %v", c.ratio, r, c.want)
		}
	}
	if BoundedRatio(0.7, 0.7) != 1 || math.Abs(BoundedRatio(0.85, 0.7)-2) > 1e-9 || !math.IsInf(BoundedRatio(1, 0.7), 1) {
		t.Fatal("BoundedRatio")
	}
}

func BenchmarkExtract(b *testing.B) {
	evs := make([]*zeekreader.Event, 4096)
	t0 := time.Unix(1e9, 0)
	for i := range evs {
		if i%3 == 0 {
			evs[i] = &zeekreader.Event{Kind: zeekreader.KindDNS, DNS: &zeekreader.DNS{Orig: netip.AddrFrom4([4]byte{10, 0, 0, byte(i % 50)}),
				Query: []byte(fmt.Sprintf("www%d.example%d.com", i%40, i%90)), HasRCode: true}}
			continue
		}
		evs[i] = connEv(t0, netip.AddrFrom4([4]byte{10, 0, 0, byte(i % 50)}).String(), netip.AddrFrom4([4]byte{93, 0, byte(i % 7), byte(i % 200)}).String(), uint16(i%30), "SF", 100, 1000, "")
	}
	x := New(DefaultConfig())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := evs[i%len(evs)]
		ts := t0.Add(time.Duration(i) * time.Millisecond)
		ev.TS = ts
		if ev.Conn != nil {
			ev.Conn.TS = ts
		} else {
			ev.DNS.TS = ts
		}
		x.Observe(ev)
		if i%1000 == 0 {
			x.Advance(ts)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// Each feature's baseline is over the windows that define it: conn
// features over windows with conn rows, per-query dns averages over
// windows with dns rows, counts over all.
func TestRobustDefined(t *testing.T) {
	connOnly := make([]float64, N)
	connOnly[0], connOnly[4], connOnly[8] = 10, 5000, 1
	httpOnly := make([]float64, N)
	httpOnly[8], httpOnly[14] = 1, 6
	dns := make([]float64, N)
	dns[8], dns[9], dns[12] = 1, 4, 3.5
	r := ComputeRobust([][]float64{connOnly, httpOnly, httpOnly, dns})
	cases := []struct {
		feature     int
		count       int
		rawMedian   float64
		description string
	}{
		{0, 1, 10, "conn_count over the conn window only"},
		{4, 1, 5000, "bytes_out likewise"},
		{12, 1, 3.5, "label_entropy over the dns window only"},
		{9, 4, 0, "dns_queries is a count: every window"},
		{14, 4, 3, "http_requests likewise"},
	}
	for _, c := range cases {
		if r.Count[c.feature] != c.count || r.RawMedian[c.feature] != c.rawMedian {
			t.Errorf("%s: count %d median %g", c.description, r.Count[c.feature], r.RawMedian[c.feature])
		}
	}
	// an undefined feature has no z; one no baseline row defines neither
	z := ComputeRobust([][]float64{httpOnly}).Z(connOnly)
	if z[0] != 0 || z[14] >= 0 {
		t.Errorf("z %v", z)
	}
	if z := r.Z(httpOnly); z[0] != 0 || z[4] != 0 {
		t.Errorf("http-only window has conn z-scores: %v", z)
	}
}

// In steady state (a window's storage reused from a closed one) conn,
// http and ssl rows allocate nothing: hosts, distinct sets, times and
// uids all live in the window's reused arenas. (A dns row still
// allocates its lower-cased name.)
func TestObserveAllocs(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	x := New(DefaultConfig())
	uid := []byte("CabcdefghijklmnopQ")
	var evs []*zeekreader.Event
	for i := 0; i < 3000; i++ {
		h := netip.AddrFrom4([4]byte{10, 0, byte(i % 3), byte(i % 97)})
		r := netip.AddrFrom4([4]byte{93, byte(i % 11), byte(i % 13), byte(i % 251)})
		switch i % 5 {
		case 3:
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindHTTP, HTTP: &zeekreader.HTTP{Orig: h, UID: uid,
				Host: []byte(fmt.Sprintf("h%d.example.com", i%17))}})
		case 4:
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindSSL, SSL: &zeekreader.SSL{Orig: h, UID: uid,
				ServerName: []byte(fmt.Sprintf("s%d.example.org", i%23))}})
		default:
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindConn, Conn: &zeekreader.Conn{Orig: h, Resp: r,
				RespP: uint16(i % 300), UID: uid, Proto: []byte("tcp"), ConnState: []byte("SF"), OrigBytes: 10, RespBytes: 20}})
		}
	}
	win := 0
	feed := func() {
		start := t0.Add(time.Duration(win) * 5 * time.Minute)
		for i, ev := range evs {
			ts := start.Add(time.Duration(i) * 50 * time.Millisecond)
			switch {
			case ev.Conn != nil:
				ev.Conn.TS = ts
			case ev.HTTP != nil:
				ev.HTTP.TS = ts
			default:
				ev.SSL.TS = ts
			}
			x.Observe(ev)
		}
	}
	for ; win < 4; win++ {
		feed()
		x.Advance(t0.Add(time.Duration(win)*5*time.Minute + 8*time.Minute))
	}
	// each window's rows, measured apart from closing the previous one
	// (its vectors allocate)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // as testing.AllocsPerRun: no other goroutine's allocations
	// (the count is the process's: under a loaded `go test -race ./...`
	// the runtime once allocated during one window, so a stray allocation
	// or two over the four windows is not the rows')
	var m0, m1 runtime.MemStats
	var allocs uint64
	for ; win < 8; win++ {
		runtime.ReadMemStats(&m0)
		feed()
		runtime.ReadMemStats(&m1)
		if allocs += m1.Mallocs - m0.Mallocs; allocs > 2 {
			t.Fatalf("window %d: %d allocations so far for %d rows a window", win, allocs, len(evs))
		}
		if vs := x.Advance(t0.Add(time.Duration(win)*5*time.Minute + 8*time.Minute)); len(vs) != 291 {
			t.Fatalf("window %d: %d vectors", win, len(vs))
		}
	}
}

// An accumulator is two cache lines, the key, counts and sums in the
// first; the side record is what the accumulator was past them.
func TestAccLayout(t *testing.T) {
	if s, off := unsafe.Sizeof(hostAcc{}), unsafe.Offsetof(hostAcc{}.dur); s != 128 || off+8 > 64 {
		t.Fatalf("hostAcc: %d bytes, dur at %d", s, off)
	}
	if s := unsafe.Sizeof(sideAcc{}); s != 88 {
		t.Fatalf("sideAcc: %d bytes", s)
	}
}

// A host's conn start times come back in arrival order whatever their
// number: the first inline, the rest across the window's blocks (the
// boundaries of both), for two hosts whose chains interleave.
func TestTimesInlineAndChained(t *testing.T) {
	var w winState
	w.reserve(2)
	w.times.shift = 9
	var a, b hostAcc
	for n := 0; n <= 2*len(timeBlock{}.t)+inlineTimes+1; n++ {
		w.times.reset()
		a, b = hostAcc{}, hostAcc{}
		var wantA, wantB []float64
		for i := range n {
			ta, tb := float64(i)+0.25, -float64(i)
			w.addTime(&a, ta)
			w.addTime(&b, tb)
			wantA, wantB = append(wantA, ta), append(wantB, tb)
		}
		if got := w.appendTimes(nil, &a); !slices.Equal(got, wantA) {
			t.Fatalf("%d times: got %v, want %v", n, got, wantA)
		}
		if got := w.appendTimes([]float64{7}, &b); !slices.Equal(got, append([]float64{7}, wantB...)) {
			t.Fatalf("%d times after one: got %v, want %v", n, got, wantB)
		}
		if blocks := max(0, (n-inlineTimes+len(timeBlock{}.t)-1)/len(timeBlock{}.t)); a.tTail == 0 != (blocks == 0) {
			t.Fatalf("%d times: chain end %d, want %d blocks", n, a.tTail, blocks)
		}
	}
}
