package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/output"
	"github.com/zeekanom/zeekanom/output/metrics"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

const scoreSynopsis = `[-c FILE] [-m MODEL] [-o FILE] [--es-url URL]... [--from TIME] [--to TIME] [--min-risk N] [--workers N] [--progress] [-q] PATH...

Re-scores archived Zeek logs (files, or directories in the zeekctl layout
YYYY-MM-DD/conn.HH:MM:SS-HH:MM:SS.log.gz, or flat) with every enabled
detector, and writes notices. Without an output configured, notices go to
standard output as JSON lines. -m MODEL starts the detectors from a model
'zeekanom train' wrote, as eval -m does: it replaces model = "..." in
[detectors.iforest], [detectors.supervised], [detectors.contextual],
[detectors.exfil] and [detectors.beacon].

--from and --to score only the rows with a ts in [from, to), in UTC unless
the time names its zone (--from 2018-11-04T06:00Z --to 2018-11-05); the
rows outside are counted in the summary. The files of a zeekctl archive
whose names' hours cannot hold such rows are not opened: the names are in
the sensor's local time, whatever zone that is, so the files of up to 12
hours before --from and 14 after --to are still read, and an hour more
after --to for the rows of long connections, logged when they end. The
detectors see the range alone: a window across --from or --to holds only
its rows, and what a detector learns from history (contextual's
hour-of-week profiles, exfil's per-host volumes, the iforest's baselines)
it learns from the range, unless -m starts it from a model trained on the
time before ('zeekanom train --to').`

type scoreFlags struct {
	config   string
	model    string
	out      string
	esURL    urlList
	minRisk  float64
	progress bool
	quiet    bool
	workers  int
	rng      rangeFlags
}

func cmdScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("score", scoreSynopsis, stdout)
	var f scoreFlags
	fs.StringVar(&f.config, "c", "", "config file (TOML)")
	fs.StringVar(&f.model, "m", "", "model file for the iforest, supervised, contextual, exfil and beacon detectors (overrides the config)")
	fs.StringVar(&f.out, "o", "", "write notices as JSON lines to FILE instead of standard output (replaced when the run succeeds, left as it was when it fails; not an input nor in an input directory; an [output.ndjson] path is appended to)")
	esURLVar(fs, &f.esURL, "replaces [output.elasticsearch] urls, else sends notices to Elasticsearch")
	fs.Float64Var(&f.minRisk, "min-risk", 0, "drop notices with event.risk_score below N")
	fs.BoolVar(&f.progress, "progress", isTerminal(os.Stderr), "print a progress line on standard error (default: when it is a terminal, and not with -q)")
	fs.BoolVar(&f.quiet, "q", false, "quiet: only errors on standard error; no notes, progress or summary, and skipped rows as one line (their count and the first)")
	workersVar(fs, &f.workers)
	rangeVar(fs, &f.rng)
	if err := parseFlagsAnywhere(fs, args); err != nil {
		return err
	}
	if f.quiet && !flagGiven(fs, "progress") {
		f.progress = false
	}
	if err := checkWorkers(f.workers); err != nil {
		return err
	}
	if err := f.rng.check(); err != nil {
		return err
	}
	if err := checkOutput("-o", f.out, append(fs.Args(), f.config, f.model)...); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErr(fs, stderr)
	}
	cfg, err := loadConfig(f.config)
	if err != nil {
		return err
	}
	dets, notes, err := cfg.buildDetectorsNoted(f.model)
	if err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "warning: %s\n", n)
	}
	// The same outputs as `run`: [output.*] sections, --es-url, -o FILE,
	// else JSON lines on standard output. They are checked first and
	// opened only once the input is found: -o FILE is replaced, and a
	// mistyped path must not cost the previous results.
	sf := sinkFlags{out: f.out, esURL: f.esURL, truncate: true}
	if _, err := buildSinks(ctx, cfg, sf, stdout, false); err != nil {
		return err
	}
	if err := cfg.checkUndecoded(); err != nil {
		return err
	}
	arch, err := f.rng.walk(fs.Args())
	if err != nil {
		return err
	}
	// the notes first: where no log is found they say why (a renamed
	// conn log, not named as one, is the only file of the directory)
	for _, n := range arch.Notes {
		if f.quiet {
			break
		}
		fmt.Fprintf(stderr, "note: %s\n", n)
	}
	if len(arch.Chains) == 0 {
		return noLogs(fs.Args(), f.rng)
	}
	sink, err := buildSinks(ctx, cfg, sf, stdout, true)
	if err != nil {
		return err
	}
	res, err := scoreArchive(ctx, arch, dets, sink, &f, stderr)
	res.late = leftOut(dets, "late", "late_rows")
	res.dropped = leftOut(dets, "dropped")
	if err == nil {
		err = res.skipped.nothingRead(len(arch.Files()), res.stats.Rows)
	}
	if cerr := sink.Close(); err == nil {
		err = cerr
	}
	// -o FILE is replaced by a run that read its input to the end and
	// wrote every notice; an interrupted or failed one leaves it as it
	// was (it was truncated before the reading began)
	if err == nil {
		err = sink.commit()
	} else {
		sink.discard()
	}
	if err == nil {
		// (a cluster down without a spool used to end the run with
		// status 0, its notices dropped: a re-scoring job saw success)
		err = sink.lost()
	}
	switch {
	case !f.quiet:
		res.summary(stderr)
		sink.esSummary(stderr, "score")
	case res.skipped.n > 0:
		fmt.Fprintf(stderr, "zeekanom score: %v\n", res.skipped)
	}
	return err
}

