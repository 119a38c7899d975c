package follow

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

func newFollower(t testing.TB, w *zeekWriter, drain bool, from []Position) *Follower {
	t.Helper()
	f, err := New(Options{Dir: w.dir, Logs: []string{"conn"}, PollInterval: 20 * time.Millisecond, Drain: drain,
		Warn: func(format string, args ...any) { t.Logf("warn: "+format, args...) }}, from)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// following starts a writer with n rows and a follower that has read them
// (both closed at the end of the test).
func following(t *testing.T, n int) (*zeekWriter, *Follower, []string) {
	t.Helper()
	w := newZeekWriter(t, t.TempDir(), false)
	t.Cleanup(w.Close)
	w.Append(n)
	f := newFollower(t, w, false, nil)
	t.Cleanup(func() { f.Close() })
	return w, f, collect(t, f, n)
}

// drainedOnce starts a writer with n rows (closed at the end of the test)
// and returns what a drain of it read and its positions after.
func drainedOnce(t *testing.T, n int) (*zeekWriter, []string, []Position) {
	t.Helper()
	w := newZeekWriter(t, t.TempDir(), false)
	t.Cleanup(w.Close)
	w.Append(n)
	f := newFollower(t, w, true, nil)
	defer f.Close()
	got := drainAll(t, f)
	return w, got, f.Positions()
}

func checkSame(t testing.TB, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("got %d rows, want %d\n got %v\nwant %v", len(got), len(want), head(got), head(want))
	}
}

func head(s []string) []string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

func TestRotationByRename(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), false)
	defer w.Close()
	w.Append(10)
	f := newFollower(t, w, false, nil)
	defer f.Close()
	got := collect(t, f, 10)
	w.Append(5)
	renamed := w.Rotate()
	w.Append(7)
	got = append(got, collect(t, f, 12)...)
	assertNothing(t, f)
	checkSame(t, got, w.Written())
	st := f.Stats()[0]
	if st.Rotations != 1 || st.Rows != 22 {
		t.Fatalf("stats %+v", st)
	}
	// The renamed file is gzipped away; more rows and a second rotation.
	w.Archive(renamed)
	w.Append(3)
	w.Archive(w.Rotate())
	w.Append(4)
	got = append(got, collect(t, f, 7)...)
	checkSame(t, got, w.Written())
}

// Two rotations while the follower is not looking: the middle file is only
// in the archive when the follower notices.
func TestDoubleRotationBetweenPolls(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), false)
	defer w.Close()
	w.Append(10)
	f := newFollower(t, w, true, nil)
	defer f.Close()
	got := drainAll(t, f)
	w.Append(2)
	r1 := w.Rotate()
	w.Append(6)
	w.Archive(w.Rotate())
	w.Append(3)
	// r1 stays renamed (the follower holds it open anyway).
	got = append(got, drainAll(t, f)...)
	checkSame(t, got, w.Written())
	_ = r1
}

func TestTruncation(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), false)
	defer w.Close()
	w.Append(20)
	f := newFollower(t, w, false, nil)
	defer f.Close()
	got := collect(t, f, 20)
	// copytruncate-style: the file is emptied and rewritten in place.
	if err := w.f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	w.clock = w.clock.Add(time.Hour)
	w.write(w.headerBlock())
	w.Append(5)
	got = append(got, collect(t, f, 5)...)
	checkSame(t, got, w.Written())
	if f.Stats()[0].Truncations != 1 {
		t.Fatalf("stats %+v", f.Stats()[0])
	}
}

