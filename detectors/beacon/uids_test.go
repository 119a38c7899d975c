package beacon

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"math/rand"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

// uidRows is hours of random rows with Zeek-like uids (1 to 18 base-62
// characters) in minutes 10 to 60 of each hour: hosts 10.0.0.1..n to a
// few destinations in two /24s (.3 among them, whose pair key once had
// the hash, and so the sighting, of its /24's key), each key one row, a
// few (its first stage) or many (a full entry) in an hour, some as ssl
// rows with a server name; two hosts beacon every 2 minutes. Rows from
// 10.9.9.9 at minute 6, a udp/53 one and an ssl one to tick.example
// (neither counted with cfg's AllowDomains), close the previous hour
// before the next hour's rows.
func uidRows(r *rand.Rand, hosts, hours int) []window.Conn {
	uid := func() string { return window.ZeekUID(r) }
	var rows []window.Conn
	for h := range hours {
		at := t0.Add(time.Duration(h) * time.Hour)
		tick := window.Conn{TS: at.Add(6 * time.Minute), Src: "10.9.9.9", Dst: "10.9.9.1", DPort: 53, Proto: "udp", UID: uid()}
		rows = append(rows, tick)
		tick.DPort, tick.Proto, tick.ServerName = 443, "tcp", "tick.example"
		rows = append(rows, tick)
		for host := 1; host <= hosts; host++ {
			for range r.Intn(4) {
				c := window.Conn{Src: fmt.Sprintf("10.0.0.%d", host), Dst: fmt.Sprintf("198.51.%d.%d", 100+r.Intn(2), 2+r.Intn(4)),
					DPort: 443, Proto: "tcp", OrigBytes: uint64(r.Intn(2000))}
				if r.Intn(4) == 0 {
					c.ServerName = fmt.Sprintf("c%d.example.net", r.Intn(3))
				}
				n := []int{1, 2 + r.Intn(6), 8 + r.Intn(40)}[r.Intn(3)]
				for range n {
					c.TS, c.SPort, c.UID = at.Add(10*time.Minute+time.Duration(r.Int63n(int64(50*time.Minute)))), uint16(1024+r.Intn(60000)), uid()
					rows = append(rows, c)
				}
			}
		}
		for _, src := range []string{"10.0.1.1", "10.0.1.2"} {
			for m := 10; m < 60; m += 2 {
				rows = append(rows, window.Conn{TS: at.Add(time.Duration(m)*time.Minute + time.Duration(r.Intn(500))*time.Millisecond),
					Src: src, Dst: "203.0.113.5", SPort: uint16(1024 + r.Intn(60000)), DPort: 443, Proto: "tcp", OrigBytes: 310, UID: uid()})
			}
		}
	}
	slices.SortStableFunc(rows, func(a, b window.Conn) int { return a.TS.Compare(b.TS) })
	return rows
}

// uidKeys are the keys a row of uidRows counts for.
func uidKeys(c window.Conn) []Key {
	src, dst := window.IPOf(netip.MustParseAddr(c.Src)), window.IPOf(netip.MustParseAddr(c.Dst))
	if c.ServerName != "" {
		return []Key{{Src: src, Kind: kDomain, H: hashBytes([]byte(c.ServerName))}}
	}
	return []Key{{Src: src, Dst: dst, Kind: kPair}, {Src: src, Dst: netOf(dst), Kind: kNet}}
}

// Every capture, encoded after more rows, carries in each first stage and
// full entry the uid sample a window.UIDs given its key-window's rows
// holds, through a restart halfway whose restored detector snapshots the
// bytes it was restored from; every notice lists that sample.
func TestUIDsAcrossCaptures(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Window, cfg.AllowDomains = time.Hour, []string{"tick.example"}
	r := rand.New(rand.NewSource(3))
	rows := uidRows(r, 40, 6)
	ref := map[PKey]window.UIDs{}
	d := New(cfg)
	notices := 0
	emit := func(n *notice.Notice) {
		if n.Destination.IsValid() {
			k := Key{Src: window.IPOf(n.Source), Dst: window.IPOf(n.Destination), Kind: kPair}
			want := ref[PKey{k, d.win.Index(n.Start)}]
			if !reflect.DeepEqual(n.UIDs, want.Strings()) {
				t.Fatalf("notice %s: uids %q, want %q", n.Message, n.UIDs, want.Strings())
			}
			notices++
		}
	}
	eng := detectors.NewEngine(emit, d)
	type capture struct {
		encode func(io.Writer) error
		ref    map[PKey]window.UIDs
		at     int
	}
	var caps []capture
	for i, c := range rows {
		if i == len(rows)/2 {
			// a restart (rows in time order: a new Engine closes the
			// windows the old one would)
			b, err := d.Snapshot()
			d = New(cfg)
			if err == nil {
				err = d.Restore(b)
			}
			b2, err2 := d.Snapshot()
			if err != nil || err2 != nil || !bytes.Equal(b, b2) {
				t.Fatalf("a restored detector snapshots other bytes (%v, %v)", err, err2)
			}
			eng = detectors.NewEngine(emit, d)
		}
		if i%(len(rows)/20) == 0 {
			caps = append(caps, capture{d.Capture(), maps.Clone(ref), i})
		}
		if c.Src != "10.9.9.9" {
			for _, k := range uidKeys(c) {
				pk := PKey{k, d.win.Index(c.TS)}
				u := ref[pk]
				u.Add([]byte(c.UID))
				ref[pk] = u
			}
		}
		eng.Observe(c.Event())
	}
	eng.Flush()
	var pre, full int
	for _, c := range caps {
		var v snap
		s, err := detectors.Encoded(c.encode)
		if err == nil {
			err = window.DecodeGobInto(s, &v)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range v.Pre {
			if want := c.ref[e.K]; e.V.UIDs != want {
				t.Fatalf("capture at row %d: first stage %v has uids %q, want %q", c.at, e.K, e.V.UIDs.Strings(), want.Strings())
			}
			pre += int(e.V.UIDs.N)
		}
		for _, e := range v.Entries {
			a := &e.V.Acc
			if !a.Used {
				continue
			}
			if want := c.ref[PKey{e.K, a.Win}]; a.UIDs != want {
				t.Fatalf("capture at row %d: entry %v has uids %q, want %q", c.at, e.K, a.UIDs.Strings(), want.Strings())
			}
			full += int(a.UIDs.N)
		}
	}
	if pre < 1000 || full < 1000 || notices < 10 {
		t.Fatalf("test too thin: %d uids in first stages, %d in entries, %d notices", pre, full, notices)
	}
}
