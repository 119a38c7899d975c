package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/BurntSushi/toml"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/output/metrics"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
	"github.com/zeekanom/zeekanom/zeekreader/follow"
)

const runSynopsis = `[-c FILE] [--logdir DIR] [--state-dir DIR] [-o FILE] [--es-url URL]... [--metrics ADDR] [--drain [--flush]]

Follows Zeek's live logs (conn, dns, http, ssl by default) across rotation,
feeds every enabled detector and writes notices. Offsets and detector
windows are checkpointed in the state directory, so a restart resumes
where the last checkpoint was, reading what was rotated away meanwhile:
renamed files in the log directory and its log-queue/, and .gz files in
the last 3 date directories (YYYY-MM-DD/) of the archive. A checkpointed
file older than those (a stop reaching back past the day before
yesterday) is not found: what rotated since is skipped, counted as a gap
and warned about.

Flags override the config file. SIGTERM/SIGINT: stop reading, flush the
outputs, write a checkpoint, exit 0. SIGHUP: re-read the config file and,
if it checks, apply what is safe to change live: [log] level,
[state] checkpoint_interval and the min_risk of [output.ndjson] and
[output.zeekfeed]. Everything else (input, state dir, metrics address,
detectors, output destinations) needs a restart: the reload's log names
each key that changed and was not applied.

--drain reads every followed log (and what was rotated away) to its current
end, writes outputs and a checkpoint, and exits 0 (1, as score, when an
output lost notices: refused, or dropped without a spool or room in it).
The windows still open stay open, as a SIGTERM leaves them: the next run
(live or --drain) goes on with them, so run --drain every few minutes or
after each rotation gives the notices one long run gives, each window
judged on all its rows. --flush (with --drain) also closes every open
window after the checkpoint, for its notices, where the input is over (a
capture's end, a sensor retired): a later run still goes on from the
checkpoint, and a window the flush judged in part gives its notice again
there, same event.id, with the whole window's evidence.

One run (live or --drain) per state directory: it is locked (flock on
<state-dir>/lock) for the process lifetime and released by the kernel
however the process ends. A second run on it exits 1 at start, naming the
directory and the holder's pid.`

type runFlags struct {
	config   string
	logdir   string
	stateDir string
	out      string
	esURL    urlList
	metrics  string
	drain    bool
	flush    bool            // with drain: close the open windows at the end
	set      map[string]bool // flags given on the command line
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", runSynopsis, stdout)
	var fl runFlags
	fs.StringVar(&fl.config, "c", "", "config file (TOML); see 'zeekanom config example'")
	fs.StringVar(&fl.logdir, "logdir", "", "Zeek's live log directory (overrides input.logdir)")
	fs.StringVar(&fl.stateDir, "state-dir", "", "checkpoint directory (overrides state.dir)")
	fs.StringVar(&fl.out, "o", "", "also write notices as JSON lines to FILE (appended to; \"-\": standard output)")
	esURLVar(fs, &fl.esURL, "replaces [output.elasticsearch] urls, else sends notices to Elasticsearch")
	fs.StringVar(&fl.metrics, "metrics", "", "serve /metrics and /healthz on ADDR (overrides metrics.listen; \"off\" disables)")
	fs.BoolVar(&fl.drain, "drain", false, "read everything to its end, write the outputs and a checkpoint, and exit (open windows stay open for the next run)")
	fs.BoolVar(&fl.flush, "flush", false, "with --drain: also close every open window at the end, for its notices (the input is over)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		// 'zeekanom run /opt/zeek/logs/current' printed the whole --help
		// and nothing on what was wrong
		return usagef("unexpected argument %q: run takes no PATH; name Zeek's log directory with --logdir DIR or [input] logdir", fs.Arg(0))
	}
	if fl.flush && !fl.drain {
		return usagef("--flush closes the windows at the end of a --drain: give --drain too (a live run closes windows as rows pass them)")
	}
	if err := livePlatform(runtime.GOOS); err != nil {
		return err
	}
	fl.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { fl.set[f.Name] = true })

	r, err := newRunner(ctx, fl, stdout, stderr)
	if err != nil {
		return err
	}
	return r.run(ctx)
}

