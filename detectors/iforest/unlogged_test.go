package iforest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// An outlier message writes a byte feature the log never gave as "not
// logged", not as the 0 the model read: a host sending 6.6 MB in 40
// connections read "out_in_ratio none in (6.6 MB out)" from a conn log
// written without resp_bytes, as if nothing had come back. Read through
// zeekreader: TSV with a trimmed #fields line, JSON without the keys,
// resp_bytes unset ("-") on every row. The log that gives the bytes
// reads as before, and the explanation's values (the model's input) are
// the same either way.
func TestMessageUnlogged(t *testing.T) {
	pop := outInPopulation()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := func(unset bool) []window.Conn {
		var rs []window.Conn
		for i := range 40 {
			rs = append(rs, window.Conn{TS: t0.Add(time.Duration(i) * 7 * time.Second), Src: "10.0.0.1", Dst: fmt.Sprintf("203.0.113.%d", i%2+1),
				SPort: uint16(40000 + i), DPort: 443, OrigBytes: 165000, Duration: time.Second, OrigPkts: 120, RespPkts: 60, NoRespBytes: unset})
		}
		return rs
	}
	const head = "10.0.0.1: unusual host window (isolation score 0.93, the input covered 4m33s of 5m0s): "
	const given = head + "out_in_ratio none in (6.6 MB out) vs population baseline 0.33× (z +67.2), " +
		"bytes_out 6.6 MB vs population baseline 510 B (z +37.9), bytes_in 0 B vs population baseline 1.5 kB (z -29.3)"
	const noIn = head + "out_in_ratio not logged (no resp_bytes), " +
		"bytes_out 6.6 MB vs population baseline 510 B (z +37.9), bytes_in not logged (no resp_bytes)"
	const neither = head + "bytes_in not logged (no resp_bytes), bytes_out not logged (no orig_bytes), " +
		"conn_count 40 vs population baseline 2 (z +10.5)"
	for _, c := range []struct {
		name  string
		json  bool
		omit  []string
		unset bool
		want  string
	}{
		{"TSV, every column", false, nil, false, given},
		{"JSON, every key", true, nil, false, given},
		{"TSV without resp_bytes", false, []string{"resp_bytes"}, false, noIn},
		{"TSV resp_bytes unset", false, nil, true, noIn},
		{"JSON without resp_bytes", true, []string{"resp_bytes"}, false, noIn},
		{"TSV without either", false, []string{"orig_bytes", "resp_bytes"}, false, neither},
		{"JSON without either", true, []string{"orig_bytes", "resp_bytes"}, false, neither},
	} {
		// (cut: restarted from a snapshot after that many rows, -1 never)
		for _, cut := range []int{-1, 20} {
			t.Run(fmt.Sprintf("%s, restart %d", c.name, cut), func(t *testing.T) {
				ns := runLog(t, pop, window.ConnLog(rows(c.unset), c.json, c.omit...), cut)
				if len(ns) != 1 {
					t.Fatalf("%d notices, want 1", len(ns))
				}
				if got := ns[0].Message; got != c.want {
					t.Errorf("message\n got %s\nwant %s", got, c.want)
				}
				noIn := c.unset || slices.Contains(c.omit, "resp_bytes")
				noOut := slices.Contains(c.omit, "orig_bytes")
				for name, unlogged := range map[string]bool{"bytes_out": noOut, "bytes_in": noIn, "out_in_ratio": noIn || noOut} {
					f, ok := ns[0].Explain.Features[name]
					if !ok && strings.Contains(c.want, name) {
						t.Errorf("explanation without %s", name)
					}
					// (the JSON says it too: zeekanom.features.*.not_logged)
					if ok && f.NotLogged != unlogged {
						t.Errorf("%s: not_logged %v, want %v", name, f.NotLogged, unlogged)
					}
				}
			})
		}
	}
}

// runLog reads a conn log into a detector of connCountForest and
// population baseline pop, restarted from its snapshot after cut rows.
func runLog(t *testing.T, pop features.Robust, log string, cut int) []*notice.Notice {
	t.Helper()
	tr := &Trained{Forest: connCountForest(t), Baseline: func(string) features.Robust { return pop }}
	var ns []*notice.Notice
	emit := func(n *notice.Notice) { ns = append(ns, n) }
	d := New(DefaultConfig(), tr)
	eng := detectors.NewEngine(emit, d)
	i := 0
	window.ReadLog(t, log, func(ev *zeekreader.Event) {
		if i == cut {
			var err error
			if eng, err = window.Restart(d, New(DefaultConfig(), tr), eng, emit); err != nil {
				t.Fatal(err)
			}
		}
		eng.Observe(ev)
		i++
	})
	eng.Flush()
	return ns
}