func TestPartialLine(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), false)
	defer w.Close()
	w.Append(3)
	f := newFollower(t, w, false, nil)
	defer f.Close()
	got := collect(t, f, 3)
	finish := w.AppendSplit()
	assertNothing(t, f) // half a line is never parsed
	if pos := f.Positions()[0]; pos.Offset >= fileSize(t, w.path()) {
		t.Fatalf("offset %d counts the partial line", pos.Offset)
	}
	finish()
	got = append(got, collect(t, f, 1)...)
	checkSame(t, got, w.Written())
	if pos := f.Positions()[0]; pos.Offset != fileSize(t, w.path()) {
		t.Fatalf("offset %d, size %d", pos.Offset, fileSize(t, w.path()))
	}
	if st := f.Stats()[0]; st.ParseErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A row longer than the reader's MaxLine is skipped. While its end is not
// written yet, the checkpoint must stay before it, not in its middle: a
// restart from the middle read the rest of the row as a row of its own.
func TestOverlongPartialLineCheckpoint(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), false)
	defer w.Close()
	w.Append(2)
	f := newFollower(t, w, false, nil)
	got := collect(t, f, 2)
	before := fileSize(t, w.path())
	long := "1379288667.706265\tClong\t" + strings.Repeat("x", zeekreader.DefaultMaxLine+4096)
	w.write(long[:len(long)-10])
	assertNothing(t, f)
	pos := f.Positions()
	if pos[0].Offset != before {
		t.Fatalf("checkpoint at %d, inside the unfinished over-long row (it starts at %d)", pos[0].Offset, before)
	}
	f.Close()
	w.write(long[len(long)-10:] + "\n")
	w.Append(1)
	f = newFollower(t, w, false, pos)
	defer f.Close()
	got = append(got, collect(t, f, 1)...)
	checkSame(t, got, w.Written())
	if st := f.Stats()[0]; st.ParseErrors != 1 || st.Rows != 1 {
		t.Fatalf("after the restart: %+v; want the over-long row skipped once and one row", st)
	}
}

// A file's first malformed row is warned about with its file:line; the
// rest are only counted (run logged none of them).
func TestMalformedRowWarnedOnce(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), false)
	defer w.Close()
	w.Append(2)
	b, err := os.ReadFile(w.path())
	if err != nil {
		t.Fatal(err)
	}
	line := bytes.Count(b, []byte("\n")) + 1
	var warns []string
	f, err := New(Options{Dir: w.dir, Logs: []string{"conn"}, PollInterval: 20 * time.Millisecond,
		Warn: func(format string, args ...any) { warns = append(warns, fmt.Sprintf(format, args...)) }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	collect(t, f, 2)
	w.write("not\ta\trow\n")
	w.Append(1)
	w.write("nor\tthis\n")
	w.Append(1)
	collect(t, f, 2)
	if st := f.Stats()[0]; st.ParseErrors != 2 {
		t.Fatalf("%+v: want 2 malformed rows counted", st)
	}
	want := fmt.Sprintf("conn: %s:%d: ", w.path(), line)
	if len(warns) != 1 || !strings.HasPrefix(warns[0], want) || !strings.Contains(warns[0], "further malformed rows of this file are counted") {
		t.Errorf("warnings %q: want one, starting %q", warns, want)
	}
}

// A log directory holding none of the logs followed is warned about, with
// zeekctl's logs/current when it is beside them (--logdir named logs/), or
// json-streaming-logs' names of them when it has those: run waited for
// them without a word.
func TestNoLiveLogWarned(t *testing.T) {
	root := t.TempDir()
	cur := filepath.Join(root, "current")
	os.MkdirAll(cur, 0o755)
	os.MkdirAll(filepath.Join(root, "2026-11-30"), 0o755)
	streaming := t.TempDir()
	for _, f := range []string{"json_streaming_conn.log", "json_streaming_conn.1.log", "json_streaming_dns.log", "json_streaming_files.log"} {
		os.WriteFile(filepath.Join(streaming, f), nil, 0o644)
	}
	warnsOf := func(dir string) []string {
		var warns []string
		f, err := New(Options{Dir: dir, Logs: []string{"conn", "dns"}, NoNotify: true,
			Warn: func(format string, args ...any) { warns = append(warns, fmt.Sprintf(format, args...)) }}, nil)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		return warns
	}
	for dir, want := range map[string]string{
		root: "log directory " + root + " has no conn.log, dns.log (yet): waiting for them (zeekctl writes its live logs to " + cur + ")",
		cur:  "log directory " + cur + " has no conn.log, dns.log (yet): waiting for them",
		streaming: "log directory " + streaming + " has no conn.log, dns.log (yet): waiting for them" +
			" (it has json-streaming-logs' files: follow json_streaming_conn, json_streaming_dns)",
	} {
		if warns := warnsOf(dir); len(warns) != 1 || warns[0] != want {
			t.Errorf("%s: warnings %q, want %q", dir, warns, want)
		}
	}
	// one of the logs there is enough
	os.WriteFile(filepath.Join(cur, "dns.log"), nil, 0o644)
	if warns := warnsOf(cur); len(warns) != 0 {
		t.Errorf("with a dns.log: warnings %q", warns)
	}
}

func fileSize(t testing.TB, p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestLateFileAndHeaderMidFile(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), false)
	defer w.Close()
	f := newFollower(t, w, false, nil)
	defer f.Close()
	assertNothing(t, f)
	w.Append(4)
	got := collect(t, f, 4)
	// A second header block in the same file (Zeek restarted, appending).
	w.clock = w.clock.Add(time.Hour)
	w.write(w.headerBlock())
	w.Append(4)
	got = append(got, collect(t, f, 4)...)
	checkSame(t, got, w.Written())
}

