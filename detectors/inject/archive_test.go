package inject

import (
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

var archiveFields = []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
	"orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history", "orig_pkts",
	"orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents"}

var archiveTypes = []string{"time", "string", "addr", "port", "addr", "port", "enum", "string", "interval",
	"count", "count", "string", "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]"}

// writeHourFile writes a zeekctl hour file of 30 conn rows under dir for
// the local hour at (the name's), the sensor zone seconds behind UTC.
func writeHourFile(t *testing.T, dir string, at time.Time, zone int64, jsonRows, gz bool) string {
	t.Helper()
	ext := ".log"
	if gz {
		ext = ".log.gz"
	}
	rel := filepath.Join(at.Format(time.DateOnly), "conn."+at.Format(time.TimeOnly)+"-"+at.Add(time.Hour).Format(time.TimeOnly)+ext)
	var b strings.Builder
	if !jsonRows {
		fmt.Fprintf(&b, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t%s\n#fields\t%s\n#types\t%s\n",
			at.Format("2006-01-02-15-04-05"), strings.Join(archiveFields, "\t"), strings.Join(archiveTypes, "\t"))
	}
	for i := range 30 {
		ts := float64(at.Unix()+zone) + float64(i)*110 + 5.25
		host := fmt.Sprintf("10.0.0.%d", 10+i%3)
		if jsonRows {
			fmt.Fprintf(&b, `{"ts":%.6f,"uid":"CaAbBcC%011d","id.orig_h":"%s","id.orig_p":5%04d,"id.resp_h":"93.184.216.34","id.resp_p":443,"proto":"tcp","service":"ssl","duration":1.5,"orig_bytes":300,"resp_bytes":900,"conn_state":"SF","local_orig":true,"local_resp":false,"missed_bytes":0,"history":"ShADadFf","orig_pkts":8,"orig_ip_bytes":620,"resp_pkts":8,"resp_ip_bytes":1220}`+"\n",
				ts, i, host, i)
			continue
		}
		fmt.Fprintf(&b, "%.6f\tCaAbBcC%011d\t%s\t5%04d\t93.184.216.34\t443\ttcp\tssl\t1.500000\t300\t900\tSF\tT\tF\t0\tShADadFf\t8\t620\t8\t1220\t(empty)\n",
			ts, i, host, i)
	}
	if !jsonRows {
		fmt.Fprintf(&b, "#close\t%s\n", at.Add(time.Hour).Format("2006-01-02-15-04-05"))
	}
	body := []byte(b.String())
	if gz {
		body = gzipped(body)
	}
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	return rel
}

// readMaybeGz is a file's bytes, gunzipped when it is gzip, and whether
// it was.
func readMaybeGz(t *testing.T, path string) (string, bool) {
	t.Helper()
	rc, gz, err := openMaybeGz(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), gz
}

// Planted rows of an hour that has no file (a gap, past the archive's
// end, before its start) go into a new file of that hour, named as zeekctl
// names it in the sensor's local time, headed as the archive's files are
// and labelled; the output, walked as zeekctl's archive is (date folders
// in order), reads its rows hour by hour. The off-hours attack is planted
// at 03:00-03:30 UTC of the first row's day, so it lands in a known hour.
func TestInjectArchiveAddsHourFiles(t *testing.T) {
	day := time.Date(2018, 11, 2, 0, 0, 0, 0, time.UTC)
	hours := func(hs ...int) []time.Time {
		var out []time.Time
		for _, h := range hs {
			out = append(out, day.Add(time.Duration(h)*time.Hour))
		}
		return out
	}
	for _, c := range []struct {
		name    string
		hours   []time.Time // the archive's hour files, local time
		zone    int64       // seconds the sensor is behind UTC
		json    bool
		gz      bool
		named   string // the path named, under the archive; "": the archive
		added   string // the new file's output name
		open    string // its #open (TSV)
		closing string // its #close (TSV)
	}{
		{name: "gap", hours: hours(0, 1, 4, 5), gz: true,
			added: "2018-11-02/conn.03:00:00-04:00:00.log.gz", open: "2018-11-02-03-00-00", closing: "2018-11-02-04-00-00"},
		{name: "after the end", hours: hours(0, 1), gz: true,
			added: "2018-11-02/conn.03:00:00-04:00:00.log.gz", open: "2018-11-02-03-00-00", closing: "2018-11-02-04-00-00"},
		{name: "before the start, sensor at UTC-5", hours: hours(0, 1, 2), zone: 5 * 3600, gz: true,
			added: "2018-11-01/conn.22:00:00-23:00:00.log.gz", open: "2018-11-01-22-00-00", closing: "2018-11-01-23-00-00"},
		{name: "json, not gzip", hours: hours(0, 1, 5), json: true,
			added: "2018-11-02/conn.03:00:00-04:00:00.log"},
		{name: "a date folder named", hours: hours(0, 1), gz: true, named: "2018-11-02",
			added: "conn.03:00:00-04:00:00.log.gz", open: "2018-11-02-03-00-00", closing: "2018-11-02-04-00-00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := filepath.Join(dir, "logs"), filepath.Join(dir, "out")
			var want []string
			for _, h := range c.hours {
				want = append(want, strings.TrimPrefix(writeHourFile(t, in, h, c.zone, c.json, c.gz), c.named+string(filepath.Separator)))
			}
			sum, err := Inject([]string{filepath.Join(in, c.named)}, out, Options{Kinds: []string{"offhours"}, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, c.added)
			var got []string
			filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					rel, _ := filepath.Rel(out, p)
					got = append(got, rel)
				}
				return err
			})
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("output files\n got %v\nwant %v", got, want)
			}
			checkAddedFile(t, filepath.Join(out, c.added), filepath.Join(out, want[0]), c.gz, c.open, c.closing, sum.Planted[0].ConnRows)
			checkWalkOrder(t, out, float64(c.zone))
		})
	}
}

