package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/metrics"
	"github.com/zeekanom/zeekanom/zeekreader/follow"
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

	// Sections of `zeekanom run` (defaults in defaultConfig).
	Input   InputConfig   `toml:"input"`
	State   StateConfig   `toml:"state"`
	Metrics MetricsConfig `toml:"metrics"`
	Log     LogConfig     `toml:"log"`
	// Memory is [memory]: how the detectors' state is held (every command
	// that builds detectors).
	Memory MemoryConfig `toml:"memory"`

	md   *toml.MetaData
	path string
	text string
	// live is set by run, whose state directory (the file's, --state-dir's
	// or the default) always exists: the Elasticsearch spool defaults to
	// it there, where score spools only into a [state] dir the file names.
	live bool
}

// loadConfig reads a config file; "" gives the embedded defaults. Its
// errors are configErrors (exit 78).
func loadConfig(path string) (*Config, error) {
	c, err := readConfig(path)
	if err != nil {
		return nil, configError{err}
	}
	return c, nil
}

func readConfig(path string) (*Config, error) {
	c := defaultConfig()
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c.path, c.text = path, string(b)
	if line := tooDeep(c.text, maxNesting); line > 0 {
		return nil, fmt.Errorf("%s:%d: values nested more than %d deep (inline tables or arrays in one another)", path, line, maxNesting)
	}
	md, err := toml.Decode(string(b), c)
	if err != nil {
		return nil, c.tomlErr(err)
	}
	c.md = &md
	if err := c.checkSections(); err != nil {
		return nil, err
	}
	c.Input.Logdir = c.resolve(c.Input.Logdir)
	c.Input.ArchiveDir = c.resolve(c.Input.ArchiveDir)
	c.State.Dir = c.resolve(c.State.Dir)
	return c, nil
}

// maxNesting bounds how deep a config's values nest (the deepest the
// config needs is 3: detectors = { scan = { ignore_ports = [...] } }). The
// TOML library decodes nested inline tables in time and memory quadratic
// in their depth: 10,000 levels, a 60 KB file, took 10 s and 4 GB
// (FuzzConfig, 2026-12-02); 64 take a millisecond.
const maxNesting = 64

// tooDeep returns the line on which text's inline tables and arrays first
// nest deeper than limit, 0 if they never do. It skips strings and
// comments, so braces and brackets in them do not count; a table header
// ([a] or [[a]]) counts on its own line only. A file that is no valid TOML
// either way is left to the library's error.
func tooDeep(text string, limit int) int {
	depth, line := 0, 1
	for i := 0; i < len(text); i++ {
		switch ch := text[i]; ch {
		case '\n':
			line++
		case '#':
			for i+1 < len(text) && text[i+1] != '\n' {
				i++
			}
		case '"', '\'':
			delim := string(ch)
			if strings.HasPrefix(text[i:], delim+delim+delim) {
				delim += delim + delim
			}
			i += len(delim)
			for i < len(text) && !strings.HasPrefix(text[i:], delim) {
				switch {
				case text[i] == '\n':
					line++
				case text[i] == '\\' && ch == '"':
					i++ // an escape: \" does not end a basic string
					if i < len(text) && text[i] == '\n' {
						line++ // (a line-ending backslash)
					}
				}
				i++
			}
			i += len(delim) - 1
		case '{', '[':
			if depth++; depth > limit {
				return line
			}
		case '}', ']':
			depth = max(depth-1, 0)
		}
	}
	return 0
}

// resolve makes a relative path the file gives relative to the file's
// directory: they were taken relative to the working directory, which
// under systemd is /, so model = "model.json" beside
// /etc/zeekanom/zeekanom.toml was looked for as /model.json. Absolute
// paths, "" and the defaults (all absolute) are left alone; paths given
// by command-line flags never come through here.
func (c *Config) resolve(p string) string { return inDir(c.dir(), p) }

