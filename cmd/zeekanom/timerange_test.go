package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/output/notice"
)

func TestParseTime(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"2018-11-04T06:00:00Z", "2018-11-04T06:00:00Z"},
		{"2018-11-04T06:00Z", "2018-11-04T06:00:00Z"},
		{"2018-11-04T07:00+01:00", "2018-11-04T06:00:00Z"},
		{"2018-11-04T06:00:00.5-00:30", "2018-11-04T06:30:00.5Z"},
		{"2018-11-04T06:00", "2018-11-04T06:00:00Z"}, // no zone: UTC
		{"2018-11-04T06:00:07", "2018-11-04T06:00:07Z"},
		{"2018-11-04 06:00:07", "2018-11-04T06:00:07Z"},
		{"2018-11-05", "2018-11-05T00:00:00Z"},
		{"1541376000", "2018-11-05T00:00:00Z"},
		{"1541376000.25", "2018-11-05T00:00:00.25Z"},
		// a row's ts as the log has it, to the nanosecond as the row is
		// read (a float64 put it 42 ns later)
		{"1541144157.488795", "2018-11-02T07:35:57.488795Z"},
		{"1541144157.1", "2018-11-02T07:35:57.1Z"},
		{"1541144157.1234567891", "2018-11-02T07:35:57.123456789Z"},
		{"1541144157.", "2018-11-02T07:35:57Z"},
		{".5", "1970-01-01T00:00:00.5Z"},
		{"9000000000", "2255-03-14T16:00:00Z"},
		{"9000000001", ""},           // past zeekreader's latest ts
		{"99999999999999999999", ""}, // (was year 292277026304)
		{"1541144157.4.1", ""},
		{".", ""},
		{"2018-11-4", ""},
		{"2018-11-04T25:00Z", ""},
		{"yesterday", ""},
		{"-1", ""},
		{"", ""},
	} {
		got, err := parseTime(c.in)
		switch {
		case c.want == "" && err == nil:
			t.Errorf("%q: %v, want an error", c.in, got)
		case c.want != "" && err != nil:
			t.Errorf("%q: %v", c.in, err)
		case c.want != "" && got.Format(time.RFC3339Nano) != c.want:
			t.Errorf("%q: %s, want %s", c.in, got.Format(time.RFC3339Nano), c.want)
		}
	}
}

func TestRangeFlagErrors(t *testing.T) {
	demo := filepath.Join("..", "..", "testdata", "demo")
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"score", "--from", "2018-11-05", "--to", "2018-11-05", demo}, 2, "--from 2018-11-05T00:00:00Z is not before --to 2018-11-05T00:00:00Z"},
		{[]string{"eval", "--from", "11/05/2018", demo}, 2, `invalid value "11/05/2018" for flag -from: not a time`},
		{[]string{"features", "--to", "2018-11-05", "--from", "2018-11-06", demo}, 2, "is not before --to"},
		{[]string{"train", "--from", "2018-11-06", "--to", "2018-11-05", "-o", filepath.Join(t.TempDir(), "m.json"), demo}, 2, "is not before --to"},
		// the demo is 2016's: nothing in 2018, every row counted outside
		{[]string{"score", "--from", "2018-11-05", demo}, 0, "zeekanom score: 1156 rows outside --from/--to, left out"},
		{[]string{"features", "--from", "2018-11-05", demo}, 0, "zeekanom features: 0 host-windows, no bad rows, 1156 rows outside --from/--to"},
	} {
		code, _, errs := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.err) {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", c.args, code, errs, c.code, c.err)
		}
	}
}

