package main

// Output wiring shared by run and config check: [output.ndjson],
// [output.zeekfeed], [output.elasticsearch] (via buildElasticsearch), each
// behind a reloadable min_risk filter.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/zeekanom/zeekanom/output"
	"github.com/zeekanom/zeekanom/output/metrics"
	"github.com/zeekanom/zeekanom/output/ndjson"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/output/zeekfeed"
)

// defaultNDJSONPath is [output.ndjson] path when the section leaves it
// out, as the Zeek feed's path has a default.
const defaultNDJSONPath = "/var/lib/zeekanom/notices.ndjson"

// ndjsonConfig is [output.ndjson].
type ndjsonConfig struct {
	// Path of the JSON-lines file; "-" is standard output.
	Path string `toml:"path"`
	// MinRisk drops notices with a lower event.risk_score (reloadable).
	MinRisk float64 `toml:"min_risk"`
}

// outputNames are the [output.<name>] sections known here.
var outputNames = []string{"elasticsearch", "ndjson", "zeekfeed"}

// namedSink is one output with its reloadable threshold.
type namedSink struct {
	name string
	sink output.Sink
	min  atomic.Uint64 // float64 bits of min_risk
	errs int64
}

func (s *namedSink) minRisk() float64     { return math.Float64frombits(s.min.Load()) }
func (s *namedSink) setMinRisk(v float64) { s.min.Store(math.Float64bits(v)) }

// sinkSet is every output of a run. It implements output.Sink; a failing
// output does not stop the others (its errors are counted).
type sinkSet struct {
	sinks []*namedSink
	// out is score's -o FILE, put in place by commit
	out *outputFile
}

func (ss *sinkSet) Write(ctx context.Context, n *notice.Notice) error {
	var first error
	for _, s := range ss.sinks {
		if n.RiskScore < s.minRisk() {
			continue
		}
		if err := s.sink.Write(ctx, n); err != nil {
			s.errs++
			if first == nil {
				first = fmt.Errorf("output %s: %w", s.name, err)
			}
		}
	}
	return first
}

func (ss *sinkSet) Flush(ctx context.Context) error { return ss.flush(ctx, false) }

// FlushBuffered flushes the sinks that do not flush by themselves
// (output.SelfFlushing): the file outputs, for latency between
// checkpoints.
func (ss *sinkSet) FlushBuffered(ctx context.Context) error { return ss.flush(ctx, true) }

func (ss *sinkSet) flush(ctx context.Context, buffered bool) error {
	var errs []error
	for _, s := range ss.sinks {
		if sf, ok := s.sink.(output.SelfFlushing); buffered && ok && sf.FlushesItself() {
			continue
		}
		if err := s.sink.Flush(ctx); err != nil {
			s.errs++
			errs = append(errs, fmt.Errorf("output %s: %w", s.name, err))
		}
	}
	return errors.Join(errs...)
}

func (ss *sinkSet) Close() error {
	var errs []error
	for _, s := range ss.sinks {
		if err := s.sink.Close(); err != nil {
			errs = append(errs, fmt.Errorf("output %s: %w", s.name, err))
		}
	}
	if ss.out != nil && errs != nil {
		ss.out.discard()
	}
	return errors.Join(errs...)
}

// commit puts the -o FILE of a run that succeeded in place (after Close);
// after a run that failed, discard leaves FILE as it was.
func (ss *sinkSet) commit() error {
	if ss.out == nil {
		return nil
	}
	return ss.out.commit()
}

func (ss *sinkSet) discard() {
	if ss.out != nil {
		ss.out.discard()
	}
}

// lost reports the outputs that lost notices they accepted
// (output.Lossy), as one error naming each with its count; nil when none
// did. Call it after Close: a sink settles its last notices there.
func (ss *sinkSet) lost() error {
	var errs []error
	for _, s := range ss.sinks {
		if l, ok := s.sink.(output.Lossy); ok {
			if n := l.Lost(); n > 0 {
				were := "were"
				if n == 1 {
					were = "was"
				}
				errs = append(errs, fmt.Errorf("output %s: %s %s not delivered (refused, or dropped without a spool or room in it; its log above says why)", s.name, counted(n, "notice"), were))
			}
		}
	}
	return errors.Join(errs...)
}

// stats flattens each output's Stats() (if it has one) for metrics.
func (ss *sinkSet) stats() (map[string]map[string]float64, map[string]int64) {
	st := map[string]map[string]float64{}
	errs := map[string]int64{}
	for _, s := range ss.sinks {
		errs[s.name] = s.errs
		if v, ok := callStats(s.sink); ok {
			st[s.name] = metrics.Flatten(v)
		}
	}
	return st, errs
}

// callStats calls a Stats() method of any result type (detectors and the
// Elasticsearch sink each have their own).
func callStats(v any) (any, bool) {
	m := reflect.ValueOf(v).MethodByName("Stats")
	if !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 1 {
		return nil, false
	}
	return m.Call(nil)[0].Interface(), true
}

// sinkFlags are the command-line overrides of the outputs.
type sinkFlags struct {
	out   string // -o FILE ("-": standard output)
	esURL urlList
	// truncate: -o FILE is replaced by this run's notices (score:
	// scoring the same logs again must not append a second copy), once
	// the run succeeded (sinkSet.commit). Otherwise it is appended to,
	// as the live sidecar must across restarts.
	truncate bool
	// logf takes the Elasticsearch sink's log lines (nil: the standard
	// logger, as score has them).
	logf func(format string, args ...any)
}

// outputThresholds decodes the reloadable min_risk of each section.
type outputThresholds map[string]float64

