package window

import (
	"io"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// Replay runs detectors over the logs under paths through an Engine and
// returns every notice in output order (tests, the evaluator).
func Replay(paths []string, dets ...detectors.Detector) ([]*notice.Notice, error) {
	var out []*notice.Notice
	eng := detectors.NewEngine(func(n *notice.Notice) { out = append(out, n) }, dets...)
	err := Feed(paths, eng.Observe)
	eng.Flush()
	return out, err
}

// Feed reads the logs under paths (merged in time order) into f, skipping
// bad rows.
func Feed(paths []string, f func(*zeekreader.Event)) error {
	a, err := zeekreader.Walk(paths)
	if err != nil {
		return err
	}
	m := a.Open(false)
	defer m.Close()
	for {
		ev, err := m.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if zeekreader.Skippable(err) {
				continue
			}
			return err
		}
		f(ev)
	}
}
