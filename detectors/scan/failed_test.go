package scan

import (
	"fmt"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/window"
)

// A failed attempt is a state of window.Failed without response data:
// resp_bytes 0 where the row gives it, else no responder data ('d') in
// its history, else the state alone. Until 2026-12-02 a row without
// resp_bytes read as 0 bytes, failed by its state alone.
func TestFailedAttempt(t *testing.T) {
	for _, c := range []struct {
		state, history string
		respBytes      uint64
		hasBytes       bool
		want           bool
	}{
		// resp_bytes given: it tells, as before
		{"S0", "S", 0, true, true},
		{"REJ", "Sr", 0, true, true},
		{"RSTR", "ShADadR", 0, true, true}, // (the size over the history)
		{"RSTR", "ShADadR", 5120, true, false},
		{"OTH", "Cd", 300, true, false},
		{"SF", "ShADadFf", 0, true, false}, // not a failed state
		// not given: the history's responder data
		{"RSTR", "ShADadR", 0, false, false},
		{"OTH", "Cd", 0, false, false},
		{"SHR", "Hd", 0, false, false},
		{"RSTO", "ShAR", 0, false, true},
		{"S0", "S", 0, false, true},
		{"REJ", "Sr", 0, false, true},
		{"OTH", "C", 0, false, true},
		// neither: the state alone
		{"RSTR", "", 0, false, true},
		{"RSTR", "-", 0, false, true},
		{"S0", "", 0, false, true},
		{"SF", "", 0, false, false},
		{"SF", "ShADadFf", 0, false, false},
	} {
		r := window.Conn{TS: t0, Src: "10.0.0.1", Dst: "198.51.100.9", DPort: 443, State: c.state, History: c.history,
			RespBytes: c.respBytes, NoRespBytes: !c.hasBytes}
		if got := failedAttempt(r.Event().Conn); got != c.want {
			t.Errorf("%s history %q resp_bytes %d (given %v): failed %v, want %v", c.state, c.history, c.respBytes, c.hasBytes, got, c.want)
		}
	}
}

// A client reaching 60 servers on tcp/443 in a minute, each answering
// with data and then resetting (RSTR), is no horizontal scan whether its
// log gives resp_bytes or, where it does not, history: its attempts are
// answered, 60 × success_weight 0.25 = 15 effective hosts against 30.
// Logged without resp_bytes it was a scan (every attempt failed, 60);
// with neither column it still is (the state alone: a limit, README).
func TestAnsweredResetsWithoutRespBytes(t *testing.T) {
	rows := func(history string, respBytes uint64, given bool) []window.Conn {
		var rs []window.Conn
		for i := range 60 {
			rs = append(rs, window.Conn{TS: t0.Add(time.Duration(i) * time.Second), Src: "10.0.0.7",
				Dst: fmt.Sprintf("198.51.100.%d", i+1), SPort: uint16(50000 + i), DPort: 443, State: "RSTR", History: history,
				OrigBytes: 700, RespBytes: respBytes, NoRespBytes: !given})
		}
		return rs
	}
	for _, c := range []struct {
		name string
		rows []window.Conn
		want string
	}{
		{"resp_bytes", rows("ShADadR", 5120, true), ""},
		{"history, no resp_bytes", rows("ShADadR", 0, false), ""},
		{"neither", rows("", 0, false), "scan.horizontal 10.0.0.7"},
		{"no data, no resp_bytes", rows("ShAR", 0, false), "scan.horizontal 10.0.0.7"},
	} {
		if got := rules(window.Run(New(DefaultConfig()), c.rows)); got != c.want {
			t.Errorf("%s: notices %q, want %q", c.name, got, c.want)
		}
	}
}