// zeekctlArchive lays a conn log out as zeekctl archives it, in UTC:
// YYYY-MM-DD/conn.HH:00:00-HH+1:00:00.log.gz, each row in the file of
// the hour its connection ended in (ts + duration), when Zeek logs it.
func zeekctlArchive(t *testing.T, conn []byte, dir string) (files int) {
	t.Helper()
	var header []string
	hours := map[int64][]string{}
	durCol := -1
	for line := range strings.Lines(string(conn)) {
		if strings.HasPrefix(line, "#") {
			if f, ok := strings.CutPrefix(line, "#fields\t"); ok {
				durCol = slices.Index(strings.Split(strings.TrimSpace(f), "\t"), "duration")
			}
			if !strings.HasPrefix(line, "#close") {
				header = append(header, line)
			}
			continue
		}
		cols := strings.Split(line, "\t")
		ts, err := strconv.ParseFloat(cols[0], 64)
		if err != nil {
			t.Fatal(err)
		}
		dur, _ := strconv.ParseFloat(cols[durCol], 64) // "-": 0
		h := int64(ts+dur) / 3600
		hours[h] = append(hours[h], line)
	}
	for h, rows := range hours {
		open := time.Unix(h*3600, 0).UTC()
		name := filepath.Join(dir, open.Format(time.DateOnly),
			fmt.Sprintf("conn.%s-%s.log.gz", open.Format(time.TimeOnly), open.Add(time.Hour).Format(time.TimeOnly)))
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		io.WriteString(zw, strings.Join(header, "")+strings.Join(rows, ""))
		zw.Close()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, z.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return len(hours)
}

// score --from/--to on a real archive slice: TrickBot's week with seed 2's
// scan, DoS, beacon and exfiltration planted, laid out as zeekctl's hourly
// files. Of the notices of 2018-11-05..07 whose windows lie inside the
// range, the detectors without history (dos, beacon, long_connection) give
// the full run's byte for byte; scan gives them but for its baseline (the
// population's typical count, learnt from the range alone); exfil gives
// them with another risk (its baseline of the range's volumes); the
// iforest, whose forest learns from the run's windows, gives none of the
// full run's 3 outliers. Files whose hours cannot hold the range's rows
// are not opened.
func TestScoreRange(t *testing.T) {
	tmp := t.TempDir()
	inj := filepath.Join(tmp, "inj")
	if code, _, errs := runCLI(t, "inject", "--seed", "2", "--kinds", "scan,dos,beacon,exfil", "-o", inj,
		filepath.Join("..", "..", "testdata", "detectors", "trickbot", "conn.log.gz")); code != 0 {
		t.Fatalf("inject: exit %d: %s", code, errs)
	}
	gunzipTo(t, filepath.Join(inj, "conn.log.gz"), filepath.Join(tmp, "conn.log"))
	conn, err := os.ReadFile(filepath.Join(tmp, "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	arch := filepath.Join(tmp, "logs")
	files := zeekctlArchive(t, conn, arch)

	code, full, errs := runCLI(t, "score", "--workers", "2", arch)
	if code != 0 {
		t.Fatalf("full: exit %d: %s", code, errs)
	}
	code, part, errs := runCLI(t, "score", "--workers", "2", "--from", "2018-11-05", "--to", "2018-11-08T00:00Z", arch)
	if code != 0 {
		t.Fatalf("range: exit %d: %s", code, errs)
	}
	// read: the hours of 11-04 12:00 (UTC-12) to 11-08 15:00 (UTC+14, and
	// the hour past --to) that have a file
	m := regexp.MustCompile(`not read \(and (\d+) more\)`).FindStringSubmatch(errs)
	if m == nil {
		t.Fatalf("no note of the files not read: %s", errs)
	}
	if left, _ := strconv.Atoi(m[1]); left+1 >= files || left < files/3 {
		t.Errorf("%d of %d files not read", left+1, files)
	}
	if !regexp.MustCompile(`(?m)^zeekanom score: [0-9,]+ rows outside --from/--to, left out$`).MatchString(errs) {
		t.Errorf("no count of the rows outside: %s", errs)
	}

	from, to := "2018-11-05", "2018-11-08"
	inside := func(out string) map[string]string {
		ns := map[string]string{}
		for line := range strings.Lines(out) {
			var n notice.Notice
			if err := json.Unmarshal([]byte(line), &n); err != nil {
				t.Fatal(err)
			}
			start, end := n.Start.UTC().Format(time.RFC3339), n.End.UTC().Format(time.RFC3339)
			if start >= from && end <= to {
				ns[fmt.Sprintf("%s %s..%s %v->%v:%d", n.Rule, start, end, n.Source, n.Destination, n.DestPort)] = line
			}
		}
		return ns
	}
	risk := func(line string) float64 {
		var n notice.Notice
		json.Unmarshal([]byte(line), &n)
		return n.RiskScore
	}
	want, got := inside(full), inside(part)
	rules := map[string]int{}
	for k, line := range want {
		rule := strings.Fields(k)[0]
		rules[rule]++
		g, ok := got[k]
		switch rule {
		case "dos.fanin", "beacon", "long_connection":
			if g != line {
				t.Errorf("%s:\nfull  %s\nrange %s", k, line, g)
			}
		case "scan.horizontal", "scan.vertical", "scan.slow":
			// the same but for the baseline in its features
			if !ok || risk(g) != risk(line) {
				t.Errorf("%s: risk %.1f in the full run, %.1f in the range's (found: %v)", k, risk(line), risk(g), ok)
			}
		case "exfiltration":
			// a baseline of the range's volumes: another risk
			if !ok {
				t.Errorf("the full run's %s is not the range's", k)
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && !strings.HasPrefix(k, "outlier.") {
			t.Errorf("the range's %s is not the full run's", k)
		}
	}
	for _, r := range []string{"scan.horizontal", "dos.fanin", "beacon", "exfiltration"} {
		if rules[r] == 0 {
			t.Errorf("no %s notice inside the range: %v", r, rules)
		}
	}
}
