package supervised

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// A classifier message writes a byte feature the log never gave as "not
// logged": a host sending 6.6 MB read "out_in_ratio none in (6.6 MB
// out)" from a conn log without resp_bytes. Read through zeekreader
// (TSV with a trimmed #fields line, JSON without the keys, resp_bytes
// unset on every row), also restarted from a snapshot mid-window; the
// log giving the bytes reads as before.
func TestMessageUnlogged(t *testing.T) {
	m := noneInModel(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := func(unset bool) []window.Conn {
		var rs []window.Conn
		for i := range 10 {
			rs = append(rs, window.Conn{TS: t0.Add(time.Duration(i) * 30 * time.Second), Src: "10.0.0.1", Dst: "10.1.0.1",
				SPort: uint16(40000 + i), DPort: 443, OrigBytes: 660000, Duration: time.Second, OrigPkts: 400, RespPkts: 200, NoRespBytes: unset})
		}
		return rs
	}
	const head = "10.0.0.1: classified malicious (p=0.98, the input covered 4m30s of 5m0s): bytes_out 6.6 MB, "
	const given = head + "out_in_ratio none in (6.6 MB out), bytes_in 0 B"
	const noIn = head + "out_in_ratio not logged (no resp_bytes), bytes_in not logged (no resp_bytes)"
	for _, c := range []struct {
		name, want string
		json       bool
		omit       []string
		unset      bool
	}{
		{"TSV, every column", given, false, nil, false},
		{"JSON, every key", given, true, nil, false},
		{"TSV without resp_bytes", noIn, false, []string{"resp_bytes"}, false},
		{"TSV resp_bytes unset", noIn, false, nil, true},
		{"JSON without resp_bytes", noIn, true, []string{"resp_bytes"}, false},
	} {
		for _, cut := range []int{-1, 5} {
			t.Run(fmt.Sprintf("%s, restart %d", c.name, cut), func(t *testing.T) {
				var ns []*notice.Notice
				emit := func(n *notice.Notice) { ns = append(ns, n) }
				d := New(DefaultConfig(), m, nil)
				eng := detectors.NewEngine(emit, d)
				i := 0
				window.ReadLog(t, window.ConnLog(rows(c.unset), c.json, c.omit...), func(ev *zeekreader.Event) {
					if i == cut {
						var err error
						if eng, err = window.Restart(d, New(DefaultConfig(), m, nil), eng, emit); err != nil {
							t.Fatal(err)
						}
					}
					eng.Observe(ev)
					i++
				})
				eng.Flush()
				if len(ns) != 1 {
					t.Fatalf("%d notices, want 1", len(ns))
				}
				if got := ns[0].Message; got != c.want {
					t.Errorf("message\n got %s\nwant %s", got, c.want)
				}
				for name, f := range ns[0].Explain.Features { // zeekanom.features.*.not_logged
					if want := strings.Contains(c.want, name+" not logged"); f.NotLogged != want {
						t.Errorf("%s: not_logged %v, want %v", name, f.NotLogged, want)
					}
				}
			})
		}
	}
}
