package features

import (
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// TestHostOrder: a window's hosts come out in netip.Addr order whether
// they are all IPv4 (and the invalid address), sorted as packed words,
// or mixed with IPv6, sorted by compare; hosts below build are left out
// and counted in below when they reach lo.
func TestHostOrder(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	v4 := func(n int) []netip.Addr {
		var out []netip.Addr
		for range n {
			out = append(out, netip.AddrFrom4([4]byte{byte(r.Intn(256)), byte(r.Intn(256)), byte(r.Intn(256)), byte(r.Intn(256))}))
		}
		return out
	}
	consecutive := func(n int) []netip.Addr {
		out := make([]netip.Addr, n)
		for i := range out {
			out[i] = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		}
		r.Shuffle(n, func(i, j int) { out[i], out[j] = out[j], out[i] })
		return out
	}
	edges := []netip.Addr{netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("128.0.0.0"),
		netip.MustParseAddr("127.255.255.255"), {}}
	mixed := append(v4(200), netip.MustParseAddr("::ffff:10.0.0.1"), netip.MustParseAddr("::1"), netip.MustParseAddr("2001:db8::1"))
	for _, tc := range []struct {
		name      string
		hosts     []netip.Addr
		build, lo int
	}{
		{"ipv4", v4(300), 0, 0},
		{"ipv4 and invalid, edges", append(v4(50), edges...), 0, 0},
		{"ipv4, build 3", v4(300), 3, 1},
		{"ipv4, radix sorted", append(v4(20000), edges...), 0, 0},
		{"ipv4, radix sorted, build 2", v4(20000), 2, 1},
		{"ipv4, consecutive, radix sorted", consecutive(20000), 0, 0},
		{"mixed", mixed, 0, 0},
		{"mixed, build 2", mixed, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWinState(64)
			w.reset(time.Unix(0, 0), time.Unix(300, 0))
			rows := map[netip.Addr]int{}
			for i := range 3 * len(tc.hosts) {
				h := tc.hosts[r.Intn(len(tc.hosts))]
				if i < len(tc.hosts) {
					h = tc.hosts[i]
				}
				w.find(keyOf(h), 1<<20).rows++
				rows[h]++
			}
			got, below := w.hostOrder(nil, tc.build, tc.lo)
			var want []netip.Addr
			wantBelow := 0
			for h, n := range rows {
				if n >= tc.build {
					want = append(want, h)
				} else if n >= tc.lo {
					wantBelow++
				}
			}
			slices.SortFunc(want, netip.Addr.Compare)
			if len(got) != len(want) || below != wantBelow {
				t.Fatalf("%d hosts, %d below; want %d, %d", len(got), below, len(want), wantBelow)
			}
			for j, ref := range got {
				if a := w.accs[ref.i].key(); a != ref.k || a.addr() != want[j] {
					t.Fatalf("host %d: ref %v of acc %v (%v), want %v", j, ref.k, a, a.addr(), want[j])
				}
			}
		})
	}
}

// TestSkipUIDsBelow: host-windows below the bound come without their
// uids, the others with them, and every value as without the bound; a
// vector's values are its own (an append does not reach the next one's).
func TestSkipUIDsBelow(t *testing.T) {
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	var evs []*zeekreader.Event
	for i := range 40 {
		h := netip.AddrFrom4([4]byte{10, 0, 0, byte(i % 10)})
		if i >= 30 {
			h = netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}) // one row each
		}
		ts := start.Add(time.Duration(i) * time.Second)
		evs = append(evs, &zeekreader.Event{Kind: zeekreader.KindConn, TS: ts, Conn: &zeekreader.Conn{TS: ts, UID: []byte(fmt.Sprintf("C%d", i)),
			Orig: h, Resp: netip.AddrFrom4([4]byte{93, 0, 0, byte(i)}), RespP: 443, Proto: []byte("tcp"), ConnState: []byte("SF")}})
	}
	run := func(skip int) []Vector {
		x := New(DefaultConfig())
		x.SkipUIDsBelow(skip)
		for _, ev := range evs {
			x.Observe(ev)
		}
		return x.Flush()
	}
	all, some := run(0), run(3)
	if len(all) != 20 || len(some) != 20 {
		t.Fatalf("%d and %d vectors, want 20", len(all), len(some))
	}
	for i := range all {
		a, s := all[i], some[i]
		if len(a.UIDs) != a.Rows {
			t.Errorf("%v: %d uids of %d rows", a.Host, len(a.UIDs), a.Rows)
		}
		wantUIDs := a.UIDs
		if a.Rows < 3 {
			wantUIDs = nil
		}
		if !slices.Equal(s.UIDs, wantUIDs) || (s.UIDs == nil) != (wantUIDs == nil) {
			t.Errorf("%v (%d rows): uids %q, want %q", s.Host, s.Rows, s.UIDs, wantUIDs)
		}
		s.UIDs, a.UIDs = nil, nil
		if !vectorsEqual(a, s) {
			t.Errorf("vector %d differs: %+v, %+v", i, a, s)
		}
	}
	next := slices.Clone(some[1].Values)
	_ = append(some[0].Values, 99)
	if !slices.Equal(some[1].Values, next) {
		t.Errorf("an append to a vector's values changed the next one's")
	}
}

