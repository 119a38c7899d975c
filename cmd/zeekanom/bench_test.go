package main

import (
	"bytes"
	"io"
	"slices"
	"syscall"
	"testing"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
	"github.com/zeekanom/zeekanom/zeekreader/zeekgen"
)

// BenchmarkEndToEnd is the batch path on one core: read, decode, every
// default detector (fed runs of batchRows rows, as score does), notices
// encoded. hosts sets the distinct originators.
func benchEndToEnd(b *testing.B, hosts int) {
	var buf bytes.Buffer
	zeekgen.Write(&buf, zeekgen.Options{Rows: 300000, Hosts: hosts, Seed: 5})
	data := buf.Bytes()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuNanos()
	rows, notices := 0, 0
	for i := 0; i < b.N; i++ {
		dets, err := buildDetectors(nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		enc := io.Discard
		eng := detectors.NewEngine(func(n *notice.Notice) {
			notices++
			bs, _ := n.MarshalJSON()
			enc.Write(bs)
		}, dets...)
		ev := zeekreader.NewEventReader(zeekreader.NewReader(bytes.NewReader(data), "conn.log"))
		batch := zeekreader.NewBatch(batchRows)
		for {
			e, err := ev.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			batch.Add(e)
			if batch.Full() {
				eng.ObserveBatch(batch.Events)
				batch.Reset()
			}
			rows++
		}
		eng.ObserveBatch(batch.Events)
		eng.Flush()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpuNanos()-cpu0)/float64(rows), "cpu-ns/row")
	b.ReportMetric(float64(notices)/float64(b.N), "notices/op")
}

func BenchmarkEndToEnd3kHosts(b *testing.B)   { benchEndToEnd(b, 3000) }
func BenchmarkEndToEnd160kHosts(b *testing.B) { benchEndToEnd(b, 160000) }

func cpuNanos() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkDetectorCost splits the end-to-end cost by detector: each
// sub-benchmark runs one default detector alone over the same 300,000
// conn rows (3,000 hosts), decoded beforehand so the figure is the
// detector's own (Observe, Advance, notices), and "all" runs them
// together (more than the sum: their tables compete for the caches). Rows
// go in runs of batchRows, as in score.
func BenchmarkDetectorCost(b *testing.B) {
	var buf bytes.Buffer
	zeekgen.Write(&buf, zeekgen.Options{Rows: 300000, Hosts: 3000, Seed: 5})
	evs := decodeAll(b, buf.Bytes())
	all, err := buildDetectors(nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	names := []string{"all"}
	for _, d := range all {
		names = append(names, d.Name())
	}
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			cpu0 := cpuNanos()
			for i := 0; i < b.N; i++ {
				dets, _ := buildDetectors(nil, nil)
				if name != "all" {
					dets = slices.DeleteFunc(dets, func(d detectors.Detector) bool { return d.Name() != name })
				}
				eng := detectors.NewEngine(func(n *notice.Notice) { n.MarshalJSON() }, dets...)
				for j := 0; j < len(evs); j += batchRows {
					eng.ObserveBatch(evs[j:min(j+batchRows, len(evs))])
				}
				eng.Flush()
			}
			b.ReportMetric(float64(cpuNanos()-cpu0)/float64(b.N*len(evs)), "cpu-ns/row")
		})
	}
}

// decodeAll reads conn rows into events that own their bytes.
func decodeAll(b *testing.B, data []byte) []*zeekreader.Event {
	src := zeekreader.NewEventReader(zeekreader.NewReader(bytes.NewReader(data), "conn.log"))
	var evs []*zeekreader.Event
	for {
		e, err := src.Next()
		if err == io.EOF {
			return evs
		}
		if err != nil {
			b.Fatal(err)
		}
		c := *e.Conn
		for _, p := range []*[]byte{&c.UID, &c.Proto, &c.Service, &c.ConnState, &c.History, &c.CommunityID, &c.Label, &c.DetailedLabel} {
			*p = bytes.Clone(*p)
		}
		evs = append(evs, &zeekreader.Event{Kind: e.Kind, TS: e.TS, Conn: &c, Open: e.Open})
	}
}