// flagGiven reports whether the command line set the flag.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// workersVar defines --workers of the batch commands (score, eval).
func workersVar(fs *flag.FlagSet, p *int) {
	fs.IntVar(p, "workers", runtime.GOMAXPROCS(0),
		"run the detectors on up to N cores (the notices do not change; 1 leaves the other cores to Zeek on a sensor)")
}

func checkWorkers(n int) error {
	if n < 1 {
		return usagef("--workers %d: must be 1 or more", n)
	}
	return nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// scoreResult is what a batch run saw.
type scoreResult struct {
	stats   zeekreader.Stats
	skipped skips // rows (and files) skipped
	notices map[string]int64
	scored  int64 // rows of the logs the detectors take (conn, dns, http, ssl with a ts)
	elapsed time.Duration
	ended   bool // the input was read to its end (not interrupted)
	late    []string
	dropped []string // leftOut's "dropped": rows a detector had no room to hold
}

// leftOut names the detectors whose Stats count rows they left out under
// one of stats, with how many, most first ("dos 507"): "late" and
// "late_rows", conn rows of long connections, written when they end,
// more than a detector's lateness after their ts; "dropped", beacon's
// rows of a key's next window past those it holds while the window
// before waits for lateness. The summary said "0 skipped" over them.
func leftOut(dets []detectors.Detector, stats ...string) []string {
	type left struct {
		name string
		n    float64
	}
	var ls []left
	for _, d := range dets {
		v, ok := callStats(d)
		if !ok {
			continue
		}
		st, n := metrics.Flatten(v), 0.0
		for _, k := range stats {
			n += st[k]
		}
		if n > 0 {
			ls = append(ls, left{d.Name(), n})
		}
	}
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].n > ls[j].n })
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = fmt.Sprintf("%s %.0f", l.name, l.n)
	}
	return out
}