// livePlatform refuses run on Windows, where zeekreader/follow builds
// (for the batch commands) but cannot lock a state directory nor tell a
// log by its inode across rotations.
func livePlatform(goos string) error {
	if goos == "windows" {
		return errors.New("the live sidecar does not run on Windows (it follows Zeek's logs by inode through rotation and locks its state directory with flock(2)); score, eval, train, features, cut and inject do: re-score the logs with 'zeekanom score'")
	}
	return nil
}

// newRunner loads and checks the config, takes the state directory's lock
// (before any output is opened: a second run on the same directory must
// not write a notice) and builds detectors and outputs. The lock is held
// until run returns.
func newRunner(ctx context.Context, fl runFlags, stdout, stderr io.Writer) (_ *runner, err error) {
	cfg, err := loadRunConfig(ctx, fl)
	if err != nil {
		return nil, err
	}
	lock, err := follow.LockState(cfg.State.Dir)
	if err != nil {
		if le := (*follow.LockedError)(nil); errors.As(err, &le) {
			return nil, err
		}
		return nil, fmt.Errorf("state directory %s: %w", cfg.State.Dir, err)
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	level := new(slog.LevelVar)
	lv, _ := parseLevel(cfg.Log.Level)
	level.Set(lv)
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	dets, notes, err := cfg.buildDetectorsNoted("")
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		logger.Warn(n)
	}
	sinks, err := buildSinks(ctx, cfg, sinkFlags{out: fl.out, esURL: fl.esURL, logf: esLogf(logger)}, stdout, true)
	if err != nil {
		return nil, err
	}
	th, _ := thresholds(cfg)
	sinks.applyThresholds(th)
	return &runner{cfg: cfg, fl: fl, log: logger, level: level, dets: dets, sinks: sinks, lock: lock,
		interval: cfg.State.CheckpointInterval, wctx: ctx, met: metrics.New(), stderr: stderr}, nil
}

// esLogf puts the Elasticsearch sink's log lines into run's log, with a
// level: through the standard logger they had none and another format
// ("2026/12/01 04:44:46 elasticsearch: ..."), so a filter on level= missed
// "SPOOL FULL ... notices dropped". Its lines are problems (warn) but for
// the template installed and the spool drained after an outage (info).
func esLogf(log *slog.Logger) func(string, ...any) {
	return func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if strings.HasSuffix(msg, "index template installed") || strings.Contains(msg, "spool drained") {
			log.Info(msg)
			return
		}
		log.Warn(msg)
	}
}

// loadRunConfig loads the file, applies the flags and checks everything
// (detectors and outputs are built without opening anything).
func loadRunConfig(ctx context.Context, fl runFlags) (*Config, error) {
	cfg, err := loadConfig(fl.config)
	if err != nil {
		return nil, err
	}
	if fl.logdir != "" {
		cfg.Input.Logdir = fl.logdir
	}
	if fl.stateDir != "" {
		cfg.State.Dir = fl.stateDir
	}
	cfg.live = true
	if fl.set["metrics"] {
		cfg.Metrics.Listen = fl.metrics
		if fl.metrics == "off" {
			cfg.Metrics.Listen = ""
		}
	}
	// (the notes: logged by newRunner at start, not again at each reload)
	if _, err := checkConfig(ctx, cfg, sinkFlags{out: fl.out, esURL: fl.esURL}); err != nil {
		return nil, err
	}
	return cfg, nil
}

