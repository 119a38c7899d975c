package longconn

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

var t0 = time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)

func TestLongConn(t *testing.T) {
	rows := []window.Conn{
		{TS: t0, Src: "10.0.0.5", Dst: "203.0.113.9", DPort: 22, Duration: 3 * time.Hour, UID: "Clong1", OrigBytes: 5e6},
		{TS: t0.Add(time.Minute), Src: "10.0.0.6", Dst: "203.0.113.9", DPort: 443, Duration: 10 * time.Minute, UID: "Cshort"},
		// a connection seen growing in open_conn.log, then closed: one notice
		{TS: t0.Add(2 * time.Minute), Src: "10.0.0.7", Dst: "198.51.100.4", DPort: 4444, Duration: 30 * time.Minute, UID: "Cgrow", Open: true},
		{TS: t0.Add(2 * time.Minute), Src: "10.0.0.7", Dst: "198.51.100.4", DPort: 4444, Duration: 61 * time.Minute, UID: "Cgrow", Open: true},
		{TS: t0.Add(2 * time.Minute), Src: "10.0.0.7", Dst: "198.51.100.4", DPort: 4444, Duration: 2 * time.Hour, UID: "Cgrow", Open: true},
		{TS: t0.Add(2 * time.Minute), Src: "10.0.0.7", Dst: "198.51.100.4", DPort: 4444, Duration: 5 * time.Hour, UID: "Cgrow"},
		// multicast is never a long connection
		{TS: t0.Add(3 * time.Minute), Src: "10.0.0.8", Dst: "224.0.0.251", DPort: 5353, Proto: "udp", Duration: 9 * time.Hour},
	}
	ns := window.Run(New(DefaultConfig()), rows)
	if len(ns) != 2 {
		t.Fatalf("%v", window.Canon(ns))
	}
	for _, n := range ns {
		if n.Rule != notice.RuleLongConnection || n.RiskScore < 50 || len(n.UIDs) != 1 {
			t.Errorf("%+v", n)
		}
		t.Log(n.Message, n.RiskScore, n.Sub)
	}
	if ns[0].UIDs[0] != "Clong1" || ns[1].UIDs[0] != "Cgrow" || ns[1].Sub != "open" {
		t.Errorf("wrong evidence %v %v", ns[0].UIDs, ns[1].UIDs)
	}
	cfg := DefaultConfig()
	cfg.IgnorePorts = []string{"tcp/22"}
	if ns := window.Run(New(cfg), rows); len(ns) != 1 {
		t.Fatal("ignore_ports")
	}
	s, err := window.RunSnapshot(New(DefaultConfig()), New(DefaultConfig()), rows, 3)
	if err != nil || !reflect.DeepEqual(window.Canon(ns), window.Canon(s)) {
		t.Fatalf("snapshot: %v", err)
	}
}

func TestRealTrickbotLongConns(t *testing.T) {
	ns, err := window.Replay([]string{"../../testdata/detectors/trickbot/conn.log.gz"}, New(DefaultConfig()))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		t.Log(n.Message)
	}
}

func BenchmarkLongConn(b *testing.B) {
	window.Bench(b, func() detectors.Detector { return New(DefaultConfig()) })
}

// The message names the transport, and an ICMP flow by its address alone
// (its "port" is the ICMP code): it said "10.8.0.93 → 147.32.83.181:0" on
// the dataleak capture.
func TestLongConnMessage(t *testing.T) {
	ns := window.Run(New(DefaultConfig()), []window.Conn{
		{TS: t0, Src: "10.8.0.93", Dst: "147.32.83.181", Proto: "icmp", Duration: 93*time.Minute + 4*time.Second, UID: "Cicmp", OrigBytes: 7000},
		{TS: t0, Src: "2601:19e:8200:91e0::eaf3", Dst: "2620:13d:c000:11::198", DPort: 1200, Proto: "udp", Duration: 2 * time.Hour, UID: "Cv6", OrigBytes: 139_000, RespBytes: 64_400},
	})
	want := []string{
		"10.8.0.93 → 147.32.83.181 (icmp) lasted 1h33m4s (threshold 1h, 7.0 kB sent, 0 B received)",
		"2601:19e:8200:91e0::eaf3 → [2620:13d:c000:11::198]:1200/udp lasted 2h (threshold 1h, 139 kB sent, 64 kB received)",
	}
	if len(ns) != len(want) {
		t.Fatalf("%v", window.Canon(ns))
	}
	for i, n := range ns {
		if n.Message != want[i] {
			t.Errorf("got  %s\nwant %s", n.Message, want[i])
		}
	}
}

// The message and the features give the bytes each way only where the
// row gives them: zeekreader gives 0 for a column the log lacks ("-", a
// JSON field left out), and until 2026-12-02 such a notice said "0 B
// sent, 0 B received" and orig_bytes/resp_bytes 0.
func TestLongConnShowsOnlyGivenBytes(t *testing.T) {
	id := []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration"}
	with := func(f ...string) []string { return append(id[:len(id):len(id)], f...) }
	row := []window.Conn{{TS: t0, Src: "10.0.0.5", Dst: "203.0.113.9", DPort: 443, Duration: 2 * time.Hour, OrigBytes: 5e6, RespBytes: 7e4}}
	for _, c := range []struct {
		name     string
		fields   []string
		noResp   bool // resp_bytes "-" / left out of the JSON row
		sizes    string
		features []string
	}{
		{"both", with("orig_bytes", "resp_bytes"), false, ", 5.0 MB sent, 70 kB received", []string{"duration_s", "orig_bytes", "resp_bytes"}},
		{"resp_bytes unset", with("orig_bytes", "resp_bytes"), true, ", 5.0 MB sent", []string{"duration_s", "orig_bytes"}},
		{"resp_bytes alone", with("resp_bytes"), false, ", 70 kB received", []string{"duration_s", "resp_bytes"}},
		{"neither", id, false, "", []string{"duration_s"}},
	} {
		for _, asJSON := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/json=%v", c.name, asJSON), func(t *testing.T) {
				rows := slices.Clone(row)
				rows[0].NoRespBytes = c.noResp
				dir := window.WriteConnLog(t, t.TempDir(), c.fields, asJSON, rows)
				ns, err := window.Replay([]string{dir}, New(DefaultConfig()))
				if err != nil || len(ns) != 1 {
					t.Fatalf("%d notices (%v), want one", len(ns), err)
				}
				want := "10.0.0.5 → 203.0.113.9:443/tcp lasted 2h (threshold 1h" + c.sizes + ")"
				got := slices.Sorted(maps.Keys(ns[0].Explain.Features))
				if ns[0].Message != want || !slices.Equal(got, c.features) {
					t.Errorf("message %q, features %v\nwant    %q, %v", ns[0].Message, got, want, c.features)
				}
			})
		}
	}
}