func TestJSONLog(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), true)
	defer w.Close()
	w.Append(5)
	f := newFollower(t, w, false, nil)
	defer f.Close()
	got := collect(t, f, 5)
	finish := w.AppendSplit()
	assertNothing(t, f)
	finish()
	w.Archive(w.Rotate())
	w.Append(2)
	got = append(got, collect(t, f, 3)...)
	checkSame(t, got, w.Written())
}

// restart stops a follower (keeping its positions, as a checkpoint would)
// and lets the writer act before a new follower resumes.
func TestRestartFromCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name string
		gz   bool
	}{{"renamed", false}, {"gzipped", true}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newZeekWriter(t, t.TempDir(), false)
			defer w.Close()
			w.Append(30)
			f := newFollower(t, w, false, nil)
			got := collect(t, f, 12)
			pos := f.Positions()
			f.Close()
			// A checkpoint survives the process: write and read it back.
			state := t.TempDir()
			if err := SaveState(state, &State{Files: pos, Detectors: map[string][]byte{"x": []byte("y")}}); err != nil {
				t.Fatal(err)
			}
			st, err := LoadState(state)
			if err != nil {
				t.Fatal(err)
			}
			if b, err := st.Snapshot("x"); err != nil || string(b) != "y" || len(st.Files) != 1 {
				t.Fatalf("state %+v", st)
			}
			// Down: rows appended, rotated (and gzipped), another file.
			w.Append(5)
			r1 := w.Rotate()
			w.Append(9)
			r2 := w.Rotate()
			w.Append(4)
			if tc.gz {
				w.Archive(r1)
				w.Archive(r2)
			}
			f = newFollower(t, w, true, st.Files)
			defer f.Close()
			got = append(got, drainAll(t, f)...)
			checkSame(t, got, w.Written())
			if g := f.Stats()[0].Gaps; g != 0 {
				t.Fatalf("gaps %d", g)
			}
		})
	}
}

// Half gzipped: the renamed file and its partial .gz both exist; then the
// archiver finishes between the queueing and the reading.
func TestRestartWhileArchiving(t *testing.T) {
	w, got, pos := drainedOnce(t, 10)
	w.Append(3)
	r1 := w.Rotate()
	w.Append(2)
	keep, err := os.ReadFile(r1)
	if err != nil {
		t.Fatal(err)
	}
	dst := w.Archive(r1)
	full, _ := os.ReadFile(dst)
	os.WriteFile(dst, full[:len(full)/2], 0o644)
	os.WriteFile(r1, keep, 0o644)

	f := newFollower(t, w, true, pos)
	defer f.Close()
	// Queue the catch-up, then let the archiver finish before reading.
	tl := f.tails[0]
	tl.resume = false
	tl.reconcile(tl.pos, true)
	if len(tl.queue) != 1 || tl.queue[0].gz || len(tl.queue[0].alts) != 1 {
		t.Fatalf("queue %+v", tl.queue)
	}
	os.WriteFile(dst, full, 0o644)
	os.Remove(r1)
	got = append(got, drainAll(t, f)...)
	checkSame(t, got, w.Written())
}

