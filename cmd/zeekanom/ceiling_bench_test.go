package main

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// BenchmarkFloodCeiling is the memory the default configuration takes
// under a flood that fills the tables: rows at 1,000 a second for 100
// minutes (6M, across an hour boundary), each from a random source in
// 10.0.0.0/8 (internal, so the per-host detectors track it) to a random
// destination and port; half are spoofed (S0, no reply), half complete
// with bytes both ways. scan, dos, exfil and contextual reach their
// max_hosts within the first 500,000 rows and evict from then on; beacon's
// table of keys seen twice fills slowly (a few thousand keys per million
// rows, toward its cap). heap-MB is the largest live heap (after a GC,
// every 500,000 rows). It is one flood's figure, not a bound: sources
// that each send enough rows for the isolation forest to judge them
// would also fill its per-host histories. Run it with -benchtime 1x.
func BenchmarkFloodCeiling(b *testing.B) {
	const rows = 6000000
	for range b.N {
		dets := defaultDetectors("all")
		eng := detectors.NewEngine(func(*notice.Notice) {}, dets...)
		rng := rand.New(rand.NewPCG(1, 2))
		t0 := time.Date(2026, 11, 25, 2, 10, 0, 0, time.UTC)
		evs := make([]*zeekreader.Event, batchRows)
		conns := make([]zeekreader.Conn, batchRows)
		for i := range evs {
			evs[i] = &zeekreader.Event{Kind: zeekreader.KindConn, Conn: &conns[i]}
		}
		uid := []byte("C")
		var peak float64
		for i := 0; i < rows; i += batchRows {
			for j := range evs {
				c := &conns[j]
				x, y := rng.Uint32(), rng.Uint32()
				*c = zeekreader.Conn{Proto: []byte("tcp"), UID: fmt.Appendf(uid[:1:1], "%016x", uint64(x)<<32|uint64(y))}
				c.Orig = netip.AddrFrom4([4]byte{10, byte(x >> 16), byte(x >> 8), byte(x)})
				c.Resp = netip.AddrFrom4([4]byte{byte(y >> 24), byte(y >> 16), byte(y >> 8), byte(y)})
				c.OrigP, c.RespP = uint16(1024+x%60000), uint16(y%10000)
				c.TS = t0.Add(time.Duration(i+j) * time.Millisecond)
				if y&1 == 0 {
					c.ConnState, c.History = []byte("S0"), []byte("S")
					c.OrigPkts = 1
				} else {
					c.ConnState, c.History = []byte("SF"), []byte("ShADadFf")
					c.Duration = time.Duration(y%5000) * time.Millisecond
					c.OrigBytes, c.RespBytes = uint64(x%100000), uint64(y%1000000)
					c.OrigPkts, c.RespPkts = 10, 12
				}
				evs[j].TS = c.TS
			}
			eng.ObserveBatch(evs)
			if (i+batchRows)%500000 < batchRows {
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, float64(m.HeapAlloc)/1e6)
			}
		}
		runtime.KeepAlive(eng)
		b.ReportMetric(peak, "heap-MB")
	}
}
