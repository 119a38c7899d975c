package contextual

import (
	"bytes"
	"testing"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/zeekreader/zeekgen"
)

// BenchmarkState160k is cmd/zeekanom's BenchmarkState160k for this
// detector alone (2M zeekgen rows from 160,000 hosts, heap after a GC, in
// bytes a host), run twice: "quiet" as a deployment runs it, where the
// hosts are new and every hour opened after the first batch is quiet, and
// "every-hour" with quiet hours off, where each open hour takes a slot,
// as the hours a settled network's hosts can still fire in do. The second
// is the most this detector holds for these rows; README's state table
// gives both. Run it with -benchtime 1x.
func BenchmarkState160k(b *testing.B) {
	const hosts = 160000
	var buf bytes.Buffer
	zeekgen.Write(&buf, zeekgen.Options{Rows: 2000000, Hosts: hosts, Seed: 5})
	for _, quiet := range []bool{true, false} {
		name := map[bool]string{true: "quiet", false: "every-hour"}[quiet]
		b.Run(name, func(b *testing.B) {
			var live, restored, slots float64
			for range b.N {
				mk := func() detectors.Detector {
					d := New(DefaultConfig())
					d.noQuiet = !quiet
					return d
				}
				live, restored = window.StateBytes(b, mk, buf.Bytes(), hosts, func(det detectors.Detector) {
					d := det.(*Detector)
					if quiet == (d.quietHours == 0) {
						b.Fatalf("%d quiet hours, %d with a slot", d.quietHours, d.slotsTaken)
					}
					slots = float64(d.slotsTaken) / hosts
				})
			}
			b.ReportMetric(live, "live-B/host")
			b.ReportMetric(restored, "restored-B/host")
			b.ReportMetric(slots, "slots/host")
		})
	}
}
