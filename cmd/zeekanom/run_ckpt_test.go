package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
	"github.com/zeekanom/zeekanom/zeekreader/follow"
)

// gateDet counts conn rows; its snapshot is that count, and the encoding
// of a capture at holdAt rows or more waits for a token on release (or its
// close).
type gateDet struct {
	rows, held atomic.Int64 // held: captures waiting or waited at the gate
	holdAt     int64
	release    chan struct{}
}

func (g *gateDet) Name() string                      { return "gate" }
func (g *gateDet) Kinds() []zeekreader.Kind          { return []zeekreader.Kind{zeekreader.KindConn} }
func (g *gateDet) Observe(*zeekreader.Event)         { g.rows.Add(1) }
func (g *gateDet) Advance(time.Time, detectors.Emit) {}
func (g *gateDet) Flush(detectors.Emit)              {}
func (g *gateDet) Restore([]byte) error              { return nil }
func (g *gateDet) Snapshot() ([]byte, error)         { return detectors.Encoded(g.Capture()) }
func (g *gateDet) count(st *follow.State) (int64, bool) {
	b, err := st.Snapshot("gate")
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

func (g *gateDet) Capture() func(io.Writer) error {
	n := g.rows.Load()
	hold := n >= g.holdAt
	if hold {
		g.held.Add(1)
	}
	return func(w io.Writer) error {
		if hold {
			<-g.release
		}
		_, err := io.WriteString(w, strconv.FormatInt(n, 10))
		return err
	}
}

// A checkpoint's state is copied at once and written on another goroutine:
// rows keep reaching the detectors while it is encoded (a busy sensor's
// state takes seconds), and what lands is the state and the offsets of
// the same moment.
func TestRunCheckpointWrittenWhileRowsFlow(t *testing.T) {
	logdir, conn := zeekDir(t)
	size0 := fileSize(t, conn)
	state := t.TempDir()
	cfg := fastConfig(t, logdir, state, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	r, err := newRunner(ctx, runFlags{config: cfg}, &bytes.Buffer{}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	g := &gateDet{holdAt: 120, release: make(chan struct{})}
	r.dets = append(r.dets, g)
	done := make(chan error, 1)
	go func() { done <- r.run(ctx) }()

	// A checkpoint after all 120 rows is being encoded, held at the gate.
	waitFor(t, "a checkpoint capture after the 120 rows", func() bool { return g.held.Load() == 1 })
	// Rows written now reach the detectors meanwhile.
	b, _ := os.ReadFile(conn)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	f, _ := os.OpenFile(conn, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(strings.Join(lines[len(lines)-30:], "\n") + "\n")
	f.Close()
	waitFor(t, "the 30 new rows observed while the checkpoint is held", func() bool { return g.rows.Load() == 150 })

	// Released, it lands with the count and the offsets of its capture.
	g.release <- struct{}{}
	waitFor(t, "the held checkpoint written", func() bool {
		st, err := follow.LoadState(state)
		if err != nil {
			t.Fatal(err)
		}
		n, ok := g.count(st)
		return ok && n == 120 && offset(st, "conn") == size0
	})

	cancel()
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st, err := follow.LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := g.count(st); n != 150 || offset(st, "conn") != fileSize(t, conn) {
		t.Fatalf("last checkpoint: %d rows at offset %d, want 150 at %d", n, offset(st, "conn"), fileSize(t, conn))
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func offset(st *follow.State, log string) int64 {
	for _, p := range st.Files {
		if p.Log == log {
			return p.Offset
		}
	}
	return -1
}

// oneNotice emits one notice at its first Advance.
type oneNotice struct{ done bool }

func (o *oneNotice) Name() string              { return "one" }
func (o *oneNotice) Kinds() []zeekreader.Kind  { return []zeekreader.Kind{zeekreader.KindConn} }
func (o *oneNotice) Observe(*zeekreader.Event) {}
func (o *oneNotice) Flush(detectors.Emit)      {}
func (o *oneNotice) Advance(wm time.Time, emit detectors.Emit) {
	if !o.done {
		o.done = true
		n := &notice.Notice{Rule: notice.RuleLongConnection, Start: wm, End: wm, RiskScore: 90, Source: netip.MustParseAddr("10.0.0.9"),
			Message: "one notice"}
		n.Finalize("")
		emit(n)
	}
}

// A notice reaches the outputs within a tick of being emitted, not at the
// next checkpoint (an hour here; tens of seconds on a busy sensor).
func TestRunFlushesNoticesBetweenCheckpoints(t *testing.T) {
	logdir, _ := zeekDir(t)
	state := t.TempDir()
	cfg := fastConfig(t, logdir, state, "")
	b, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(b, []byte(`checkpoint_interval = "30ms"`), []byte(`checkpoint_interval = "1h"`), 1), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := newRunner(ctx, runFlags{config: cfg}, &bytes.Buffer{}, &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	r.dets = append(r.dets, &oneNotice{})
	done := make(chan error, 1)
	go func() { done <- r.run(ctx) }()
	waitFor(t, "the notice in the NDJSON output", func() bool {
		b, _ := os.ReadFile(filepath.Join(state, "n.ndjson"))
		return bytes.Contains(b, []byte("one notice"))
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// countSink counts flushes; self says it flushes by itself.
type countSink struct {
	flushes int
	self    bool
}

func (c *countSink) Write(context.Context, *notice.Notice) error { return nil }
func (c *countSink) Flush(context.Context) error                 { c.flushes++; return nil }
func (c *countSink) Close() error                                { return nil }
func (c *countSink) FlushesItself() bool                         { return c.self }

// Between checkpoints only the outputs that do not flush by themselves
// are flushed (Elasticsearch sends on its own flush_interval; a flush
// would wait for a bulk round trip); checkpoints flush them all.
func TestFlushBufferedLeavesSelfFlushingSinks(t *testing.T) {
	file, es := &countSink{}, &countSink{self: true}
	ss := &sinkSet{sinks: []*namedSink{{name: "zeekfeed", sink: file}, {name: "elasticsearch", sink: es}}}
	ss.FlushBuffered(context.Background())
	if file.flushes != 1 || es.flushes != 0 {
		t.Fatalf("between checkpoints: file %d, es %d flushes", file.flushes, es.flushes)
	}
	ss.Flush(context.Background())
	if file.flushes != 2 || es.flushes != 1 {
		t.Fatalf("at a checkpoint: file %d, es %d flushes", file.flushes, es.flushes)
	}
}

// quietDet is a Stateful detector, not a Capturer, whose Snapshot is
// given: nil (nothing to save) or an error.
type quietDet struct {
	name     string // "quiet" if empty
	snap     func() ([]byte, error)
	restored [][]byte
}

func (d *quietDet) Name() string {
	if d.name == "" {
		return "quiet"
	}
	return d.name
}
func (*quietDet) Kinds() []zeekreader.Kind          { return []zeekreader.Kind{zeekreader.KindConn} }
func (*quietDet) Observe(*zeekreader.Event)         {}
func (*quietDet) Advance(time.Time, detectors.Emit) {}
func (*quietDet) Flush(detectors.Emit)              {}
func (d *quietDet) Snapshot() ([]byte, error)       { return d.snap() }
func (d *quietDet) Restore(b []byte) error {
	d.restored = append(d.restored, b)
	if len(b) == 0 {
		return errors.New("empty snapshot")
	}
	return nil
}

// checkpointed saves d's state as run does and restores it as run does
// at its start, returning the log of the restore.
func checkpointed(t *testing.T, d *quietDet) string {
	t.Helper()
	dets := []detectors.Detector{d}
	_, st := saveAndLoad(t, dets)
	var logs bytes.Buffer
	if err := restoreState(dets, st, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	return logs.String()
}

// saveAndLoad checkpoints dets as run does and loads the checkpoint back.
func saveAndLoad(t *testing.T, dets []detectors.Detector) (string, *follow.State) {
	t.Helper()
	dir := t.TempDir()
	eng := detectors.NewEngine(func(*notice.Notice) {}, dets...)
	if err := captureState(dets, eng, nil, dir, slog.New(slog.DiscardHandler))(); err != nil {
		t.Fatal(err)
	}
	st, err := follow.LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, st
}

// A snapshot file damaged after the checkpoint is warned about and its
// detector starts empty; the others restore.
func TestCheckpointDamagedSnapshotFile(t *testing.T) {
	a := &quietDet{name: "a", snap: func() ([]byte, error) { return []byte("state a"), nil }}
	b := &quietDet{name: "b", snap: func() ([]byte, error) { return []byte("state b"), nil }}
	dets := []detectors.Detector{a, b}
	dir, st := saveAndLoad(t, dets)
	if err := os.WriteFile(filepath.Join(dir, st.Snapshots["a"].File), []byte("STATE A"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if err := restoreState(dets, st, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if len(a.restored) > 0 || len(b.restored) != 1 || string(b.restored[0]) != "state b" || !strings.Contains(logs.String(), "detector=a") ||
		!strings.Contains(logs.String(), "SHA-256") {
		t.Fatalf("a restored %q, b %q; log %s", a.restored, b.restored, logs.String())
	}
}

// A nil snapshot (nothing to save) is written as null and not restored;
// a snapshot whose encoding failed is dropped, and the restart says the
// detector starts empty (found by a review of the streamed checkpoints:
// the first was restored from "", the second dropped without a word).
func TestCheckpointNilAndFailedSnapshots(t *testing.T) {
	d := &quietDet{snap: func() ([]byte, error) { return nil, nil }}
	if logs := checkpointed(t, d); len(d.restored) > 0 || logs != "" {
		t.Fatalf("a nil snapshot restored from %q; log %s", d.restored, logs)
	}
	d = &quietDet{snap: func() ([]byte, error) { return nil, errors.New("boom") }}
	if logs := checkpointed(t, d); len(d.restored) > 0 || !strings.Contains(logs, "detector=quiet") {
		t.Fatalf("a failed snapshot restored from %q; log %s", d.restored, logs)
	}
}

// failFlush is an output whose flushes fail while fail is set.
type failFlush struct{ fail atomic.Bool }

func (f *failFlush) Write(context.Context, *notice.Notice) error { return nil }
func (f *failFlush) Close() error                                { return nil }
func (f *failFlush) Flush(context.Context) error {
	if f.fail.Load() {
		return errors.New("no space left on device")
	}
	return nil
}

// checkpoint_age_seconds is the age of the last checkpoint written: while
// checkpoints fail (a full disk) it grows, so that an alert on it fires.
// It was the time since the last attempt, reset by every failed one.
func TestCheckpointAgeGrowsWhileCheckpointsFail(t *testing.T) {
	logdir, _ := zeekDir(t)
	state := t.TempDir()
	cfg := fastConfig(t, logdir, state, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := newRunner(ctx, runFlags{config: cfg}, &bytes.Buffer{}, &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	broken := &failFlush{}
	r.sinks.sinks = append(r.sinks.sinks, &namedSink{name: "broken", sink: broken})
	done := make(chan error, 1)
	go func() { done <- r.run(ctx) }()
	waitFor(t, "a checkpoint", func() bool { return r.met.Get().Checkpoints >= 2 })
	broken.fail.Store(true)
	failing := time.Now()
	waitFor(t, "failed checkpoints", func() bool { return r.met.Get().CheckpointErrors >= 3 })
	if s := r.met.Get(); !s.LastCheckpoint.Before(failing) {
		t.Fatalf("after %d failed checkpoints the last checkpoint is dated %v, after the failures began (%v)",
			s.CheckpointErrors, s.LastCheckpoint, failing)
	}
	broken.fail.Store(false)
	waitFor(t, "a checkpoint written again", func() bool { return r.met.Get().LastCheckpoint.After(failing) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
