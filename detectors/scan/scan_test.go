package scan

import (
	"fmt"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

var t0 = time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)

func sweep(src string, port uint16, proto, state string, n int, every time.Duration) []window.Conn {
	var rows []window.Conn
	for i := 0; i < n; i++ {
		rows = append(rows, window.Conn{TS: t0.Add(time.Duration(i) * every), Src: src,
			Dst: fmt.Sprintf("198.51.%d.%d", i/250, i%250+1), SPort: 40000, DPort: port, Proto: proto, State: state})
	}
	return rows
}

func portscan(src, dst string, n int, state string, every time.Duration) []window.Conn {
	var rows []window.Conn
	for i := 0; i < n; i++ {
		rows = append(rows, window.Conn{TS: t0.Add(time.Duration(i) * every), Src: src, Dst: dst, SPort: 40000,
			DPort: uint16(1 + i), State: state})
	}
	return rows
}

func browsing() []window.Conn {
	var rows []window.Conn
	for i := 0; i < 600; i++ {
		rows = append(rows, window.Conn{TS: t0.Add(time.Duration(i) * time.Second), Src: "10.0.0.7",
			Dst: fmt.Sprintf("93.184.%d.%d", i%3, i%20+1), SPort: uint16(50000 + i), DPort: 443, State: "SF",
			OrigBytes: 900, RespBytes: 40000})
	}
	return rows
}

// shift moves rows by d.
func shift(rows []window.Conn, d time.Duration) []window.Conn {
	for i := range rows {
		rows[i].TS = rows[i].TS.Add(d)
	}
	return rows
}

func rules(ns []*notice.Notice) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.Rule+" "+n.Source.String())
	}
	return strings.Join(s, ",")
}

func TestScanTable(t *testing.T) {
	cases := []struct {
		name string
		rows []window.Conn
		want string
	}{
		{"udp sweep", sweep("10.1.1.1", 6892, "udp", "S0", 300, 100*time.Millisecond), "scan.horizontal 10.1.1.1"},
		{"syn sweep rejected", sweep("10.1.1.1", 445, "tcp", "REJ", 60, time.Second), "scan.horizontal 10.1.1.1"},
		{"few failures are not a scan", sweep("10.1.1.1", 445, "tcp", "S0", 20, time.Second), ""},
		{"successful fan-out counts less", sweep("10.1.1.1", 443, "tcp", "SF", 100, time.Second), ""},
		{"vertical", portscan("10.1.1.2", "203.0.113.5", 100, "REJ", 50*time.Millisecond), "scan.vertical 10.1.1.2"},
		{"slow vertical over hours", portscan("10.1.1.3", "203.0.113.6", 60, "REJ", 2*time.Minute), "scan.slow 10.1.1.3"},
		{"slow horizontal over hours", sweep("10.1.1.4", 22, "tcp", "S0", 80, 2*time.Minute), "scan.slow 10.1.1.4"},
		// 11:00–12:58: 30 hosts in each 6-hour window (06–12, 12–18)
		{"slow scan split by a window boundary", shift(sweep("10.1.1.5", 22, "tcp", "S0", 60, 2*time.Minute), time.Hour), "scan.slow 10.1.1.5"},
		// 10:00–13:58: 60 hosts before noon (a notice) and 60 after: the
		// second window is judged alone and fires again on its own count
		{"long slow scan, one notice per window", sweep("10.1.1.6", 22, "tcp", "S0", 120, 2*time.Minute), "scan.slow 10.1.1.6,scan.slow 10.1.1.6"},
		// 40 before noon (a notice), 20 after: no second notice
		{"slow scan tail is not notified again", sweep("10.1.1.7", 22, "tcp", "S0", 60, 3*time.Minute), "scan.slow 10.1.1.7"},
		{"browsing", browsing(), ""},
		// 10:03:12–10:06:42: 18 hosts before 10:05 and 18 after, under 30
		// in either window (and under the slow threshold of 40): judged on
		// both windows' failed attempts
		{"fast scan split by a window boundary", shift(sweep("10.1.1.8", 445, "tcp", "S0", 36, 6*time.Second), 192*time.Second), "scan.horizontal 10.1.1.8"},
		// 100 answered hosts in each of two windows (25 effective each): a
		// busy proxy's rate, not joined (only failed attempts join)
		{"successful fan-out over two windows", sweep("10.1.1.9", 443, "tcp", "SF", 200, 3*time.Second), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := window.Run(New(DefaultConfig()), tc.rows)
			if got := rules(ns); got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
			for _, n := range ns {
				if n.RiskScore < 50 || n.ID == "" || len(n.UIDs) == 0 || n.Explain.Detector != "scan" || n.Timestamp.IsZero() {
					t.Errorf("incomplete notice %+v", n)
				}
				t.Log(n.Message)
			}
		})
	}
}

