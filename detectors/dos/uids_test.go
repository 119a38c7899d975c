package dos

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

// keyWin is a key's window by its number (the reference's key).
type keyWin struct {
	K   Key
	Win int64
}

// uidRows is minutes of random rows to 24 destinations, in time order,
// each with a uid of 1 to 18 base-62 characters as Zeek writes them: in a
// key's minute a few rows, a crowd of half-open sources (some floods) or
// one loud source.
func uidRows(r *rand.Rand, minutes int) []window.Conn {
	var rows []window.Conn
	for m := range minutes {
		for k := range 24 {
			n, srcs, state := r.Intn(4), 1000, "SF"
			switch r.Intn(4) {
			case 0:
				n, state = 5+r.Intn(40), "S0"
			case 1:
				n, srcs = 20+r.Intn(200), 1
			}
			for range n {
				uid := window.ZeekUID(r)
				s := r.Intn(srcs)
				rows = append(rows, window.Conn{TS: t0.Add(time.Duration(m)*time.Minute + time.Duration(r.Int63n(int64(time.Minute)))),
					Src: fmt.Sprintf("100.64.%d.%d", s/250, 1+s%250), Dst: fmt.Sprintf("203.0.113.%d", 1+k/2),
					SPort: uint16(1024 + r.Intn(60000)), DPort: uint16(80 + k%2), State: state, UID: uid})
			}
		}
	}
	slices.SortStableFunc(rows, func(a, b window.Conn) int { return a.TS.Compare(b.TS) })
	return rows
}

// A slot's uids live in a window.UIDSample and snapshots carry them as
// window.UIDs: every notice and capture carries what a reference
// window.UIDs sample of each key-window's uids (two windows' merged, for
// a notice joining the previous window) holds, through captures encoded
// after more rows and a restart halfway (window.RunRestarting).
func TestUIDSamplesAsUIDs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinSources, cfg.MinConnsOneSource = 20, 150
	r := rand.New(rand.NewSource(1))
	rows := uidRows(r, 60)
	win := window.NewWindows(cfg.Window, cfg.Lateness)
	ref := map[keyWin]window.UIDs{}
	var withUIDs, joined int
	emit := func(n *notice.Notice) {
		var want window.UIDs
		k := Key{window.IPOf(n.Destination), n.DestPort, 6}
		for w := win.Index(n.Start); w < win.Index(n.End); w++ {
			u := ref[keyWin{k, w}]
			want.Merge(&u)
		}
		if !reflect.DeepEqual(n.UIDs, want.Strings()) {
			t.Fatalf("notice for %s at %s: uids %q, want %q", n.Destination, n.Start, n.UIDs, want.Strings())
		}
		withUIDs += min(len(n.UIDs), 1)
		joined += int(n.End.Sub(n.Start) / (2 * cfg.Window))
	}
	var refs []map[keyWin]window.UIDs // at each capture
	caps := window.RunRestarting[snap](t, func() *Detector { return New(cfg) }, rows, emit, func(i int, captured bool) {
		if captured {
			refs = append(refs, maps.Clone(ref))
		}
		k := keyWin{Key{window.IPOf(netip.MustParseAddr(rows[i].Dst)), rows[i].DPort, 6}, win.Index(rows[i].TS)}
		u := ref[k]
		u.Add([]byte(rows[i].UID))
		ref[k] = u
	})
	if withUIDs < 100 || joined < 20 {
		t.Fatalf("test too thin: %d notices with uids, %d joining two windows", withUIDs, joined)
	}
	var open, prev int
	for j, c := range caps {
		for _, e := range window.Decoded[snap](t, c.Encode).Entries {
			for i, sl := range append(e.V.Slots[:], e.V.Prev) {
				if !sl.Used {
					continue
				}
				if want := refs[j][keyWin{e.K, sl.Win}]; sl.UIDs != want {
					t.Fatalf("capture at row %d: %v's window %d has uids %q, want %q",
						c.At, e.K, sl.Win, sl.UIDs.Strings(), want.Strings())
				}
				if i == len(e.V.Slots) {
					prev++
				} else {
					open++
				}
			}
		}
	}
	if open < 300 || prev < 80 {
		t.Fatalf("test too thin: %d open windows, %d previous ones in the captures", open, prev)
	}
}
