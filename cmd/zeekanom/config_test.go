package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/zeekanom/zeekanom/detectors/dns"
	"github.com/zeekanom/zeekanom/output/elasticsearch"
	"github.com/zeekanom/zeekanom/output/zeekfeed"
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

// A relative path in the config file is taken from the file's directory,
// not the working directory (/ under systemd): run's directories, the
// Elasticsearch files, the output files and the model keys. Absolute
// paths and paths given by flags are left as they are.
func TestConfigPathsRelativeToTheFile(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "zeekanom.toml")
	os.WriteFile(filepath.Join(dir, "secret"), []byte("s3cret\n"), 0o600)
	os.WriteFile(cfgPath, []byte(`[input]
logdir = "logs/current"
archive_dir = "../archive"
[state]
dir = "state"
[output.elasticsearch]
urls = ["https://127.0.0.1:1"]
password_file = "secret"
ca_file = "/etc/ssl/ca.pem"
cert_file = "tls/cert.pem"
key_file = "tls/key.pem"
spool_dir = "spool"
`), 0o644)
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ec, _, err := esConfig(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, got, want string }{
		{"input.logdir", cfg.Input.Logdir, filepath.Join(dir, "logs", "current")},
		{"input.archive_dir", cfg.Input.ArchiveDir, filepath.Join(filepath.Dir(dir), "archive")},
		{"state.dir", cfg.State.Dir, filepath.Join(dir, "state")},
		{"output.elasticsearch.password_file", ec.Password, "s3cret"},
		{"output.elasticsearch.ca_file", ec.CAFile, "/etc/ssl/ca.pem"},
		{"output.elasticsearch.cert_file", ec.CertFile, filepath.Join(dir, "tls", "cert.pem")},
		{"output.elasticsearch.key_file", ec.KeyFile, filepath.Join(dir, "tls", "key.pem")},
		{"output.elasticsearch.spool_dir", ec.SpoolDir, filepath.Join(dir, "spool")},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.key, c.got, c.want)
		}
	}
	// --logdir and --state-dir as given
	rc, err := loadRunConfig(context.Background(), runFlags{config: cfgPath, logdir: "here", stateDir: "there", set: map[string]bool{}})
	if err != nil || rc.Input.Logdir != "here" || rc.State.Dir != "there" {
		t.Errorf("flags: %v, logdir %q, state dir %q; want them as given", err, rc.Input.Logdir, rc.State.Dir)
	}

	// score from another directory: the model and both output files are
	// the config's neighbours (the beacon baseline of a model trained on
	// the capture silences its beacons)
	trickbot := filepath.Join("..", "..", "testdata", "detectors", "trickbot")
	if code, _, errs := runCLI(t, "train", "--trees", "10", "-o", filepath.Join(dir, "m.json"), trickbot); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	scoreCfg := filepath.Join(dir, "score.toml")
	os.WriteFile(scoreCfg, []byte("[detectors.beacon]\nmodel = \"m.json\"\n[output.ndjson]\npath = \"notices.ndjson\"\n[output.zeekfeed]\npath = \"feed.log\"\n"), 0o644)
	if code, out, errs := runCLI(t, "score", "-q", "-c", scoreCfg, trickbot); code != 0 || out != "" {
		t.Fatalf("score: exit %d, stdout %q: %s", code, out, errs)
	}
	for _, f := range []string{"notices.ndjson", "feed.log"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || strings.Contains(string(b), "beacon") {
			t.Errorf("%s: %v, beacons in it %v; want it beside the config, without beacons (the model loaded)", f, err, strings.Contains(string(b), "beacon"))
		}
	}

	// a model key that does not open is named with the file, line and key
	os.WriteFile(scoreCfg, []byte("[detectors.beacon]\nwindow = \"1h\"\nmodel = \"nope.json\"\n"), 0o644)
	want := "zeekanom score: " + scoreCfg + ":3: detectors.beacon.model: open " + filepath.Join(dir, "nope.json") + ": no such file or directory\n"
	if code, _, errs := runCLI(t, "score", "-c", scoreCfg, trickbot); code != 1 || errs != want {
		t.Errorf("missing model: exit %d, stderr %q; want %q", code, errs, want)
	}
}

