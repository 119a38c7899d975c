package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/zeekanom/zeekanom/output/zeekfeed"
)

const configSynopsis = `check FILE | example

  check FILE   validate a config file: every section and value, every
               detector and output built (nothing opened); unknown keys and
               bad values are reported with their line
  example      print a commented default config (which 'check' accepts)`

func cmdConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("config", configSynopsis, stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 2 && fs.Arg(0) == "check":
		cfg, err := loadConfig(fs.Arg(1))
		if err != nil {
			return err
		}
		notes, err := checkConfig(ctx, cfg, sinkFlags{})
		if err != nil {
			return err
		}
		for _, n := range notes { // valid, but not what it asks for
			fmt.Fprintf(stderr, "zeekanom config: warning: %s\n", n)
		}
		fmt.Fprintf(stdout, "%s: ok\n", fs.Arg(1))
		return nil
	case fs.NArg() == 1 && fs.Arg(0) == "example":
		return writeExample(stdout)
	}
	return usageErr(fs, stderr)
}

const exampleHead = `# zeekanom configuration (TOML). Every key is optional: the values shown
# are the defaults. Unknown keys are errors. Check a file with
# 'zeekanom config check /etc/zeekanom/zeekanom.toml'.
# A relative path in this file (directories, output files, model files,
# secret and TLS files) is taken from this file's directory, not the
# working directory: model = "model.json" here is model.json beside it.
# Flags of 'zeekanom run' override it (--logdir, --state-dir, -o, --es-url,
# --metrics, --drain). SIGHUP reloads [log] level, [state]
# checkpoint_interval and the min_risk of the ndjson and zeekfeed
# outputs; the rest needs a restart (the reload's log names each key
# that changed and was not applied).

[input]
  ## Zeek's live log directory: zeekctl's logs/current, or a standalone
  ## Zeek's working directory.
  logdir = %q
  ## Logs followed: <logdir>/<name>.log (TSV or JSON; json-streaming-logs'
  ## files: "json_streaming_conn", ...).
  logs = %s
  ## Where zeekctl archives rotated logs (YYYY-MM-DD/conn.HH:MM:SS-HH:MM:SS.log.gz);
  ## "" = the parent of logdir when logdir ends in "current", else logdir.
  archive_dir = %q
  ## Polling fallback when no file-system event arrives (10ms..1h).
  poll_interval = %q

[state]
  ## Checkpoints (offsets + detector windows), written atomically.
  dir = %q
  ## How often a checkpoint is written (10ms..24h; reloadable); when one
  ## takes longer than a tenth of this (large detector state), the next
  ## ones are spaced to ten times its duration.
  checkpoint_interval = %q

[metrics]
  ## Prometheus /metrics and /healthz; "" disables.
  listen = %q

[memory]
  ## The detectors' tables ask Linux for transparent huge pages (fewer
  ## TLB misses: about a tenth less CPU in most runs, within the VM's
  ## noise in some: README, Performance); false turns them off for this
  ## process.
  huge_pages = %v

[log]
  ## debug, info, warn or error (reloadable).
  level = %q

# --- outputs -------------------------------------------------------------
# Without any output section (and without -o / --es-url), notices go to
# standard output as JSON lines.

# [output.ndjson]
#   ## JSON lines file, appended to (run and score alike; score -o FILE
#   ## replaces its file); "-" is standard output.
#   path = %q
#   ## Notices with a lower risk score (0-100) are dropped (reloadable).
#   min_risk = 0.0

# [output.elasticsearch]
#   ## Nodes; TLS verification is on for https. Secrets: password_file,
#   ## api_key_file, bearer_token_file, or ZEEKANOM_ES_PASSWORD /
#   ## ZEEKANOM_ES_API_KEY in the environment (never on the command line).
#   urls = ["http://127.0.0.1:9200"]
#   ## Data stream the notices go to (a logs-* one, so the Elastic Security
#   ## app's External Alerts rule picks them up).
#   index = "logs-zeekanom.notice-default"
#   ## observer.name of every notice, to tell sensors apart (default: the
#   ## host name).
#   # observer = "sensor-east"
#   ## Notices wait here while the cluster is unreachable (default: the
#   ## state directory's es-spool: run's always, score's when [state] dir
#   ## is set; "" for no spool).
#   # spool_dir = "/var/lib/zeekanom/es-spool"
#   ## Install the index template at start (needs manage_index_templates);
#   ## false: an administrator runs 'zeekanom setup elasticsearch' once.
#   # manage_template = true
#   ## More keys (api_key, username, ca_file, cert_file, workers, ...):
#   ## output/elasticsearch/README.md.

`

