package main

import (
	"bytes"
	"io"
	"syscall"
	"testing"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
	"github.com/zeekanom/zeekanom/zeekreader/zeekgen"
)

// BenchmarkEndToEnd is the batch path on one core: read, decode, every
// default detector, notices encoded. hosts sets the distinct originators.
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
		for {
			e, err := ev.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			eng.Observe(e)
			rows++
		}
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