// Each package README's TOML section lists every key of its config, and
// the values it shows are the defaults but where a comment there says
// the value is an example (readmeExamples). beacon's README left out
// model, which train's README row and the example name.
func TestPackageREADMEsShowEveryKey(t *testing.T) {
	readmeExamples := map[string]bool{
		"dns.allow_extra":  true, // a name added to the built-in list
		"dns.slow_window":  true, // unset by default: "1h" for 5m windows
		"supervised.model": true, // the detector needs one
	}
	type section struct {
		name, readme string
		defaults     any // a Config, at its defaults
		values       bool
	}
	var sections []section
	for _, e := range allDetectors(newModelFiles("", "")) {
		var defaults any
		e.build(func(v any) error { defaults = reflect.ValueOf(v).Elem().Interface(); return nil })
		sections = append(sections, section{"detectors." + e.name, filepath.Join("..", "..", "detectors", e.name, "README.md"), defaults, true})
	}
	sections = append(sections,
		section{"output.zeekfeed", filepath.Join("..", "..", "output", "zeekfeed", "sample.conf"), zeekfeed.DefaultConfig(), true},
		// its values are a site's: only the keys
		section{"output.elasticsearch", filepath.Join("..", "..", "output", "elasticsearch", "README.md"), elasticsearch.Config{}, false})
	for _, s := range sections {
		b, err := os.ReadFile(s.readme)
		if err != nil {
			t.Fatal(err)
		}
		_, block, ok := strings.Cut(string(b), "\n["+s.name+"]\n")
		if !ok {
			t.Errorf("%s: no [%s]", s.readme, s.name)
			continue
		}
		block, _, _ = strings.Cut(block, "```")
		rt := reflect.TypeOf(s.defaults)
		shown := reflect.New(rt)
		shown.Elem().Set(reflect.ValueOf(s.defaults))
		md, err := toml.Decode(block, shown.Interface())
		if err != nil {
			t.Errorf("%s: [%s]: %v", s.readme, s.name, err)
			continue
		}
		for f := range rt.Fields() {
			key, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if key == "" || key == "-" {
				continue
			}
			// a key a comment names (dns: "or allow = [...]") is shown
			if !regexp.MustCompile(`(?m)(^|[#\s/])` + key + `\b`).MatchString(block) {
				t.Errorf("%s: [%s] does not show %s", s.readme, s.name, key)
				continue
			}
			name := strings.TrimPrefix(strings.TrimPrefix(s.name, "detectors."), "output.") + "." + key
			if !s.values || !md.IsDefined(key) || readmeExamples[name] {
				continue
			}
			got, want := shown.Elem().FieldByIndex(f.Index), reflect.ValueOf(s.defaults).FieldByIndex(f.Index)
			empty := got.Kind() == reflect.Slice && got.Len() == 0 && want.Len() == 0 // [] against nil
			if !empty && !reflect.DeepEqual(got.Interface(), want.Interface()) {
				t.Errorf("%s: [%s] %s = %v; the default is %v", s.readme, s.name, key, got, want)
			}
		}
	}
}

// [output.ndjson] path has the default 'config example' shows, as every
// key there does: a section without it failed 'config check' with
// "c.toml:0: output.ndjson.path: empty".
func TestNDJSONPathHasItsDefault(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("[output.ndjson]\nmin_risk = 70.0\n"), 0o644)
	if code, out, errs := runCLI(t, "config", "check", p); code != 0 || errs != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	var ex strings.Builder
	if err := writeExample(&ex); err != nil {
		t.Fatal(err)
	}
	if want := "#   path = \"" + defaultNDJSONPath + "\"\n"; !strings.Contains(ex.String(), "# [output.ndjson]\n") || !strings.Contains(ex.String(), want) {
		t.Errorf("the example does not show %q", want)
	}
}