// writeExample prints the commented default config. Detector and zeekfeed
// sections are generated from their DefaultConfig, commented out, so they
// always agree with the code.
func writeExample(w io.Writer) error {
	d := defaultConfig()
	logs := `["` + strings.Join(d.Input.Logs, `", "`) + `"]`
	fmt.Fprintf(w, exampleHead, d.Input.Logdir, logs, d.Input.ArchiveDir, d.Input.PollInterval.String(),
		d.State.Dir, d.State.CheckpointInterval.String(), d.Metrics.Listen, d.Memory.HugePages, d.Log.Level, defaultNDJSONPath)

	fmt.Fprintln(w, "# [output.zeekfeed]: the feed the Zeek package in zeek-scripts/ reads.")
	if err := commentedSection(w, "output.zeekfeed", zeekfeed.DefaultConfig()); err != nil {
		return err
	}
	fmt.Fprintln(w, "\n# --- detectors -----------------------------------------------------------")
	fmt.Fprintln(w, "# One section per detector family (detectors/<name>/README.md); the keys")
	fmt.Fprintln(w, "# shown are the defaults. enabled = false turns a detector off.")
	for _, e := range allDetectors(newModelFiles("", "")) {
		var captured any
		_, err := e.build(func(v any) error { captured = v; return nil })
		if err != nil || captured == nil {
			fmt.Fprintf(w, "\n# [detectors.%s]\n", e.name)
			continue
		}
		fmt.Fprintln(w)
		if err := commentedSection(w, "detectors."+e.name, captured); err != nil {
			fmt.Fprintf(w, "# [detectors.%s]\n", e.name)
		}
	}
	return nil
}

// keyNotes is a section's Config with a default that needs a word: a 0
// standing for a value derived from other keys (dns's slow_window).
// KeyNotes maps such keys to the note the example writes after them.
type keyNotes interface{ KeyNotes() map[string]string }

// commentedSection writes [name] with v's TOML encoding, commented out.
// A list that is empty by default is shown as [] (the encoder leaves nil
// lists out, and the example is to show every key).
func commentedSection(w io.Writer, name string, v any) error {
	var b bytes.Buffer
	enc := toml.NewEncoder(&b)
	enc.Indent = "  "
	if err := enc.Encode(withEmptyLists(v)); err != nil {
		return err
	}
	var notes map[string]string
	if kn, ok := v.(keyNotes); ok {
		notes = kn.KeyNotes()
	}
	fmt.Fprintf(w, "# [%s]\n", name)
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			// a nested table of the section (its keys are not noted)
			l = strings.Replace(l, "[", "["+name+".", 1)
			notes = nil
		}
		if l == "" {
			fmt.Fprintln(w, "#")
			continue
		}
		if key, _, ok := strings.Cut(l, " = "); ok && notes[key] != "" {
			l += "  # " + notes[key]
		}
		fmt.Fprintf(w, "#   %s\n", l)
	}
	return nil
}

// withEmptyLists returns a copy of the struct v (or *v) whose nil slice
// fields are empty slices.
func withEmptyLists(v any) any {
	rv := reflect.Indirect(reflect.ValueOf(v))
	if rv.Kind() != reflect.Struct {
		return v
	}
	cp := reflect.New(rv.Type()).Elem()
	cp.Set(rv)
	for i := 0; i < cp.NumField(); i++ {
		if f := cp.Field(i); f.Kind() == reflect.Slice && f.IsNil() && f.CanSet() {
			f.Set(reflect.MakeSlice(f.Type(), 0, 0))
		}
	}
	return cp.Interface()
}
