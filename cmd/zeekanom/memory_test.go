package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/output/metrics"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// TestFloodOfSpoofedSourcesStaysBounded feeds a flood of connections from
// distinct spoofed sources to distinct destinations through every default
// detector, with each detector's table limit set low in the config. The
// heap must plateau: after the tables fill, more sources evict, they do
// not grow memory.
func TestFloodOfSpoofedSourcesStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds 300k rows")
	}
	cfgPath := filepath.Join(t.TempDir(), "zeekanom.toml")
	os.WriteFile(cfgPath, []byte(`
[detectors.scan]
max_hosts = 5000
[detectors.dos]
max_hosts = 5000
[detectors.beacon]
max_hosts = 5000
[detectors.longconn]
max_tracked = 5000
[detectors.exfil]
max_hosts = 5000
[detectors.contextual]
max_hosts = 5000
[detectors.iforest]
max_hosts = 5000
[detectors.supervised]
max_hosts = 5000
`), 0o644)
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	dets, err := buildDetectors(cfg.md, cfg.Detectors, "")
	if err != nil {
		t.Fatal(err)
	}
	eng := detectors.NewEngine(func(*notice.Notice) {}, dets...)
	var c zeekreader.Conn
	ev := &zeekreader.Event{Kind: zeekreader.KindConn, Conn: &c}
	c.Proto, c.ConnState, c.History, c.UID = []byte("tcp"), []byte("S0"), []byte("S"), []byte("Cflood00000000000")
	t0 := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	feed := func(from, to int) {
		for i := from; i < to; i++ {
			x := uint32(i)*2654435761 + 7 // a spoofed source per row
			c.Orig = netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
			c.Resp = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			c.OrigP, c.RespP = uint16(1024+i%60000), uint16(i%1024)
			c.TS = t0.Add(time.Duration(i) * time.Millisecond)
			ev.TS = c.TS
			eng.Observe(ev)
		}
	}
	feed(0, 100000)
	mid := heap()
	feed(100000, 300000)
	end := heap()
	t.Logf("heap after 100k sources %.1f MiB, after 300k %.1f MiB", float64(mid)/(1<<20), float64(end)/(1<<20))
	if end > mid+16<<20 {
		t.Errorf("heap grew from %d to %d bytes while the tables were full", mid, end)
	}
	if end > 256<<20 {
		t.Errorf("heap %d bytes with every table capped at 5000 entries", end)
	}
	var evicted float64
	for _, d := range dets {
		if s, ok := callStats(d); ok {
			for k, v := range metrics.Flatten(s) {
				if strings.Contains(strings.ToLower(k), "evicted") {
					evicted += v
				}
			}
		}
	}
	if evicted == 0 {
		t.Error("no detector reports evictions under the flood")
	}
}