// inDir is p taken relative to dir when p is relative; p as it is when it
// is absolute or "", or when dir is "" (no config file).
func inDir(dir, p string) string {
	if p == "" || dir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// dir is the directory of the config file ("" without one).
func (c *Config) dir() string {
	if c.path == "" {
		return ""
	}
	return filepath.Dir(c.path)
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

// checkSections reports a top-level key of the file that should be a
// table (a section: detectors, output, input, ...) and is not. The TOML
// library leaves a map it cannot fill (detectors, output) empty without an
// error, so "detectors = 5" passed config check; the other sections it
// rejects itself (tomlErr words those).
func (c *Config) checkSections() error {
	for _, k := range c.md.Keys() {
		if len(k) != 1 || !isSection(k[0]) {
			continue
		}
		if ty := c.md.Type(k...); ty != "Hash" {
			have := tomlTypes[ty]
			if have == "" {
				have = ty
			}
			return c.keyErr(k[0], "%s where a table is wanted", have)
		}
	}
	return nil
}

// isSection reports whether name is a table of Config (its toml tag).
func isSection(name string) bool {
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && f.Tag.Get("toml") == name {
			return true
		}
	}
	return false
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
			if name == k.String() {
				return i + 1 // the key is a table of its own
			}
			in = name == table
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

// --- sections of `zeekanom run` ------------------------------------------

// InputConfig is [input]: what `zeekanom run` follows.
type InputConfig struct {
	// Logdir is Zeek's live log directory (zeekctl: logs/current; a
	// standalone Zeek: its working directory).
	Logdir string `toml:"logdir"`
	// Logs are the log names followed (Logdir/<name>.log).
	Logs []string `toml:"logs"`
	// ArchiveDir holds zeekctl's YYYY-MM-DD/ directories of rotated .gz
	// logs; "" is the parent of Logdir when Logdir is ".../current".
	ArchiveDir string `toml:"archive_dir"`
	// PollInterval is the polling fallback when no file event arrives.
	PollInterval time.Duration `toml:"poll_interval"`
}

// StateConfig is [state]: checkpoints.
type StateConfig struct {
	Dir                string        `toml:"dir"`
	CheckpointInterval time.Duration `toml:"checkpoint_interval"`
}

// MetricsConfig is [metrics]: the Prometheus endpoint ("" disables it).
type MetricsConfig struct {
	Listen string `toml:"listen"`
}

// MemoryConfig is [memory].
type MemoryConfig struct {
	// HugePages (default true): the detectors' tables ask the kernel for
	// transparent huge pages (window.HugePages); false turns them off
	// for the process (PR_SET_THP_DISABLE), where resident memory matters
	// more than CPU: a huge page stays whole while any of it is in use.
	HugePages bool `toml:"huge_pages"`
}

// LogConfig is [log]: diagnostics on standard error.
type LogConfig struct {
	Level string `toml:"level"` // debug, info, warn, error
}

func defaultConfig() *Config {
	return &Config{
		Input: InputConfig{
			Logdir:       "/opt/zeek/logs/current",
			Logs:         append([]string(nil), follow.DefaultLogs...),
			PollInterval: time.Second,
		},
		State:   StateConfig{Dir: "/var/lib/zeekanom", CheckpointInterval: 10 * time.Second},
		Metrics: MetricsConfig{Listen: metrics.DefaultListen},
		Log:     LogConfig{Level: "info"},
		Memory:  MemoryConfig{HugePages: true},
	}
}

// keyErr is a bad value, naming the key and its line.
func (c *Config) keyErr(key string, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if c.md == nil {
		return fmt.Errorf("%s: %s", key, msg)
	}
	line := c.lineOf(toml.Key(strings.Split(key, ".")))
	// a key the file leaves out (its default is what is wrong with the
	// others): the line of its table, [output.ndjson] for
	// output.ndjson.path
	for t := key; line == 0 && strings.Contains(t, "."); {
		t = t[:strings.LastIndexByte(t, '.')]
		line = c.tableLine(t)
	}
	if line == 0 {
		return fmt.Errorf("%s: %s: %s", c.path, key, msg)
	}
	return fmt.Errorf("%s:%d: %s: %s", c.path, line, key, msg)
}

// sectionErr is an error of decoding or checking a section, written as the
// file's other errors are: FILE:LINE: KEY: what is wrong. A value of the
// wrong type read "[detectors.scan]: toml: line 2 (last key
// "detectors.scan.window"): incompatible types: TOML value has type
// string; destination has type float", without the file. Other errors
// (a model file's, already named) are returned as they are.
func (c *Config) sectionErr(err error) error {
	var ce *window.ConfigError
	if errors.As(err, &ce) {
		return c.keyErr(ce.Key, "%s", ce.Msg)
	}
	return c.tomlErr(err)
}

// tomlKeyErr is the TOML library's error about a key's value ("toml: line
// 2 (last key "input.logs"): ...", the line left out where it does not
// know it).
var tomlKeyErr = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]*)"\): (.*)$`)

