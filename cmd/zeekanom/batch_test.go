package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// Feeding rows a run at a time (Engine.ObserveBatch, the batch path) gives
// every default detector's notices, below any min_risk too, in the same
// order as feeding them one by one (Engine.Observe, the live path), for
// any run length.
func TestObserveBatchSameNotices(t *testing.T) {
	for _, set := range []string{"trickbot", "nashua", "cerber", "ctu-irc", "vertical", "benign"} {
		arch, err := zeekreader.Walk([]string{filepath.Join("..", "..", "testdata", "detectors", set)})
		if err != nil {
			t.Fatal(err)
		}
		feed := func(size int) []string {
			dets, err := buildDetectors(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			eng := detectors.NewEngine(func(n *notice.Notice) {
				b, _ := n.MarshalJSON()
				out = append(out, string(b))
			}, dets...)
			src := arch.Open(false)
			defer src.Close()
			batch := zeekreader.NewBatch(max(size, 1))
			for {
				ev, err := src.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					continue // counted row errors: the same for every run
				}
				if size == 0 {
					eng.Observe(ev)
					continue
				}
				batch.Add(ev)
				if batch.Full() {
					eng.ObserveBatch(batch.Events)
					batch.Reset()
				}
			}
			eng.ObserveBatch(batch.Events)
			eng.Flush()
			return out
		}
		want := feed(0)
		if len(want) == 0 {
			t.Fatalf("%s: no notices: the comparison would prove nothing", set)
		}
		for _, size := range []int{1, 7, batchRows, 5000} {
			t.Run(fmt.Sprintf("%s/%d", set, size), func(t *testing.T) {
				if got := feed(size); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%d notices in runs of %d, %d one by one, or in another order", len(got), size, len(want))
				}
			})
		}
	}
}
