package iforest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// unskipped is the detector with every window built and handed to it, as
// before the extractor left out the windows below min_rows once there is
// a forest (skipUnjudged). skipped counts the windows it was handed that
// the detector now never sees.
type unskipped struct {
	*Detector
	skipped int
}

func (u *unskipped) Advance(wm time.Time, emit detectors.Emit) {
	u.handle(u.count(u.ex.Advance(wm)), emit)
	u.runs.Closed(wm, u.ender(emit))
}
func (u *unskipped) Flush(emit detectors.Emit) {
	u.handleLast(u.count(u.ex.Flush()), emit)
	u.runs.All(u.ender(emit))
}

func (u *unskipped) count(vs []features.Vector) []features.Vector {
	for _, v := range vs {
		if u.tr != nil && v.Rows < u.cfg.MinRows {
			u.skipped++
		}
	}
	return vs
}

// manyHosts is a busy network's first hour: each window has a few busy
// hosts and hundreds with a row or two.
func manyHosts() []*zeekreader.Event {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []*zeekreader.Event
	for i := 0; i < 12000; i++ {
		ts := t0.Add(time.Duration(i) * 300 * time.Millisecond)
		h := netip.AddrFrom4([4]byte{10, 0, byte(i * 7919 % 3), byte(i * 104729 % 251)})
		if i%5 == 0 {
			h = netip.AddrFrom4([4]byte{10, 9, 0, byte(i % 7)})
		}
		evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts,
			UID: []byte(fmt.Sprintf("C%d", i)), Orig: h, Resp: netip.AddrFrom4([4]byte{93, 184, byte(i % 5), byte(i % 97)}),
			RespP: uint16(80 + i%3), Proto: []byte("tcp"), ConnState: []byte("SF"), OrigBytes: uint64(i % 900), RespBytes: uint64(i % 4000), Duration: time.Second}})
	}
	return evs
}

// Leaving out the windows below min_rows once there is a forest changes
// no notice (min_risk 0: every judged window gives one) and no counter:
// the windows left out are still counted in Windows, on real slices and
// on many hosts, with the forest trained on the run or from a model.
func TestSkipUnjudgedSameNotices(t *testing.T) {
	replay := func(path string) func(f func(*zeekreader.Event)) error {
		return func(f func(*zeekreader.Event)) error { return window.Feed([]string{path}, f) }
	}
	feeds := []struct {
		name string
		feed func(f func(*zeekreader.Event)) error
	}{
		{"trickbot", replay("../../testdata/detectors/trickbot/conn.log.gz")},
		{"proxy_rolling", replay("../../testdata/iforest/proxy_rolling")},
		{"many hosts", func(f func(*zeekreader.Event)) error {
			for _, ev := range manyHosts() {
				f(ev)
			}
			return nil
		}},
	}
	var model *Trained
	for _, f := range feeds {
		for _, fromModel := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/model=%v", f.name, fromModel), func(t *testing.T) {
				cfg := DefaultConfig()
				cfg.MinRisk, cfg.TrainWindows = 0, 32
				tr := func() *Trained { return nil }
				if fromModel {
					tr = func() *Trained { return model }
				}
				run := func(d detectors.Detector) ([]*notice.Notice, Stats) {
					var ns []*notice.Notice
					eng := detectors.NewEngine(func(n *notice.Notice) { ns = append(ns, n) }, d)
					if err := f.feed(eng.Observe); err != nil {
						t.Fatal(err)
					}
					eng.Flush()
					if d, ok := d.(*unskipped); ok {
						return ns, d.Stats()
					}
					return ns, d.(*Detector).Stats()
				}
				want := &unskipped{Detector: New(cfg, tr())}
				wantN, wantS := run(want)
				d := New(cfg, tr())
				gotN, gotS := run(d)
				if want.skipped == 0 || len(wantN) == 0 || wantS.Trained == 0 && !fromModel {
					t.Fatalf("nothing to compare: %d windows left out, %d notices, stats %+v", want.skipped, len(wantN), wantS)
				}
				if gotS != wantS {
					t.Errorf("stats %+v, want %+v", gotS, wantS)
				}
				if len(gotN) != len(wantN) {
					t.Fatalf("%d notices, want %d", len(gotN), len(wantN))
				}
				for i := range wantN {
					g, _ := json.Marshal(gotN[i])
					w, _ := json.Marshal(wantN[i])
					if !reflect.DeepEqual(g, w) {
						t.Fatalf("notice %d:\n%s\nwant\n%s", i, g, w)
					}
				}
				if model == nil {
					model = d.tr // trickbot's forest is the model of the model=true runs
				}
			})
		}
	}
}