// Resumed in the middle of the live file, the follower keeps following it
// as it grows (the replayed header must not end the stream).
func TestResumeLiveThenAppend(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), false)
	defer w.Close()
	w.Append(10)
	f := newFollower(t, w, false, nil)
	got := collect(t, f, 6)
	pos := f.Positions()
	f.Close()
	f = newFollower(t, w, false, pos)
	defer f.Close()
	got = append(got, collect(t, f, 4)...)
	w.Append(3)
	got = append(got, collect(t, f, 3)...)
	checkSame(t, got, w.Written())
}

// Zeek 4+ standalone: rotated files wait in log-queue/ for zeek-archiver.
func TestRestartFindsLogQueue(t *testing.T) {
	w, got, pos := drainedOnce(t, 10)
	w.Append(4)
	r1 := w.Rotate()
	q := filepath.Join(w.dir, "log-queue")
	os.MkdirAll(q, 0o755)
	if err := os.Rename(r1, filepath.Join(q, "conn__2026-11-25-18-00-00__2026-11-25-18-01-00__.log")); err != nil {
		t.Fatal(err)
	}
	w.Append(2)
	f := newFollower(t, w, true, pos)
	defer f.Close()
	got = append(got, drainAll(t, f)...)
	checkSame(t, got, w.Written())
}

