package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// configFuzzSeeds are the seeds of FuzzConfig: the example config, the
// shipped upgrade config, sections the tests use, and hostile values.
func configFuzzSeeds(f *testing.F) [][]byte {
	var ex bytes.Buffer
	if err := writeExample(&ex); err != nil {
		f.Fatal(err)
	}
	seeds := [][]byte{ex.Bytes()}
	if b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "upgrade", "zeekanom.toml")); err == nil {
		seeds = append(seeds, b)
	}
	for _, s := range []string{
		"",
		"[detectors.dns]\nwindow = \"7m\"\nslow_window = \"1h\"\n",
		"[detectors.dns]\nslow_window = \"-1h\"\n",
		"detectors = 5\n",
		"output = \"x\"\n",
		"[input]\nlogs = []\n",
		"[input]\nlogs = [1, 2]\n",
		"[input]\npoll_interval = \"-5s\"\n",
		"[input]\npoll_interval = 99999999999999999999\n",
		"[state]\ncheckpoint_interval = \"9223372036854775807ns\"\n",
		"[state]\ncheckpoint_interval = \"99999999999h\"\n",
		"[output.ndjson]\nmin_risk = 1e400\n",
		"[output.ndjson]\nmin_risk = nan\npath = \"\"\n",
		"[output.ndjson]\nmin_risk = -inf\n",
		"[output.zeekfeed]\nmax_bytes = -1\n",
		"[output.zeekfeed]\nmax_bytes = 9223372036854775807\n",
		"[output.elasticsearch]\nurls = [\"http://[::1\"]\n",
		"[output.elasticsearch]\nurls = []\nworkers = -9223372036854775808\n",
		"[output.elasticsearch]\nflush_interval = \"-1ns\"\nwrite_timeout = 1e400\n",
		"[output.nosuch]\n",
		"[detectors.nosuch]\n",
		"[detectors.scan]\nwindow = {}\n",
		"[detectors.scan]\nwindow = [[[[]]]]\n",
		"[[detectors]]\n",
		"[memory]\nhuge_pages = \"yes\"\n",
		"[metrics]\nlisten = \"nocolon\"\n",
		"[a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p]\nx = 1\n",
		"x = " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n",
		"x = " + strings.Repeat("{a=", 2000) + "1" + strings.Repeat("}", 2000) + "\n",
		"[detectors.\"é\u202e\"]\n\"ключ\" = 1\n",
		"[input]\n\"logdir\" = \"" + strings.Repeat("a", 1<<20) + "\"\n",
		"[input]\nlogdir = 1979-05-27T07:32:00Z\n",
		"[input]\nlogdir = \"\\u0000\"\nlogs = [\"conn\", \"conn\"]\n",
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// configErrNamed is what every error of config check starts with: the
// file, then a line or a key ("FILE:LINE: ..." or "FILE: KEY: ...").
var configErrNamed = regexp.MustCompile(`^(\d+: |[\w."\-\[\]]+[: ])`)

// FuzzConfig loads and checks arbitrary bytes as `zeekanom config check`
// does (loadConfig, checkConfig with sinkFlags{}: nothing opened or
// connected). It must never panic, must return within a bound, must
// write nothing (the config's directory holds the config alone after),
// and any error must name the file and a line or a key.
func FuzzConfig(f *testing.F) {
	for _, s := range configFuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			cfg, err := loadConfig(p)
			if err == nil {
				_, err = checkConfig(ctx, cfg, sinkFlags{})
			}
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("config check of %d bytes took over 5s", len(data))
		}
		if ents, rerr := os.ReadDir(dir); rerr != nil || len(ents) != 1 {
			t.Fatalf("config check left %d entries in the config's directory (%v), want the config alone", len(ents), rerr)
		}
		if err == nil {
			return
		}
		msg := err.Error()
		rest, ok := strings.CutPrefix(msg, p+":")
		if !ok || !configErrNamed.MatchString(strings.TrimPrefix(rest, " ")) {
			t.Fatalf("error names neither the file and a line nor a key: %q", trunc(msg, 300))
		}
	})
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
