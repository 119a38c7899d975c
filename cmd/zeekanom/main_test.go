package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The README and 'train --help' write 'train PATH... -o model.json' and
// 'features PATH... -o vectors.csv': flags after the PATHs must work (they
// were taken for PATHs: "-o MODEL is required", "stat -o").
func TestDocumentedPathsThenFlags(t *testing.T) {
	demo := filepath.Join("..", "..", "testdata", "demo")
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		file string
	}{
		{[]string{"train", demo, "-o", filepath.Join(dir, "model.json")}, "model.json"},
		{[]string{"features", demo, "-o", filepath.Join(dir, "vectors.csv")}, "vectors.csv"},
		{[]string{"score", demo, "-q", "-o", filepath.Join(dir, "notices.json")}, "notices.json"},
	} {
		if code, _, errs := runCLI(t, c.args...); code != 0 {
			t.Errorf("%v: exit %d: %s", c.args, code, errs)
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, c.file)); err != nil || fi.Size() == 0 {
			t.Errorf("%v: %s not written: %v", c.args, c.file, err)
		}
	}
}

func TestParseFlagsAnywhere(t *testing.T) {
	for _, c := range []struct {
		args  []string
		out   string
		paths []string
	}{
		{[]string{"a", "b"}, "", []string{"a", "b"}},
		{[]string{"-o", "x", "a"}, "x", []string{"a"}},
		{[]string{"a", "-o", "x", "b"}, "x", []string{"a", "b"}},
		{[]string{"a", "b", "-o", "x"}, "x", []string{"a", "b"}},
		{[]string{"a", "--", "-o", "x"}, "", []string{"a", "-o", "x"}},
		{[]string{"-", "-o", "x"}, "x", []string{"-"}},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		out := fs.String("o", "", "")
		if err := parseFlagsAnywhere(fs, c.args); err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if *out != c.out || !reflect.DeepEqual(fs.Args(), c.paths) {
			t.Errorf("%q: -o %q, paths %q; want %q, %q", c.args, *out, fs.Args(), c.out, c.paths)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := parseFlagsAnywhere(fs, []string{"a", "--bogus"}); err != errUsage {
		t.Errorf("unknown flag after a PATH: %v, want errUsage", err)
	}
}

// A bad detector value stops score before it reads anything (beacon's
// window of 0 panicked with an integer divide by zero).
func TestScoreRejectsBadDetectorValue(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("[detectors.beacon]\nwindow = \"0s\"\n"), 0o644)
	code, out, errs := runCLI(t, "score", "-c", p, filepath.Join("..", "..", "testdata", "demo"))
	if code != 1 || out != "" || errs != "zeekanom score: "+p+":2: detectors.beacon.window: 0s must be above 0\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