// checkConfig validates every section: run's own, each detector (built)
// and each output (decoded and validated, nothing opened), then rejects
// unknown keys naming their line. It returns the notes of the detectors'
// build: what the config asks for and will not get (a supervised model
// without a classifier).
func checkConfig(ctx context.Context, cfg *Config, sf sinkFlags) (notes []string, err error) {
	defer func() {
		if err != nil {
			err = configError{err}
		}
	}()
	if err := cfg.validateRun(); err != nil {
		return nil, err
	}
	_, notes, err = cfg.buildDetectorsNoted("")
	if err != nil {
		return nil, err
	}
	ss, err := buildSinks(ctx, cfg, sf, io.Discard, false)
	if err != nil {
		return nil, err
	}
	ss.Close()
	if _, err := thresholds(cfg); err != nil {
		return nil, err
	}
	return notes, cfg.checkUndecoded()
}

type runner struct {
	cfg      *Config
	fl       runFlags
	log      *slog.Logger
	level    *slog.LevelVar
	dets     []detectors.Detector
	eng      *detectors.Engine
	cols     *detectors.ColumnCheck // logs lacking a column a detector needs, logged once
	sinks    *sinkSet
	lock     *follow.StateLock
	f        *follow.Follower
	met      *metrics.Metrics
	interval time.Duration
	wctx     context.Context // context of sink writes (replaced at shutdown)
	stderr   io.Writer

	lastCkpt        time.Time     // when the last checkpoint was started (its spacing)
	lastSaved       time.Time     // the state the last checkpoint written holds, as of then (checkpoint_age_seconds)
	ckptCost        time.Duration // how long the last checkpoint took
	inflight        chan ckptDone // the checkpoint being written (nil: none)
	unflushed       bool          // notices written to the outputs since their last flush
	ckpts, ckptErrs int64
	writeErrs       int64
	rows            int64
	lastStatus      time.Time // when systemd was last sent the status (sdNotify)
	sdFailed        bool      // a notification to systemd failed (logged once)

	// abandon (tests): on cancellation, exit without flushing or writing
	// a checkpoint, as kill -9 would.
	abandon atomic.Bool
}

// shutdownTimeout bounds the final flush and checkpoint after SIGTERM.
const shutdownTimeout = 10 * time.Second

