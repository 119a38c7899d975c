package follow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeTimed writes a JSON log of n rows, one every step from start.
func writeTimed(t *testing.T, dir, log string, start time.Time, step time.Duration, n int) {
	var b strings.Builder
	for i := 0; i < n; i++ {
		ts := start.Add(time.Duration(i) * step)
		fmt.Fprintf(&b, `{"ts":%d.%06d,"uid":"C%s%05d","id.orig_h":"10.0.0.1","id.orig_p":1024,"id.resp_h":"10.0.0.2","id.resp_p":53,"proto":"udp","query":"example.com"}`+"\n",
			ts.Unix(), ts.Nanosecond()/1000, log, i)
	}
	if err := os.WriteFile(filepath.Join(dir, log+".log"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

type timedRow struct {
	uid string
	ts  time.Time
}

// readTimed reads n rows (n < 0: to the end, with a Drain follower).
func readTimed(t *testing.T, f *Follower, n int) []timedRow {
	t.Helper()
	var out []timedRow
	for n < 0 || len(out) < n {
		ev, err := f.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, timedRow{uidOf(ev), ev.TS})
	}
	return out
}

// A backlog (a first start beside logs written for hours, or a restart
// after a stop) goes out merged by time, as score merges files, also
// across a checkpoint taken with rows read ahead: taken in turns of 512
// rows a log, the logs went out hours apart, and the detectors that join
// them dropped the rows of the one behind as late (run --drain over
// TrickBot's week: 4 beacon notices where score gave 56).
func TestBacklogMergedByTime(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2024, 5, 6, 8, 0, 0, 0, time.UTC)
	writeTimed(t, dir, "conn", t0, 10*time.Second, 2000)                   // 5.5 hours
	writeTimed(t, dir, "dns", t0.Add(5*time.Second), 20*time.Second, 1000) // the same hours, half as busy
	writeTimed(t, dir, "ssl", t0.Add(3*time.Hour), time.Minute, 30)        // a quiet log starting later
	opts := Options{Dir: dir, Logs: []string{"conn", "dns", "http", "ssl"}, Drain: true}
	sorted := func(rows []timedRow) bool {
		return slices.IsSortedFunc(rows, func(a, b timedRow) int { return a.ts.Compare(b.ts) })
	}
	f, err := New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := readTimed(t, f, -1)
	f.Close()
	if len(all) != 3030 || !sorted(all) {
		t.Fatalf("%d rows, in time order: %v", len(all), sorted(all))
	}
	// a checkpoint at every few hundred rows, each log's next row read
	// ahead: a restart from it hands out each remaining row once, merged
	for _, cut := range []int{1, 700, 1500, 2999} {
		f, err := New(opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		first := readTimed(t, f, cut)
		pos := f.Positions()
		f.Close()
		f, err = New(opts, pos)
		if err != nil {
			t.Fatal(err)
		}
		rest := readTimed(t, f, -1)
		f.Close()
		if got := append(first, rest...); !slices.Equal(got, all) {
			t.Fatalf("cut at %d: %d + %d rows, not the %d of one run in its order", cut, len(first), len(rest), len(all))
		}
	}
}