func (r *scoreResult) summary(w io.Writer) {
	rate := float64(r.stats.Rows) / max(r.elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "zeekanom score: %s (%.0f rows/s), %d skipped, %s",
		counted(r.stats.Rows, "row"), rate, r.skipped.n, counted(sum(r.notices), "notice"))
	rules := make([]string, 0, len(r.notices))
	for k := range r.notices {
		rules = append(rules, k)
	}
	sort.Strings(rules)
	for _, k := range rules {
		fmt.Fprintf(w, " %s=%d", k, r.notices[k])
	}
	fmt.Fprintln(w)
	if r.stats.Outside > 0 {
		fmt.Fprintf(w, "zeekanom score: %s outside --from/--to, left out\n", counted(r.stats.Outside, "row"))
	}
	// a JSON log under a name that is not Zeek's (its kind comes from the
	// name) is read but reaches no detector: say so rather than report a
	// clean run
	if len(r.late) > 0 {
		fmt.Fprintf(w, "zeekanom score: rows too late for a detector's window, left out by it (mostly conn rows of long connections, logged when they end): %s\n",
			strings.Join(r.late, ", "))
	}
	if len(r.dropped) > 0 {
		fmt.Fprintf(w, "zeekanom score: rows a detector had no room to hold, left out by it (beacon: a key's rows of its next window past the 16 it holds while the window before waits for lateness, counted per key): %s\n",
			strings.Join(r.dropped, ", "))
	}
	if other := r.stats.Rows - r.stats.Outside - r.scored; other > 0 && r.ended {
		fmt.Fprintf(w, "zeekanom score: %s not scored: not conn, dns, http or ssl rows with a ts (a JSON log's kind comes from its file name, e.g. conn.log)\n", counted(other, "row"))
	}
}

func sum(m map[string]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}

// batchRows is how many rows the batch path hands the detectors at once:
// enough for each detector's code and hot data to be reused across a run,
// few enough to stay in the caches (64 to 1,024 measured alike).
const batchRows = 256

// scoreArchive runs the batch path: merged archive → engine → sink.
func scoreArchive(ctx context.Context, arch *zeekreader.Archive, dets []detectors.Detector, sink output.Sink,
	f *scoreFlags, stderr io.Writer) (*scoreResult, error) {
	var sinkErr error
	eng := detectors.NewEngine(func(n *notice.Notice) {
		if n.RiskScore < f.minRisk || sinkErr != nil {
			return
		}
		sinkErr = sink.Write(ctx, n)
	}, dets...)
	eng.SetWorkers(f.workers)
	src := arch.Open(false)
	defer src.Close()
	res := &scoreResult{}
	start := time.Now()
	// what was read and found so far, also when the run stops early
	// (interrupted, an output failed: the summary said 0 rows); deferred
	// before stop below, so it runs after the reading has stopped
	defer func() {
		res.stats = src.Stats()
		res.notices = eng.Notices
		res.scored = eng.Events
		res.elapsed = time.Since(start)
	}()
	rd := &batchReader{src: src, res: res, stderr: stderr, quiet: f.quiet, prog: newProgress(stderr, f.progress, arch),
		cols: detectors.NewColumnCheck(warnColumns(stderr), dets...)}
	// Rows go to the detectors a run at a time (see Engine.ObserveBatch).
	// With several workers, reading runs a batch ahead on a goroutine of
	// its own; with one, everything stays on this goroutine.
	next := rd.inline()
	if f.workers > 1 {
		var stop func()
		next, stop = rd.ahead()
		defer stop() // before the caller reads res
	}
	for {
		b, done, err := next()
		if err != nil {
			return res, err
		}
		eng.ObserveBatch(b.Events)
		if done {
			break
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if sinkErr != nil {
			return res, sinkErr
		}
	}
	eng.Flush()
	rd.prog.done()
	res.ended = true
	if sinkErr != nil {
		return res, sinkErr
	}
	if err := sink.Flush(ctx); err != nil {
		return res, errors.Join(errors.New("flushing notices"), err)
	}
	return res, nil
}

// batchReader fills batches of rows from the merged archive, counting and
// reporting the rows it skips.
type batchReader struct {
	src    *zeekreader.Merged
	res    *scoreResult
	stderr io.Writer
	quiet  bool
	prog   *progress
	rows   int
	// cols names the logs whose header lacks a column a detector needs
	cols *detectors.ColumnCheck
}

// fill empties b and reads rows into it until it is full or the input
// ends (done). Skippable row errors are counted and skipped (the first 20
// printed, unless quiet); any other error ends the read.
func (r *batchReader) fill(b *zeekreader.Batch) (done bool, err error) {
	b.Reset()
	for !b.Full() {
		ev, err := r.src.Next()
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			if !zeekreader.Skippable(err) {
				return false, err
			}
			r.res.skipped.add(err)
			switch {
			case r.quiet:
			case r.res.skipped.n <= 20:
				fmt.Fprintf(r.stderr, "skipped: %v\n", err)
			case r.res.skipped.n == 21:
				fmt.Fprintln(r.stderr, "skipped: (further errors counted, not shown)")
			}
			continue
		}
		r.cols.Check(ev)
		b.Add(ev)
		if r.rows++; r.rows&0xffff == 0 {
			r.prog.update(r.src.Stats())
		}
	}
	return false, nil
}

