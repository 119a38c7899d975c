package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With two weeks of replayed history the detectors that learn a host's
// days judge the planted day: the off-hours and exfiltration plants are
// found (without history neither can be: contextual waits for min_days,
// exfil's prior has fewer than min_history windows).
func TestInjectHistoryEval(t *testing.T) {
	dir := t.TempDir()
	benign := filepath.Join("..", "..", "testdata", "detectors", "benign", "evanswj")
	injected := filepath.Join(dir, "injected")
	code, out, errs := runCLI(t, "inject", "--kinds", "exfil,offhours", "--history-days", "14", "-o", injected, benign)
	if code != 0 {
		t.Fatalf("inject: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "history   14 days: 14 copies every 1 day(s)") {
		t.Errorf("inject output has no history line:\n%s", out)
	}
	report := filepath.Join(dir, "eval.json")
	if code, _, errs := runCLI(t, "eval", "--json", report, injected); code != 0 {
		t.Fatalf("eval: exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		ByClass map[string]struct {
			HostWindow struct{ Recall float64 } `json:"host_window"`
		} `json:"by_class"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"exfil", "offhours"} {
		if got := r.ByClass["From_malicious-Injected-"+k].HostWindow.Recall; got == 0 {
			t.Errorf("%s: host-window recall 0 with 14 days of history", k)
		}
	}
}

func TestInjectNegativeHistory(t *testing.T) {
	code, _, errs := runCLI(t, "inject", "--history-days", "-1", "-o", t.TempDir(), filepath.Join("..", "..", "testdata", "demo"))
	if code == 0 || !strings.Contains(errs, "--history-days") {
		t.Errorf("exit %d, stderr %q: want a clear error", code, errs)
	}
}
