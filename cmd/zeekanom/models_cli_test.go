package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The model commands end to end on small real data: inject attacks into a
// benign slice, train on it, export features, evaluate with the model.
func TestInjectTrainFeaturesEval(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every detector several times")
	}
	dir := t.TempDir()
	benign := filepath.Join("..", "..", "testdata", "detectors", "benign", "evanswj")
	injected := filepath.Join(dir, "injected")
	if code, _, errs := runCLI(t, "inject", "--kinds", "scan,beacon", "--seed", "3", "-o", injected, benign); code != 0 {
		t.Fatalf("inject: exit %d: %s", code, errs)
	}
	model := filepath.Join(dir, "model.json")
	if code, _, errs := runCLI(t, "train", "-o", model, injected); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	if b, err := os.ReadFile(model); err != nil || !strings.Contains(string(b), "zeekanom") {
		t.Fatalf("model file: %v", err)
	}
	csv := filepath.Join(dir, "vectors.csv")
	if code, _, errs := runCLI(t, "features", "-o", csv, injected); code != 0 {
		t.Fatalf("features: exit %d: %s", code, errs)
	}
	if b, _ := os.ReadFile(csv); strings.Count(string(b), "\n") < 2 {
		t.Errorf("features CSV too short:\n%s", b)
	}
	report := filepath.Join(dir, "eval.json")
	code, out, errs := runCLI(t, "eval", "-m", model, "--json", report, injected)
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "F1") {
		t.Errorf("eval table has no F1 column:\n%s", out)
	}
	var js map[string]any
	if b, err := os.ReadFile(report); err != nil || json.Unmarshal(b, &js) != nil {
		t.Errorf("eval JSON unreadable: %v", err)
	}
	// the detectors' cores do not change the report
	for _, w := range []string{"1", "3"} {
		if code, again, errs := runCLI(t, "eval", "-m", model, "--workers", w, injected); code != 0 || again != out {
			t.Errorf("eval --workers %s: exit %d, %s; report differs: %v", w, code, errs, again != out)
		}
	}
}

func TestModelFromAnotherVersionIsAClearError(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "model.json")
	os.WriteFile(bad, []byte(`{"magic":"zeekanom-model","version":999}`), 0o644)
	code, _, errs := runCLI(t, "eval", "-m", bad, filepath.Join("..", "..", "testdata", "demo"))
	if code == 0 || !strings.Contains(errs, "version") {
		t.Errorf("exit %d, stderr %q: want a clear version error", code, errs)
	}
}

// A bad labels line stops eval, train and features with file:line, the line
// counted in the file (comments and blank lines included).
func TestBadLabelsLineNamesFileAndLine(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.labels")
	os.WriteFile(bad, []byte("# c2 hosts\n\nhost,start,end,class\n10.0.0.1,,,bot\n10.0.0.2,2023-11-14 22:00,,bot\n"), 0o644)
	tiny := filepath.Join("..", "..", "testdata", "eval", "tiny")
	for _, args := range [][]string{
		{"eval", "--labels", bad, tiny},
		{"features", "--labels", bad, tiny},
		{"train", "--labels", "--labels-file", bad, "-o", filepath.Join(t.TempDir(), "m.json"), tiny},
	} {
		if code, _, errs := runCLI(t, args...); code != 1 || !strings.Contains(errs, bad+":5: ") {
			t.Errorf("%s: exit %d, stderr %q: want exit 1 and %s:5", args[0], code, errs, bad)
		}
	}
}

// --window must be above 0: eval and features used to take 0 or a negative
// length silently as 5m, and train wrote it into the model (window_s -300,
// which then passed the window check of every detector).
func TestWindowFlagMustBePositive(t *testing.T) {
	tiny := filepath.Join("..", "..", "testdata", "eval", "tiny")
	model := filepath.Join(t.TempDir(), "m.json")
	for _, w := range []string{"0", "-5m"} {
		for _, args := range [][]string{
			{"eval", "--window", w, tiny},
			{"features", "--window", w, tiny},
			{"train", "--window", w, "-o", model, tiny},
		} {
			if code, _, errs := runCLI(t, args...); code != 2 || !strings.Contains(errs, "--window") {
				t.Errorf("%s --window %s: exit %d, stderr %q: want exit 2 naming --window", args[0], w, code, errs)
			}
		}
	}
	if _, err := os.Stat(model); err == nil {
		t.Error("train wrote a model with a bad --window")
	}
}
