//go:build linux

package main

import (
	"os"
	"path/filepath"
	"testing"
)

// [memory] huge_pages = false turns transparent huge pages off for the
// process when the detectors are built (it stays off for this test
// binary, whose other tests do not depend on it); the default leaves
// them on.
func TestMemoryHugePagesOff(t *testing.T) {
	if off, err := hugePagesOff(); err != nil || off {
		t.Skipf("huge pages already off for this process, or no prctl (%v)", err)
	}
	if _, err := defaultConfig().buildDetectors(""); err != nil {
		t.Fatal(err)
	}
	if off, _ := hugePagesOff(); off {
		t.Fatal("the default config turned huge pages off")
	}
	p := filepath.Join(t.TempDir(), "z.toml")
	if err := os.WriteFile(p, []byte("[memory]\nhuge_pages = false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.buildDetectors(""); err != nil {
		t.Fatal(err)
	}
	if err := cfg.checkUndecoded(); err != nil {
		t.Fatal(err)
	}
	if off, err := hugePagesOff(); err != nil || !off {
		t.Fatalf("huge_pages = false left them on (%v)", err)
	}
}