func vectorsEqual(a, b Vector) bool {
	return a.Host == b.Host && a.Start.Equal(b.Start) && a.End.Equal(b.End) && slices.Equal(a.Values, b.Values) &&
		a.Malicious == b.Malicious && a.Class == b.Class && a.Rows == b.Rows && a.Unobserved == b.Unobserved && a.Unlogged == b.Unlogged
}

// TestDestinationHeldInline: a host-window's destinations hold the same
// hashes, count and drops at the cap whether the first IPv4 address is
// held in the set itself (addAddr) or hashed into a run (add), through
// the move to a run when a second destination comes, IPv4 or IPv6.
func TestDestinationHeldInline(t *testing.T) {
	a := netip.MustParseAddr
	for _, tc := range []struct {
		name       string
		dsts       []netip.Addr
		max, drops int
		inl        bool // held inline at the end
	}{
		{"one", []netip.Addr{a("10.0.0.1")}, 16, 0, true},
		{"one, repeated", []netip.Addr{a("10.0.0.1"), a("10.0.0.1"), a("10.0.0.1")}, 16, 0, true},
		{"0.0.0.0", []netip.Addr{a("0.0.0.0")}, 16, 0, true},
		{"two", []netip.Addr{a("10.0.0.1"), a("10.0.0.2"), a("10.0.0.1")}, 16, 0, false},
		{"then ipv6", []netip.Addr{a("10.0.0.1"), a("2001:db8::1")}, 16, 0, false},
		{"ipv6 first", []netip.Addr{a("2001:db8::1"), a("10.0.0.1")}, 16, 0, false},
		{"4in6 and 4", []netip.Addr{a("::ffff:10.0.0.1"), a("10.0.0.1")}, 16, 0, false},
		{"invalid", []netip.Addr{{}, a("10.0.0.1")}, 16, 0, false},
		{"cap 1", []netip.Addr{a("10.0.0.1"), a("10.0.0.2"), a("10.0.0.1")}, 1, 1, false},
		{"many", []netip.Addr{a("10.0.0.1"), a("10.0.0.2"), a("10.0.0.3"), a("10.0.0.4"), a("10.0.0.5"), a("10.0.0.6"),
			a("10.0.0.7"), a("10.0.0.8"), a("10.0.0.9")}, 16, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWinState(tc.max)
			w.reset(time.Unix(0, 0), time.Unix(300, 0))
			var got, want hset
			drops := 0
			for _, d := range tc.dsts {
				if !w.addAddr(&got, d, tc.max) {
					drops++
				}
				w.add(&want, hashAddr(d), tc.max)
			}
			if got.inline() != tc.inl || drops != tc.drops || got.n != want.n {
				t.Errorf("inline %v, %d dropped, %d held; want %v, %d, %d", got.inline(), drops, got.n, tc.inl, tc.drops, want.n)
			}
			if h, wh := w.hashes(got), w.hashes(want); !slices.Equal(h, wh) {
				t.Errorf("hashes %v, want %v", h, wh)
			}
		})
	}
}