func replay(t *testing.T, path string) []*notice.Notice {
	t.Helper()
	ns, err := window.Replay([]string{path}, New(DefaultConfig()))
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func TestRealCerberSweep(t *testing.T) {
	ns := replay(t, "../../testdata/detectors/cerber/conn.log.gz")
	if len(ns) != 1 || ns[0].Rule != notice.RuleScanHorizontal || ns[0].Source.String() != "10.12.15.101" ||
		ns[0].DestPort != 6892 || ns[0].Proto != "udp" || ns[0].RiskScore < 90 {
		t.Fatalf("%v", window.Canon(ns))
	}
	if f := ns[0].Explain.Features["distinct_hosts"].Value; f < 540 || f > 610 {
		t.Errorf("distinct %v, want ~576", f)
	}
	t.Log(ns[0].Message, ns[0].RiskScore)
}

func TestRealVerticalNmap(t *testing.T) {
	ns := replay(t, "../../testdata/detectors/vertical/conn.log.gz")
	if len(ns) != 1 || ns[0].Rule != notice.RuleScanVertical || ns[0].Source.String() != "192.168.1.9" ||
		ns[0].Destination.String() != "45.33.32.156" {
		t.Fatalf("%v", window.Canon(ns))
	}
	t.Log(ns[0].Message, ns[0].RiskScore)
}

func TestRealBenign(t *testing.T) {
	for _, p := range []string{"evanswj", "simir", "zat"} {
		ns := replay(t, "../../testdata/detectors/benign/"+p+"/conn.log.gz")
		for _, n := range ns {
			// zat: ZeroAccess P2P (udp/16464) fan-out is real and explained
			if p == "zat" && n.DestPort == 16464 {
				continue
			}
			t.Errorf("%s: unexpected %s", p, n.Message)
		}
	}
}

func TestDeterminismShuffleSnapshot(t *testing.T) {
	var rows []window.Conn
	rows = append(rows, sweep("10.1.1.1", 6892, "udp", "S0", 300, 300*time.Millisecond)...)
	rows = append(rows, portscan("10.1.1.2", "203.0.113.5", 200, "REJ", 2*time.Second)...)
	rows = append(rows, portscan("10.1.1.3", "203.0.113.6", 60, "REJ", 2*time.Minute)...)
	rows = append(rows, browsing()...)
	rows = window.Shuffle(rows, time.Second, 1)
	a := window.Canon(window.Run(New(DefaultConfig()), rows))
	b := window.Canon(window.Run(New(DefaultConfig()), rows))
	if len(a) < 3 || !reflect.DeepEqual(a, b) {
		t.Fatalf("not deterministic: %d vs %d", len(a), len(b))
	}
	for seed := int64(1); seed <= 3; seed++ {
		sh := window.Canon(window.Run(New(DefaultConfig()), window.Shuffle(rows, 5*time.Minute, seed)))
		if !reflect.DeepEqual(a, sh) {
			t.Errorf("seed %d: shuffle within lateness changed notices\n%v\n%v", seed, a, sh)
		}
	}
	for _, cut := range []int{100, len(rows) / 2, len(rows) - 10} {
		s, err := window.RunSnapshot(New(DefaultConfig()), New(DefaultConfig()), rows, cut)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, window.Canon(s)) {
			t.Errorf("snapshot at %d: differs", cut)
		}
	}
}

func TestLateRowsCounted(t *testing.T) {
	d := New(DefaultConfig())
	var out []*notice.Notice
	eng := detectors.NewEngine(func(n *notice.Notice) { out = append(out, n) }, d)
	eng.Observe(window.Conn{TS: t0, Src: "10.0.0.1", Dst: "10.0.0.2", DPort: 80}.Event())
	eng.Observe(window.Conn{TS: t0.Add(time.Hour), Src: "10.0.0.1", Dst: "10.0.0.2", DPort: 80}.Event())
	eng.Observe(window.Conn{TS: t0.Add(time.Minute), Src: "10.0.0.1", Dst: "10.0.0.3", DPort: 80}.Event())
	if d.Stats().Late != 1 {
		t.Fatalf("late %d", d.Stats().Late)
	}
}

func TestBoundedMemory(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxHosts = 10000
	d := New(cfg)
	n := 1000000
	if testing.Short() || raceEnabled {
		n = 200000
	}
	ev := window.Conn{TS: t0, Src: "10.0.0.1", Dst: "203.0.113.80", DPort: 80, State: "S0"}.Event()
	emit := func(*notice.Notice) {}
	for i := 0; i < n; i++ {
		ev.Conn.Orig = netip.AddrFrom4([4]byte{byte(1 + i>>24), byte(i >> 16), byte(i >> 8), byte(i)})
		ev.TS = t0.Add(time.Duration(i) * time.Millisecond)
		ev.Conn.TS = ev.TS
		d.Observe(ev)
		if i%10000 == 0 {
			d.Advance(ev.TS, emit)
		}
	}
	s := d.Stats()
	if s.Tracked > 10000 || s.Evicted < int64(2*n-10000) {
		t.Fatalf("stats %+v", s)
	}
	t.Logf("%+v", s)
}

