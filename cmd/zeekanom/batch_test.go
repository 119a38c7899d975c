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
// any run length, with the detectors on one goroutine or several.
func TestObserveBatchSameNotices(t *testing.T) {
	// real sets, and real conn and dns logs with every kind of attack
	// planted (so that every detector has something to say)
	var sets []string
	for _, s := range []string{"trickbot", "nashua", "cerber", "ctu-irc", "vertical", "benign"} {
		sets = append(sets, filepath.Join("..", "..", "testdata", "detectors", s))
	}
	injected := t.TempDir()
	if code, _, errs := runCLI(t, "inject", "--kinds", "scan,dos,beacon,dnstunnel,exfil,offhours,dga", "--history-days", "14",
		"-o", injected, filepath.Join("..", "..", "testdata", "iforest", "proxy_rolling")); code != 0 {
		t.Fatalf("inject: exit %d: %s", code, errs)
	}
	// and the same with a model trained on it with its labels: the
	// isolation forest and the supervised detector share the loaded model
	model := filepath.Join(t.TempDir(), "model.json")
	if code, _, errs := runCLI(t, "train", "--labels", "-o", model, injected); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	sets = append(sets, injected, injected+"+model")
	for _, path := range sets {
		set, modelFile := filepath.Base(path), ""
		if p, ok := strings.CutSuffix(path, "+model"); ok {
			path, set, modelFile = p, "injected-model", model
		} else if path == injected {
			set = "injected"
		}
		arch, err := zeekreader.Walk([]string{path})
		if err != nil {
			t.Fatal(err)
		}
		feed := func(size, workers int) []string {
			dets, err := buildDetectors(nil, nil, modelFile)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			eng := detectors.NewEngine(func(n *notice.Notice) {
				b, _ := n.MarshalJSON()
				out = append(out, string(b))
			}, dets...)
			eng.SetWorkers(workers)
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
		want := feed(0, 1)
		if len(want) == 0 {
			t.Fatalf("%s: no notices: the comparison would prove nothing", set)
		}
		if modelFile != "" && !strings.Contains(strings.Join(want, ""), `"supervised.classifier"`) {
			t.Fatalf("%s: no supervised notice: the model was not used", set)
		}
		for _, size := range []int{1, 7, batchRows, 5000} {
			for _, workers := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/%d/%d", set, size, workers), func(t *testing.T) {
					if got := feed(size, workers); strings.Join(got, "\n") != strings.Join(want, "\n") {
						t.Errorf("%d notices in runs of %d on %d goroutines, %d one by one, or in another order",
							len(got), size, workers, len(want))
					}
				})
			}
		}
	}
}
