package contextual

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// An off-hours notice of a conn log without byte columns said "bytes" 0
// in its explanation: the hour's bytes were never given. Read through
// zeekreader (TSV with a trimmed #fields line, JSON without the keys),
// also restarted from a snapshot during the hour, it leaves bytes out and
// its message says they were not logged; a log giving either count (here
// orig_bytes alone) reads as before.
func TestBytesNotLogged(t *testing.T) {
	wed3am := monday.AddDate(0, 0, 23).Add(3 * 3600e9)
	rows := append(workdays([]string{"10.0.0.5", "10.0.0.6", "10.0.0.7"}, 21), burst("10.0.0.5", wed3am, 200)...)
	const msg = "10.0.0.5 made 200 connections to 52 hosts on Wed 03:00–04:00 UTC, an hour it is normally silent " +
		"(active then 1% of the time by hour of week, over 22 days of its history)"
	for _, c := range []struct {
		name  string
		json  bool
		omit  []string
		want  string
		bytes float64 // -1: left out
	}{
		{"TSV, every column", false, nil, msg, 200 * 5000},
		{"JSON, every key", true, nil, msg, 200 * 5000},
		{"TSV without resp_bytes", false, []string{"resp_bytes"}, msg, 200 * 5000},
		{"TSV without either", false, []string{"orig_bytes", "resp_bytes"}, msg + "; bytes not logged", -1},
		{"JSON without either", true, []string{"orig_bytes", "resp_bytes"}, msg + "; bytes not logged", -1},
	} {
		log := window.ConnLog(rows, c.json, c.omit...)
		// (cut: restarted from a snapshot after that many rows, in the
		// hour's burst; -1 never)
		for _, cut := range []int{-1, len(rows) - 100} {
			t.Run(fmt.Sprintf("%s, restart %d", c.name, cut), func(t *testing.T) {
				var ns []*notice.Notice
				emit := func(n *notice.Notice) { ns = append(ns, n) }
				d := New(DefaultConfig())
				eng := detectors.NewEngine(emit, d)
				i := 0
				window.ReadLog(t, log, func(ev *zeekreader.Event) {
					if i == cut {
						var err error
						if eng, err = window.Restart(d, New(DefaultConfig()), eng, emit); err != nil {
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
				n := ns[0]
				if n.Message != c.want {
					t.Errorf("message\n got %s\nwant %s", n.Message, c.want)
				}
				f, ok := n.Explain.Features["bytes"]
				switch {
				case c.bytes < 0 && ok:
					t.Errorf("bytes %v in the explanation, never logged", f.Value)
				case c.bytes >= 0 && (!ok || f.Value != c.bytes):
					t.Errorf("bytes %+v (given %v), want %v", f, ok, c.bytes)
				}
				if strings.Contains(n.Message, "0 B") {
					t.Errorf("message %s", n.Message)
				}
			})
		}
	}
}
