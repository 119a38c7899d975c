package exfil

import (
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

var t0 = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

// office: hosts 10.0.0.1..n send ~5 MB an hour to assorted sites.
func office(n, hours int, seed int64) []window.Conn {
	r := rand.New(rand.NewSource(seed))
	var rows []window.Conn
	for h := 0; h < hours; h++ {
		for host := 1; host <= n; host++ {
			for k := 0; k < 10; k++ {
				rows = append(rows, window.Conn{TS: t0.Add(time.Duration(h)*time.Hour + time.Duration(r.Intn(3500))*time.Second),
					Src: fmt.Sprintf("10.0.0.%d", host), Dst: fmt.Sprintf("93.184.%d.%d", r.Intn(4), r.Intn(200)+1),
					SPort: uint16(40000 + k), DPort: 443, OrigBytes: uint64(400000 + r.Intn(200000)), RespBytes: 3e6,
					Duration: time.Duration(r.Intn(30)) * time.Second})
			}
		}
	}
	return rows
}

func upload(src, dst string, at time.Time, total uint64, n int) []window.Conn {
	var rows []window.Conn
	for i := 0; i < n; i++ {
		rows = append(rows, window.Conn{TS: at.Add(time.Duration(i) * 20 * time.Second), Src: src, Dst: dst, SPort: uint16(50000 + i),
			DPort: 443, OrigBytes: total / uint64(n), RespBytes: 5000, Duration: 15 * time.Second})
	}
	return rows
}

func sorted(rows []window.Conn) []window.Conn { return window.Shuffle(rows, time.Nanosecond, 1) }

func TestExfil(t *testing.T) {
	base := office(5, 48, 1)
	cases := []struct {
		name  string
		extra []window.Conn
		want  string // source of the notice
	}{
		{"normal days", nil, ""},
		{"2 GB to one host", upload("10.0.0.3", "203.0.113.50", t0.Add(40*time.Hour), 2e9, 60), "10.0.0.3"},
		{"new host, 3 GB in its first hour", upload("10.0.0.99", "203.0.113.51", t0.Add(30*time.Hour), 3e9, 60), "10.0.0.99"},
		{"big but internal", upload("10.0.0.3", "10.9.9.9", t0.Add(40*time.Hour), 2e9, 60), ""},
		{"inbound download", upload("203.0.113.50", "10.0.0.3", t0.Add(40*time.Hour), 2e9, 60), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := window.Run(New(DefaultConfig()), sorted(append(append([]window.Conn{}, base...), tc.extra...)))
			got := ""
			for _, n := range ns {
				got += n.Source.String()
				if n.Rule != notice.RuleExfiltration || n.RiskScore < 50 || len(n.UIDs) == 0 || !strings.Contains(n.Message, "sent") {
					t.Errorf("%+v", n)
				}
				t.Log(n.Message, n.RiskScore)
			}
			if got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
}

// TestExfilOneDestination: a host whose hourly volume varies a lot (a
// build server) sends one hour's usual volume to a single destination.
func TestExfilOneDestination(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	var rows []window.Conn
	for h := 0; h < 40; h++ {
		total := 1e9 + r.Float64()*1e9
		for k := 0; k < 60; k++ {
			rows = append(rows, window.Conn{TS: t0.Add(time.Duration(h)*time.Hour + time.Duration(k)*time.Minute),
				Src: "10.0.0.4", Dst: fmt.Sprintf("198.18.%d.%d", k%50, h%200+1), DPort: 443, OrigBytes: uint64(total / 60)})
		}
	}
	rows = append(rows, upload("10.0.0.4", "203.0.113.77", t0.Add(41*time.Hour), 1.5e9, 60)...)
	ns := window.Run(New(DefaultConfig()), sorted(rows))
	if len(ns) != 1 || ns[0].Sub != "destination" || ns[0].Destination.String() != "203.0.113.77" {
		t.Fatalf("%v", window.Canon(ns))
	}
	t.Log(ns[0].Message)
}

// A notice that names the destination gives the port and the transport of
// the largest connection to it: a port without its transport reaches Zeek
// as 443/unknown, which matches no 443/tcp in a notice policy.
func TestExfilPortHasProto(t *testing.T) {
	for _, proto := range []string{"tcp", "udp"} {
		t.Run(proto, func(t *testing.T) {
			up := upload("10.0.0.3", "203.0.113.50", t0.Add(40*time.Hour), 2e9, 60)
			for i := range up {
				up[i].Proto, up[i].DPort = proto, 4500
			}
			ns := window.Run(New(DefaultConfig()), sorted(append(office(5, 48, 1), up...)))
			if len(ns) != 1 || ns[0].DestPort != 4500 || ns[0].Proto != proto {
				t.Fatalf("want one notice about 4500/%s: %v", proto, window.Canon(ns))
			}
		})
	}
}

func TestExfilDeterminismSnapshot(t *testing.T) {
	rows := sorted(append(office(4, 30, 2), upload("10.0.0.2", "203.0.113.50", t0.Add(25*time.Hour), 1e9, 40)...))
	a := window.Canon(window.Run(New(DefaultConfig()), rows))
	if len(a) != 1 || !reflect.DeepEqual(a, window.Canon(window.Run(New(DefaultConfig()), rows))) {
		t.Fatalf("not deterministic: %v", a)
	}
	if sh := window.Canon(window.Run(New(DefaultConfig()), window.Shuffle(rows, 4*time.Minute, 5))); !reflect.DeepEqual(a, sh) {
		t.Errorf("shuffle differs\n%v\n%v", a, sh)
	}
	s, err := window.RunSnapshot(New(DefaultConfig()), New(DefaultConfig()), rows, len(rows)*2/3)
	if err != nil || !reflect.DeepEqual(a, window.Canon(s)) {
		t.Fatalf("snapshot differs %v", err)
	}
	// a host's most state: its header and a slot per open window, each
	// with dense buckets and a uid sample
	slotMost := reflect.TypeOf(slot{}).Size() + reflect.TypeOf(dense{}).Size() + reflect.TypeOf(window.UIDs{}).Size()
	if sz := reflect.TypeOf(state{}).Size() + nSlots*slotMost; sz > 2048 {
		t.Fatalf("state per host up to %d bytes", sz)
	}
}

// A host's history of log10 bytes is kept in 16-bit fixed point: within
// 1/6000 of the value over every uint64 byte count, 0 for what is not a
// positive number (a damaged snapshot or model), never wrapped around.
func TestLog10(t *testing.T) {
	for _, b := range []float64{0, 1, 999, 1e6, 3.3e9, 1e15, math.MaxUint64} {
		x := math.Log10(b + 1)
		if got := toLog10(x).float(); math.Abs(got-x) > 1.0/6000 {
			t.Errorf("%g bytes: log10 %g kept as %g", b, x, got)
		}
	}
	for _, x := range []float64{-1, math.NaN(), math.Inf(-1)} {
		if v := toLog10(x); v != 0 {
			t.Errorf("%g kept as %d", x, v)
		}
	}
	if v := toLog10(1e6); v != math.MaxUint16 {
		t.Errorf("1e6 kept as %d, want the most", v)
	}
}

func BenchmarkExfil(b *testing.B) {
	window.Bench(b, func() detectors.Detector { return New(DefaultConfig()) })
}

// A restored detector holds the state it was given: its own snapshot
// decodes to the same value (every field of snap survives Restore).
func TestExfilRestoreRoundTrip(t *testing.T) {
	rows := sorted(append(office(4, 30, 2), upload("10.0.0.2", "203.0.113.50", t0.Add(25*time.Hour), 1e9, 40)...))
	a, b, err := window.RestoreRoundTrip(New(DefaultConfig()), New(DefaultConfig()), rows, len(rows)*2/3, window.DecodeGob[snap])
	if err != nil {
		t.Fatal(err)
	}
	if x := a.(snap); x.Closed == 0 || len(x.Entries) == 0 || x.MaxTS.IsZero() {
		t.Fatalf("test state too thin: closed %d, %d hosts", x.Closed, len(x.Entries))
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("restored state differs")
	}
}

// Keys evicted with open windows: a restore halfway and Flush twice free
// every slab id once, and a run stopped and restored halfway ends as the
// one that never stopped (same state, same notices).
func TestUnderEviction(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxHosts = 64
	fresh := New(cfg)
	window.CheckEvicting(t, New(cfg), fresh, func() int { return fresh.slots.Len() + fresh.dense.Len() })
	window.CheckRestoreExact(t, func() detectors.Detector { return New(cfg) }, window.DecodeGob[snap])
}

// TestExfilHugeCountsSaturate: sizes that add up past 2^64 (only a forged
// or corrupt log has them) count as the largest volume; summed with
// wrap-around, two rows of 2^63 bytes made 0 and no notice.
func TestExfilHugeCountsSaturate(t *testing.T) {
	rows := office(5, 30, 3)
	for i := 0; i < 2; i++ {
		rows = append(rows, window.Conn{TS: t0.Add(25*time.Hour + time.Duration(i)*time.Minute), Src: "10.0.0.2", Dst: "203.0.113.9",
			SPort: uint16(50000 + i), DPort: 443, OrigBytes: 1 << 63, Duration: time.Second})
	}
	ns := window.Run(New(DefaultConfig()), sorted(rows))
	if len(ns) != 1 || ns[0].Source.String() != "10.0.0.2" || ns[0].RiskScore < 90 {
		t.Fatalf("%v", window.Canon(ns))
	}
	t.Log(ns[0].Message)
}

// A UDP flood from spoofed internal sources, 20 times max_hosts, the hour
// before an upload: the uploader keeps its history (held while the flood
// churns through the other entries) and is judged against it, not by the
// global prior for new hosts.
func TestHistorySurvivesSpoofedFlood(t *testing.T) {
	rows := append(office(5, 48, 1), upload("10.0.0.3", "203.0.113.50", t0.Add(40*time.Hour), 2e9, 60)...)
	for i := 0; i < 20000; i++ {
		rows = append(rows, window.Conn{TS: t0.Add(39*time.Hour + time.Duration(i)*150*time.Millisecond),
			Src: fmt.Sprintf("10.%d.%d.%d", 100+i/62500, i/250%250, 1+i%250), Dst: "203.0.113.1", DPort: 53, Proto: "udp", State: "S0", OrigBytes: 512})
	}
	cfg := DefaultConfig()
	cfg.MaxHosts = 1000
	d := New(cfg)
	ns := window.Run(d, sorted(rows))
	if len(ns) != 1 || ns[0].Source.String() != "10.0.0.3" {
		t.Fatalf("%d notices, want one for 10.0.0.3 (evicted %d)", len(ns), d.Stats().Evicted)
	}
	if strings.Contains(ns[0].Message, "new hosts") || d.Stats().Evicted < 10000 {
		t.Fatalf("judged as a new host after %d evictions: %s", d.Stats().Evicted, ns[0].Message)
	}
	// the flood's windows (unanswered) did not teach the global prior
	// for new hosts, which stays the office's (about 5 MB an hour)
	if med := math.Pow(10, window.Median(append([]float64(nil), d.global...))); med < 1e6 {
		t.Fatalf("the global prior for new hosts is %.0f bytes: the flood taught it", med)
	}
}

// A checkpoint's Capture copies: encoded after more rows, it is the state
// of its moment (run encodes it while rows flow).
func TestCaptureCopies(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxHosts = 64
	window.CheckCapture(t, func() detectors.Detector { return New(cfg) }, window.DecodeGob[snap])
}

// The global prior is a ring, overwritten in place once full: a capture
// holds its own copy.
func TestCaptureGlobalPrior(t *testing.T) {
	rows := sorted(office(20, 48, 3))
	want, got := window.CaptureAt(t, New(DefaultConfig()), rows, len(rows)*3/4)
	w, _ := window.DecodeGob[snap](want)
	g, _ := window.DecodeGob[snap](got)
	if len(w.(snap).Global) != globalCap || !reflect.DeepEqual(w, g) {
		t.Fatalf("prior of %d windows; capture differs from the snapshot at its moment", len(w.(snap).Global))
	}
}

// A checkpoint written before snapshots were chunked restores as a chunked
// one does; a chunked one cut short does not restore.
func TestRestoreUnchunked(t *testing.T) {
	window.CheckRestoreUnchunked[snap](t, func() detectors.Detector { return New(DefaultConfig()) })
}

// The message says whose baseline it is and per how long: it read "(the
// global baseline for new hosts 5.0 MB, z 10.0)", then "(a new host;
// baseline for new hosts ...)" and "(its baseline ...)", which after the
// destination read as the destination's. The destination's share is what
// the sketch can vouch for: it said "6% of it to 203.0.113.1", the largest
// bucket's share, of one of 50 equal destinations (2% each), whose own
// bucket holds two of them: "up to 4%"; a share is given as is only when
// the largest connection alone makes it.
func TestExfilMessage(t *testing.T) {
	var spread []window.Conn // to 50 destinations, none far above the usual largest
	for i := range 50 {
		spread = append(spread, upload("10.0.0.3", fmt.Sprintf("203.0.113.%d", i+1), t0.Add(40*time.Hour+time.Duration(i)*time.Minute), 4e7, 1)...)
	}
	for _, c := range []struct {
		name string
		rows []window.Conn
		want string
	}{
		{"new sender", upload("10.0.0.99", "203.0.113.51", t0.Add(30*time.Hour), 3e9, 60),
			"10.0.0.99 sent 3.0 GB out in 1h, up to 100% of it to 203.0.113.51 (the sender has 0 of the 6 windows of history its own baseline needs: baseline for new hosts 5.0 MB per 1h, z 10.0)"},
		{"new sender, one connection", upload("10.0.0.99", "203.0.113.51", t0.Add(30*time.Hour), 3e9, 1),
			"10.0.0.99 sent 3.0 GB out in 1h, 100% of it to 203.0.113.51 (the sender has 0 of the 6 windows of history its own baseline needs: baseline for new hosts 5.0 MB per 1h, z 10.0)"},
		{"sender with history", spread,
			"10.0.0.3 sent 2.0 GB out in 1h, up to 4% of it to 203.0.113.1 (the sender's baseline 5.0 MB per 1h, z 11.7)"},
	} {
		ns := window.Run(New(DefaultConfig()), sorted(append(office(5, 48, 1), c.rows...)))
		if len(ns) != 1 || ns[0].Message != c.want {
			t.Errorf("%s: %v, want %s", c.name, window.Canon(ns), c.want)
		}
	}
}