// Without fsnotify (NFS, or the watcher unavailable) polling alone follows
// rotations and growth.
func TestPollingOnly(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), false)
	defer w.Close()
	w.Append(5)
	f, err := New(Options{Dir: w.dir, Logs: []string{"conn", "dns"}, PollInterval: 5 * time.Millisecond, NoNotify: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.watcher != nil {
		t.Fatal("watcher started with NoNotify")
	}
	got := collect(t, f, 5)
	w.Append(2)
	w.Archive(w.Rotate())
	w.Append(3)
	got = append(got, collect(t, f, 5)...)
	checkSame(t, got, w.Written())
}

// A checkpoint taken while the live file is still empty (the writer has
// created it, not yet written its header) must name that file: if it held
// nothing, a restart after the file filled and rotated away would take the
// run for a first start and read only the new live file.
func TestCheckpointOfEmptyLiveFile(t *testing.T) {
	for _, archived := range []bool{false, true} {
		t.Run(map[bool]string{false: "renamed", true: "archived"}[archived], func(t *testing.T) {
			w := newZeekWriter(t, t.TempDir(), false)
			defer w.Close()
			w.Append(5)
			f := newFollower(t, w, false, nil)
			got := collect(t, f, 5)
			renamed := w.Rotate()
			// the new live file exists, empty, when the follower reaches it
			if err := os.WriteFile(w.path(), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			assertNothing(t, f)
			pos := f.Positions()
			f.Close()
			if len(pos) != 1 || pos[0].File != w.path() {
				t.Fatalf("positions %+v: the empty live file is not named", pos)
			}
			// while down: the file fills and rotates away
			w.Append(6)
			if archived {
				w.Archive(w.Rotate())
				w.Archive(renamed)
			} else {
				w.Rotate()
			}
			w.Append(2)
			f = newFollower(t, w, false, pos)
			defer f.Close()
			got = append(got, collect(t, f, 8)...)
			assertNothing(t, f)
			checkSame(t, got, w.Written())
			if g := f.Stats()[0].Gaps; g != 0 {
				t.Errorf("%d gaps reported", g)
			}
		})
	}
}

// While the live path is missing after a rotation, a whole file can be
// written and rotated away before the follower looks again: it must be
// found by a catch-up, not skipped by opening whatever the live path holds.
func TestFileComesAndGoesWhileLiveMissing(t *testing.T) {
	w, f, got := following(t, 5)
	w.Rotate()
	assertNothing(t, f) // finished the rotated file; no live file yet
	w.Append(3)
	w.Archive(w.Rotate()) // a whole file, gone into the archive
	w.Append(2)
	got = append(got, collect(t, f, 5)...)
	assertNothing(t, f)
	checkSame(t, got, w.Written())
}

// A .gz copy still being written (too short to compare) beside its plain
// renamed file is that file's copy, not a new file to read after it.
func TestGzipCopyBeingWritten(t *testing.T) {
	w, f, got := following(t, 5)
	renamed := w.Rotate()
	// the archiver has created the .gz and not written it yet
	day := filepath.Join(w.archive, "2026-11-25")
	os.MkdirAll(day, 0o755)
	if err := os.WriteFile(filepath.Join(day, "conn.18:00:00-18:01:00.log.gz"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	assertNothing(t, f)
	if filepath.Base(renamed) != "conn.2026-11-25-18-00-00.log" {
		t.Fatalf("renamed %s: the test's archive name is out of step", renamed)
	}
	// a file comes and goes before the next look: found only if the
	// follower still knows where it stands (the plain file, not the .gz)
	w.Append(3)
	w.Rotate()
	w.Append(2)
	got = append(got, collect(t, f, 5)...)
	assertNothing(t, f)
	checkSame(t, got, w.Written())
	if st := f.Stats()[0]; st.Gaps != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Ready hands out what can be read now, in Next's order, and nil when
// every log is idle, without waiting; rows appended later are ready once
// written (and Positions count the rows Ready handed out).
func TestReady(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), false)
	defer w.Close()
	w.Append(10)
	f := newFollower(t, w, false, nil)
	defer f.Close()
	ready := func() (got []string) {
		for {
			ev, err := f.Ready()
			if err != nil {
				t.Fatal(err)
			}
			if ev == nil {
				return got
			}
			got = append(got, uidOf(ev))
		}
	}
	got := collect(t, f, 1)
	got = append(got, ready()...)
	w.Append(5)
	got = append(got, ready()...)
	checkSame(t, got, w.Written())
	if pos := f.Positions(); len(pos) != 1 || pos[0].Offset != fileSize(t, filepath.Join(w.dir, "conn.log")) {
		t.Errorf("positions %+v after every row was handed out", pos)
	}
}

// A sidecar may start before Zeek has created its log directory, and
// zeekctl's post-terminate replaces the directory when Zeek stops (moved
// away, a new one created). Live, the follower waits for the directory and
// watches whichever one is there: with polling out of the way (an hour),
// only the watch of the new directory can deliver its rows.
func TestLogDirAppearsAndIsReplaced(t *testing.T) {
	root := t.TempDir()
	w := newZeekWriter(t, root, false)
	defer w.Close()
	if err := os.Remove(w.dir); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Dir: w.dir, Drain: true}, nil); err == nil {
		t.Fatal("--drain on a missing log directory: no error")
	}
	f := newFollower(t, w, false, nil)
	defer f.Close()
	waitWatched := func() {
		t.Helper()
		f.opts.PollInterval = 5 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		fi, err := os.Stat(w.dir)
		if err != nil {
			t.Fatal(err)
		}
		dev, ino := devIno(fi)
		for !f.watched || f.watchDev != dev || f.watchIno != ino {
			short, c := context.WithTimeout(ctx, 20*time.Millisecond)
			ev, _ := f.Next(short)
			c()
			if ev != nil || ctx.Err() != nil {
				t.Fatalf("waiting for the watch of %s: row %v, %v", w.dir, ev, ctx.Err())
			}
		}
		f.opts.PollInterval = time.Hour
	}

	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	waitWatched()
	w.Append(3)
	got := collect(t, f, 3)

	// zeekctl stop: the directory moves away with its log, a new one comes.
	w.Append(2)
	got = append(got, collect(t, f, 2)...)
	if err := os.Rename(w.dir, filepath.Join(root, "post-terminate")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w.f, w.clock = nil, w.clock.Add(time.Hour)
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	waitWatched()
	w.Append(4)
	got = append(got, collect(t, f, 4)...)
	checkSame(t, got, w.Written())
}

// zeekctl with several loggers names archived files with the logger's node
// name (make-archive-name appends "-$ZEEK_ARG_LOG_SUFFIX":
// conn.18:00:00-18:01:00-logger-1.log.gz) and writes that name to
// .log_suffix in the logger's directory. Such names did not match and were
// ordered by mtime, which an archiver or a copy does not keep in rotation
// order; and another logger's files were read as this one's.
func TestRestartArchiveWithLoggerSuffix(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), false)
	defer w.Close()
	w.logger = "logger-1"
	os.WriteFile(filepath.Join(w.dir, ".log_suffix"), []byte("logger-1\n"), 0o644)
	w.Append(10)
	f := newFollower(t, w, true, nil)
	got := collect(t, f, 4)
	pos := f.Positions()
	f.Close()
	w.Append(3)
	a1 := w.Archive(w.Rotate())
	w.Append(5)
	a2 := w.Archive(w.Rotate())
	w.Append(2)
	// mtimes against rotation order
	now := time.Now()
	os.Chtimes(a2, now.Add(-2*time.Hour), now.Add(-2*time.Hour))
	os.Chtimes(a1, now.Add(-time.Hour), now.Add(-time.Hour))
	// Another logger's file of the same hour, which this one must not read.
	other := filepath.Join(filepath.Dir(a1), "conn.18:00:30-18:01:30-logger-2.log.gz")
	writeGz(t, other, []byte(strings.Replace(w.headerBlock(), "#open", "#open\t2026-11-25-18-00-30\n#x", 1)+
		strings.Replace(strings.Join(w.rows[0], "\t"), w.rows[0][1], "Cotherlogger", 1)+"\n"))

	names := func(cs []*rotated) (out []string) {
		for _, c := range cs {
			out = append(out, filepath.Base(c.path))
		}
		return out
	}
	cands := names(rotatedCandidates(w.dir, w.archive, "conn", w.path()))
	if want := []string{filepath.Base(a1), filepath.Base(a2)}; !slices.Equal(cands, want) {
		t.Fatalf("candidates %v, want %v", cands, want)
	}
	f = newFollower(t, w, true, pos)
	defer f.Close()
	got = append(got, drainAll(t, f)...)
	checkSame(t, got, w.Written())
	if g := f.Stats()[0].Gaps; g != 0 {
		t.Fatalf("gaps %d", g)
	}
}

