// Package metrics serves zeekanom run's Prometheus /metrics and /healthz.
//
// The pipeline goroutine owns every counter; it publishes a Snapshot now
// and then (Set), and scrapes read the last one, so nothing on the hot path
// takes a lock or touches an atomic per row.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultListen is where /metrics and /healthz are served by default.
const DefaultListen = "127.0.0.1:9273"

// Log is one followed log's counters.
type Log struct {
	Log         string
	Rows        int64
	ParseErrors int64
	Newest      time.Time // newest ts seen (lag = now - Newest)
	BytesBehind int64
	Rotations   int64
	Truncations int64
	Gaps        int64
	Partial     int64 // rotated files that ended in half a line (dropped)
}

// MissingColumns is a log whose header lacks columns a detector needs
// (detectors.Missing).
type MissingColumns struct {
	Detector string
	Log      string // the log path ("conn")
	Columns  string // comma-separated
}

// Snapshot is everything exported, as of Updated.
type Snapshot struct {
	Updated time.Time
	Logs    []Log
	// Notices per rule.
	Notices map[string]int64
	// Detectors and Outputs: name -> counter -> value, flattened from each
	// one's Stats() (see Flatten). Well-known counters (tracked, evicted,
	// queue depth, spool bytes, errors) also get their own metric.
	Detectors map[string]map[string]float64
	Outputs   map[string]map[string]float64
	// OutputErrors counts failed writes/flushes per output.
	OutputErrors     map[string]int64
	Checkpoints      int64
	CheckpointErrors int64
	LastCheckpoint   time.Time
	// CheckpointDue: /healthz fails when the last checkpoint written is
	// older (0: not judged), as when the state directory is full or an
	// output cannot flush: the sidecar reads on, but a restart would
	// read all of it again
	CheckpointDue time.Duration
	// MissingColumns are the logs read so far without a column a
	// detector needs (each once).
	MissingColumns []MissingColumns
}

// Metrics holds the last Snapshot and exports it.
type Metrics struct {
	mu         sync.Mutex
	snap       Snapshot
	now        func() time.Time
	reg        *prometheus.Registry
	StaleAfter time.Duration // /healthz fails when the pipeline has not published for this long
}

// New returns a registry with the zeekanom collector and the Go and
// process collectors.
func New() *Metrics {
	m := &Metrics{now: time.Now, reg: prometheus.NewRegistry(), StaleAfter: 60 * time.Second}
	m.reg.MustRegister(m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Set publishes a snapshot.
func (m *Metrics) Set(s Snapshot) {
	m.mu.Lock()
	m.snap = s
	m.mu.Unlock()
}

// Get returns the last snapshot.
func (m *Metrics) Get() Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.snap
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("zeekanom_"+name, help, labels, nil)
}

var (
	dRows        = desc("rows_read_total", "Rows read and handed to the detectors, per log.", "log")
	dParseErr    = desc("parse_errors_total", "Malformed rows skipped, per log.", "log")
	dLag         = desc("lag_seconds", "Wall clock minus the newest ts seen, per log.", "log")
	dBehind      = desc("bytes_behind", "Bytes not read yet (live file past the offset, plus rotated files queued), per log.", "log")
	dRotations   = desc("rotations_total", "Log rotations followed, per log.", "log")
	dTruncations = desc("truncations_total", "Truncated log files detected, per log.", "log")
	dGaps        = desc("gaps_total", "Checkpointed or rotated files that could not be found again, per log.", "log")
	dPartial     = desc("partial_lines_total", "Rotated files that ended in half a line, which was dropped, per log.", "log")
	dNotices     = desc("notices_total", "Notices emitted, per rule.", "rule")
	dTracked     = desc("hosts_tracked", "Hosts (or keys) a detector tracks now.", "detector")
	dEvicted     = desc("hosts_evicted_total", "Hosts (or keys) a detector evicted for room.", "detector")
	dDetStat     = desc("detector_stat", "Every counter a detector's Stats() reports.", "detector", "stat")
	dQueue       = desc("output_queue_depth", "Notices queued in an output, not yet delivered.", "output")
	dSpool       = desc("output_spool_bytes", "Bytes spooled to disk by an output.", "output")
	dOutErr      = desc("output_errors_total", "Failed writes or flushes of an output (for elasticsearch: notices refused for good or dropped, Lost).", "output")
	dOutStat     = desc("output_stat", "Every counter an output's Stats() reports.", "output", "stat")
	dCkpt        = desc("checkpoints_total", "Checkpoints written.")
	dCkptErr     = desc("checkpoint_errors_total", "Checkpoints that failed to be written.")
	dCkptAge     = desc("checkpoint_age_seconds", "Seconds since the last checkpoint that was written began (failed ones leave it growing).")
	dUp          = desc("pipeline_updated_seconds", "Seconds since the pipeline last published its counters.")
	dMissing     = desc("missing_columns", "1 for each detector and log whose header lacked columns the detector needs (since the start).", "detector", "log", "columns")
)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dRows, dParseErr, dLag, dBehind, dRotations, dTruncations, dGaps, dPartial, dNotices,
		dTracked, dEvicted, dDetStat, dQueue, dSpool, dOutErr, dOutStat, dCkpt, dCkptErr, dCkptAge, dUp, dMissing} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.Get()
	now := m.now()
	c := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l...)
	}
	g := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	for _, l := range s.Logs {
		c(dRows, float64(l.Rows), l.Log)
		c(dParseErr, float64(l.ParseErrors), l.Log)
		if !l.Newest.IsZero() {
			g(dLag, now.Sub(l.Newest).Seconds(), l.Log)
		}
		g(dBehind, float64(l.BytesBehind), l.Log)
		c(dRotations, float64(l.Rotations), l.Log)
		c(dTruncations, float64(l.Truncations), l.Log)
		c(dGaps, float64(l.Gaps), l.Log)
		c(dPartial, float64(l.Partial), l.Log)
	}
	for _, r := range sortedKeys(s.Notices) {
		c(dNotices, float64(s.Notices[r]), r)
	}
	for _, d := range sortedKeys(s.Detectors) {
		st := s.Detectors[d]
		for _, k := range sortedKeys(st) {
			g(dDetStat, st[k], d, k)
		}
		if v, ok := pick(st, "tracked", "hosts_tracked", "hosts"); ok {
			g(dTracked, v, d)
		}
		if v, ok := pick(st, "evicted", "evicted_hosts", "hosts_evicted"); ok {
			c(dEvicted, v, d)
		}
	}
	for _, o := range sortedKeys(s.Outputs) {
		st := s.Outputs[o]
		for _, k := range sortedKeys(st) {
			g(dOutStat, st[k], o, k)
		}
		if v, ok := pick(st, "queue_depth", "queued", "queue", "pending"); ok {
			g(dQueue, v, o)
		}
		if v, ok := pick(st, "spool_bytes", "spooled_bytes", "spool"); ok {
			g(dSpool, v, o)
		}
	}
	outErr := map[string]float64{}
	for o, n := range s.OutputErrors {
		outErr[o] += float64(n)
	}
	for o, st := range s.Outputs {
		// (lost: elasticsearch's refused and dropped notices; its failed
		// alone missed those dropped without a spool)
		if v, ok := pick(st, "errors", "lost", "failed", "failures"); ok {
			outErr[o] += v
		}
	}
	for _, o := range sortedKeys(outErr) {
		c(dOutErr, outErr[o], o)
	}
	for _, mc := range s.MissingColumns {
		g(dMissing, 1, mc.Detector, mc.Log, mc.Columns)
	}
	c(dCkpt, float64(s.Checkpoints))
	c(dCkptErr, float64(s.CheckpointErrors))
	if !s.LastCheckpoint.IsZero() {
		g(dCkptAge, now.Sub(s.LastCheckpoint).Seconds())
	}
	if !s.Updated.IsZero() {
		g(dUp, now.Sub(s.Updated).Seconds())
	}
}

