package beacon

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/window"
)

// A key's rows that give no orig_bytes (no column in the log; Zeek's
// unset "-", which an S0 attempt has; a JSON writer that leaves the field
// out) are scored on their intervals and hours alone. Until 2026-12-02
// such a size read as 0, so a key of them scored its sizes as perfectly
// regular (size_regularity 1.00, three tenths of the score), and a
// retried S0 among sized rows counted as a size of 0.
func TestUnknownSizes(t *testing.T) {
	t0 := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	var rows []window.Conn
	for i := range 200 {
		// every 5 minutes, a few seconds of jitter; 700-byte check-ins
		rows = append(rows, window.Conn{TS: t0.Add(time.Duration(i)*5*time.Minute + time.Duration(i%7)*time.Second),
			Src: "10.0.0.5", Dst: "203.0.113.9", DPort: 443, State: "SF", History: "ShADadFf", OrigBytes: 700 + uint64(i%3), RespBytes: 4000, Duration: time.Second})
	}
	id := []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration", "conn_state", "history"}
	for _, c := range []struct {
		name   string
		fields []string
		sizes  bool
	}{
		{"orig_bytes given", append(slices.Clone(id), "orig_bytes", "resp_bytes"), true},
		{"no orig_bytes column", append(slices.Clone(id), "resp_bytes"), false},
		{"no byte columns", id, false},
	} {
		for _, asJSON := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/json=%v", c.name, asJSON), func(t *testing.T) {
				dir := window.WriteConnLog(t, t.TempDir(), c.fields, asJSON, rows)
				ns, err := window.Replay([]string{dir}, New(DefaultConfig()))
				if err != nil || len(ns) != 1 {
					t.Fatalf("%d notices (%v), want one", len(ns), err)
				}
				x := ns[0].Explain
				_, hasSize := x.Features["size_regularity"]
				_, hasMed := x.Features["size_median"]
				if hasSize != c.sizes || hasMed != c.sizes || slices.Contains(x.Top, "size_regularity") != c.sizes {
					t.Fatalf("size features %v/%v, top %v; want sizes %v", hasSize, hasMed, x.Top, c.sizes)
				}
				ts, hist := x.Features["interval_regularity"].Value, x.Features["histogram"].Value
				want := 0.55*ts + 0.45*hist
				if c.sizes {
					want = 0.4*ts + 0.3*x.Features["size_regularity"].Value + 0.3*hist
					if m := x.Features["size_median"].Value; m < 700 || m > 702 {
						t.Errorf("size_median %v, want 700-702", m)
					}
				}
				if math.Abs(x.Score-want) > 1e-9 {
					t.Errorf("score %v, want %v from its parts", x.Score, want)
				}
			})
		}
	}
}

// sized: all rows sized, or the three a regularity needs.
func TestSized(t *testing.T) {
	for _, c := range []struct {
		conns, nsize uint32
		want         bool
	}{{20, 20, true}, {2, 2, true}, {20, 0, false}, {20, 2, false}, {20, 3, true}} {
		if got := sized(&Acc{Conns: c.conns, NSize: c.nsize}); got != c.want {
			t.Errorf("sized(%d of %d) = %v", c.nsize, c.conns, got)
		}
	}
}