// A log with no file at the last checkpoint, whose file then appeared and
// was rotated while the follower was stopped: the restart read only the
// new live file, and the rotated rows were skipped without a gap or a
// warning. With Options.Since (the checkpoint's time) the files rotated
// since are read first; older ones (before the checkpoint, less the
// slack) are not. Crashing before reading them loses nothing either: the
// first checkpoint names the first of them.
func TestRestartLogWithoutPosition(t *testing.T) {
	root := t.TempDir()
	w := newZeekWriter(t, root, false)
	defer w.Close()
	// A file rotated long before the checkpoint: not this run's business.
	w.Append(4)
	old := w.Archive(w.Rotate())
	past := time.Now().Add(-3 * time.Hour)
	os.Chtimes(old, past, past)
	before := len(w.Written())

	f := newFollower(t, w, true, nil)
	if got := drainAll(t, f); len(got) != 0 {
		t.Fatalf("no live file, yet %d rows", len(got))
	}
	pos := f.Positions()
	f.Close()
	if len(pos) != 0 {
		t.Fatalf("positions %+v for a log without a file", pos)
	}
	saved := time.Now()

	// Stopped: the file appears, is rotated (renamed, then gzipped) twice.
	w.Append(5)
	w.Archive(w.Rotate())
	w.Append(6)
	w.Rotate()
	w.Append(3)
	want := w.Written()[before:]

	start := func(from []Position, since time.Time) *Follower {
		f, err := New(Options{Dir: w.dir, Logs: []string{"conn"}, Drain: true, Since: since,
			Warn: func(format string, args ...any) { t.Logf("warn: "+format, args...) }}, from)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	// Started, checkpointed at once, killed before reading a row.
	f = start(nil, saved)
	pos = f.Positions()
	f.Close()
	if len(pos) != 1 || pos[0].Offset != 0 || !strings.HasSuffix(pos[0].File, ".log.gz") {
		t.Fatalf("first checkpoint %+v: want the first file rotated since, at 0", pos)
	}
	f = start(pos, time.Now())
	defer f.Close()
	checkSame(t, drainAll(t, f), want)
	if s := f.Stats()[0]; s.Gaps != 0 {
		t.Fatalf("gaps %d", s.Gaps)
	}
}

// The archive search covers the last maxDays date directories only, as
// the README and 'zeekanom run --help' say: a checkpointed file in an
// older one is a gap, warned about, and the live file is read from its
// start.
func TestArchiveSearchIsBoundedAsDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("(`maxDays`, %d): only the last %d date", maxDays, maxDays); !strings.Contains(string(readme), want) {
		t.Errorf("README does not state the archive bound: want %q", want)
	}
	w, got, pos := drainedOnce(t, 10)
	w.Append(3)
	w.Archive(w.Rotate()) // into 2026-11-25/
	for d := 1; d <= maxDays; d++ {
		os.MkdirAll(filepath.Join(w.archive, fmt.Sprintf("2026-11-%02d", 25+d)), 0o755)
	}
	w.Append(2)
	var warned []string
	f, err := New(Options{Dir: w.dir, Logs: []string{"conn"}, Drain: true,
		Warn: func(format string, args ...any) { warned = append(warned, fmt.Sprintf(format, args...)) }}, pos)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got = append(got, drainAll(t, f)...)
	all := w.Written()
	checkSame(t, got, append(all[:10:10], all[13:]...))
	if g := f.Stats()[0].Gaps; g != 1 || len(warned) != 1 || !strings.Contains(warned[0], "not found") {
		t.Fatalf("gaps %d, warnings %q: want one gap, warned", g, warned)
	}
}