func (r *runner) run(ctx context.Context) (err error) {
	defer r.lock.Close() // last: after the outputs' close and the last checkpoint
	defer r.settle(true) // a checkpoint still being written lands before the lock goes
	cfg := r.cfg
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	defer func() {
		if cerr := r.sinks.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err == nil && r.fl.drain {
			// a batch run, as score: it exited 0 with every notice
			// dropped (cluster down, no spool_dir) and checkpointed
			// past them
			err = r.sinks.lost()
		}
	}()
	if gone, err := r.lock.RemoveStaleTemps(); err != nil {
		r.log.Warn("stale checkpoint temp files not removed", "dir", cfg.State.Dir, "err", err)
	} else if len(gone) > 0 {
		r.log.Info("removed checkpoint temp files left by a save cut short", "dir", cfg.State.Dir, "files", strings.Join(gone, ","))
	}
	started := time.Now()
	st, err := follow.LoadState(cfg.State.Dir)
	if err != nil {
		return fmt.Errorf("state directory %s: %w", cfg.State.Dir, err)
	}
	since := st.SavedAt
	if since.IsZero() {
		// a first start: what was the live file when it started is read
		// whole even if Zeek rotates it away while the follower opens
		// (it starts from the files rotated since, then the live file)
		since = started
	}
	if gone, err := r.lock.RemoveUnnamedSnapshots(st); err != nil {
		r.log.Warn("snapshot files that no checkpoint names not removed", "dir", cfg.State.Dir, "err", err)
	} else if len(gone) > 0 {
		r.log.Info("removed snapshot files that no checkpoint names (left by a save cut short or failed)", "dir", cfg.State.Dir, "files", strings.Join(gone, ","))
	}
	if err := restoreState(r.dets, st, r.log); err != nil {
		return fmt.Errorf("state directory %s: %w", cfg.State.Dir, err)
	}
	if len(st.Files) > 0 {
		r.log.Info("resuming from checkpoint", "saved_at", st.SavedAt, "logs", len(st.Files))
	}
	r.f, err = follow.New(follow.Options{
		Dir: cfg.Input.Logdir, Logs: cfg.Input.Logs, ArchiveDir: cfg.Input.ArchiveDir,
		PollInterval: cfg.Input.PollInterval, Drain: r.fl.drain, Since: since,
		Warn: func(format string, args ...any) { r.log.Warn(fmt.Sprintf(format, args...)) },
	}, st.Files)
	if err != nil {
		return err
	}
	defer r.f.Close()
	r.eng = detectors.NewEngine(r.emit, r.dets...)
	r.cols = detectors.NewColumnCheck(func(m detectors.Missing) {
		r.log.Warn(m.String(), "detector", m.Detector, "file", m.File, "missing", strings.Join(m.Columns, ","))
	}, r.dets...)
	if len(st.Engine) > 0 {
		if err := r.eng.Restore(st.Engine); err != nil {
			r.log.Warn("engine watermarks not restored: the first row advances the detectors", "err", err)
		}
	}
	// A first checkpoint now: a crash before the first periodic one still
	// resumes from the files opened here, reading what rotates meanwhile.
	// It also proves the state directory writable before any work.
	saved := time.Now()
	if err := r.save(); err != nil {
		return fmt.Errorf("state directory %s: %w", cfg.State.Dir, err)
	}
	r.ckpts++
	r.lastSaved = saved

	mctx, stopMetrics := context.WithCancel(context.Background())
	defer stopMetrics()
	if cfg.Metrics.Listen != "" {
		addr, _, err := r.met.Serve(mctx, cfg.Metrics.Listen)
		if err != nil {
			return err
		}
		r.log.Info("metrics", "addr", "http://"+addr+"/metrics")
	}
	names := make([]string, len(r.dets))
	for i, d := range r.dets {
		names[i] = d.Name()
	}
	r.log.Info("following", "logdir", cfg.Input.Logdir, "logs", strings.Join(cfg.Input.Logs, ","),
		"state", cfg.State.Dir, "detectors", strings.Join(names, ","), "drain", r.fl.drain)
	r.lastCkpt = time.Now()
	// systemd (Type=notify): started once the checkpoint is restored, the
	// logs opened and the state directory proved writable
	r.sdNotify(daemon.SdNotifyReady)
	r.publish()

	tick := min(time.Second, r.interval)
	var tk tickCtx
	defer tk.stop()
	// Rows go to the detectors in runs (Engine.ObserveBatch): what the logs
	// have ready now, up to a batch. The batch is observed before anything
	// else, so a checkpoint never covers a row the detectors have not seen,
	// and nothing waits in it: a row arriving alone is observed at once.
	batch := zeekreader.NewBatch(batchRows)
	for {
		tc := tk.get(ctx, tick)
		err := readRun(tc, r.f, batch, r.cols)
		r.eng.ObserveBatch(batch.Events)
		r.rows += int64(len(batch.Events))
		batch.Reset()
		if err == nil && tc.Err() != nil && ctx.Err() == nil {
			// behind Zeek (a flood, a restart's backlog): rows were ready
			// at every call and the follower never waited out the tick,
			// whose work (checkpoint, metrics, flush, reload) is due all
			// the same
			err = context.DeadlineExceeded
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF): // --drain: everything read
			return r.finish("drained")
		case ctx.Err() != nil: // SIGTERM, SIGINT
			if r.abandon.Load() {
				return nil
			}
			return r.finish("stopping")
		case errors.Is(err, context.DeadlineExceeded):
			select {
			case <-hup:
				r.sdNotify(daemon.SdNotifyReloading + "\n" + strings.TrimSpace(daemon.SdNotifyMonotonicUsec()))
				r.reload(ctx)
				tick = min(time.Second, r.interval)
				r.sdNotify(daemon.SdNotifyReady)
			default:
			}
			r.settle(false)
			if r.inflight == nil && time.Since(r.lastCkpt) >= checkpointSpacing(r.interval, r.ckptCost) {
				r.checkpoint(false)
			} else if r.unflushed {
				r.flushOutputs()
			}
			r.publish()
		default:
			r.log.Error("follower stopped", "err", err)
			if ferr := r.finish("error"); ferr != nil {
				return errors.Join(err, ferr)
			}
			return err
		}
	}
}

