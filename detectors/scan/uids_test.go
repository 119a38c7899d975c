package scan

import (
	"fmt"
	"maps"
	"math/rand"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

// slotWin is a key's fast or slow window (the reference's key): a
// horizontal key has no Dst, a vertical one no Port.
type slotWin struct {
	Src, Dst window.IP
	Port     uint16
	Slow     bool
	Win      int64
}

// burstRows is minutes of bursts from 30 horizontal scanners (10.1.0.x,
// each on its port, a new destination a row) and 20 vertical ones
// (10.2.0.x, each on its host, a new port a row), in time order, each row
// with a uid of 1 to 18 base-62 characters as Zeek writes them. A burst
// of 4 to 23 rows (4 to 7 for every third scanner, a slow one) within a
// quarter second reaches a key's full entry at its fourth row, the first
// three replayed into it, so every row's uid lands in the slots of its
// windows.
func burstRows(r *rand.Rand, minutes int) []window.Conn {
	var rows []window.Conn
	item := [50]int{}
	for m := range minutes {
		for a := range 50 {
			if r.Intn(3) != 0 {
				continue
			}
			at := t0.Add(time.Duration(m)*time.Minute + time.Duration(r.Int63n(int64(59*time.Second))))
			state, resp := []string{"S0", "REJ", "SF"}[r.Intn(3)], uint64(0)
			if state == "SF" {
				resp = 100
			}
			n := 4 + r.Intn(20)
			if a%3 == 0 {
				n = 4 + r.Intn(4) // a slow scanner
			}
			for range n {
				uid := window.ZeekUID(r)
				c := window.Conn{TS: at, SPort: 40000, State: state, RespBytes: resp, UID: uid}
				if i := item[a] + a*2000; a < 30 {
					c.Src, c.Dst, c.DPort = fmt.Sprintf("10.1.0.%d", 1+a), fmt.Sprintf("93.%d.%d.%d", i/62500, i/250%250, 1+i%250), uint16(20+a)
				} else {
					c.Src, c.Dst, c.DPort = fmt.Sprintf("10.2.0.%d", 1+a), fmt.Sprintf("203.0.113.%d", 1+a), uint16(1+item[a])
				}
				item[a]++
				rows = append(rows, c)
				at = at.Add(10 * time.Millisecond)
			}
		}
	}
	slices.SortStableFunc(rows, func(a, b window.Conn) int { return a.TS.Compare(b.TS) })
	return rows
}

// The slots hold their uids in a window.UIDSample and snapshots carry
// them as window.UIDs: every notice and capture carries what a reference
// window.UIDs sample of each key's window's uids (two fast windows'
// merged, for a notice joining the previous one) holds, through captures
// encoded after more rows and a restart halfway (window.RunRestarting).
func TestUIDSamplesAsUIDs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Window, cfg.Lateness, cfg.SlowWindow = time.Minute, time.Minute, 30*time.Minute
	cfg.Horizontal, cfg.Vertical, cfg.Slow, cfg.Renotify = 15, 15, 40, time.Minute
	r := rand.New(rand.NewSource(1))
	rows := burstRows(r, 150)
	fast, slow := window.NewWindows(cfg.Window, cfg.Lateness), window.NewWindows(cfg.SlowWindow, cfg.Lateness)
	ref := map[slotWin]window.UIDs{}
	counts := map[string]int{}
	emit := func(n *notice.Notice) {
		k := slotWin{Src: window.IPOf(n.Source), Slow: n.Rule == notice.RuleScanSlow}
		if n.Destination.IsValid() {
			k.Dst = window.IPOf(n.Destination)
		} else {
			k.Port = n.DestPort
		}
		first, last := fast.Index(n.Start), fast.Index(n.End)-1
		if k.Slow {
			// a slow window joined with the previous one has its own
			// uids (Prev keeps none)
			first, last = slow.Index(n.End)-1, slow.Index(n.End)-1
		}
		var want window.UIDs
		for k.Win = first; k.Win <= last; k.Win++ {
			u := ref[k]
			want.Merge(&u)
		}
		if !reflect.DeepEqual(n.UIDs, want.Strings()) {
			t.Fatalf("%s notice for %s at %s: uids %q, want %q", n.Rule, n.Source, n.Start, n.UIDs, want.Strings())
		}
		counts[fmt.Sprint(n.Rule, " ", n.End.Sub(n.Start))]++
	}
	var refs []map[slotWin]window.UIDs // at each capture
	caps := window.RunRestarting[snap](t, func() *Detector { return New(cfg) }, rows, emit, func(i int, captured bool) {
		if captured {
			refs = append(refs, maps.Clone(ref))
		}
		c := rows[i]
		k := slotWin{Src: window.IPOf(netip.MustParseAddr(c.Src))}
		if c.Src < "10.2" {
			k.Port = c.DPort
		} else {
			k.Dst = window.IPOf(netip.MustParseAddr(c.Dst))
		}
		for _, k.Slow = range []bool{false, true} {
			k.Win = fast.Index(c.TS)
			if k.Slow {
				k.Win = slow.Index(c.TS)
			}
			u := ref[k]
			u.Add([]byte(c.UID))
			ref[k] = u
		}
	})
	for _, k := range []string{"horizontal 1m0s", "horizontal 2m0s", "vertical 1m0s", "vertical 2m0s", "slow 30m0s", "slow 1h0m0s"} {
		if counts["scan."+k] < 10 {
			t.Fatalf("test too thin: notices %v", counts)
		}
	}
	slots := 0
	check := func(at int, ref map[slotWin]window.UIDs, k slotWin, e *Entry) {
		for i, s := range append(e.Fast[:], e.Slow[:]...) {
			if !s.Used {
				continue
			}
			k.Slow, k.Win = i >= len(e.Fast), s.Win
			if want := ref[k]; s.UIDs != want {
				t.Fatalf("capture at row %d: %+v has uids %q, want %q", at, k, s.UIDs.Strings(), want.Strings())
			}
			slots++
		}
	}
	for j, c := range caps {
		v := window.Decoded[snap](t, c.Encode)
		for _, e := range v.H {
			check(c.At, refs[j], slotWin{Src: e.K.Src, Port: e.K.Port}, &e.V)
		}
		for _, e := range v.V {
			check(c.At, refs[j], slotWin{Src: e.K.Src, Dst: e.K.Dst}, &e.V)
		}
		if v.HEv+v.VEv+v.HPEv+v.VPEv != 0 {
			t.Fatal("keys evicted")
		}
	}
	if slots < 800 {
		t.Fatalf("test too thin: %d slots in the captures", slots)
	}
}
