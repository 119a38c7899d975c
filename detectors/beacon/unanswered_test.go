package beacon

import (
	"strings"
	"testing"

	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// A row that does not give its response's size is told by its history,
// else its state: what a size would have said where the log gives one.
func TestUnanswered(t *testing.T) {
	for _, c := range []struct {
		state, history string
		resp           uint64
		hasResp        bool
		want           bool
	}{
		{"SF", "ShADadFf", 1200, true, false},
		{"SF", "ShAFf", 0, true, true}, // a handshake without data
		{"S0", "S", 0, true, true},
		{"REJ", "Sr", 0, true, true},
		{"RSTO", "ShADadR", 900, true, true}, // Failed whatever its size
		// no size: history, then state
		{"SF", "ShADadFf", 0, false, false},
		{"SF", "ShAFf", 0, false, true},
		{"SF", "Dd", 0, false, false}, // udp with a reply
		{"S0", "D", 0, false, true},
		{"REJ", "Sr", 0, false, true},
		{"SF", "", 0, false, false},
		{"SF", "-", 0, false, false},
		{"S1", "", 0, false, false},
		{"S0", "", 0, false, true},
		{"RSTO", "", 0, false, true},
		{"", "", 0, false, false}, // nothing logged: not a sweep's
	} {
		r := window.Conn{TS: t0, Src: "10.1.1.6", Dst: "198.51.100.1", DPort: 443, State: c.state, History: c.history,
			RespBytes: c.resp, NoRespBytes: !c.hasResp}
		ev := r.Event()
		ev.Conn.ConnState = []byte(c.state) // (Event gives "" SF)
		if got := unanswered(ev.Conn); got != c.want {
			t.Errorf("state %q history %q resp_bytes %d (given %v): unanswered %v, want %v", c.state, c.history, c.resp, c.hasResp, got, c.want)
		}
	}
}

// connFormat is a conn.log's form (window.WriteConnLog).
type connFormat struct {
	name    string
	json    bool
	fields  []string // of ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto duration orig_bytes resp_bytes conn_state history
	history bool     // (the sweeps of connect scans are told apart only by it)
}

// A site whose conn.log gives no resp_bytes (a trimmed config, or a JSON
// writer that leaves out zeros and unset fields) read every row as
// unanswered: a C2 rotating over 40 hosts of a /24 was a sweep and gave
// no notice. Its rows are told by their history, else their state; a
// /24 swept with S0 or REJ rows is still no beacon, nor, where history is
// logged, one connect-scanned (handshakes without data).
func TestSweepOrC2WithoutRespBytes(t *testing.T) {
	base := []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration", "orig_bytes", "conn_state"}
	withHistory := append(base[:len(base):len(base)], "history")
	formats := []connFormat{
		{"TSV without resp_bytes", false, withHistory, true},
		{"TSV without resp_bytes or history", false, base, false},
		{"JSON without resp_bytes", true, withHistory, true},
		{"JSON without resp_bytes or history", true, base, false},
	}
	for _, f := range formats {
		for _, c := range []struct {
			name        string
			rows        []window.Conn
			needHistory bool
			want        int // notices
		}{
			{"C2 over 40 hosts of its /24", rotatingC2(40, "SF", "ShADadFf", 1200), false, 1},
			{"a /24 swept, S0", slowSweep("S0", "S"), false, 0},
			{"a /24 swept, REJ", slowSweep("REJ", "Sr"), false, 0},
			{"a /24 connect-scanned, SF without data", slowSweep("SF", "ShAFf"), true, 0},
		} {
			if c.needHistory && !f.history {
				continue
			}
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				dir := window.WriteConnLog(t, t.TempDir(), f.fields, f.json, c.rows)
				// the rows are read without a size
				var sized, n int
				if err := window.Feed([]string{dir}, func(ev *zeekreader.Event) {
					if ev.Conn != nil {
						n++
						if ev.Conn.HasRespBytes {
							sized++
						}
					}
				}); err != nil || n != len(c.rows) || sized > 0 {
					t.Fatalf("%d rows read (%v), %d with resp_bytes: want %d without", n, err, sized, len(c.rows))
				}
				d := New(DefaultConfig())
				ns, err := window.Replay([]string{dir}, d)
				if err != nil {
					t.Fatal(err)
				}
				if len(ns) != c.want || (d.Sweeps > 0) != (c.want == 0) {
					t.Errorf("%d notices, %d sweeps dropped, want %d notices", len(ns), d.Sweeps, c.want)
				}
				for _, n := range ns {
					if !strings.Contains(n.Message, "hosts in 198.51.100.0/24") {
						t.Errorf("notice %q, want the /24's", n.Message)
					}
				}
			})
		}
	}
}
