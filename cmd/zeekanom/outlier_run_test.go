package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// outlierRunLog is the lines (with their newlines) of a JSON conn.log of 30 hosts making a few connections
// each 5-minute window for six hours, and one, 10.0.0.200, failing to
// reach 200 addresses a window for 70 minutes from the fourth hour on:
// the forest trained on the run's first windows flags its 14 windows, a
// run cut at group_span (1h) into notices of 12 and 2 windows.
func outlierRunLog() []string {
	const t0 = 1699999800 // 2023-11-14 22:10 UTC, a multiple of 300: windows start at it
	type row struct {
		ts   float64
		line string
	}
	var rows []row
	for w := range 72 {
		for h := 1; h <= 30; h++ {
			for i := range 4 + (w+h)%3 {
				ts := t0 + w*300 + h*9 + i*20
				rows = append(rows, row{float64(ts), fmt.Sprintf(`{"ts":%d.0,"uid":"C%d_%d_%d","id.orig_h":"10.0.0.%d","id.orig_p":%d,"id.resp_h":"10.0.1.%d","id.resp_p":443,"proto":"tcp","duration":1.5,"orig_bytes":%d,"resp_bytes":%d,"conn_state":"SF"}`,
					ts, w, h, i, h, 40000+i, 1+(h+i)%5, 300+(w*h+i)%200, 4000+(w+h*i)%900)})
			}
		}
		if w >= 36 && w < 50 {
			for i := range 200 {
				ts := t0 + w*300 + i
				rows = append(rows, row{float64(ts) + 0.5, fmt.Sprintf(`{"ts":%d.5,"uid":"S%d_%d","id.orig_h":"10.0.0.200","id.orig_p":%d,"id.resp_h":"10.1.%d.%d","id.resp_p":445,"proto":"tcp","conn_state":"S0"}`,
					ts, w, i, 50000+i, w, i)})
			}
		}
	}
	// in ts order, as Zeek writes a log
	sort.SliceStable(rows, func(a, b int) bool { return rows[a].ts < rows[b].ts })
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = r.line + "\n"
	}
	return lines
}

// The notices of a run of an outlier host's flagged windows are the same
// in batch and live, and across checkpoints, and eval credits every
// window of a run: `run --drain` over the log
// written in parts (a drain leaves a run it cuts open, as a live run
// would, the last one with --flush closing the windows) gives exactly
// the notices `score` gives, each once: until 2026-12-02 every drain
// closed the windows, and a run cut by one was written twice, its first
// notice of the run so far.
func TestOutlierRunLiveEqualsBatch(t *testing.T) {
	lines := outlierRunLog()
	logs := filepath.Join(t.TempDir(), "logs")
	os.Mkdir(logs, 0o755)
	whole := filepath.Join(logs, "conn.log")
	os.WriteFile(whole, []byte(strings.Join(lines, "")), 0o644)
	code, batch, errs := runCLI(t, "score", "-q", whole)
	if code != 0 {
		t.Fatalf("score: exit %d: %s", code, errs)
	}
	want := map[string]string{}
	var runs []int
	for _, l := range sortedLines(batch) {
		var n struct {
			Event    struct{ ID string }
			Rule     struct{ Name string }
			Source   struct{ IP string }
			Zeekanom struct{ Windows int }
		}
		json.Unmarshal([]byte(l), &n)
		want[n.Event.ID] = l
		if n.Rule.Name == "outlier.multivariate" {
			if n.Source.IP != "10.0.0.200" {
				t.Errorf("a benign host flagged: %s", l)
			}
			runs = append(runs, n.Zeekanom.Windows)
		}
	}
	if fmt.Sprint(runs) != "[12 2]" && fmt.Sprint(runs) != "[2 12]" {
		t.Fatalf("outlier notices of %v windows, want a run of 12 and one of 2:\n%s", runs, batch)
	}
	// eval credits each window of a run: the 14, as their 14 notices did
	labels, report := filepath.Join(t.TempDir(), "l.csv"), filepath.Join(t.TempDir(), "r.json")
	os.WriteFile(labels, []byte("host,start,end,class\n10.0.0.200,,,scanner\n"), 0o644)
	if code, _, errs := runCLI(t, "eval", "--labels", labels, "--json", report, logs); code != 0 {
		t.Fatalf("eval: exit %d: %s", code, errs)
	}
	var r struct {
		ByRule map[string]struct {
			Notices    int
			HostWindow struct{ TP, FP, FN int } `json:"host_window"`
		} `json:"by_rule"`
	}
	b, _ := os.ReadFile(report)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if o := r.ByRule["outlier.multivariate"]; o.Notices != 2 || o.HostWindow.TP != 14 || o.HostWindow.FP != 0 || o.HostWindow.FN != 0 {
		t.Errorf("eval of the outlier notices: %+v; want 2 notices, the 14 windows true, none false or missed", o)
	}

	for _, parts := range []int{1, 3} {
		t.Run(fmt.Sprint(parts), func(t *testing.T) {
			out := drainInParts(t, lines, parts)
			got := noticesByID(t, out)
			for id, n := range want {
				if got[id] != n {
					t.Errorf("notice %s\n got %s\nwant %s", id, got[id], n)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d notice ids, score gave %d", len(got), len(want))
			}
			b, _ := os.ReadFile(out)
			outliers := 0 // lines (the rule's name is in a line more than once)
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, `"outlier.multivariate"`) {
					outliers++
				}
			}
			if again := outliers - len(runs); again != 0 {
				t.Errorf("outlier notices written %d times more than score's: a drain judged a run it cut", again)
			}
			if lines := strings.Count(string(b), "\n"); lines != len(want) {
				t.Errorf("%d notices written, score gave %d: a drain gave a notice of a window it cut", lines, len(want))
			}
		})
	}
}
