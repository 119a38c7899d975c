package exfil

import (
	"fmt"
	"io"
	"maps"
	"math/rand"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

// hostWin is a host's window by its start (the reference's key).
type hostWin struct {
	Host  string
	Start int64
}

// uidRows is hours of random rows from hosts 10.0.0.1..n, in time order,
// each with its own uid: connections of a few hundred bytes, bulky ones
// (100 kB to 5 MB, a uid each) in some host-hours, just under 100 kB in
// others (busy windows without a uid), now and then a 20 to 500 MB
// upload.
func uidRows(r *rand.Rand, hosts, hours int) []window.Conn {
	var rows []window.Conn
	for h := range hours {
		for host := 1; host <= hosts; host++ {
			kind := r.Intn(6) // 0, 1: bulky, 2: busy
			for range r.Intn(25) {
				c := window.Conn{TS: t0.Add(time.Duration(h)*time.Hour + time.Duration(r.Int63n(int64(time.Hour)))),
					Src: fmt.Sprintf("10.0.0.%d", host), Dst: fmt.Sprintf("93.184.%d.%d", r.Intn(4), 1+r.Intn(200)),
					SPort: uint16(1024 + r.Intn(60000)), DPort: 443, OrigBytes: 1 + uint64(r.ExpFloat64()*800),
					UID: fmt.Sprintf("C%d", len(rows))}
				switch {
				case r.Intn(200) == 0:
					c.OrigBytes = 2e7 + uint64(r.Int63n(5e8))
				case kind < 2 && r.Intn(2) == 0:
					c.OrigBytes = 1e5 + uint64(r.Int63n(5e6))
				case kind == 2:
					c.OrigBytes = 1e5 - 1 - uint64(r.Int63n(5e4))
				}
				rows = append(rows, c)
			}
		}
	}
	slices.SortStableFunc(rows, func(a, b window.Conn) int { return a.TS.Compare(b.TS) })
	return rows
}

// checkSlabs fails unless each of d's slabs holds exactly the values its
// table's entries refer to, each once: a slot freed without its dense
// buckets or uid sample leaks them, one freed twice is handed out twice.
func checkSlabs(t *testing.T, d *Detector, at string) {
	t.Helper()
	seen := map[[2]int32]bool{}
	var slots, ds, us int
	d.t.Range(func(_ window.IP, e *state) bool {
		for _, id := range e.Slot {
			if id == 0 {
				continue
			}
			s := d.slots.At(id)
			for _, k := range [][2]int32{{0, id}, {1, s.B.D}, {2, s.U}} {
				if k[1] != 0 && seen[k] {
					t.Fatalf("%s: slab %d value %d held twice", at, k[0], k[1])
				}
				seen[k] = k[1] != 0
			}
			slots++
			ds += min(int(s.B.D), 1)
			us += min(int(s.U), 1)
		}
		return false
	})
	if d.slots.Len() != slots || d.dense.Len() != ds || d.uids.Len() != us {
		t.Fatalf("%s: slabs hold %d slots, %d dense buckets, %d uid samples; the entries %d, %d, %d",
			at, d.slots.Len(), d.dense.Len(), d.uids.Len(), slots, ds, us)
	}
}

// A window's uid sample lives in a slab of its own, taken at its first
// bulky connection: every notice and snapshot carries the sample an
// inline one would (a reference bottom-k sample of the host-window's
// bulky uids, or the empty one), through captures encoded after more
// rows and a restore halfway; and after every row each slab holds
// exactly what the table refers to, with max_hosts small enough to
// evict and without, until Flush leaves all three empty.
func TestUIDSamplesInTheirSlab(t *testing.T) {
	for _, maxHosts := range []int{1000, 24} {
		t.Run(fmt.Sprint("max_hosts ", maxHosts), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxHosts, cfg.Z, cfg.MinBytes = maxHosts, 2, 0
			r := rand.New(rand.NewSource(int64(maxHosts)))
			rows := uidRows(r, 40, 10)
			evicting := maxHosts < 40
			// the reference: each host-window's bottom-k sample of its
			// bulky rows' uids (under eviction a host's window can open
			// again without its earlier rows: only the slabs are checked)
			ref := map[hostWin]window.UIDs{}
			var withUIDs, without int
			emit := func(n *notice.Notice) {
				if evicting {
					return
				}
				want := ref[hostWin{n.Source.String(), n.Start.UnixNano()}]
				if got := n.UIDs; !reflect.DeepEqual(got, want.Strings()) {
					t.Fatalf("notice for %s at %s: uids %q, want %q", n.Source, n.Start, got, want.Strings())
				}
				if len(n.UIDs) > 0 {
					withUIDs++
				} else {
					without++
				}
			}
			d := New(cfg)
			eng := detectors.NewEngine(emit, d)
			type capture struct {
				encode func(io.Writer) error
				ref    map[hostWin]window.UIDs
				at     int
			}
			var caps []capture
			dense := 0 // the most windows with dense buckets at once
			for i, c := range rows {
				if i == len(rows)/2 {
					// a restart: the rest goes to a detector restored from
					// this one's snapshot, as `zeekanom run` does
					b, err := d.Snapshot()
					if err != nil {
						t.Fatal(err)
					}
					wm, err := eng.Snapshot()
					if err != nil {
						t.Fatal(err)
					}
					d = New(cfg)
					eng = detectors.NewEngine(emit, d)
					if err := d.Restore(b); err != nil {
						t.Fatal(err)
					}
					if err := eng.Restore(wm); err != nil {
						t.Fatal(err)
					}
					checkSlabs(t, d, "restored")
				}
				if i%(len(rows)/12) == 0 {
					caps = append(caps, capture{d.Capture(), maps.Clone(ref), i})
				}
				if c.OrigBytes >= 1e5 {
					k := hostWin{c.Src, c.TS.Truncate(cfg.Window).UnixNano()}
					u := ref[k]
					u.Add([]byte(c.UID))
					ref[k] = u
				}
				eng.Observe(c.Event())
				checkSlabs(t, d, fmt.Sprintf("row %d", i))
				dense = max(dense, d.dense.Len())
			}
			eng.Flush()
			checkSlabs(t, d, "flushed")
			if d.slots.Len()+d.dense.Len()+d.uids.Len() != 0 || (d.Stats().Evicted > 0) != evicting {
				t.Fatalf("slab values in use after Flush: %d slots, %d dense, %d uid samples; %d hosts evicted",
					d.slots.Len(), d.dense.Len(), d.uids.Len(), d.Stats().Evicted)
			}
			if dense == 0 || !evicting && (withUIDs < 5 || without < 5) {
				t.Fatalf("test too thin: %d notices with uids, %d without, %d windows dense at most", withUIDs, without, dense)
			}
			if evicting {
				return
			}
			// each capture, encoded after every row, is the windows of its
			// moment with their samples
			bulky := 0
			for _, c := range caps {
				s, err := detectors.Encoded(c.encode)
				if err != nil {
					t.Fatal(err)
				}
				v, err := window.DecodeGob[snap](s)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range v.(snap).Entries {
					for _, sl := range e.V.Slots {
						if !sl.Used {
							continue
						}
						want := c.ref[hostWin{e.K.Addr().String(), d.win.Start(sl.Win).UnixNano()}]
						if sl.UIDs != want {
							t.Fatalf("capture at row %d: %s's window %d has uids %q, want %q",
								c.at, e.K.Addr(), sl.Win, sl.UIDs.Strings(), want.Strings())
						}
						bulky += int(sl.UIDs.N)
					}
				}
			}
			if bulky < 100 {
				t.Fatalf("test too thin: %d uids in the captures", bulky)
			}
		})
	}
}
