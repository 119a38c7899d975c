package window

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// BenchEvents builds n synthetic conn events of a busy network: 2,000
// internal clients and 20,000 external servers, both Zipf-distributed
// (a few busy clients, a few popular servers), mostly tcp/443 and udp/53,
// some failed attempts, about 2,000 rows per second of event time.
func BenchEvents(n int) []*zeekreader.Event {
	r := rand.New(rand.NewSource(1))
	t := time.Date(2024, 5, 6, 8, 0, 0, 0, time.UTC)
	states := []string{"SF", "SF", "SF", "SF", "S0", "REJ", "RSTO", "SH", "S1"}
	ports := []uint16{443, 443, 443, 80, 53, 123, 22, 8443, 3389, 445}
	zdst := rand.NewZipf(r, 1.2, 1, 19999) // popular servers dominate, as on real links
	zsrc := rand.NewZipf(r, 1.1, 4, 1999)
	out := make([]*zeekreader.Event, n)
	for i := range out {
		t = t.Add(time.Duration(r.ExpFloat64() * float64(500*time.Microsecond)))
		si, di := zsrc.Uint64(), Mix64(zdst.Uint64())
		src := netip.AddrFrom4([4]byte{10, 1, byte(si / 250), byte(si%250 + 1)})
		dst := netip.AddrFrom4([4]byte{byte(20 + di%180), byte(di >> 8), byte(di >> 16), byte(di>>24%250 + 1)})
		p := ports[r.Intn(len(ports))]
		proto := "tcp"
		if p == 53 || p == 123 {
			proto = "udp"
		}
		c := &zeekreader.Conn{TS: t, UID: []byte(fmt.Sprintf("C%017x", i)), Orig: src, Resp: dst,
			OrigP: uint16(1024 + r.Intn(60000)), RespP: p, Proto: []byte(proto), ConnState: []byte(states[r.Intn(len(states))]),
			Duration: time.Duration(r.ExpFloat64() * float64(2*time.Second)), HasDuration: true,
			OrigBytes: uint64(r.ExpFloat64() * 2000), RespBytes: uint64(r.ExpFloat64() * 20000), HasRespBytes: true, LocalOrig: zeekreader.True}
		out[i] = &zeekreader.Event{Kind: zeekreader.KindConn, TS: t, Conn: c}
	}
	return out
}

// Bench drives a detector over pre-built events the way the Engine does
// (Advance on 10 s steps) in steady state: one untimed warm-up pass fills
// its tables, then each timed pass replays the events shifted forward in
// time. It reports rows/s (wall) and rows/cpu-s (this process's CPU time,
// the stable figure on a shared machine).
func Bench(b *testing.B, mk func() detectors.Detector) {
	evs := BenchEvents(200000)
	span := evs[len(evs)-1].TS.Sub(evs[0].TS).Truncate(time.Second) + time.Minute
	emit := func(*notice.Notice) {}
	det := mk()
	var last time.Time
	pass := func() {
		for _, ev := range evs {
			det.Observe(ev)
			if ts := ev.TS.Truncate(10 * time.Second); ts != last {
				last = ts
				det.Advance(ev.TS, emit)
			}
		}
	}
	shift := func() {
		for _, ev := range evs {
			ev.TS = ev.TS.Add(span)
			ev.Conn.TS = ev.TS
		}
	}
	pass()
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		shift()
		c0 := cpuTime()
		b.StartTimer()
		pass()
		b.StopTimer()
		cpu += cpuTime() - c0
		b.StartTimer()
	}
	rows := float64(b.N * len(evs))
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	if cpu > 0 {
		b.ReportMetric(rows/cpu.Seconds(), "rows/cpu-s")
	}
}

// AllocsPerRow warms det with the benchmark events (two passes, so its
// tables are full) and returns the average allocations of one Observe in
// a third pass.
func AllocsPerRow(det detectors.Detector) float64 {
	evs := BenchEvents(50000)
	span := evs[len(evs)-1].TS.Sub(evs[0].TS).Truncate(time.Second) + time.Minute
	emit := func(*notice.Notice) {}
	for pass := 0; pass < 2; pass++ {
		for _, ev := range evs {
			det.Observe(ev)
		}
		det.Advance(evs[len(evs)-1].TS, emit)
		for _, ev := range evs {
			ev.TS = ev.TS.Add(span)
			ev.Conn.TS = ev.TS
		}
	}
	i := 0
	return testing.AllocsPerRun(len(evs)-1, func() {
		det.Observe(evs[i])
		i++
	})
}

// FeedConn reads the conn rows of a TSV or JSON log in data into eng in
// runs of batch rows, as score does, and returns how many it read.
func FeedConn(t testing.TB, eng *detectors.Engine, data []byte, batch int) (rows int) {
	ev := zeekreader.NewEventReader(zeekreader.NewReader(bytes.NewReader(data), "conn.log"))
	b := zeekreader.NewBatch(batch)
	for {
		e, err := ev.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b.Add(e)
		if b.Full() {
			eng.ObserveBatch(b.Events)
			b.Reset()
		}
		rows++
	}
	eng.ObserveBatch(b.Events)
	return rows
}

// StateBytes is the state a detector holds after the conn rows of data
// (fed in runs of 256), per host of hosts, as live heap after a GC: live
// in the detector that read the rows (with the room its tables and slabs
// kept from busier moments), restored in one restored from its snapshot
// (what is in use). A detector that is not Stateful restores to nothing.
// fed, if not nil, sees the detector after the rows, before its capture.
func StateBytes(t testing.TB, mk func() detectors.Detector, data []byte, hosts int, fed func(detectors.Detector)) (live, restored float64) {
	heap := func() int64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	h0 := heap()
	det := mk()
	eng := detectors.NewEngine(func(*notice.Notice) {}, det)
	FeedConn(t, eng, data, 256)
	live = float64(heap()-h0) / float64(hosts)
	if fed != nil {
		fed(det)
	}
	var snap bytes.Buffer
	s, ok := det.(detectors.Stateful)
	if ok {
		if err := detectors.Capture(s)(&snap); err != nil {
			t.Fatal(err)
		}
	}
	runtime.KeepAlive(eng)
	det, eng, s = nil, nil, nil
	h1 := heap() - int64(snap.Cap())
	fresh := mk()
	if s, ok := fresh.(detectors.Stateful); ok {
		if err := s.Restore(snap.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	snap = bytes.Buffer{}
	restored = float64(heap()-h1) / float64(hosts)
	runtime.KeepAlive(fresh)
	return live, restored
}