// readRun fills batch with the rows the follower has ready, waiting (until
// ctx is done) only for the first; it stops at a full batch. cols (which
// may be nil) checks each log's header for the detectors' columns.
func readRun(ctx context.Context, f *follow.Follower, batch *zeekreader.Batch, cols *detectors.ColumnCheck) error {
	ev, err := f.Next(ctx)
	for err == nil && ev != nil {
		cols.Check(ev)
		batch.Add(ev)
		if batch.Full() {
			return nil
		}
		ev, err = f.Ready()
	}
	return err
}

// emit is the engine's notice callback.
func (r *runner) emit(n *notice.Notice) {
	r.unflushed = true
	if err := r.sinks.Write(r.wctx, n); err != nil {
		r.writeErrs++
		if r.writeErrs <= 10 || r.writeErrs%1000 == 0 {
			r.log.Warn("notice not written", "id", n.ID, "err", err, "failures", r.writeErrs)
		}
	}
}

// finish flushes the outputs and writes the last checkpoint, within
// shutdownTimeout.
func (r *runner) finish(why string) error {
	r.sdNotify(daemon.SdNotifyStopping)
	fctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	r.wctx = fctx
	ok := r.checkpoint(true)
	if why == "drained" && r.fl.flush {
		// The input is over (--flush): close every window, after the
		// checkpoint, which keeps them open, so that a later run goes on
		// with them (a window split by a drain is judged whole there, not
		// dropped as late). Without --flush they stay open, as SIGTERM
		// leaves them: a drain every few minutes judged every open window
		// on the rows so far, a beacon's day window a few hundred times
		// a day, and gave notices the whole window did not confirm.
		r.eng.Flush()
		if err := r.sinks.Flush(fctx); err != nil {
			ok = false
			r.log.Error("outputs not flushed: the notices of the windows closed at the end may be lost", "err", err)
		}
	}
	r.publish()
	r.log.Info(why, "rows", r.rows, "notices", sum(r.eng.Notices), "checkpoints", r.ckpts)
	fmt.Fprintf(r.stderr, "zeekanom run: %s, %s%s\n", counted(r.rows, "row"), counted(sum(r.eng.Notices), "notice"), ruleCounts(r.eng.Notices))
	if !ok && why != "stopping" {
		return errors.New("the last checkpoint was not written (see the log above): rows after the previous one will be read again")
	}
	// On SIGTERM a failed last checkpoint is logged, not an exit status:
	// nothing is lost, rows after the previous checkpoint are read again.
	return nil
}

func ruleCounts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, m[k])
	}
	return b.String()
}

// checkpoint makes the outputs durable, then saves offsets and detector
// snapshots together. If an output cannot flush, the checkpoint is not
// advanced: its notices are re-emitted (same ids) after a restart. The
// state is captured at once (a copy, see detectors.Capturer) and encoded
// and written on another goroutine, so that rows keep flowing while a
// large state is saved; wait waits for the write and reports whether it
// landed (without wait, whether it started).
func (r *runner) checkpoint(wait bool) bool {
	r.settle(true) // checkpoints land in order
	r.lastCkpt = time.Now()
	r.unflushed = false
	if err := r.sinks.Flush(r.wctx); err != nil {
		r.ckptErrs++
		r.unflushed = true
		r.log.Warn("outputs not flushed: checkpoint not advanced", "err", err)
		return false
	}
	write, start := r.capture(), r.lastCkpt
	done := make(chan ckptDone, 1)
	go func() {
		err := write()
		done <- ckptDone{err, time.Since(start), start}
	}()
	r.inflight = done
	if wait {
		return r.settle(true)
	}
	return true
}