// [output.elasticsearch] spool_dir: left out, the spool is the state
// directory's es-spool when [state] dir is set; spool_dir = "" is no
// spool, as output/elasticsearch/README.md says (it was the state
// directory's es-spool all the same).
func TestESSpoolDirDefault(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ text, want string }{
		{"[state]\ndir = \"st\"\n[output.elasticsearch]\n", filepath.Join(dir, "st", "es-spool")},
		{"[state]\ndir = \"st\"\n[output.elasticsearch]\nspool_dir = \"\"\n", ""},
		{"[state]\ndir = \"st\"\n[output.elasticsearch]\nspool_dir = \"sp\"\n", filepath.Join(dir, "sp")},
		{"[output.elasticsearch]\n", ""},
	} {
		p := filepath.Join(dir, "c.toml")
		os.WriteFile(p, []byte(c.text), 0o644)
		cfg, err := loadConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		if ec, _, err := esConfig(cfg, nil); err != nil || ec.SpoolDir != c.want {
			t.Errorf("%q: spool %q, %v; want %q", c.text, ec.SpoolDir, err, c.want)
		}
	}
	// run always has a state directory (the default's, or --state-dir's):
	// its spool is there unless spool_dir says otherwise; the sidecar
	// dropped every notice of an outage of the cluster when the file
	// named no [state] dir
	for _, c := range []struct{ text, stateDir, want string }{
		{"[output.elasticsearch]\n", "", "/var/lib/zeekanom/es-spool"},
		{"[output.elasticsearch]\n", filepath.Join(dir, "flag"), filepath.Join(dir, "flag", "es-spool")},
		{"[output.elasticsearch]\nspool_dir = \"\"\n", "", ""},
	} {
		p := filepath.Join(dir, "c.toml")
		os.WriteFile(p, []byte(c.text), 0o644)
		cfg, err := loadRunConfig(context.Background(), runFlags{config: p, stateDir: c.stateDir, set: map[string]bool{}})
		if err != nil {
			t.Fatal(err)
		}
		if ec, _, err := esConfig(cfg, nil); err != nil || ec.SpoolDir != c.want {
			t.Errorf("run --state-dir %q over %q: spool %q, %v; want %q", c.stateDir, c.text, ec.SpoolDir, err, c.want)
		}
	}
}

// A bad value of a key the file leaves out is placed at its table's
// header (or, with no table either, at no line): it said line 0, a line
// no editor has.
func TestKeyErrLineOfAnAbsentKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("# site\n[output.ndjson]\nmin_risk = 70.0\n"), 0o644)
	c, err := loadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"output.ndjson.min_risk": p + ":3: output.ndjson.min_risk: bad",
		"output.ndjson.path":     p + ":2: output.ndjson.path: bad",
		"input.logdir":           p + ": input.logdir: bad",
	} {
		if got := c.keyErr(key, "bad").Error(); got != want {
			t.Errorf("%s: %q, want %q", key, got, want)
		}
	}
}

// train reads its sections of -c as the other commands do, and reports a
// bad value with the file and line: it said "detectors.contextual.min_days:
// 0 is below 1" and "[detectors.contextual]: toml: line 2 ...", without
// the file.
func TestTrainConfigErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	demo := filepath.Join("..", "..", "testdata", "demo")
	for _, c := range []struct{ text, want string }{
		{"[detectors.contextual]\nmin_days = 0\n", ":2: detectors.contextual.min_days: 0 is below 1\n"},
		{"[detectors.exfil]\n\nmin_history = \"6\"\n", ":3: detectors.exfil.min_history: a string where a whole number is wanted\n"},
		{"[detectors.beacon]\nthreshold = 0.8\nmin_span = 120\n", ":3: detectors.beacon.min_span: a bare number is nanoseconds"},
	} {
		os.WriteFile(p, []byte(c.text), 0o644)
		code, _, errs := runCLI(t, "train", "-c", p, "-o", filepath.Join(dir, "m.json"), demo)
		if want := "zeekanom train: " + p + c.want; code != 1 || !strings.HasPrefix(errs, want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 1 and %q", c.text, code, errs, want)
		}
	}
}

