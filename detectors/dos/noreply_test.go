package dos

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// A row that does not give its reply's packets is told by its state,
// else its history, else (but for TCP) a resp_bytes of 0; with none of
// them it is not a row without reply.
func TestNoReply(t *testing.T) {
	for _, c := range []struct {
		proto, state, history string
		respPkts, respBytes   uint64
		hasPkts, hasBytes     bool
		by                    replyEvidence
	}{
		// packets given: they tell, as before
		{"udp", "S0", "D", 0, 0, true, false, byRespPkts}, // Zeek's one-packet row: resp_bytes unset
		{"udp", "SF", "Dd", 1, 120, true, true, byNone},
		{"udp", "SF", "Dd", 0, 0, true, true, byRespPkts}, // (the counts over the state)
		{"tcp", "SF", "ShADadFf", 20, 0, true, true, byNone},
		// packets not given: a reply's bytes, then the state
		{"udp", "", "", 0, 90, false, true, byNone},
		{"udp", "S0", "", 0, 0, false, false, byConnState},
		{"udp", "SF", "", 0, 0, false, false, byNone},
		{"udp", "SF", "", 0, 0, false, true, byNone}, // a reply without payload
		{"udp", "SHR", "", 0, 0, false, false, byNone},
		{"tcp", "SH", "", 0, 0, false, false, byConnState},
		{"tcp", "RSTOS0", "", 0, 0, false, false, byConnState},
		{"tcp", "REJ", "", 0, 0, false, false, byNone},
		{"tcp", "S1", "", 0, 0, false, false, byNone},
		// then the history: a responder's letter
		{"udp", "OTH", "Dd", 0, 0, false, false, byNone},
		{"udp", "", "D", 0, 0, false, false, byHistory},
		{"udp", "-", "Dd", 0, 0, false, false, byNone},
		{"tcp", "", "ShAD", 0, 0, false, false, byNone},
		{"tcp", "", "S", 0, 0, false, false, byHistory},
		// then a resp_bytes of 0, but for TCP
		{"udp", "", "", 0, 0, false, true, byRespBytes},
		{"udp", "-", "-", 0, 0, false, true, byRespBytes},
		{"tcp", "", "", 0, 0, false, true, byNone},
		// nothing tells
		{"udp", "", "", 0, 0, false, false, byNone},
		{"udp", "OTH", "-", 0, 0, false, false, byNone},
		{"icmp", "", "", 0, 0, false, false, byNone},
	} {
		r := window.Conn{TS: t0, Src: "10.0.0.1", Dst: "203.0.113.53", DPort: 53, Proto: c.proto, History: c.history,
			RespPkts: c.respPkts, RespBytes: c.respBytes, NoRespPkts: !c.hasPkts, NoRespBytes: !c.hasBytes}
		ev := r.Event()
		ev.Conn.ConnState = []byte(c.state) // (Event gives "" SF)
		if got, by := noReply(ev.Conn), noReplyBy(ev.Conn); got != (c.by != byNone) || by != c.by {
			t.Errorf("%s state %q history %q resp_pkts %d (given %v) resp_bytes %d (given %v): no reply %v by %d, want by %d",
				c.proto, c.state, c.history, c.respPkts, c.hasPkts, c.respBytes, c.hasBytes, got, by, c.by)
		}
	}
}