// flushOutputs hands the notices written since the last flush on (the
// Zeek feed and NDJSON file buffer up to 64 KiB otherwise): at most a tick
// (1 s) after their window closed, not at the next checkpoint, which a
// busy sensor spaces to tens of seconds. Elasticsearch sends on its own
// flush_interval and is left to it. A failure is logged and retried at the
// next tick; checkpoints flush too and do not advance past it.
func (r *runner) flushOutputs() {
	r.unflushed = false
	if err := r.sinks.FlushBuffered(r.wctx); err != nil {
		r.writeErrs++
		if r.writeErrs <= 10 || r.writeErrs%1000 == 0 {
			r.log.Warn("outputs not flushed", "err", err, "failures", r.writeErrs)
		}
		r.unflushed = true
	}
}

// ckptDone is how a checkpoint's write ended.
type ckptDone struct {
	err   error
	took  time.Duration // from its start, the outputs' flush included
	start time.Time     // when it began
}

// settle takes the result of the checkpoint being written, if any: block
// waits for it, otherwise it is taken only if done. It reports false if
// that checkpoint failed.
func (r *runner) settle(block bool) bool {
	if r.inflight == nil {
		return true
	}
	var d ckptDone
	if block {
		d = <-r.inflight
	} else {
		select {
		case d = <-r.inflight:
		default:
			return true
		}
	}
	r.inflight = nil
	if r.ckptCost = d.took; r.ckptCost > r.interval/ckptDuty {
		r.log.Info("checkpoint took long: the next ones are spaced", "took", r.ckptCost,
			"every", checkpointSpacing(r.interval, r.ckptCost))
	}
	if d.err != nil {
		r.ckptErrs++
		r.log.Error("checkpoint not written", "dir", r.cfg.State.Dir, "err", d.err)
		return false
	}
	r.ckpts++
	r.lastSaved = d.start
	return true
}

// ckptDuty: checkpoints take at most 1/ckptDuty of the time. A busy
// sensor's detector state is large (after an hour of 500 rows/s with
// 3,000 hosts, 211 MB of snapshots, 3-4.5 s to encode and write on the
// project's VM); rows flow while it is written, but the encoding takes a
// core's time.
const ckptDuty = 10

// checkpointSpacing is the time from one checkpoint's start to the next:
// the configured interval, or longer when the last one took more than a
// tenth of it.
func checkpointSpacing(interval, last time.Duration) time.Duration {
	return max(interval, ckptDuty*last)
}

// save writes offsets and detector snapshots together, atomically.
func (r *runner) save() error { return r.capture()() }

// capture takes what a checkpoint holds, now: the detectors' state (copied
// where a detector can, see detectors.Capturer), the engine's watermarks
// and the follower's offsets. The returned function encodes and writes it;
// it may run on another goroutine.
func (r *runner) capture() func() error {
	return captureState(r.dets, r.eng, r.f.Positions(), r.cfg.State.Dir, r.log)
}

// captureState is capture for any detectors, engine and offsets (the
// checkpoint benchmark calls it too).
func captureState(dets []detectors.Detector, eng *detectors.Engine, files []follow.Position, dir string, log *slog.Logger) func() error {
	var encs []follow.Encoding
	for _, d := range dets {
		if s, ok := d.(detectors.Stateful); ok {
			encs = append(encs, follow.Encoding{Name: d.Name(), Encode: detectors.Capture(s)})
		}
	}
	engState, engErr := eng.Snapshot()
	st := &follow.State{SavedAt: time.Now().UTC(), Files: files, Engine: engState}
	return func() error {
		if engErr != nil {
			return engErr
		}
		return follow.SaveEncoding(dir, st, encs, func(name string, err error) {
			log.Warn("detector snapshot failed: its windows restart empty", "detector", name, "err", err)
		})
	}
}

