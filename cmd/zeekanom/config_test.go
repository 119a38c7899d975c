package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/dns"
)

// [detectors.dns] slow_window through the config file: unset, it is as
// many whole windows as fit in an hour (at least one), whatever window
// is; set, it must be a whole number of windows. An explicit "1h" with a
// 7m window was taken as 56m, as if unset.
func TestConfigDNSSlowWindow(t *testing.T) {
	for _, c := range []struct {
		section string
		want    time.Duration // the slow window in effect
		err     string        // or the error
	}{
		{"window = \"7m\"\n", 56 * time.Minute, ""},
		{"window = \"2h\"\n", 2 * time.Hour, ""},
		{"window = \"5m\"\n", time.Hour, ""},
		{"window = \"90m\"\n", 90 * time.Minute, ""},
		{"min_risk = 60.0\n", time.Hour, ""},
		{"window = \"7m\"\nslow_window = \"84m\"\n", 84 * time.Minute, ""},
		{"slow_window = \"3h\"\n", 3 * time.Hour, ""},
		{"window = \"2h\"\nslow_window = \"2h\"\n", 2 * time.Hour, ""},
		{"window = \"7m\"\nslow_window = \"1h\"\n", 0,
			":3: detectors.dns.slow_window: 1h is not a whole number of windows (7m): write 56m or 1h3m"},
		{"window = \"10m\"\nslow_window = \"5m\"\n", 0,
			":3: detectors.dns.slow_window: 5m is shorter than window (10m)"},
		{"slow_window = \"-1h\"\n", 0, ":2: detectors.dns.slow_window: -1h0m0s is negative"},
	} {
		p := filepath.Join(t.TempDir(), "c.toml")
		if err := os.WriteFile(p, []byte("[detectors.dns]\n"+c.section), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		dets, err := cfg.buildDetectors("")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want %q", c.section, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.section, err)
			continue
		}
		var got time.Duration
		for _, d := range dets {
			if d, ok := d.(*dns.Detector); ok {
				got = d.SlowWindow()
			}
		}
		if got != c.want {
			t.Errorf("%q: slow window %v, want %v", c.section, got, c.want)
		}
	}
	// the example shows the default, 0s, saying what it stands for
	var ex strings.Builder
	if err := writeExample(&ex); err != nil || !strings.Contains(ex.String(), "#   slow_window = \"0s\"  # 0s: as many whole windows as fit in an hour") {
		t.Errorf("example: %v, no note on slow_window's 0s", err)
	}
}