// The archiver compresses a rotated file after a restart's listing queued
// it as a plain file alone (zeekctl's archive-log runs its postprocessors
// first, zeek-archiver polls every few seconds) and removes the plain file
// before it is opened: its .gz is read instead. Its rows were lost, a gap
// (seen on a sidecar restarted while rotated files waited for archiving).
func TestRestartArchivedAfterListing(t *testing.T) {
	for _, which := range []int{0, 1} { // the checkpointed file, or one rotated after it
		t.Run(fmt.Sprint(which), func(t *testing.T) {
			w, got, pos := drainedOnce(t, 10)
			w.Append(3)
			rotated := []string{w.Rotate()}
			w.Append(4)
			rotated = append(rotated, w.Rotate())
			w.Append(2)
			f := newFollower(t, w, true, pos)
			defer f.Close()
			tl := f.tails[0]
			tl.resume = false
			tl.reconcile(tl.pos, true)
			if len(tl.queue) != 2 || tl.queue[which].gz || len(tl.queue[which].alts) != 0 {
				t.Fatalf("queue %+v", tl.queue)
			}
			w.Archive(rotated[which])
			got = append(got, drainAll(t, f)...)
			checkSame(t, got, w.Written())
			if g := f.Stats()[0].Gaps; g != 0 {
				t.Fatalf("gaps %d", g)
			}
		})
	}
}