// batchNext returns the next batch of rows (valid until the next call),
// whether the input ended with it, or a read error.
type batchNext func() (b *zeekreader.Batch, done bool, err error)

// inline reads each batch on the caller's goroutine.
func (r *batchReader) inline() batchNext {
	b := zeekreader.NewBatch(batchRows)
	return func() (*zeekreader.Batch, bool, error) {
		done, err := r.fill(b)
		return b, done, err
	}
}

// ahead reads on a goroutine of its own, filling one batch while the
// caller works on the other. stop ends the reading early and waits for
// it; after stop, the reader's counters are the caller's to read.
func (r *batchReader) ahead() (next batchNext, stop func()) {
	type filled struct {
		b    *zeekreader.Batch
		done bool
		err  error
	}
	full := make(chan filled)
	free := make(chan *zeekreader.Batch, 2)
	quit := make(chan struct{})
	free <- zeekreader.NewBatch(batchRows)
	free <- zeekreader.NewBatch(batchRows)
	go func() {
		defer close(full)
		for {
			var b *zeekreader.Batch
			select {
			case b = <-free:
			case <-quit:
				return
			}
			done, err := r.fill(b)
			select {
			case full <- filled{b, done, err}:
			case <-quit:
				return
			}
			if done || err != nil {
				return
			}
		}
	}()
	var held *zeekreader.Batch
	next = func() (*zeekreader.Batch, bool, error) {
		if held != nil {
			free <- held // (two batches, room for both: never blocks)
		}
		f, ok := <-full
		if !ok {
			return zeekreader.NewBatch(1), true, nil // (not reached: the last batch says done)
		}
		held = f.b
		return f.b, f.done, f.err
	}
	stop = func() {
		close(quit)
		for range full {
		}
	}
	return next, stop
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress prints one rewritten line: rows/s, bytes and an ETA from the
// share of the input's size on disk read so far (compressed files as they
// are stored: counted at 8:1 of their text, an archive of hourly files
// compressed 3:1 showed an ETA of 1m20s as its last rows were read).
type progress struct {
	w     io.Writer
	on    bool
	start time.Time
	last  time.Time
	total int64
}

func newProgress(w io.Writer, on bool, arch *zeekreader.Archive) *progress {
	p := &progress{w: w, on: on, start: time.Now()}
	for _, f := range arch.Files() {
		if st, err := os.Stat(f); err == nil {
			p.total += st.Size()
		}
	}
	return p
}

func (p *progress) update(s zeekreader.Stats) {
	if !p.on || time.Since(p.last) < time.Second {
		return
	}
	p.last = time.Now()
	fmt.Fprint(p.w, p.line(s, time.Since(p.start)))
}

// line is the progress line after el: rows, their rate, the text read and
// the time left.
func (p *progress) line(s zeekreader.Stats, el time.Duration) string {
	rate := float64(s.Rows) / max(el.Seconds(), 1e-9)
	eta := "?"
	if s.Disk > 0 && p.total >= s.Disk {
		left := float64(el) * float64(p.total-s.Disk) / float64(s.Disk)
		eta = time.Duration(left).Round(time.Second).String()
	}
	return fmt.Sprintf("\r%d rows, %.0f rows/s, %.1f MB, ETA %s   ", s.Rows, rate, float64(s.Bytes)/1e6, eta)
}

func (p *progress) done() {
	if p.on && !p.last.IsZero() {
		fmt.Fprintln(p.w)
	}
}