// decodeOutputs checks [output.*] names and decodes the sections handled
// here. With build false nothing is opened (config check).
func buildSinks(ctx context.Context, cfg *Config, fl sinkFlags, stdout io.Writer, build bool) (*sinkSet, error) {
	known := map[string]bool{}
	for _, n := range outputNames {
		known[n] = true
	}
	names := make([]string, 0, len(cfg.Output))
	for n := range cfg.Output {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !known[n] {
			return nil, cfg.keyErr("output."+n, "no such output (known: %v)", outputNames)
		}
	}
	ss := &sinkSet{}
	fail := func(err error) (*sinkSet, error) {
		ss.Close()
		return nil, err
	}
	add := func(name string, s output.Sink, minRisk float64) {
		ns := &namedSink{name: name, sink: s}
		ns.setMinRisk(minRisk)
		ss.sinks = append(ss.sinks, ns)
	}

	// With build false (config check) the section is decoded and its
	// secrets resolved, but nothing connects.
	es, err := buildElasticsearch(ctx, cfg, fl.esURL, build, fl.logf)
	if err != nil {
		return fail(err)
	}
	if es != nil {
		add("elasticsearch", es, 0)
	}

	if prim, ok := cfg.Output["zeekfeed"]; ok {
		zc := zeekfeed.DefaultConfig()
		if err := cfg.md.PrimitiveDecode(prim, &zc); err != nil {
			return fail(cfg.sectionErr(err))
		}
		if err := zc.Validate(); err != nil {
			return fail(cfg.outputErr("zeekfeed", err))
		}
		zc.Path = cfg.resolve(zc.Path)
		if build {
			minRisk := zc.MinRisk
			zc.MinRisk = 0 // filtered here, so that SIGHUP can change it
			s, err := zeekfeed.New(zc)
			if err != nil {
				return fail(err)
			}
			add("zeekfeed", s, minRisk)
		}
	}

	nc := ndjsonConfig{Path: defaultNDJSONPath}
	_, hasND := cfg.Output["ndjson"]
	if hasND {
		if err := cfg.md.PrimitiveDecode(cfg.Output["ndjson"], &nc); err != nil {
			return fail(cfg.sectionErr(err))
		}
		if !(nc.MinRisk >= 0 && nc.MinRisk <= 100) { // NaN too
			return fail(cfg.keyErr("output.ndjson.min_risk", "%g is outside 0..100", nc.MinRisk))
		}
		if nc.Path == "" {
			return fail(cfg.keyErr("output.ndjson.path", "empty (use \"-\" for standard output)"))
		}
		if nc.Path != "-" {
			nc.Path = cfg.resolve(nc.Path)
		}
	}
	if fl.out != "" {
		nc.Path, hasND = fl.out, true
	}
	if _, hasZF := cfg.Output["zeekfeed"]; !hasND && es == nil && !hasZF {
		nc.Path, hasND = "-", true // nothing configured: JSON lines on stdout
	}
	if hasND && build {
		var w io.WriteCloser
		switch {
		case nc.Path == "-":
			w = nopCloser{stdout}
		case fl.truncate && fl.out != "":
			// score -o: a file of this run's notices alone, put in
			// place of FILE once the run succeeded (commit)
			o, err := createOutput(nc.Path)
			if err != nil {
				return fail(err)
			}
			ss.out, w = o, o
		default:
			if fl.out == "" {
				// the config's path: its directory is made, as the Zeek
				// feed's is (config check passed a path in a directory
				// not there yet, and run then failed at every restart)
				if err := os.MkdirAll(filepath.Dir(nc.Path), 0o755); err != nil {
					return fail(err)
				}
			}
			// 0644 less the umask, as the Zeek feed and every other output
			// file (and a shell's 'score > notices.json'): the notices are
			// for other users and programs (an analyst's jq, a log
			// shipper) to read. It was 0640, which no umask can widen;
			// to keep notices private, tighten the directory or the umask
			// (README.md, Outputs).
			f, err := os.OpenFile(nc.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return fail(err)
			}
			w = f
		}
		add("ndjson", ndjson.New(w), nc.MinRisk)
	}
	return ss, nil
}

// outputErr is an [output.<name>] Validate error ("output.<name>.<key>:
// message") with the key's line.
func (c *Config) outputErr(name string, err error) error {
	k := errKey(err, "output."+name)
	return c.keyErr(k, "%s", strings.TrimPrefix(err.Error(), k+": "))
}

// errKey takes "output.zeekfeed.max_bytes" from a Validate error message
// ("output.zeekfeed.max_bytes: ..."), else returns def.
func errKey(err error, def string) string {
	s := err.Error()
	for i := 0; i < len(s); i++ {
		if s[i] == ':' || s[i] == ' ' {
			if i > len(def) && s[:len(def)] == def {
				return s[:i]
			}
			break
		}
	}
	return def
}

// thresholds reads the reloadable min_risk of every output section.
func thresholds(cfg *Config) (outputThresholds, error) {
	out := outputThresholds{}
	for name, prim := range cfg.Output {
		var v struct {
			MinRisk *float64 `toml:"min_risk"`
		}
		if err := cfg.md.PrimitiveDecode(prim, &v); err != nil {
			return nil, cfg.sectionErr(err)
		}
		if v.MinRisk != nil {
			out[name] = *v.MinRisk
		}
	}
	return out, nil
}

// applyThresholds sets the reloadable thresholds (outputs without a
// min_risk key go back to 0).
func (ss *sinkSet) applyThresholds(th outputThresholds) {
	for _, s := range ss.sinks {
		if s.name == "elasticsearch" {
			continue // filtered by the sink itself
		}
		s.setMinRisk(th[s.name])
	}
}
