package main

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
)

// detectorEntry builds one detector from its [detectors.<name>] section.
// decode fills the detector's config (defaults already set by build) from
// the section when the file has one.
type detectorEntry struct {
	name string
	// build returns the detector; decode(v) decodes the section into v
	// (a pointer to the detector's Config) and is a no-op without a section.
	build func(decode func(v any) error) (detectors.Detector, error)
}

// allDetectors is the plain list of detector families, in output order.
// Each family's package documents its section (detectors/<name>/README.md).
// The model detectors, contextual, exfil and beacon load their files through mf.
func allDetectors(mf *modelFiles) []detectorEntry {
	var list []detectorEntry
	list = append(list, collectiveDetectors(mf)...)
	list = append(list, modelDetectors(mf)...)
	return list
}

// buildDetectors builds every enabled detector from the config; model,
// when set (a command's -m flag), replaces the model file of the
// isolation forest, the supervised, contextual, exfil and beacon detectors.
func buildDetectors(md *toml.MetaData, sections map[string]toml.Primitive, model string) ([]detectors.Detector, error) {
	return buildDetectorsWith(md, sections, newModelFiles(model, ""))
}

// buildDetectorsWith is buildDetectors with the model files of mf.
func buildDetectorsWith(md *toml.MetaData, sections map[string]toml.Primitive, mf *modelFiles) ([]detectors.Detector, error) {
	known := map[string]bool{}
	var names []string
	var out []detectors.Detector
	for _, e := range allDetectors(mf) {
		known[e.name] = true
		names = append(names, e.name)
		d, err := e.build(sectionDecoder(md, sections, e.name))
		if err != nil {
			return nil, err
		}
		if d != nil { // nil: disabled in its section (enabled = false)
			out = append(out, d)
		}
	}
	for name := range sections {
		if !known[name] {
			return nil, &window.ConfigError{Key: "detectors." + name, Msg: fmt.Sprintf("no such detector (known: %s)", strings.Join(names, ", "))}
		}
	}
	return out, nil
}

// sectionDecoder decodes [detectors.<name>] into a Config (left at its
// defaults when the section is absent) and validates it.
func sectionDecoder(md *toml.MetaData, sections map[string]toml.Primitive, name string) func(any) error {
	prim, ok := sections[name]
	return func(v any) error {
		if !ok || md == nil {
			return nil
		}
		if err := md.PrimitiveDecode(prim, v); err != nil {
			return err // (it names the key: Config.sectionErr)
		}
		if err := durationsWritten(md, []string{"detectors", name}, v); err != nil {
			return err
		}
		return validate(name, v)
	}
}

// validate checks a decoded section with its Config's Validate, naming the
// key as detectors.<name>.<key>.
func validate(name string, v any) error {
	var err error
	switch c := v.(type) {
	case interface{ Validate() error }:
		err = c.Validate()
	}
	var ce *window.ConfigError
	if errors.As(err, &ce) {
		return &window.ConfigError{Key: "detectors." + name + "." + ce.Key, Msg: ce.Msg}
	}
	return err
}

// durationsWritten rejects a duration key of the section at path
// ("detectors", "scan") written as a bare number: TOML decodes window = 5
// as 5 nanoseconds.
func durationsWritten(md *toml.MetaData, path []string, v any) error {
	rt := reflect.TypeOf(v).Elem()
	for f := range rt.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if f.Type == reflect.TypeFor[time.Duration]() && md.Type(append(path[:len(path):len(path)], tag)...) == "Integer" {
			return &window.ConfigError{Key: strings.Join(path, ".") + "." + tag,
				Msg: "a bare number is nanoseconds: write a duration such as \"5m\""}
		}
	}
	return nil
}

// buildDetectors is buildDetectors on the file's sections, a bad value
// reported with its line; a model key's relative path is taken from the
// file's directory (model, from a -m flag, as it is).
func (c *Config) buildDetectors(model string) ([]detectors.Detector, error) {
	dets, _, err := c.buildDetectorsNoted(model)
	return dets, err
}

// buildDetectorsNoted is buildDetectors that also returns its notes:
// what the config asked for and the build left out (modelFiles.notes).
func (c *Config) buildDetectorsNoted(model string) ([]detectors.Detector, []string, error) {
	dets, mf, err := c.buildModelFiles(model)
	if err != nil {
		return nil, nil, err
	}
	return dets, mf.notes, nil
}

// buildModelFiles builds the detectors, and returns the model files'
// loads and notes.
func (c *Config) buildModelFiles(model string) ([]detectors.Detector, *modelFiles, error) {
	if !c.Memory.HugePages {
		if err := noHugePages(); err != nil {
			return nil, nil, fmt.Errorf("[memory] huge_pages = false: %w", err)
		}
	}
	mf := newModelFiles(model, c.dir())
	dets, err := buildDetectorsWith(c.md, c.Detectors, mf)
	if err != nil {
		return nil, nil, c.sectionErr(err)
	}
	return dets, mf, nil
}
