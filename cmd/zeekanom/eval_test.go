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