// tomlTypes are the TOML library's names of a value's type (the Go type
// it parsed) and of the type a key wants, in words.
var tomlTypes = map[string]string{
	"string": "a string", "int64": "a whole number", "float64": "a number", "bool": "true or false",
	"[]any": "a list", "[]map[string]any": "a list of tables", "map[string]any": "a table",
	"time.Time": "a date", "toml.LocalDate": "a date", "toml.LocalDatetime": "a date", "toml.LocalTime": "a time",
	"integer": "a whole number", "float": "a number", "boolean": "true or false",
	"slice": "a list", "map": "a table", "primitive (string-like)": "a string",
	// (MetaData.Type's names)
	"Integer": "a whole number", "Float": "a number", "Datetime": "a date", "String": "a string", "Bool": "true or false",
	"Array": "a list", "ArrayHash": "a list of tables",
}

// tomlNotTable is the TOML library's message about a value where a table
// (a struct) is wanted: "type mismatch for main.InputConfig: expected
// table but found int64".
var tomlNotTable = regexp.MustCompile(`^type mismatch for \S+: expected table but found (.+)$`)

// tomlErr is an error of the TOML library (a syntax error, a value of the
// wrong type, a duration it cannot parse) as FILE:LINE: KEY: message, the
// key left out when the line is not the key's (a syntax error further on).
func (c *Config) tomlErr(err error) error {
	line, key, msg := 0, "", ""
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line, key, msg = pe.Position.Line, pe.LastKey, pe.Message
		// (Start is -1 on some invalid UTF-8: the library's own line then)
		if p := pe.Position; p.Len > 0 && p.Start >= 0 && p.Start < len(c.text) {
			// the line of the byte it names: "[detectors.dns" without its
			// "]" was reported on the line after, having reached the '\n'
			line = 1 + strings.Count(c.text[:p.Start], "\n")
		}
	} else if m := tomlKeyErr.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		key, msg = m[2], m[3]
	} else {
		return err
	}
	if kinds, ok := strings.CutPrefix(msg, "incompatible types: TOML value has type "); ok {
		if have, want, ok := strings.Cut(kinds, "; destination has type "); ok && tomlTypes[have] != "" && tomlTypes[want] != "" {
			msg = tomlTypes[have] + " where " + tomlTypes[want] + " is wanted"
		}
	}
	if m := tomlNotTable.FindStringSubmatch(msg); m != nil && tomlTypes[m[1]] != "" {
		msg = tomlTypes[m[1]] + " where a table is wanted"
	}
	if key != "" {
		switch kl := c.lineOf(toml.Key(strings.Split(key, "."))); {
		case kl == 0: // (written dotted or inline: the library's line)
		case line == 0 || kl == line:
			line = kl
		default:
			key = "" // a syntax error after the last key read
		}
	}
	where := c.path
	if line > 0 {
		where += ":" + strconv.Itoa(line)
	}
	if key != "" {
		return fmt.Errorf("%s: %s: %s", where, key, msg)
	}
	return fmt.Errorf("%s: %s", where, msg)
}

// tableLine finds the line of the table header [name] (0 if none).
func (c *Config) tableLine(name string) int {
	for i, l := range strings.Split(c.text, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") && strings.Trim(t, "[] ") == name {
			return i + 1
		}
	}
	return 0
}

// validateRun checks the sections of `zeekanom run`.
func (c *Config) validateRun() error {
	if c.Input.Logdir == "" {
		return c.keyErr("input.logdir", "empty")
	}
	if len(c.Input.Logs) == 0 {
		return c.keyErr("input.logs", "no log to follow")
	}
	seen := map[string]bool{}
	for _, l := range c.Input.Logs {
		if l == "" || strings.ContainsAny(l, "/\\ .") {
			return c.keyErr("input.logs", "%q is not a log name (conn, dns, ...)", l)
		}
		if seen[l] {
			return c.keyErr("input.logs", "%q listed twice", l)
		}
		seen[l] = true
	}
	if c.Input.PollInterval < 10*time.Millisecond || c.Input.PollInterval > time.Hour {
		return c.keyErr("input.poll_interval", "%s is outside 10ms..1h", c.Input.PollInterval)
	}
	if c.State.Dir == "" {
		return c.keyErr("state.dir", "empty")
	}
	if c.State.CheckpointInterval < 10*time.Millisecond || c.State.CheckpointInterval > 24*time.Hour {
		return c.keyErr("state.checkpoint_interval", "%s is outside 10ms..24h", c.State.CheckpointInterval)
	}
	if l := c.Metrics.Listen; l != "" {
		if i := strings.LastIndexByte(l, ':'); i < 0 {
			return c.keyErr("metrics.listen", "%q is not host:port", l)
		}
	}
	if _, err := parseLevel(c.Log.Level); err != nil {
		return c.keyErr("log.level", "%v", err)
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
}
