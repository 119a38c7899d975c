package beacon

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

// A key's rows of the next window that come while its window waits for
// lateness are held (Entry.Next) and replayed into it when that window
// closes; they are counted as its live rows are, hosts too, so a net key
// seen across a boundary is judged as one seen within a window. Until
// 2026-12-02 they were counted (and their unanswered ones) without their
// hosts: a /24 sweep that began before midnight, 16 rows in the first 5
// minutes of the day and 4 more, read as 20 rows on 4 hosts, no sweep,
// and gave a beacon notice (score 1.00); the same rows without the day
// before were 20 hosts, a sweep.
func TestSweepAcrossWindows(t *testing.T) {
	day := t0.Add(24 * time.Hour)
	// rows: one every 19 s, from 10 minutes before the day when
	// fromDayBefore, and 20 of the day (16 in its first 5 minutes,
	// pending when the day before has rows, then 4), the i-th of them by
	// row; and another host's row at 00:05, the one after which the day
	// before closes
	rows := func(fromDayBefore bool, row func(i int, ts time.Time) window.Conn) []window.Conn {
		var rs []window.Conn
		for ts := day.Add(-10 * time.Minute); fromDayBefore && ts.Before(day); ts = ts.Add(19 * time.Second) {
			rs = append(rs, row(len(rs), ts))
		}
		for k := range 20 {
			rs = append(rs, row(len(rs), day.Add(time.Duration(k)*19*time.Second)))
		}
		rs = append(rs, window.Conn{TS: day.Add(5 * time.Minute), Src: "10.1.1.99", Dst: "192.0.2.1", DPort: 80, OrigBytes: 90, RespBytes: 900})
		slices.SortStableFunc(rs, func(a, b window.Conn) int { return a.TS.Compare(b.TS) })
		return rs
	}
	// a sweep probes a new host of 10.9.9.0/24 at each row, S0; a C2
	// calls the next of 3 hosts of 198.51.100.0/24, answered
	sweep := func(i int, ts time.Time) window.Conn {
		return window.Conn{TS: ts, Src: "198.51.100.23", Dst: fmt.Sprintf("10.9.9.%d", 1+i), SPort: uint16(40000 + i), DPort: 445, State: "S0"}
	}
	c2 := func(i int, ts time.Time) window.Conn {
		return window.Conn{TS: ts, Src: "10.1.1.6", Dst: fmt.Sprintf("198.51.100.%d", 1+i%3), SPort: uint16(40000 + i), DPort: 443,
			OrigBytes: 300, RespBytes: 1200, State: "SF"}
	}
	for _, c := range []struct {
		name    string
		rows    []window.Conn
		want    int    // net notices
		message string // of the day's
	}{
		{"sweep within the day", rows(false, sweep), 0, ""},
		{"sweep from the day before", rows(true, sweep), 0, ""},
		{"C2 over 3 hosts within the day", rows(false, c2), 1, "3 hosts in 198.51.100.0/24"},
		{"C2 over 3 hosts from the day before", rows(true, c2), 2, "3 hosts in 198.51.100.0/24"},
	} {
		t.Run(c.name, func(t *testing.T) {
			check := func(how string, ns []*notice.Notice) {
				var nets []string
				for _, n := range ns {
					if n.DestNet.IsValid() {
						nets = append(nets, n.Message)
					}
				}
				if len(nets) != c.want || c.want > 0 && !strings.Contains(nets[len(nets)-1], c.message+" on tcp/443: 20 connections") {
					t.Errorf("%s: net notices %q, want %d, the day's of %q and 20 connections", how, nets, c.want, c.message)
				}
			}
			d := New(DefaultConfig())
			check("run", window.Run(d, c.rows))
			if d.Dropped != 0 {
				t.Errorf("%d rows dropped", d.Dropped)
			}
			// restarted while the day's 16 first rows wait: a snapshot
			// keeps their destinations
			cut := slices.IndexFunc(c.rows, func(r window.Conn) bool { return !r.TS.Before(day.Add(4*time.Minute + 50*time.Second)) })
			ns, err := window.RunSnapshot(New(DefaultConfig()), New(DefaultConfig()), c.rows, cut)
			if err != nil {
				t.Fatal(err)
			}
			check("restarted", ns)
		})
	}
}