// restoreState restores each detector from its snapshot in st (read from
// its file then), and drops the snapshot once restored (a busy sensor's
// are hundreds of MB). A snapshot that does not restore (a newer
// zeekanom's, by its version), or whose file is missing or damaged, is
// warned about with its file and its detector starts empty; a
// file that cannot be read (permissions, I/O) is the error: starting
// without it would lose its windows for good.
func restoreState(dets []detectors.Detector, st *follow.State, log *slog.Logger) error {
	for _, name := range st.Dropped {
		log.Warn("detector state not saved by the last checkpoint (its encoding failed): starting with empty windows", "detector", name)
	}
	for _, d := range dets {
		s, ok := d.(detectors.Stateful)
		if !ok {
			continue
		}
		b, err := st.Snapshot(d.Name())
		if err != nil && !errors.Is(err, follow.ErrSnapshotDamaged) {
			return fmt.Errorf("%s snapshot: %w (fix it and start again, or move the state directory away to start afresh)", d.Name(), err)
		}
		if err == nil && b != nil {
			err = s.Restore(b)
		}
		if err != nil {
			log.Warn("detector state not restored: starting with empty windows, and the logs resume at the checkpoint (the windows open then lose the rows before it)",
				"detector", d.Name(), "file", st.SnapshotFile(d.Name()), "err", err)
		}
		st.Forget(d.Name())
		if len(b) > 16<<20 {
			runtime.GC()
		}
	}
	return nil
}

// publish hands the counters to the metrics endpoint.
func (r *runner) publish() {
	s := metrics.Snapshot{Updated: time.Now(), Notices: map[string]int64{}, Detectors: map[string]map[string]float64{},
		Checkpoints: r.ckpts, CheckpointErrors: r.ckptErrs, LastCheckpoint: r.lastSaved,
		// ten checkpoints missed, at least a minute
		CheckpointDue: max(time.Minute, 10*checkpointSpacing(r.interval, r.ckptCost))}
	for _, l := range r.f.Stats() {
		s.Logs = append(s.Logs, metrics.Log{Log: l.Log, Rows: l.Rows, ParseErrors: l.ParseErrors, Newest: l.Newest,
			BytesBehind: l.BytesBehind, Rotations: l.Rotations, Truncations: l.Truncations, Gaps: l.Gaps, Partial: l.Partial})
	}
	for k, v := range r.eng.Notices {
		s.Notices[k] = v
	}
	for _, d := range r.dets {
		if v, ok := callStats(d); ok {
			s.Detectors[d.Name()] = metrics.Flatten(v)
		}
	}
	s.Outputs, s.OutputErrors = r.sinks.stats()
	for _, m := range r.cols.Found {
		s.MissingColumns = append(s.MissingColumns, metrics.MissingColumns{Detector: m.Detector, Log: m.Log, Columns: strings.Join(m.Columns, ",")})
	}
	r.met.Set(s)
	if s.Updated.Sub(r.lastStatus) >= statusEvery {
		r.sdNotify("")
	}
}

// statusLine is run's status for systemd: rows, notices, the bytes of
// the followed logs not yet read (a sidecar falling behind Zeek), and
// the last checkpoint.
func statusLine(rows, notices, behind int64, saved time.Time) string {
	s := counted(rows, "row") + ", " + counted(notices, "notice")
	if behind > 0 {
		s += ", " + counted(behind, "byte") + " of the logs not read yet"
	}
	return s + "; last checkpoint " + saved.UTC().Format("2006-01-02 15:04:05 UTC")
}

// statusEvery spaces the status lines sent to systemd.
const statusEvery = 10 * time.Second

// sdNotify tells systemd (a Type=notify unit: NOTIFY_SOCKET set) the
// state, if any ("READY=1", ...), and the run's status, which
// 'systemctl status zeekanom' shows. Without NOTIFY_SOCKET it does
// nothing; a failure to send is logged once.
func (r *runner) sdNotify(state string) {
	r.lastStatus = time.Now()
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return // not under systemd's Type=notify: no status to build
	}
	var behind int64
	for _, l := range r.f.Stats() {
		behind += l.BytesBehind
	}
	status := "STATUS=" + statusLine(r.rows, sum(r.eng.Notices), behind, r.lastSaved)
	if state != "" {
		status = state + "\n" + status
	}
	if _, err := daemon.SdNotify(false, status); err != nil && !r.sdFailed {
		r.sdFailed = true
		r.log.Warn("systemd notification not sent", "err", err)
	}
}

