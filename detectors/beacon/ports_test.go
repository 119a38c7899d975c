package beacon

import (
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

func TestPortsSaid(t *testing.T) {
	type row struct {
		port  uint16
		proto uint8
		n     int
	}
	for _, tc := range []struct {
		name  string
		rows  []row
		want  portsSaid
		named bool
	}{
		{"one port", []row{{443, 6, 30}},
			portsSaid{port: 443, proto: 6, named: true, where: "on tcp/443"}, true},
		{"ICMP", []row{{0, 1, 30}},
			portsSaid{port: 0, proto: 1, named: true, where: "with ICMP"}, true},
		{"a stray row", []row{{443, 6, 29}, {80, 6, 1}},
			portsSaid{port: 443, proto: 6, named: true, where: "on tcp/443", split: "1 of them on tcp/80"}, true},
		{"strays on two ports, 90%", []row{{80, 6, 1}, {443, 6, 27}, {53, 17, 2}},
			portsSaid{port: 443, proto: 6, named: true, where: "on tcp/443", split: "3 of them on udp/53 and tcp/80"}, true},
		{"two ports", []row{{443, 6, 16}, {8080, 6, 14}},
			portsSaid{proto: 6, where: "on tcp/443 and tcp/8080", split: "16 on tcp/443, 14 on tcp/8080"}, false},
		{"89% is not a port", []row{{443, 6, 89}, {80, 6, 11}},
			portsSaid{proto: 6, where: "on tcp/443 and tcp/80", split: "89 on tcp/443, 11 on tcp/80"}, false},
		{"two transports", []row{{443, 17, 10}, {443, 6, 10}, {0, 1, 10}},
			portsSaid{where: "on ICMP, tcp/443 and udp/443", split: "10 on ICMP, 10 on tcp/443, 10 on udp/443"}, false},
		{"unknown transport", []row{{7, 0, 5}, {9, 0, 5}},
			portsSaid{where: "on port 7 and port 9", split: "5 on port 7, 5 on port 9"}, false},
		{"more ports than slots", []row{{443, 6, 96}, {1, 6, 1}, {2, 6, 1}, {3, 6, 1}, {4, 6, 1}},
			portsSaid{where: "on 5 or more ports"}, false},
	} {
		var c portCounts
		for _, r := range tc.rows {
			for range r.n {
				c.add(r.port, r.proto)
			}
		}
		if got := c.said(); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
		// the rows' order does not matter (up to portSlots ports)
		var back portCounts
		for _, r := range slices.Backward(tc.rows) {
			for range r.n {
				back.add(r.port, r.proto)
			}
		}
		if len(tc.rows) <= portSlots && back.said() != c.said() {
			t.Errorf("%s: reversed %+v, want %+v", tc.name, back.said(), c.said())
		}
	}
}

// withPorts is a copy of rows with row i's destination port port(i).
func withPorts(rows []window.Conn, port func(i int) uint16) []window.Conn {
	out := slices.Clone(rows)
	for i := range out {
		out[i].DPort = port(i)
	}
	return out
}

// strayAt is rows with row i on :80, the others on :443.
func strayAt(rows []window.Conn, i int) []window.Conn {
	return withPorts(rows, func(j int) uint16 {
		if j == i {
			return 80
		}
		return 443
	})
}

func beaconNotices(t *testing.T, rows []window.Conn) map[string]*notice.Notice {
	t.Helper()
	ns := map[string]*notice.Notice{}
	for _, n := range window.Run(New(DefaultConfig()), rows) {
		key := n.Destination.String()
		if !n.Destination.IsValid() {
			key = "net"
		}
		ns[key] = n
	}
	return ns
}

// A notice names the port of its key's rows, not its last row's: a C2
// over :443 and :8080 was ":8080" or ":443" by its last row, a beacon to
// :443 with a stray row on :80 was ":80" when that row came last, and an
// analyst's search for destination.port found one connection. Now the
// split channel names no port and both in its message, the beacon with a
// stray names :443 and the stray, and its event.id is the same wherever
// the stray falls (the id hashes the port).
func TestNoticeNamesItsRowsPorts(t *testing.T) {
	rows := beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", 5*time.Minute, 0.1, 20*time.Hour, 3, false)
	last := len(rows) - 1
	split := withPorts(rows, func(i int) uint16 { return []uint16{443, 8080}[i%2] })
	// the same pair's rows on the second host of its /24 too: the net key
	net := slices.Clone(split)
	for _, r := range split {
		r.Dst, r.TS = "203.0.113.10", r.TS.Add(150*time.Second)
		net = append(net, r)
	}
	slices.SortStableFunc(net, func(a, b window.Conn) int { return a.TS.Compare(b.TS) })

	for _, tc := range []struct {
		name     string
		rows     []window.Conn
		key      string
		port     uint16
		proto    string
		endpoint string
	}{
		{"one port", rows, "203.0.113.9", 443, "tcp", "203.0.113.9:443/tcp: 239 connections over"},
		{"two ports", split, "203.0.113.9", 0, "tcp",
			"203.0.113.9 on tcp/443 and tcp/8080: 239 connections (120 on tcp/443, 119 on tcp/8080) over"},
		{"stray last", strayAt(rows, last), "203.0.113.9", 443, "tcp", "203.0.113.9:443/tcp: 239 connections (1 of them on tcp/80) over"},
		{"stray first", strayAt(rows, 0), "203.0.113.9", 443, "tcp", "203.0.113.9:443/tcp: 239 connections (1 of them on tcp/80) over"},
		{"net, two ports", net, "net", 0, "tcp",
			"2 hosts in 203.0.113.0/24 on tcp/443 and tcp/8080: 478 connections (240 on tcp/443, 238 on tcp/8080) over"},
	} {
		n := beaconNotices(t, tc.rows)[tc.key]
		if n == nil {
			t.Errorf("%s: no notice", tc.name)
			continue
		}
		if n.DestPort != tc.port || n.Proto != tc.proto || !strings.Contains(n.Message, " beaconed to "+tc.endpoint) {
			t.Errorf("%s: port %d, transport %q, %q; want %d, %q, %q", tc.name, n.DestPort, n.Proto, n.Message, tc.port, tc.proto, tc.endpoint)
		}
	}
	// one beacon, one event.id: the single-port beacon's
	want := beaconNotices(t, rows)["203.0.113.9"]
	for _, at := range []int{0, last / 2, last} {
		if n := beaconNotices(t, strayAt(rows, at))["203.0.113.9"]; n == nil || want == nil || n.ID != want.ID {
			t.Errorf("a stray row at %d of %d moves the beacon's event.id", at, last+1)
		}
	}
}

// Mixed ports go through a restart wherever it cuts: a key's first row
// as a sighting, its first stage, its entry and the next window's rows
// pending keep each row's port.
func TestMixedPortsAcrossRestart(t *testing.T) {
	rows := withPorts(beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", time.Minute, 0.05, 26*time.Hour, 4, false),
		func(i int) uint16 { return []uint16{443, 8080, 443}[i%3] })
	for i := range rows {
		if i%5 == 0 {
			rows[i].Proto = "udp"
		}
	}
	want := window.Canon(window.Run(New(DefaultConfig()), rows))
	if !strings.Contains(strings.Join(want, ""), " on tcp/8080") {
		t.Fatalf("no mixed-port notice: %v", want)
	}
	midnight := slices.IndexFunc(rows, func(r window.Conn) bool { return r.TS.After(t0.Add(24*time.Hour + 2*time.Minute)) })
	for _, cut := range []int{1, 2, 3, 9, 100, midnight} {
		got, err := window.RunSnapshot(New(DefaultConfig()), New(DefaultConfig()), rows, cut)
		if err != nil {
			t.Fatal(err)
		}
		if g := window.Canon(got); !reflect.DeepEqual(g, want) {
			t.Errorf("cut at %d:\n%v\nwant\n%v", cut, g, want)
		}
	}
}

// versionRows are rows for the snapshots of testdata/snapshot-v*.gob,
// cut at versionCut: a beacon whose next day's first rows wait for the
// lateness (pending) with a second host in its /24, a key in its first
// stage and a key seen once (a sighting).
func versionRows() []window.Conn {
	rows := beaconRows("10.1.1.5", "203.0.113.9", 443, "tcp", time.Minute, 0.05, 25*time.Hour, 4, false)
	for i, r := range rows {
		if i%7 == 0 {
			r.Dst = "203.0.113.10"
			rows = append(rows, r)
		}
	}
	day := t0.Add(24 * time.Hour)
	for ts := day.Add(10 * time.Second); ts.Before(day.Add(time.Hour)); ts = ts.Add(20 * time.Second) {
		rows = append(rows, window.Conn{TS: ts, Src: "10.1.1.6", Dst: "198.51.100.7", SPort: 50000, DPort: 8443, Proto: "tcp", OrigBytes: 200, UID: "CfirstStage"})
	}
	for ts := day.Add(90 * time.Second); ts.Before(day.Add(90 * time.Minute)); ts = ts.Add(150 * time.Second) {
		rows = append(rows, window.Conn{TS: ts, Src: "10.1.1.7", Dst: "192.0.2.1", SPort: 50000, DPort: 22, Proto: "tcp", OrigBytes: 100, UID: "Csighting" + ts.Format("150405")})
	}
	slices.SortStableFunc(rows, func(a, b window.Conn) int { return a.TS.Compare(b.TS) })
	return rows
}

func versionCut(rows []window.Conn) int {
	return slices.IndexFunc(rows, func(r window.Conn) bool { return !r.TS.Before(t0.Add(24*time.Hour + 2*time.Minute + 30*time.Second)) })
}

// savedSnapshot is a Detector whose Snapshot is b: a snapshot file
// written, by this build or an older one, after the rows it took.
type savedSnapshot struct {
	*Detector
	b []byte
}

func (s savedSnapshot) Snapshot() ([]byte, error) { return s.b, nil }

// TestRestoreVersions restores a snapshot of each version, written by
// the build of its time after versionRows up to versionCut (version 1,
// before ports were counted, by 54e3712): the run goes on with the
// notices of the uninterrupted one. -update rewrites this version's.
func TestRestoreVersions(t *testing.T) {
	rows, cut := versionRows(), versionCut(versionRows())
	want := window.Canon(window.Run(New(DefaultConfig()), rows))
	if len(want) < 4 {
		t.Fatalf("%d notices, want a pair, a net, a first stage's and a sighting's", len(want))
	}
	path := fmt.Sprintf("testdata/snapshot-v%d.gob", snapshotVersion)
	if *update {
		if _, err := window.RunSnapshot(snapshotTo{New(DefaultConfig()), path}, New(DefaultConfig()), rows, cut); err != nil {
			t.Fatal(err)
		}
	}
	for v := 1; v <= snapshotVersion; v++ {
		b, err := os.ReadFile(fmt.Sprintf("testdata/snapshot-v%d.gob", v))
		if err != nil {
			t.Fatal(err)
		}
		got, err := window.RunSnapshot(savedSnapshot{New(DefaultConfig()), b}, New(DefaultConfig()), rows, cut)
		if err != nil {
			t.Fatalf("version %d: %v", v, err)
		}
		if g := window.Canon(got); !reflect.DeepEqual(g, want) {
			t.Errorf("version %d:\n%v\nwant\n%v", v, g, want)
		}
	}
	for v, says := range map[int]string{snapshotVersion + 1: "from a newer zeekanom", -1: "damaged"} {
		b, err := detectors.Encoded(func(w io.Writer) error { return gob.NewEncoder(w).Encode(snap{Version: v}) })
		if err != nil {
			t.Fatal(err)
		}
		if err := New(DefaultConfig()).Restore(b); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("version %d: %v, want %q", v, err, says)
		}
	}
}

// snapshotTo is a Detector that writes its snapshot to path as well.
type snapshotTo struct {
	*Detector
	path string
}

func (s snapshotTo) Snapshot() ([]byte, error) {
	b, err := s.Detector.Snapshot()
	if err == nil {
		err = os.WriteFile(s.path, b, 0o644)
	}
	return b, err
}
