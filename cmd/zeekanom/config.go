package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Config is the one TOML file: a table per concern, a table per detector
// ([detectors.<name>]) and per output ([output.<name>]). Defaults live in
// code; unknown keys are errors naming the key and its line.
type Config struct {
	// Detectors holds each [detectors.<name>] section, decoded by the
	// detector's own Config type (see buildDetectors).
	Detectors map[string]toml.Primitive `toml:"detectors"`
	// Output holds each [output.<name>] section.
	Output map[string]toml.Primitive `toml:"output"`

	md   *toml.MetaData
	path string
	text string
}

// loadConfig reads a config file; "" gives the embedded defaults.
func loadConfig(path string) (*Config, error) {
	c := &Config{}
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	md, err := toml.Decode(string(b), c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.md, c.path, c.text = &md, path, string(b)
	return c, nil
}

// checkUndecoded reports keys no section consumed, with their line. Call it
// after every section has been decoded.
func (c *Config) checkUndecoded() error {
	if c.md == nil {
		return nil
	}
	und := c.md.Undecoded()
	if len(und) == 0 {
		return nil
	}
	sort.Slice(und, func(i, j int) bool { return und[i].String() < und[j].String() })
	k := und[0]
	return fmt.Errorf("%s:%d: unknown key %q", c.path, c.lineOf(k), k.String())
}

// lineOf finds the line where a dotted key is set: the last component after
// its table header.
func (c *Config) lineOf(k toml.Key) int {
	lines := strings.Split(c.text, "\n")
	table := strings.Join(k[:len(k)-1], ".")
	last := k[len(k)-1]
	in := table == ""
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			name := strings.Trim(t, "[] ")
			in = name == table
			if in && len(k) > 0 && name == k.String() {
				return i + 1
			}
			continue
		}
		if in {
			if key, _, ok := strings.Cut(t, "="); ok && strings.Trim(strings.TrimSpace(key), `"`) == last {
				return i + 1
			}
		}
	}
	return 0
}
