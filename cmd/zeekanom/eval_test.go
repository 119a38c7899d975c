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
	var b strings.Builder
	b.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n" +
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\tconn_state\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\tcount\tstring\n")
	for i, r := range []struct {
		at, dur time.Duration
	}{{0, time.Second}, {9 * time.Minute, time.Second}, {time.Minute, 9 * time.Minute}} {
		fmt.Fprintf(&b, "%d.000000\tClate%d\t10.0.0.1\t5000%d\t10.0.0.2\t443\ttcp\t%.6f\t100\t200\tSF\n",
			t0.Add(r.at).Unix(), i, i, r.dur.Seconds())
	}
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logs, "conn.log"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
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
			args := []string{"eval", "--json", "-"}
			if tc.config != "" {
				cfg := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".toml")
				if err := os.WriteFile(cfg, []byte(tc.config), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "-c", cfg)
			}
			code, out, errs := runCLI(t, append(args, logs)...)
			var rep struct {
				Flows     int `json:"flows"`
				LateFlows int `json:"late_flows"`
			}
			if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil {
				t.Fatalf("exit %d, %v: %s", code, err, errs)
			}
			if rep.Flows != 3 || rep.LateFlows != tc.late {
				t.Errorf("%d flows, late_flows %d; want 3, %d", rep.Flows, rep.LateFlows, tc.late)
			}
		})
	}
}
