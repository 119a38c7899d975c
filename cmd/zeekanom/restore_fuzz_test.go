package main

import (
	"bytes"
	"runtime/debug"
	"testing"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/iforest"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
	"github.com/zeekanom/zeekanom/zeekreader/zeekgen"
)

// restoreFuzzRows is 100 minutes of zeekgen conn rows from 40 hosts,
// enough for every default detector to have open windows, tables and
// (iforest) a forest trained on the run halfway through. zeekgen writes
// a row every 2 ms or so (3,000 rows in 6 s, not one window closed), so
// the rows are spread a thousand times wider.
func restoreFuzzRows(tb testing.TB) []*zeekreader.Event {
	var buf bytes.Buffer
	zeekgen.Write(&buf, zeekgen.Options{Rows: 3000, Hosts: 40, Seed: 3})
	evs := decodeAll(tb, buf.Bytes())
	for _, e := range evs[1:] {
		e.TS = evs[0].TS.Add(e.TS.Sub(evs[0].TS) * 1000)
		e.Conn.TS = e.TS
	}
	return evs
}

// FuzzRestore: a checkpoint is a file on disk, and a damaged one (a bad
// sector, a hand edit, a half-written file from another build) must be
// refused by a detector's Restore or restore a detector that goes on
// taking rows: never a panic at startup or rows later. Each input is a
// detector (its first byte, modulo the default detectors) and a snapshot;
// the seeds are each default detector's real snapshot halfway through
// restoreFuzzRows, the rest of which a restored detector then takes.
// The seeds are large (iforest's 750 KB): run it with
// -fuzzminimizetime 0 (about 5,000 inputs a second against 1, which the
// fuzzer otherwise spends minimizing each new one).
func FuzzRestore(f *testing.F) {
	evs := restoreFuzzRows(f)
	half := len(evs) / 2
	dets, err := buildDetectors(nil, nil, "")
	if err != nil {
		f.Fatal(err)
	}
	eng := detectors.NewEngine(func(*notice.Notice) {}, dets...)
	eng.ObserveBatch(evs[:half])
	for i, d := range dets {
		st, ok := d.(detectors.Stateful)
		if !ok {
			continue
		}
		b, err := st.Snapshot()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{byte(i)}, b...))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkRestore(t, evs[half:], data) })
}

// checkRestore restores the detector data[0] names from data[1:] and,
// if it restores, feeds it rest and takes its snapshot, which must
// restore.
func checkRestore(t *testing.T, rest []*zeekreader.Event, data []byte) {
	if len(data) == 0 {
		return
	}
	dets, err := buildDetectors(nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	d := dets[int(data[0])%len(dets)]
	st, ok := d.(detectors.Stateful)
	if !ok {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s: %v\n%s", d.Name(), r, debug.Stack())
		}
	}()
	if st.Restore(data[1:]) != nil {
		return
	}
	eng := detectors.NewEngine(func(n *notice.Notice) {
		if _, err := n.MarshalJSON(); err != nil {
			t.Fatalf("%s notice: %v", d.Name(), err)
		}
	}, d)
	eng.ObserveBatch(rest)
	// and it checkpoints again, into a snapshot that restores (a value
	// restored that the encoding cannot write made every later
	// checkpoint of the detector fail)
	b, err := st.Snapshot()
	if err != nil {
		t.Fatalf("%s restored, then cannot snapshot: %v", d.Name(), err)
	}
	again, err := buildDetectors(nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := again[int(data[0])%len(again)].(detectors.Stateful).Restore(b); err != nil {
		t.Fatalf("%s: its own snapshot does not restore: %v", d.Name(), err)
	}
	eng.Flush()
}

// FuzzRestore's seeds are snapshots of detectors with state to damage:
// halfway through restoreFuzzRows, windows have closed and the iforest
// has a forest trained on the run, with its population and retraining
// samples and host histories (the parts Restore checks).
func TestRestoreFuzzSeedsHaveState(t *testing.T) {
	evs := restoreFuzzRows(t)
	dets, err := buildDetectors(nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	eng := detectors.NewEngine(func(*notice.Notice) {}, dets...)
	eng.ObserveBatch(evs[:len(evs)/2])
	for _, d := range dets {
		if f, ok := d.(*iforest.Detector); ok {
			if st := f.Stats(); st.Trained == 0 || st.Scored == 0 || st.HistoryHosts == 0 {
				t.Errorf("halfway through %v of rows, iforest has trained on %d windows, judged %d, %d host histories",
					evs[len(evs)-1].TS.Sub(evs[0].TS), st.Trained, st.Scored, st.HistoryHosts)
			}
			return
		}
	}
	t.Fatal("no iforest among the default detectors")
}