func TestEntrySize(t *testing.T) {
	if sz := reflect.TypeOf(Entry{}).Size(); sz > 2048 {
		t.Fatalf("entry is %d bytes", sz)
	}
}

func TestObserveNoAlloc(t *testing.T) {
	d := New(DefaultConfig())
	evs := window.BenchEvents(20000)
	for _, ev := range evs {
		d.Observe(ev)
	}
	i := 0
	a := testing.AllocsPerRun(5000, func() {
		ev := evs[i%len(evs)]
		i++
		d.Observe(ev)
	})
	if a > 0.05 {
		t.Fatalf("%.2f allocs per row", a)
	}
}

var _ = zeekreader.KindConn

func BenchmarkScan(b *testing.B) {
	window.Bench(b, func() detectors.Detector { return New(DefaultConfig()) })
}

// Stopped and restored halfway while keys are being evicted, a run ends
// as the one that never stopped: same state, same notices.
func TestRestoreExactUnderEviction(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxHosts = 64
	window.CheckRestoreExact(t, func() detectors.Detector { return New(cfg) }, window.DecodeGob[snap])
}

// Slow scans (a probe every 2 minutes for 2 hours) on a sensor whose
// one-off keys fill the tables many times over between two probes: the
// scanning keys, held for their failed attempts, outlive the churn. Here
// max_hosts is 800 and the churn 10 rows/s; with the default 100,000 the
// same happens at 500 rows/s, where every slow scan was lost before keys
// were held (and up to 5,000 rows/s, measured, are caught now).
func TestSlowScanUnderChurn(t *testing.T) {
	rows := window.Churn(t0, 1, 3000, 10, 3*time.Hour)
	rows = append(rows, shift(portscan("10.200.0.3", "203.0.113.6", 60, "REJ", 2*time.Minute), 30*time.Minute)...)
	rows = append(rows, shift(sweep("10.200.0.4", 22, "tcp", "S0", 80, 2*time.Minute), 30*time.Minute)...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].TS.Before(rows[j].TS) })
	cfg := DefaultConfig()
	cfg.MaxHosts = 800
	d := New(cfg)
	got := map[string]bool{}
	for _, n := range window.Run(d, rows) {
		got[n.Rule+" "+n.Source.String()] = true
	}
	if s := d.Stats(); s.Evicted < int64(len(rows))/2 {
		t.Fatalf("too little churn: %+v", s)
	}
	for _, want := range []string{"scan.slow 10.200.0.3", "scan.slow 10.200.0.4"} {
		if !got[want] {
			t.Errorf("missing %s (got %v)", want, got)
		}
	}
}

// A checkpoint's Capture copies: encoded after more rows, it is the state
// of its moment (run encodes it while rows flow).
func TestCaptureCopies(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxHosts = 64
	window.CheckCapture(t, func() detectors.Detector { return New(cfg) }, window.DecodeGob[snap])
}

// A checkpoint written before snapshots were chunked restores as a chunked
// one does; a chunked one cut short does not restore.
func TestRestoreUnchunked(t *testing.T) {
	window.CheckRestoreUnchunked[snap](t, func() detectors.Detector { return New(DefaultConfig()) })
}

// The message says how many connections and what share failed, names a
// ping sweep as such ("on icmp echo" read as a port), and never counts
// more hosts than connections (the HyperLogLog estimate is a few percent
// off: "113 hosts" from 108 connections).
func TestScanMessages(t *testing.T) {
	ping := sweep("10.0.0.238", 0, "icmp", "OTH", 60, time.Second)
	for i := range ping {
		ping[i].SPort = 8 // echo request
	}
	for _, tc := range []struct {
		rows []window.Conn
		want string
	}{
		{ping, "10.0.0.238 contacted 59 hosts with ICMP echo in 5m (60 connections, 100% failed; baseline 1)"},
		// 46 hosts, estimated 49
		{sweep("10.1.1.1", 23, "tcp", "S0", 46, 500*time.Millisecond), "10.1.1.1 contacted 46 hosts on tcp/23 in 5m (46 connections, 100% failed; baseline 1)"},
	} {
		ns := window.Run(New(DefaultConfig()), tc.rows)
		if len(ns) != 1 || ns[0].Message != tc.want {
			for _, n := range ns {
				t.Log(n.Message, n.Explain.Features)
			}
			t.Fatalf("want one notice: %s", tc.want)
		}
	}
}