func pick(m map[string]float64, names ...string) (float64, bool) {
	for _, n := range names {
		if v, ok := m[n]; ok {
			return v, true
		}
	}
	return 0, false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Flatten turns the numeric fields of a Stats() value (a struct, embedded
// structs flattened, or a map) into snake_case counter names.
func Flatten(v any) map[string]float64 {
	out := map[string]float64{}
	flatten(reflect.ValueOf(v), "", out)
	return out
}

func flatten(v reflect.Value, prefix string, out map[string]float64) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() && !f.Anonymous {
				continue
			}
			p := prefix
			if !f.Anonymous {
				p = join(prefix, snake(f.Name))
			}
			flatten(v.Field(i), p, out)
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		for _, k := range v.MapKeys() {
			flatten(v.MapIndex(k), join(prefix, snake(k.String())), out)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Type() == reflect.TypeOf(time.Duration(0)) {
			out[prefix+"_seconds"] = time.Duration(v.Int()).Seconds()
			return
		}
		out[prefix] = float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		out[prefix] = float64(v.Uint())
	case reflect.Float32, reflect.Float64:
		out[prefix] = v.Float()
	case reflect.Bool:
		if v.Bool() {
			out[prefix] = 1
		} else {
			out[prefix] = 0
		}
	}
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "_" + b
}

// snake turns EvictedHosts into evicted_hosts, and an acronym's plural
// with it: SlowDGAs into slow_dgas (not slow_dg_as).
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			// an upper-case letter before lower case starts a word
			// (HTTPErrors), unless that is a plural's s alone (DGAs)
			startsWord := i+1 < len(rs) && unicode.IsLower(rs[i+1]) &&
				!(rs[i+1] == 's' && (i+2 == len(rs) || !unicode.IsLower(rs[i+2])))
			if i > 0 && (unicode.IsLower(rs[i-1]) || startsWord) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		if r == '.' || r == '-' || r == ' ' {
			r = '_'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Handler serves /metrics and /healthz.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get()
		age := m.now().Sub(s.Updated)
		if s.Updated.IsZero() || age > m.StaleAfter {
			http.Error(w, fmt.Sprintf("pipeline stalled: last update %s ago", age.Round(time.Second)), http.StatusServiceUnavailable)
			return
		}
		if ck := m.now().Sub(s.LastCheckpoint); s.CheckpointDue > 0 && !s.LastCheckpoint.IsZero() && ck > s.CheckpointDue {
			http.Error(w, fmt.Sprintf("no checkpoint written for %s (the state directory or an output fails: see the log)", ck.Round(time.Second)),
				http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// Serve listens on addr and serves Handler until ctx is done. It returns
// the address bound (addr may use port 0) once listening.
func (m *Metrics) Serve(ctx context.Context, addr string) (string, <-chan error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("metrics: %w", err)
	}
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	return ln.Addr().String(), done, nil
}
