package contextual

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

var monday = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

// workdays: hosts active 9:00–17:00 on weekdays, 30 connections an hour.
func workdays(hosts []string, days int) []window.Conn {
	var rows []window.Conn
	for d := 0; d < days; d++ {
		day := monday.AddDate(0, 0, d)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for h := 9; h < 17; h++ {
			for _, host := range hosts {
				for i := 0; i < 30; i++ {
					rows = append(rows, window.Conn{TS: day.Add(time.Duration(h)*time.Hour + time.Duration(i)*2*time.Minute),
						Src: host, Dst: fmt.Sprintf("93.184.216.%d", i+1), DPort: 443, OrigBytes: 1000})
				}
			}
		}
	}
	return rows
}

func burst(host string, at time.Time, n int) []window.Conn {
	var rows []window.Conn
	for i := 0; i < n; i++ {
		rows = append(rows, window.Conn{TS: at.Add(time.Duration(i) * 10 * time.Second), Src: host,
			Dst: fmt.Sprintf("198.51.100.%d", i%50+1), DPort: 445, OrigBytes: 5000})
	}
	return rows
}

func run(rows []window.Conn) []*notice.Notice {
	return window.Run(New(DefaultConfig()), window.Shuffle(rows, time.Nanosecond, 1))
}

func TestOffHours(t *testing.T) {
	hosts := []string{"10.0.0.5", "10.0.0.6", "10.0.0.7"}
	base := workdays(hosts, 21)
	wed3am := monday.AddDate(0, 0, 23).Add(3 * time.Hour) // week 4, Wednesday 03:00
	cases := []struct {
		name  string
		extra []window.Conn
		want  string
	}{
		{"only office hours", nil, ""},
		{"3am burst after three weeks", burst("10.0.0.5", wed3am, 200), "10.0.0.5"},
		{"small 3am blip", burst("10.0.0.5", wed3am, 5), ""},
		{"3am on day one: no history", burst("10.0.0.5", monday.Add(3*time.Hour), 300), ""},
		{"new host at 3am, population prior", burst("10.0.0.50", wed3am, 200), "10.0.0.50"},
		{"external host is not profiled", burst("203.0.113.7", wed3am, 200), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := run(append(append([]window.Conn{}, base...), tc.extra...))
			got := ""
			for _, n := range ns {
				got += n.Source.String()
				if n.Rule != notice.RuleOffHours || n.RiskScore < 50 || len(n.UIDs) == 0 {
					t.Errorf("%+v", n)
				}
				t.Log(n.Message, n.RiskScore)
			}
			if got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
}

func TestOffHoursDeterminismSnapshot(t *testing.T) {
	rows := window.Shuffle(append(workdays([]string{"10.0.0.5", "10.0.0.6"}, 21), burst("10.0.0.5", monday.AddDate(0, 0, 23).Add(3*time.Hour), 100)...), time.Nanosecond, 1)
	a := window.Canon(window.Run(New(DefaultConfig()), rows))
	if len(a) != 1 || !reflect.DeepEqual(a, window.Canon(window.Run(New(DefaultConfig()), rows))) {
		t.Fatalf("%v", a)
	}
	if sh := window.Canon(window.Run(New(DefaultConfig()), window.Shuffle(rows, 4*time.Minute, 9))); !reflect.DeepEqual(a, sh) {
		t.Errorf("shuffle differs\n%v\n%v", a, sh)
	}
	s, err := window.RunSnapshot(New(DefaultConfig()), New(DefaultConfig()), rows, len(rows)/2)
	if err != nil || !reflect.DeepEqual(a, window.Canon(s)) {
		t.Fatalf("snapshot differs %v", err)
	}
	// a host's most state: its profile and a slot per open hour, each
	// with its HLL
	if sz := reflect.TypeOf(state{}).Size() + nSlots*(reflect.TypeOf(slot{}).Size()+reflect.TypeOf(window.HLL{}).Size()); sz > 2048 {
		t.Fatalf("state per host up to %d bytes", sz)
	}
	// a restored detector holds the state it was given
	x, y, err := window.RestoreRoundTrip(New(DefaultConfig()), New(DefaultConfig()), rows, len(rows)/2, window.DecodeGob[snap])
	if err != nil || x.(snap).Closed == 0 || len(x.(snap).Entries) == 0 || !reflect.DeepEqual(x, y) {
		t.Fatalf("restored state differs (or too thin): %v", err)
	}
}

func BenchmarkContextual(b *testing.B) {
	window.Bench(b, func() detectors.Detector { return New(DefaultConfig()) })
}

// daily: a host active every day for days days, from each hour of hours
// at minute min, n connections 20 s apart.
func daily(host string, days int, min int, n int, hours ...int) []window.Conn {
	var rows []window.Conn
	for d := 0; d < days; d++ {
		for _, h := range hours {
			rows = append(rows, spread(host, monday.AddDate(0, 0, d).Add(time.Duration(h)*time.Hour+time.Duration(min)*time.Minute), n, 20*time.Second)...)
		}
	}
	return rows
}

// spread: n connections of host from at, every step.
func spread(host string, at time.Time, n int, step time.Duration) []window.Conn {
	var rows []window.Conn
	for i := 0; i < n; i++ {
		rows = append(rows, window.Conn{TS: at.Add(time.Duration(i) * step), Src: host,
			Dst: fmt.Sprintf("93.184.216.%d", i%40+1), DPort: 443, OrigBytes: 1000})
	}
	return rows
}

// TestOffHoursAdjacentHours: hours are judged with their neighbours, so
// activity that drifts across an hour boundary from a habitual hour is not
// off-hours, while an hour two or more from any activity still is, and so
// is a first night that starts just before the hour.
func TestOffHoursAdjacentHours(t *testing.T) {
	const h = "10.0.0.5"
	day10 := monday.AddDate(0, 0, 10)
	office := func(days int) []window.Conn { // every day 09:00-17:00
		return daily(h, days, 0, 30, 9, 10, 11, 12, 13, 14, 15, 16)
	}
	office3 := []string{h, "10.0.0.6", "10.0.0.7"}
	night := func(host string, day int) []window.Conn { // 5 connections from 02:58, 200 from 03:00
		at := monday.AddDate(0, 0, day).Add(3 * time.Hour)
		return append(spread(host, at.Add(-2*time.Minute), 5, 20*time.Second), burst(host, at, 200)...)
	}
	cases := []struct {
		name string
		rows []window.Conn
		want string
	}{
		// zat's replayed job: 23:44 for ten days, then 23:58-00:02 (137
		// connections at 00:00 were p 0.045 by hour of day)
		{"nightly job jittered across midnight", append(daily(h, 10, 44, 40, 23), spread(h, day10.Add(23*time.Hour+58*time.Minute), 150, 1600*time.Millisecond)...), ""},
		// the same across the week's end, judged by hour of week:
		// Saturday 23:58 to Sunday 00:02 of week 3
		{"nightly job jittered across Saturday midnight", append(daily(h, 19, 44, 40, 23), spread(h, monday.AddDate(0, 0, 19).Add(23*time.Hour+58*time.Minute), 150, 1600*time.Millisecond)...), ""},
		{"09-17 host at 03:00", append(office(10), spread(h, day10.Add(3*time.Hour), 40, 20*time.Second)...), h},
		{"09-17 host at 08:00, next to its first hour", append(office(10), spread(h, day10.Add(8*time.Hour), 40, 20*time.Second)...), ""},
		{"09-17 host at 07:00, two hours before", append(office(10), spread(h, day10.Add(7*time.Hour), 40, 20*time.Second)...), h},
		{"22-23 host at 00:00", append(daily(h, 10, 0, 30, 22, 23), spread(h, day10.Add(24*time.Hour+10*time.Minute), 40, 20*time.Second)...), ""},
		{"23:00 host at 03:00", append(daily(h, 10, 0, 30, 23), spread(h, day10.Add(3*time.Hour), 40, 20*time.Second)...), h},
		{"23:00 host at 01:00", append(daily(h, 10, 0, 30, 23), spread(h, day10.Add(25*time.Hour), 40, 20*time.Second)...), h},
		// a first night that starts at 02:58: its own few connections make
		// 02:00 an active hour of the day before 03:00 is judged, and one
		// active hour is no habit, by hour of week, of day or the subnet's
		{"first night from 02:58, hour of week", append(workdays(office3, 21), night(h, 23)...), h},
		{"first night from 02:58, hour of day", append(workdays(office3, 10), night(h, 10)...), h},
		{"first night from 02:58, new host, subnet prior", append(workdays(office3[:1], 14), night("10.0.0.50", 16)...), "10.0.0.50"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			for _, n := range run(tc.rows) {
				got += n.Source.String()
				t.Log(n.Message, n.RiskScore)
			}
			if got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
}

// Keys evicted with open windows: a restore halfway and Flush twice free
// every slab id once, and a run stopped and restored halfway ends as the
// one that never stopped (same state, same notices).
func TestUnderEviction(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxHosts = 64
	fresh := New(cfg)
	window.CheckEvicting(t, New(cfg), fresh, func() int { return fresh.slots.Len() + fresh.hlls.Len() })
	window.CheckRestoreExact(t, func() detectors.Detector { return New(cfg) }, window.DecodeGob[snap])
}

// A flood of spoofed internal sources, 20 times max_hosts and spread over
// hundreds of /24s, in the hour before two hosts' first night activity:
// the established host keeps its profile and a new host's subnet keeps its
// prior (both held while the flood churns through the other entries), so
// 03:00 is judged against the host's own silent nights and against its
// subnet's, not by the population prior, which the flood, active at 02:00,
// would turn into an excuse for 03:00 (without the holds 10.0.0.50 is
// missed). The flood's hours (all S0) do not teach the priors either, so
// a new host in a new subnet is judged by the population's silent nights
// (10.7.7.7; missed when they did). Nor do they when the target answers
// (S1, history Sh: Zeek calls the connection established on the SYN-ACK;
// 10.7.7.7 was missed then).
func TestProfilesSurviveSpoofedFlood(t *testing.T) {
	base := workdays([]string{"10.0.0.5", "10.0.0.6", "10.0.0.7"}, 21)
	wed := monday.AddDate(0, 0, 23)
	flood := func(state, history string) []window.Conn {
		var rows []window.Conn
		for i := 0; i < 20000; i++ {
			rows = append(rows, window.Conn{TS: wed.Add(2*time.Hour + time.Duration(i)*150*time.Millisecond),
				Src: fmt.Sprintf("10.%d.%d.%d", 100+i%100, i/100%250, 1+i/25000), Dst: "203.0.113.1", DPort: 445,
				State: state, History: history})
		}
		return rows
	}
	cfg := DefaultConfig()
	cfg.MaxHosts = 1000
	for _, tc := range []struct {
		name  string
		flood []window.Conn
	}{{"no flood", nil}, {"after a flood of 20x max_hosts", flood("S0", "S")},
		{"after an answered flood", flood("S1", "Sh")}} {
		t.Run(tc.name, func(t *testing.T) {
			rows := append(append([]window.Conn{}, base...), burst("10.0.0.5", wed.Add(3*time.Hour), 200)...)
			rows = append(rows, burst("10.0.0.50", wed.Add(3*time.Hour), 200)...) // a new host
			rows = append(rows, burst("10.7.7.7", wed.Add(3*time.Hour), 200)...)  // in a new subnet
			rows = append(rows, tc.flood...)
			d := New(cfg)
			ns := window.Run(d, window.Shuffle(rows, time.Nanosecond, 1))
			got := ""
			for _, n := range ns {
				got += n.Source.String() + " "
				t.Log(n.Message)
				if n.Source.String() == "10.0.0.5" && strings.Contains(n.Message, "new host") {
					t.Errorf("judged as a new host (its profile was evicted): %s", n.Message)
				}
				if n.Source.String() == "10.0.0.50" && !strings.Contains(n.Message, "by its subnet's") {
					t.Errorf("a new host not judged by its subnet's prior (evicted): %s", n.Message)
				}
			}
			for _, h := range []string{"10.0.0.5", "10.0.0.50", "10.7.7.7"} {
				if !strings.Contains(got, h+" ") {
					t.Errorf("no notice for %s: notices for %q (evicted %d)", h, got, d.Stats().Evicted)
				}
			}
		})
	}
}

// A checkpoint's Capture copies: encoded after more rows, it is the state
// of its moment (run encodes it while rows flow).
func TestCaptureCopies(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxHosts = 64
	window.CheckCapture(t, func() detectors.Detector { return New(cfg) }, window.DecodeGob[snap])
}

// A checkpoint written before snapshots were chunked restores as a chunked
// one does; a chunked one cut short does not restore.
func TestRestoreUnchunked(t *testing.T) {
	window.CheckRestoreUnchunked[snap](t, func() detectors.Detector { return New(DefaultConfig()) })
}

// A host's weeks active at an hour of week count in a byte: they stop at
// 255, and a snapshot's or model's larger uint16 count comes in as 255
// (and so do the days active at that hour of day they add up to).
func TestWeeksSaturate(t *testing.T) {
	var w [168]uint16
	w[0], w[1], w[2] = 3, 255, 4000
	h := narrowHOW(&w)
	if h[0] != 3 || h[1] != 255 || h[2] != 255 || h[3] != 0 {
		t.Fatalf("%v", h[:4])
	}
	if back := wideHOW(&h); back[0] != 3 || back[2] != 255 {
		t.Fatalf("%v", back[:4])
	}
	d := New(DefaultConfig())
	var e state
	for range 300 {
		d.learn(window.IP{}, &e, 0, false, 5, 5)
	}
	if e.HOW[5] != 255 || e.daysAt(5) != 255 {
		t.Fatalf("after 300 weeks: HOW %d, days at 05:00 %d", e.HOW[5], e.daysAt(5))
	}
	// short of that, the days are those counted one by one
	e = state{}
	var days [24]uint16
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		how := r.IntN(168)
		d.learn(window.IP{}, &e, 0, false, how, how%24)
		days[how%24]++
	}
	if e.hod() != days {
		t.Fatalf("days %v, counted %v", e.hod(), days)
	}
}

// A snapshot whose hours a host's state cannot hold (int32) is refused,
// naming the host, not restored wrapped.
func TestRestoreRefusesHoursOutOfRange(t *testing.T) {
	for _, damage := range []func(e *Entry){
		func(e *Entry) { e.FirstHour = 1 << 40 },
		func(e *Entry) { e.LastDay = -1 << 33 },
		func(e *Entry) { e.Slots[1] = Slot{Used: true, Win: 1<<31 + 7} },
	} {
		e := Entry{FirstHour: 490000, LastDay: -1}
		damage(&e)
		var b bytes.Buffer
		s := snap{Entries: []window.Entry[window.IP, Entry]{{K: window.IPOf(netip.MustParseAddr("10.0.0.9")), V: e}}}
		if err := gob.NewEncoder(&b).Encode(s); err != nil {
			t.Fatal(err)
		}
		if err := New(DefaultConfig()).Restore(b.Bytes()); err == nil || !strings.Contains(err.Error(), "10.0.0.9") {
			t.Errorf("%+v: %v", e, err)
		}
	}
}

// The message names the hour with its time zone, whose silence it is
// (a new host has no history of its own) and over how many days, and
// never more hosts than connections (an estimate: the planted 40
// connections read "to 41 hosts").
func TestOffHoursMessages(t *testing.T) {
	base := workdays([]string{"10.0.0.5", "10.0.0.6", "10.0.0.7"}, 21)
	wed3am := monday.AddDate(0, 0, 23).Add(3 * time.Hour)
	for _, tc := range []struct {
		burst []window.Conn
		want  string
	}{
		{burst("10.0.0.5", wed3am, 200), "10.0.0.5 made 200 connections to 52 hosts on Wed 03:00–04:00 UTC, an hour it is normally silent (active then 1% of the time by hour of week, over 22 days of its history)"},
		{burst("10.0.0.50", wed3am, 200), "10.0.0.50, a new host, made 200 connections to 52 hosts on Wed 03:00–04:00 UTC, an hour its subnet is normally silent (active then 2% of the time by its subnet's hour of day)"},
		// 20 destinations, estimated 22
		{burst("10.0.0.5", wed3am, 20), "10.0.0.5 made 20 connections to 20 hosts on Wed 03:00–04:00 UTC, an hour it is normally silent (active then 1% of the time by hour of week, over 22 days of its history)"},
	} {
		ns := run(append(append([]window.Conn{}, base...), tc.burst...))
		if len(ns) != 1 || ns[0].Message != tc.want {
			t.Fatalf("%v, want %s", window.Canon(ns), tc.want)
		}
	}
}