// A key's rows of the next window past the pendCap held while its window
// waits for lateness are dropped, and Stats says so (Dropped, the metrics'
// detector_stat "dropped" and score's summary), as it says Late: until
// 2026-12-02 only Detector.Dropped and the snapshots kept the count.
func TestStatsDropped(t *testing.T) {
	day := t0.Add(24 * time.Hour)
	for _, c := range []struct {
		name    string
		next    int // rows of the day, one every 5 s from its start
		dropped int64
	}{
		{"none past the buffer", pendCap, 0},
		// each row dropped twice: from its pair's key and its /24's
		{"4 past it", pendCap + 4, 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			var rows []window.Conn
			for i := range 10 { // the day before: a full entry
				rows = append(rows, window.Conn{TS: day.Add(time.Duration(i-10) * time.Minute), Src: "10.1.1.1", Dst: "198.51.100.7", DPort: 443, OrigBytes: 90, RespBytes: 900})
			}
			for i := range c.next {
				rows = append(rows, window.Conn{TS: day.Add(time.Duration(i) * 5 * time.Second), Src: "10.1.1.1", Dst: "198.51.100.7", DPort: 443, OrigBytes: 90, RespBytes: 900})
			}
			d := New(DefaultConfig())
			window.Run(d, rows)
			if st := d.Stats(); st.Dropped != c.dropped || d.Dropped != c.dropped || st.Late != 0 {
				t.Errorf("Stats: dropped %d, late %d (Detector.Dropped %d); want %d, 0", st.Dropped, st.Late, d.Dropped, c.dropped)
			}
		})
	}
}

// A key's rows held for the next window while its window waits for
// lateness keep their uids: the next window's notice samples them as it
// samples its live rows, so a C2 that called before midnight gives the
// day's notice the uid sample of the same calls seen alone, also when
// restarted while they wait. Until 2026-12-02 the held rows' uids were
// not kept, and the day's sample held only the uids of its rows after
// 00:05 (16 of its 20 rows were left out).
func TestPendingRowsKeepUIDs(t *testing.T) {
	day := t0.Add(24 * time.Hour)
	c2 := func(i int, ts time.Time) window.Conn {
		return window.Conn{TS: ts, Src: "10.1.1.6", Dst: "198.51.100.7", SPort: uint16(40000 + i), DPort: 443,
			OrigBytes: 300, RespBytes: 1200, State: "SF", UID: fmt.Sprintf("Cday%02d", i)}
	}
	var before, within []window.Conn
	for ts := day.Add(-10 * time.Minute); ts.Before(day); ts = ts.Add(19 * time.Second) {
		before = append(before, c2(len(before), ts))
	}
	for k := range 20 { // 16 in the day's first 5 minutes, then 4
		within = append(within, c2(100+k, day.Add(time.Duration(k)*19*time.Second)))
	}
	// another host's row at 00:05, after which the day before closes
	within = append(within, window.Conn{TS: day.Add(5 * time.Minute), Src: "10.1.1.99", Dst: "192.0.2.1", DPort: 80, OrigBytes: 90, RespBytes: 900})
	slices.SortStableFunc(within, func(a, b window.Conn) int { return a.TS.Compare(b.TS) })
	// the uids of the day's pair notice
	dayUIDs := func(ns []*notice.Notice) []string {
		for _, n := range ns {
			if !n.DestNet.IsValid() && !n.Start.Before(day) {
				return n.UIDs
			}
		}
		return nil
	}
	want := dayUIDs(window.Run(New(DefaultConfig()), within))
	if len(want) != window.UIDCap || !slices.ContainsFunc(want, func(u string) bool { return u < "Cday116" }) {
		t.Fatalf("the day alone: uids %q, want %d of them, one of a row in its first 5 minutes", want, window.UIDCap)
	}
	rows := append(slices.Clone(before), within...)
	d := New(DefaultConfig())
	if got := dayUIDs(window.Run(d, rows)); !slices.Equal(got, want) || d.Dropped != 0 {
		t.Errorf("from the day before: uids %q (%d rows dropped), want %q", got, d.Dropped, want)
	}
	cut := slices.IndexFunc(rows, func(r window.Conn) bool { return !r.TS.Before(day.Add(4*time.Minute + 50*time.Second)) })
	ns, err := window.RunSnapshot(New(DefaultConfig()), New(DefaultConfig()), rows, cut)
	if err != nil {
		t.Fatal(err)
	}
	if got := dayUIDs(ns); !slices.Equal(got, want) {
		t.Errorf("restarted while they wait: uids %q, want %q", got, want)
	}
}