// A section given a value where a table is wanted is an error naming the
// file, line and key, in words: "detectors = 5" passed config check (the
// TOML library leaves a map it cannot fill empty, without an error), and
// "input = 5" read "type mismatch for main.InputConfig: expected table
// but found int64".
func TestConfigCheckSectionShapes(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"detectors = 5\n", ":1: detectors: a whole number where a table is wanted"},
		{"[input]\nlogdir = \"/tmp\"\n\n", ""},
		{"# sinks\noutput = \"ndjson\"\n", ":2: output: a string where a table is wanted"},
		{"detectors = []\n", ":1: detectors: a list where a table is wanted"},
		{"[[detectors]]\nscan = 1\n", ":1: detectors: a list of tables where a table is wanted"},
		{"output = 2024-01-01\n", ":1: output: a date where a table is wanted"},
		{"input = 5\n", ":1: input: a whole number where a table is wanted"},
		{"metrics = true\n", ":1: metrics: true or false where a table is wanted"},
		{"state = [\"/var/lib/zeekanom\"]\n", ":1: state: a list where a table is wanted"},
		{"[detectors]\nscan = 5\n", ":2: detectors.scan: a whole number where a table is wanted"},
		{"[output]\nndjson = \"out.ndjson\"\n", ":2: output.ndjson: a string where a table is wanted"},
		{"detectors = {}\n", ""}, // an empty table is a table
	} {
		p := filepath.Join(t.TempDir(), "c.toml")
		os.WriteFile(p, []byte(tc.text), 0o644)
		code, _, stderr := runCLI(t, "config", "check", p)
		if tc.want == "" {
			if code != 0 {
				t.Errorf("%q: code %d, stderr %q, want ok", tc.text, code, stderr)
			}
			continue
		}
		if want := "zeekanom config: " + p + tc.want + "\n"; code != exitConfig || stderr != want {
			t.Errorf("%q: code %d, stderr %q, want %q", tc.text, code, stderr, want)
		}
	}
}

// A secret file config check cannot read is reported with its key and
// line, as every other bad value is: it read "elasticsearch: reading
// secret: open ...", naming neither (found by FuzzConfig).
func TestConfigCheckSecretFileNamed(t *testing.T) {
	for _, key := range []string{"password_file", "api_key_file", "bearer_token_file"} {
		p := filepath.Join(t.TempDir(), "c.toml")
		text := "[output.elasticsearch]\nurls = [\"http://127.0.0.1:9\"]\n" + key + " = \"missing\"\n"
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = checkConfig(context.Background(), cfg, sinkFlags{})
		want := p + ":3: output.elasticsearch." + key + ": reading secret: open "
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %q...", key, err, want)
		}
	}
}

// Values nested past maxNesting are refused before the TOML library
// decodes them (quadratic in the depth: 10,000 inline tables took 10 s and
// 4 GB), naming the line; braces and brackets in strings and comments do
// not count, and every shape the config uses passes.
func TestConfigNestingBounded(t *testing.T) {
	deep := func(n int, open, shut string) string {
		return strings.Repeat(open, n) + "1" + strings.Repeat(shut, n)
	}
	for _, tc := range []struct {
		text string
		line int // of the refusal; 0: tooDeep lets it through
	}{
		{"[detectors]\nscan = { ignore_ports = [\"tcp/22\"] }\n", 0},
		{"[[a]]\nb = [[1, 2], [3]]\n[[a]]\n", 0},
		{"a = " + deep(maxNesting, "{b = ", "}") + "\n", 0},
		{"a = " + deep(maxNesting, "[", "]") + "\n", 0},
		{"\n\na = " + deep(maxNesting+1, "{b = ", "}") + "\n", 3},
		{"a = " + deep(10000, "{b = ", "}") + "\n", 1},
		{"a = [\n" + deep(maxNesting, "[", "]") + "]\n", 2},
		{"a = \"" + strings.Repeat("{", 100) + "\"\n", 0},
		{"a = \"\\\"" + strings.Repeat("[", 100) + "\"\n", 0},
		{"a = '" + strings.Repeat("[", 100) + "\\'\n", 0},
		{"a = \"\"\"\n" + strings.Repeat("{\n", 100) + "\"\"\"\nb = 1\n", 0},
		{"a = '''" + strings.Repeat("[", 100) + "'''\n", 0},
		{"# " + strings.Repeat("{", 100) + "\nb = 1\n", 0},
		{"a = \"\"\"x\"\"\"\n#\nb = " + deep(maxNesting+1, "[", "]") + "\n", 3},
	} {
		if got := tooDeep(tc.text, maxNesting); got != tc.line {
			t.Errorf("%.60q: line %d, want %d", tc.text, got, tc.line)
		}
	}

	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("[detectors]\nscan = "+strings.Repeat("{ a = ", 10000)+"1"+strings.Repeat("}", 10000)+"\n"), 0o644)
	code, _, stderr := runCLI(t, "config", "check", p)
	if want := "zeekanom config: " + p + ":2: values nested more than 64 deep"; code != exitConfig || !strings.HasPrefix(stderr, want) {
		t.Errorf("config check, 10,000 nested tables: exit %d, %q; want %d, %q", code, stderr, exitConfig, want)
	}
}
