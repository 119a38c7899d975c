package features

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// Unobserved is the part of a window the input did not cover: before the
// first row of the input or after a gap longer than a window, after the
// last row or before such a gap. A gap of less than a window is covered.
// The same with a snapshot and restore after every row, and a version 2
// snapshot's windows restore as covered.
func TestUnobserved(t *testing.T) {
	t0 := time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)
	every := func(from, to int) []int { // seconds after t0, every 10 s
		var s []int
		for i := from; i <= to; i += 10 {
			s = append(s, i)
		}
		return s
	}
	cat := func(a, b []int) []int { return append(append([]int(nil), a...), b...) }
	for _, c := range []struct {
		name string
		at   []int
		want map[int]time.Duration // window (minutes after t0) -> Unobserved
	}{
		{"starts and ends mid-window", every(150, 750), map[int]time.Duration{0: 150 * time.Second, 5: 0, 10: 150 * time.Second}},
		{"on the grid", every(0, 890), map[int]time.Duration{0: 0, 5: 0, 10: 10 * time.Second}},
		{"a gap shorter than a window", cat(every(0, 290), every(500, 890)), map[int]time.Duration{0: 0, 5: 0, 10: 10 * time.Second}},
		{"a gap of a whole window", cat(every(0, 120), every(645, 885)), map[int]time.Duration{0: 180 * time.Second, 10: 60 * time.Second}},
		{"a gap across a boundary", cat(every(0, 100), every(450, 890)), map[int]time.Duration{0: 200 * time.Second, 5: 150 * time.Second, 10: 10 * time.Second}},
		{"one row", []int{200}, map[int]time.Duration{0: 5 * time.Minute}},
	} {
		h := netip.MustParseAddr("10.0.0.1")
		var evs []*zeekreader.Event
		for _, s := range c.at {
			ts := t0.Add(time.Duration(s) * time.Second)
			evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, Orig: h,
				Resp: netip.MustParseAddr("192.0.2.1"), RespP: 443, Proto: []byte("tcp"), ConnState: []byte("SF")}})
		}
		run := func(restore bool) []Vector {
			x := New(DefaultConfig())
			var out []Vector
			for _, ev := range evs {
				x.Observe(ev)
				out = append(out, x.Advance(ev.TS)...)
				if restore {
					b, err := x.Snapshot()
					if err != nil {
						t.Fatal(err)
					}
					x = New(DefaultConfig())
					if err := x.Restore(b); err != nil {
						t.Fatal(err)
					}
				}
			}
			return append(out, x.Flush()...)
		}
		vs := run(false)
		got := map[int]time.Duration{}
		for _, v := range vs {
			got[int(v.Start.Sub(t0)/time.Minute)] = v.Unobserved
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: unobserved %v, want %v", c.name, got, c.want)
		}
		if again := run(true); !reflect.DeepEqual(again, vs) {
			t.Errorf("%s: restored after every row: %+v, want %+v", c.name, again, vs)
		}
	}

	// version 2: the restored window counts as covered, and so does the
	// start of the next (its one row at 10:05:00, the end of the input)
	x := New(DefaultConfig())
	v2 := `{"version":2,"closed":"0001-01-01T00:00:00Z","stats":{},"windows":[{"start":"2025-11-25T10:00:00Z","hosts":[{"host":"10.0.0.1","rows":1,"conns":1,"failed":0,"udp":0,"out":0,"in":0,"dur":0,"dns":0,"nx":0,"ent":0,"qlen":0,"http":0,"ssl":0}]}]}`
	if err := x.Restore([]byte(v2)); err != nil {
		t.Fatal(err)
	}
	ts := t0.Add(5 * time.Minute)
	x.Observe(&zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, Orig: netip.MustParseAddr("10.0.0.1"), ConnState: []byte("SF")}})
	vs := x.Advance(ts.Add(5*time.Minute + 2*time.Minute))
	if len(vs) != 2 || vs[0].Unobserved != 0 || vs[1].Unobserved != 5*time.Minute {
		t.Errorf("after a version 2 snapshot: %+v", vs)
	}
}
