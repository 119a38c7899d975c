package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	if !strings.Contains(out, "history   14 days: 14 copies every 1 day, ") {
		t.Errorf("inject output has no history line:\n%s", out)
	}
	recall := classRecall(t, injected)
	for _, k := range []string{"exfil", "offhours"} {
		if got := recall["From_malicious-Injected-"+k]; got == 0 {
			t.Errorf("%s: host-window recall 0 with 14 days of history", k)
		}
	}
}

// classRecall runs eval on dir: the host-window recall of every class.
func classRecall(t *testing.T, dir string) map[string]float64 {
	t.Helper()
	report := filepath.Join(t.TempDir(), "eval.json")
	if code, _, errs := runCLI(t, "eval", "--json", report, dir); code != 0 {
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
	recall := map[string]float64{}
	for c, v := range r.ByClass {
		recall[c] = v.HostWindow.Recall
	}
	return recall
}

func TestInjectNegativeHistory(t *testing.T) {
	code, _, errs := runCLI(t, "inject", "--history-days", "-1", "-o", t.TempDir(), filepath.Join("..", "..", "testdata", "demo"))
	if code == 0 || !strings.Contains(errs, "--history-days") {
		t.Errorf("exit %d, stderr %q: want a clear error", code, errs)
	}
}

// dga@D slows the walk to a query every D on average; a bad D is a usage
// error.
func TestInjectDGAInterval(t *testing.T) {
	benign := filepath.Join("..", "..", "testdata", "iforest", "proxy_rolling") // conn and dns (gzip)
	for _, bad := range []string{"dga@-1s", "dga@0s", "dga@soon"} {
		code, _, errs := runCLI(t, "inject", "--kinds", bad, "-o", t.TempDir(), benign)
		if code == 0 || !strings.Contains(errs, bad) {
			t.Errorf("%s: exit %d, stderr %q: want a clear error", bad, code, errs)
		}
	}
	code, out, errs := runCLI(t, "inject", "--kinds", "dga@60s", "-o", t.TempDir(), benign)
	if code != 0 {
		t.Fatalf("inject: exit %d: %s", code, errs)
	}
	i := strings.Index(out, "dga ")
	if i < 0 {
		t.Fatalf("no dga line in %q", out)
	}
	f := strings.Fields(out[i:]) // dga host H peer P START .. END conn N dns N
	from, err1 := time.Parse(time.RFC3339, f[5])
	to, err2 := time.Parse(time.RFC3339, f[7])
	if err1 != nil || err2 != nil {
		t.Fatalf("dga line %q", out[i:])
	}
	if span := to.Sub(from); span < 3*time.Hour || span > 8*time.Hour {
		t.Errorf("dga@60s walk spans %v (%s .. %s), want 4-7 hours", span, f[5], f[7])
	}
}

// dga is planted only when named; named after the default kinds it leaves
// their rows as they are, and eval scores it as its own class (dns.dga
// finds it).
func TestInjectDGA(t *testing.T) {
	dir := t.TempDir()
	benign := filepath.Join("..", "..", "testdata", "iforest", "proxy_rolling") // conn and dns (gzip)
	def, with := filepath.Join(dir, "default"), filepath.Join(dir, "dga")
	if code, _, errs := runCLI(t, "inject", "-o", def, benign); code != 0 {
		t.Fatalf("inject: exit %d: %s", code, errs)
	}
	code, out, errs := runCLI(t, "inject", "--kinds", "scan,dos,beacon,dnstunnel,exfil,offhours,dga", "-o", with, benign)
	if code != 0 {
		t.Fatalf("inject: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "\ndga ") {
		t.Errorf("no dga line in:\n%s", out)
	}
	for _, f := range []string{"conn.log.gz", "dns.log.gz"} {
		a, b := gunzipFile(t, filepath.Join(def, f)), gunzipFile(t, filepath.Join(with, f))
		var kept []string
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if !strings.Contains(l, "Injected-dga") {
				kept = append(kept, l)
			}
		}
		if strings.Join(kept, "") != string(a) || len(a) == len(b) {
			t.Errorf("%s: default kinds changed by dga, or no dga rows", f)
		}
	}
	if r, ok := classRecall(t, with)["From_malicious-Injected-dga"]; !ok || r == 0 {
		t.Errorf("dga class missing or missed (dns.dga should fire on the burst): recall %v", r)
	}
}

func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "out")
	gunzipTo(t, path, dst)
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