// UDP traffic seen through conn.logs that give the reply's size and
// packets, and through ones that do not (a trimmed config; a JSON
// writer that leaves out unset fields, or zeros). Until 2026-12-02 a row
// without them read as unanswered: a busy DNS server's every row was
// half-open, a distributed flood, and a long UDP stream a one-way flood.
// Where the row's state or history tells, the verdict is the one of the
// full log; where nothing does, there is no half-open or one-way notice.
func TestUDPWithoutRespColumns(t *testing.T) {
	id := []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration", "orig_bytes"}
	with := func(f ...string) []string { return append(id[:len(id):len(id)], f...) }
	resp := []string{"resp_bytes", "resp_pkts", "resp_ip_bytes"}
	full := with(append([]string{"conn_state", "history", "orig_pkts", "orig_ip_bytes"}, resp...)...)
	type format struct {
		name      string
		json      bool
		fields    []string
		leaveOut0 bool // a JSON writer that leaves out zeros
		tells     bool // the state or history
	}
	var formats []format
	for _, j := range []bool{false, true} {
		kind := map[bool]string{false: "TSV", true: "JSON"}[j]
		formats = append(formats,
			format{kind + " with resp columns", j, full, false, true},
			format{kind + " without resp columns", j, with("conn_state", "history", "orig_pkts", "orig_ip_bytes"), false, true},
			format{kind + " without resp columns or history", j, with("conn_state", "orig_pkts", "orig_ip_bytes"), false, true},
			format{kind + " without resp columns or conn_state", j, with("history", "orig_pkts", "orig_ip_bytes"), false, true},
			format{kind + " without resp columns, conn_state or history", j, with("orig_pkts", "orig_ip_bytes"), false, false})
	}
	formats = append(formats,
		format{"JSON leaving out zeros", true, full, true, true},
		format{"JSON leaving out zeros, without conn_state or history", true, with(append([]string{"orig_pkts", "orig_ip_bytes"}, resp...)...), true, false})

	for _, c := range []struct {
		name string
		rows []window.Conn
		want []string // notices' subs with the resp columns
	}{
		{"a busy DNS server, answered", dnsCrowd(3, 400), nil},
		{"a UDP flood from 2,000 sources, no reply", udpFlood(2000), []string{"distributed"}},
		{"a long UDP stream, answered", udpFlow(115000, 600, "SF", "Dd"), nil},
		{"a one-way UDP flood, one flow", udpFlow(115000, 0, "S0", "D"), []string{"one_way_flow"}},
	} {
		for _, f := range formats {
			t.Run(c.name+"/"+f.name, func(t *testing.T) {
				rows := slices.Clone(c.rows)
				given := slices.Contains(f.fields, "resp_pkts")
				for i := range rows {
					if f.leaveOut0 {
						rows[i].NoRespPkts = rows[i].NoRespPkts || rows[i].RespPkts == 0
						rows[i].NoRespBytes = rows[i].NoRespBytes || rows[i].RespBytes == 0
					}
				}
				dir := window.WriteConnLog(t, t.TempDir(), f.fields, f.json, rows)
				var n, sized int
				if err := window.Feed([]string{dir}, func(ev *zeekreader.Event) {
					if ev.Conn != nil {
						n++
						if ev.Conn.HasRespPkts || ev.Conn.HasRespBytes {
							sized++
						}
					}
				}); err != nil || n != len(rows) || (!given && sized > 0) {
					t.Fatalf("%d rows read (%v), %d with resp_pkts or resp_bytes", n, err, sized)
				}
				ns, err := window.Replay([]string{dir}, New(DefaultConfig()))
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, n := range ns {
					got = append(got, n.Sub)
				}
				want := c.want
				if !f.tells {
					want = nil
				}
				if !slices.Equal(got, want) {
					for _, n := range ns {
						t.Log(n.Message)
					}
					t.Errorf("notices %q, want %q", got, want)
				}
			})
		}
	}
}

// dnsCrowd: a DNS server answering clients distinct sources a minute.
func dnsCrowd(minutes, clients int) []window.Conn {
	var rows []window.Conn
	for m := range minutes {
		for i := range clients {
			rows = append(rows, window.Conn{TS: t0.Add(time.Duration(m)*time.Minute + time.Duration(i)*50*time.Millisecond),
				Src: fmt.Sprintf("100.81.%d.%d", i/200, i%200+1), Dst: "203.0.113.53", SPort: uint16(30000 + i), DPort: 53,
				Proto: "udp", State: "SF", History: "Dd", Duration: 20 * time.Millisecond, OrigBytes: 40, RespBytes: 120,
				OrigPkts: 1, RespPkts: 1})
		}
	}
	return rows
}

// udpFlood: one packet from each of n sources in 40 seconds, each a row
// as Zeek logs it: no duration, so resp_bytes unset, and no reply packet.
func udpFlood(n int) []window.Conn {
	var rows []window.Conn
	for i := range n {
		rows = append(rows, window.Conn{TS: t0.Add(40 * time.Second * time.Duration(i) / time.Duration(n)),
			Src: fmt.Sprintf("100.%d.%d.%d", 64+i/65536, i/256%256, i%256), Dst: "203.0.113.53", SPort: uint16(1024 + i),
			DPort: 53, Proto: "udp", State: "S0", History: "D", OrigBytes: 512, OrigPkts: 1, NoRespBytes: true})
	}
	return rows
}

// udpFlow: one UDP flow of pkts packets over 19 minutes, reply of them
// answered.
func udpFlow(pkts, reply uint64, state, history string) []window.Conn {
	return []window.Conn{{TS: t0, Src: "10.0.0.5", Dst: "203.0.113.9", SPort: 1025, DPort: 5004, Proto: "udp",
		State: state, History: history, Duration: 19 * time.Minute, OrigBytes: pkts * 1200, OrigPkts: pkts,
		RespBytes: reply * 100, RespPkts: reply}}
}