// checkAddedFile checks an added hour file: gzip as its neighbour, its
// header the neighbour's with #open and #close set to its hour, every
// row planted and labelled.
func checkAddedFile(t *testing.T, added, neighbour string, gz bool, open, closing string, planted int) {
	t.Helper()
	body, isGz := readMaybeGz(t, added)
	if isGz != gz {
		t.Errorf("added file gzip %v, its neighbour's %v", isGz, gz)
	}
	nb, _ := readMaybeGz(t, neighbour)
	header := func(s string, edit bool) []string {
		var h []string
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "#") && !(edit && (strings.HasPrefix(l, "#open") || strings.HasPrefix(l, "#close"))) {
				h = append(h, l)
			}
		}
		return h
	}
	if !slices.Equal(header(body, true), header(nb, true)) {
		t.Errorf("header\n%q\nwant the neighbour's\n%q", header(body, false), header(nb, false))
	}
	if open != "" && (!strings.Contains(body, "\n#open\t"+open+"\n") || !strings.HasSuffix(body, "\n#close\t"+closing+"\n")) {
		t.Errorf("want #open %s and #close %s:\n%s", open, closing, body)
	}
	n := 0
	events(t, added, func(ev *zeekreader.Event) {
		n++
		if string(ev.Conn.Label) != MaliciousLabel || string(ev.Conn.DetailedLabel) != DetailedLabel("offhours") {
			t.Errorf("row labelled %s %s", ev.Conn.Label, ev.Conn.DetailedLabel)
		}
	})
	if n != planted {
		t.Errorf("%d rows in the added file, %d planted", n, planted)
	}
}

// checkWalkOrder reads dir as score does (one chain, its files in walk
// order): each row's local hour (zone seconds behind UTC) is at or after
// the one before, and inside its file's name's hours (when in a date
// folder), by which score --from/--to leaves files unread.
func checkWalkOrder(t *testing.T, dir string, zone float64) {
	t.Helper()
	a, err := zeekreader.Walk([]string{dir}, zeekreader.KindConn)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Chains) != 1 {
		t.Fatalf("%d chains, want the archive's one", len(a.Chains))
	}
	for _, f := range a.Chains[0].Files {
		open, closed, ok := zeekreader.RotationSpan(f)
		if !ok {
			continue // no date folder (one was named): read whatever the range
		}
		events(t, f, func(ev *zeekreader.Event) {
			if at := ev.TS.Add(-time.Duration(zone) * time.Second); at.Before(open) || !at.Before(closed) {
				t.Errorf("%s: a row of %s, local time", f, at)
			}
		})
	}
	m := a.Open(false)
	defer m.Close()
	prev, n := -1.0, 0
	for {
		ev, err := m.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		hour := math.Floor((float64(ev.TS.Unix()) - zone) / 3600)
		if hour < prev {
			t.Fatalf("row %d (%s) of an hour before the row read before it", n, ev.TS.UTC())
		}
		prev = hour
	}
	if n == 0 {
		t.Fatal("no rows read")
	}
}
