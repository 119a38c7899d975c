package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// connRow is a row of writeEvalConnLog: its start after t0, duration.
type connRow struct{ at, dur time.Duration }

// writeEvalConnLog writes a conn.log of rows from 10.0.0.1 to 10.0.0.2:443
// into a new folder of dir and returns the folder.
func writeEvalConnLog(t *testing.T, dir string, t0 time.Time, rows []connRow) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n" +
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\tconn_state\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\tcount\tstring\n")
	for i, r := range rows {
		fmt.Fprintf(&b, "%d.000000\tCrow%d\t10.0.0.1\t%d\t10.0.0.2\t443\ttcp\t%.6f\t100\t200\tSF\n",
			t0.Add(r.at).Unix(), i, 50000+i, r.dur.Seconds())
	}
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logs, "conn.log"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return logs
}

// evalJSON runs eval --json - with config (none when empty, else written
// into dir as name.toml) and flags over logs, and decodes its report.
func evalJSON(t *testing.T, dir, name, config string, flags []string, logs string, rep any) {
	t.Helper()
	args := append([]string{"eval", "--json", "-"}, flags...)
	if config != "" {
		cfg := filepath.Join(dir, strings.NewReplacer(" ", "_", ",", "").Replace(name)+".toml")
		if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-c", cfg)
	}
	code, out, errs := runCLI(t, append(args, logs)...)
	if err := json.Unmarshal([]byte(out), rep); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, errs)
	}
}

// eval judges a conn row late by the lateness the detectors of -c were
// built with (the largest of iforest's and supervised's, the detectors
// that count a late row in the window of its end), not by features'
// default of 2 minutes: a row starting at 00:01, lasting 9 minutes and
// read after one of 00:09 is late with 2 minutes (its start window closed
// at 00:07) and not with 10 (open until 00:15). Before, every config gave
// late_flows 1.
func TestEvalTakesTheConfiguredLateness(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Unix(1700000100, 0) // on the 5-minute grid
	logs := writeEvalConnLog(t, dir, t0, []connRow{{0, time.Second}, {9 * time.Minute, time.Second}, {time.Minute, 9 * time.Minute}})
	for _, tc := range []struct {
		name, config string
		late         int
	}{
		{"no config", "", 1},
		{"iforest 10m", "[detectors.iforest]\nlateness = \"10m\"\n", 0},
		{"iforest 3m", "[detectors.iforest]\nlateness = \"3m\"\n", 1},
		// no detector counts a late row in its end's window: features'
		// default; scan's lateness decides only which rows scan drops
		{"iforest off, scan 10m", "[detectors.iforest]\nenabled = false\n[detectors.scan]\nlateness = \"10m\"\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rep struct {
				Flows     int `json:"flows"`
				LateFlows int `json:"late_flows"`
			}
			evalJSON(t, dir, tc.name, tc.config, nil, logs, &rep)
			if rep.Flows != 3 || rep.LateFlows != tc.late {
				t.Errorf("%d flows, late_flows %d; want 3, %d", rep.Flows, rep.LateFlows, tc.late)
			}
		})
	}
}

// Without --window, eval's host-windows are those of -c's iforest (and
// supervised, the larger when they differ), the windows the detectors
// count in; --window still wins. One host's rows 0, 4, 8 and 12 minutes
// after a time on the 5-, 10- and 15-minute grids are 3 host-windows of 5
// minutes, 2 of 10 and 1 of 15. Before, every config gave 5 minutes.
func TestEvalTakesTheConfiguredWindow(t *testing.T) {
	dir := t.TempDir()
	var rows []connRow
	for i := range 4 {
		rows = append(rows, connRow{time.Duration(4*i) * time.Minute, time.Second})
	}
	logs := writeEvalConnLog(t, dir, time.Unix(1700001000, 0), rows)
	for _, tc := range []struct {
		name, config string
		flags        []string
		windowS      float64
		hostWindows  int
	}{
		{"no config", "", nil, 300, 3},
		{"iforest 10m", "[detectors.iforest]\nwindow = \"10m\"\n", nil, 600, 2},
		{"iforest 15m", "[detectors.iforest]\nwindow = \"15m\"\n", nil, 900, 1},
		{"iforest 10m, --window 5m", "[detectors.iforest]\nwindow = \"10m\"\n", []string{"--window", "5m"}, 300, 3},
		{"no config, --window 15m", "", []string{"--window", "15m"}, 900, 1},
		// no detector built on features: features' default
		{"iforest off", "[detectors.iforest]\nenabled = false\nwindow = \"10m\"\n", nil, 300, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rep struct {
				WindowS     float64 `json:"window_s"`
				HostWindows int     `json:"host_windows"`
			}
			evalJSON(t, dir, tc.name, tc.config, tc.flags, logs, &rep)
			if rep.WindowS != tc.windowS || rep.HostWindows != tc.hostWindows {
				t.Errorf("window_s %g, %d host-windows; want %g, %d", rep.WindowS, rep.HostWindows, tc.windowS, tc.hostWindows)
			}
		})
	}
}

// A labels line that no row falls in (a mistyped host, a host or a time
// the input does not hold) is named by file:line on stderr: it labelled
// nothing without a word, the attack it meant scored as absent. A line
// whose rows an earlier, overlapping line gave its class to still matched
// them, and is not named.
func TestEvalNamesLabelsThatMatchNoRow(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Unix(1700000100, 0)
	logs := writeEvalConnLog(t, dir, t0, []connRow{{0, time.Second}, {time.Minute, time.Second}})
	labels := filepath.Join(dir, "l.labels")
	body := "host,start,end,class\n" +
		"10.0.0.2,,,c2\n" + // matches
		"10.0.0.0/24,,,net\n" + // matches, after line 2
		"# a typo\n" +
		"10.0.0.20,,,c2\n" + // no such host
		"10.0.0.1,1700100000,,later\n" // the host, after the input
	if err := os.WriteFile(labels, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flags []string
		want  []string
	}{
		{nil, []string{
			labels + ":5: no row is from or to 10.0.0.20 at any time: the line labels nothing",
			labels + ":6: no row is from or to 10.0.0.1 from 2023-11-16T02:00:00Z on: the line labels nothing"}},
		{[]string{"--from", "1700000160"}, []string{
			labels + ":5: no row between --from and --to is from or to 10.0.0.20 at any time",
			labels + ":6: no row between --from and --to is from or to 10.0.0.1 from 2023-11-16T02:00:00Z on"}},
	} {
		code, _, errs := runCLI(t, append(append([]string{"eval", "--labels", labels}, tc.flags...), logs)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.flags, code, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.flags, w, errs)
			}
		}
		if n := strings.Count(errs, "labels nothing"); n != 2 {
			t.Errorf("%v: %d lines named, want 2 (lines 2 and 3 match):\n%s", tc.flags, n, errs)
		}
	}
}