// reload re-reads the config on SIGHUP and applies what is safe.
func (r *runner) reload(ctx context.Context) {
	cfg, err := loadRunConfig(ctx, r.fl)
	if err != nil {
		r.log.Error("SIGHUP: config not reloaded", "err", err)
		return
	}
	lv, _ := parseLevel(cfg.Log.Level)
	r.level.Set(lv)
	r.interval = cfg.State.CheckpointInterval
	th, _ := thresholds(cfg)
	r.sinks.applyThresholds(th)
	r.log.Info("SIGHUP: reloaded log.level, state.checkpoint_interval, output min_risk",
		"level", lv, "checkpoint_interval", r.interval)
	// the running config is the one the run started with: a change is
	// named at every reload until a restart applies it
	if keys := unappliedChanges(r.cfg, cfg); len(keys) > 0 {
		r.log.Warn("SIGHUP: changed in the config file but not applied: restart to apply", "keys", strings.Join(keys, ","))
	}
}

// reloadable are the keys a SIGHUP applies (reload).
var reloadable = map[string]bool{
	"log.level": true, "state.checkpoint_interval": true,
	"output.ndjson.min_risk": true, "output.zeekfeed.min_risk": true,
}

// unappliedChanges lists, sorted, the keys whose value next gives differs
// from running's and that a reload does not apply: the sections of run as
// the flags leave them, every other key as written in the file (a key
// added or removed counts). A reload used to say only "other changes need
// a restart", whatever had changed.
func unappliedChanges(running, next *Config) []string {
	var keys []string
	for _, sec := range []struct {
		name string
		a, b any
	}{{"input", running.Input, next.Input}, {"state", running.State, next.State},
		{"metrics", running.Metrics, next.Metrics}, {"log", running.Log, next.Log}} {
		a, b := reflect.ValueOf(sec.a), reflect.ValueOf(sec.b)
		for i := range a.NumField() {
			tag, _, _ := strings.Cut(a.Type().Field(i).Tag.Get("toml"), ",")
			if k := sec.name + "." + tag; !reloadable[k] && !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
				keys = append(keys, k)
			}
		}
	}
	was, now := flatKeys(running.text), flatKeys(next.text)
	for k, v := range now {
		if w, ok := was[k]; (!ok || !reflect.DeepEqual(v, w)) && !reloadable[k] {
			keys = append(keys, k)
		}
	}
	for k := range was {
		if _, ok := now[k]; !ok && !reloadable[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// flatKeys maps each key of the detector and output sections of a config
// text to its value ("detectors.beacon.window": "10m").
func flatKeys(text string) map[string]any {
	var m map[string]any
	toml.Decode(text, &m) // (the text was checked when loaded)
	out := map[string]any{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		t, ok := v.(map[string]any)
		if !ok {
			out[prefix] = v
			return
		}
		for k, sub := range t {
			walk(prefix+"."+k, sub)
		}
	}
	for _, sec := range []string{"detectors", "output"} {
		if v, ok := m[sec]; ok {
			walk(sec, v)
		}
	}
	return out
}

// tickCtx is a context that expires every tick, so that the reading loop
// wakes for checkpoints, metrics and SIGHUP even when no row arrives.
type tickCtx struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (t *tickCtx) get(parent context.Context, d time.Duration) context.Context {
	if t.ctx == nil || t.ctx.Err() != nil {
		t.stop()
		t.ctx, t.cancel = context.WithTimeout(parent, d)
	}
	return t.ctx
}

func (t *tickCtx) stop() {
	if t.cancel != nil {
		t.cancel()
	}
}