// A one-way notice gives what its row said of the reply: a reply_packets
// of 0 where the row gave resp_pkts, a reply_bytes of 0 where it gave
// resp_bytes alone, and neither where its state or history told (the
// message names the column). Until 2026-12-02 every one said
// reply_packets 0, a count the row may not have given.
func TestOneWayNamesItsEvidence(t *testing.T) {
	for _, c := range []struct {
		name, state, history string
		hasPkts, hasBytes    bool
		feature, suffix      string // reply feature ("" none), message's end
	}{
		{"resp_pkts 0", "S0", "D", true, true, "reply_packets", " without a reply"},
		{"state S0, no resp_pkts", "S0", "D", false, true, "", " without a reply (conn_state S0; the row gives no resp_pkts)"},
		{"history, no resp_pkts", "OTH", "D", false, false, "", " without a reply (history D, no responder's letter; the row gives no resp_pkts)"},
		{"resp_bytes 0 alone", "OTH", "", false, true, "reply_bytes", " without a reply (no reply bytes; the row gives no resp_pkts)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			row := window.Conn{TS: t0, Src: "10.0.0.5", Dst: "203.0.113.9", SPort: 1025, DPort: 161, Proto: "udp", State: c.state, History: c.history,
				Duration: 19 * time.Minute, OrigBytes: 115000 * 1400, OrigPkts: 115000, NoRespPkts: !c.hasPkts, NoRespBytes: !c.hasBytes}
			ns := window.Run(New(DefaultConfig()), []window.Conn{row})
			if len(ns) != 1 || ns[0].Sub != "one_way_flow" {
				t.Fatalf("%d notices, want one one_way_flow", len(ns))
			}
			n := ns[0]
			var reply []string
			for _, k := range []string{"reply_packets", "reply_bytes"} {
				if f, ok := n.Explain.Features[k]; ok {
					reply = append(reply, fmt.Sprintf("%s=%g", k, f.Value))
				}
			}
			want := []string(nil)
			if c.feature != "" {
				want = []string{c.feature + "=0"}
			}
			if !slices.Equal(reply, want) || !strings.HasSuffix(n.Message, c.suffix) {
				t.Errorf("reply features %v, message %q; want %v, ending %q", reply, n.Message, want, c.suffix)
			}
		})
	}
}

// A one-way notice shows the bytes sent only where the row gives them:
// flow_orig_ip_bytes with orig_ip_bytes, the message's size with it or
// orig_bytes. zeekreader gives 0 for a column the log lacks, and until
// 2026-12-02 such a notice said flow_orig_ip_bytes 0 and "(0 B)".
func TestOneWayShowsOnlyGivenBytes(t *testing.T) {
	id := []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration", "conn_state", "history", "orig_pkts", "resp_pkts"}
	with := func(f ...string) []string { return append(id[:len(id):len(id)], f...) }
	for _, c := range []struct {
		name    string
		fields  []string
		ipBytes bool   // flow_orig_ip_bytes shown
		size    string // the message's size, "" none
	}{
		{"both", with("orig_bytes", "orig_ip_bytes"), true, " (138.0 MB)"},
		{"orig_ip_bytes alone", with("orig_ip_bytes"), true, " (3.2 MB)"},
		{"orig_bytes alone", with("orig_bytes"), false, " (138.0 MB)"},
		{"neither", id, false, ""},
	} {
		for _, asJSON := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/json=%v", c.name, asJSON), func(t *testing.T) {
				dir := window.WriteConnLog(t, t.TempDir(), c.fields, asJSON, udpFlow(115000, 0, "S0", "D"))
				ns, err := window.Replay([]string{dir}, New(DefaultConfig()))
				if err != nil || len(ns) != 1 || ns[0].Sub != "one_way_flow" {
					t.Fatalf("%d notices (%v), want one one_way_flow", len(ns), err)
				}
				n := ns[0]
				f, ok := n.Explain.Features["flow_orig_ip_bytes"]
				if ok != c.ipBytes || ok && f.Value != 115000*28 {
					t.Errorf("flow_orig_ip_bytes %v (shown %v), want shown %v", f.Value, ok, c.ipBytes)
				}
				if want := "10.0.0.5 sent 115000 packets" + c.size + " to 203.0.113.9:5004/udp"; !strings.HasPrefix(n.Message, want) {
					t.Errorf("message %q, want it to begin %q", n.Message, want)
				}
			})
		}
	}
}