// A log's path that is not a regular file is not read: a FIFO there (or a
// symlink to one) blocked run in open(2) for ever, SIGTERM included, and a
// symlink to /dev/zero never ends, so 'run --drain' never did. It is
// warned about, and the other logs are read.
func TestLogThatIsNotARegularFile(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), false)
	t.Cleanup(w.Close)
	w.Append(5)
	if err := mkfifo(filepath.Join(w.dir, "dns.log")); err != nil {
		t.Skip(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(w.dir, "http.log")); err != nil {
		t.Fatal(err)
	}
	var warned []string
	done := make(chan []string, 1)
	go func() {
		f, err := New(Options{Dir: w.dir, Logs: []string{"conn", "dns", "http"}, Drain: true,
			Warn: func(format string, a ...any) { warned = append(warned, fmt.Sprintf(format, a...)) }}, nil)
		if err != nil {
			t.Error(err)
			done <- nil
			return
		}
		defer f.Close()
		done <- drainAll(t, f)
	}()
	select {
	case got := <-done:
		if len(got) != 5 {
			t.Errorf("%d rows, want conn.log's 5", len(got))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("drain did not end in 10 s")
	}
	for _, want := range []string{"dns.log is a FIFO, not a regular file", "http.log is a device, not a regular file"} {
		if !slices.ContainsFunc(warned, func(w string) bool { return strings.Contains(w, want) }) {
			t.Errorf("warnings %q, want one with %q", warned, want)
		}
	}
}

// A live path that cannot be opened (a FIFO there, or unreadable) is
// warned of once until the failure changes, not at every poll (a line a
// second in the journal); once it opens, its rows are read.
func TestOpenFailureWarnedOnce(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), false)
	t.Cleanup(w.Close)
	w.Append(5)
	fifo := filepath.Join(w.dir, "dns.log")
	if err := mkfifo(fifo); err != nil {
		t.Skip(err)
	}
	var warned []string
	f, err := New(Options{Dir: w.dir, Logs: []string{"conn", "dns"}, NoNotify: true,
		Warn: func(format string, a ...any) { warned = append(warned, fmt.Sprintf(format, a...)) }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := 0
	for range 50 {
		if ev, err := f.Ready(); err != nil {
			t.Fatal(err)
		} else if ev != nil {
			rows++
		}
	}
	n := 0
	for _, m := range warned {
		if strings.Contains(m, "FIFO") {
			n++
		}
	}
	if rows != 5 || n != 1 {
		t.Fatalf("%d rows, the FIFO warned of %d times: %q", rows, n, warned)
	}
}

// corelight/json-streaming-logs' rotated files (json_streaming_conn.1.log
// the newest, .2.log before it, ...) are in the order of their numbers,
// whatever their times say: renamed within the file system's time
// granularity, or copied in name order, they were read newest first and
// their rows went back in time (a beacon's risk 56.8 became 57 in
// cmd/zeekanom's TestRunFollowsJSONStreamingLogs).
func TestNumberedRotationsInNumberOrder(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	for i, name := range []string{"json_streaming_conn.1.log", "json_streaming_conn.2.log", "json_streaming_conn.10.log", "json_streaming_conn.3.log"} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(name+"\n"), 0o644)
		mt := now.Add(time.Duration(i) * time.Second) // copied in name order: the newest the oldest
		os.Chtimes(p, mt, mt)
	}
	var got []string
	for _, c := range rotatedCandidates(dir, "", "json_streaming_conn", filepath.Join(dir, "json_streaming_conn.log")) {
		got = append(got, filepath.Base(c.path))
	}
	want := []string{"json_streaming_conn.10.log", "json_streaming_conn.3.log", "json_streaming_conn.2.log", "json_streaming_conn.1.log"}
	if !slices.Equal(got, want) {
		t.Errorf("candidates %v, want %v", got, want)
	}
}
