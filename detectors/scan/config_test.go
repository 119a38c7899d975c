package scan

import (
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestConfigTOML(t *testing.T) {
	cfg := DefaultConfig()
	_, err := toml.Decode(`
window = "2m"
slow_window = "12h"
horizontal_threshold = 50.0
ignore_sources = ["10.9.0.0/16"]
`, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Window != 2*time.Minute || cfg.SlowWindow != 12*time.Hour || cfg.Horizontal != 50 || !cfg.Enabled || cfg.Lateness != 5*time.Minute {
		t.Fatalf("%+v", cfg)
	}
	d := New(cfg)
	if len(d.ignore) != 1 {
		t.Fatal("ignore_sources")
	}
}
