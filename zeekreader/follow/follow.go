// Package follow follows the live logs of a Zeek log directory (zeekctl's
// logs/current or a standalone Zeek's working directory) across rotation,
// truncation and restarts, and checkpoints what it handed out.
//
// A Follower is used from one goroutine: Next returns the next row of any
// followed log; Positions, called between two Next calls, gives the offset
// just past the last row returned, which is what the caller checkpoints
// together with its detectors' state (see State, SaveState).
package follow

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// DefaultLogs are the logs followed when none are configured.
var DefaultLogs = []string{"conn", "dns", "http", "ssl"}

// Options configure a Follower.
type Options struct {
	// Dir is the live log directory (logs/current).
	Dir string
	// Logs are the log names followed (Dir/<name>.log); DefaultLogs if empty.
	Logs []string
	// ArchiveDir holds zeekctl's date directories of compressed rotated
	// logs; "" means the parent of Dir when Dir is named "current" (the
	// zeekctl layout), else Dir itself.
	ArchiveDir string
	// PollInterval is how often files are checked when no file-system
	// event arrives (the fallback when fsnotify is unavailable, and a
	// safety net with it). Default 1s.
	PollInterval time.Duration
	// Drain makes Next return io.EOF once every log (and every file
	// rotated away) has been read to its current end, instead of waiting.
	Drain bool
	// NoNotify disables fsnotify (polling only).
	NoNotify bool
	// Since is when the checkpoint that New's positions come from was
	// saved (State.SavedAt); zero without a checkpoint. A log without a
	// position in it (its file appeared after the checkpoint, or was
	// empty then) starts with its rotated files last modified after Since
	// (less sinceSlack), then its live file, as a log with a position
	// reads what rotated since; zero: every log starts at its live file
	// (`zeekanom run` passes its start time on a first start).
	Since time.Time
	// Warn receives non-fatal problems (a checkpointed file that can no
	// longer be found, a truncated file). May be nil.
	Warn func(format string, args ...any)
}

// LogStats are one log's counters.
type LogStats struct {
	Log         string
	Rows        int64     // rows handed out
	ParseErrors int64     // rows skipped as malformed
	Newest      time.Time // newest ts handed out
	BytesBehind int64     // live file size minus the offset read (plus queued rotated files)
	Rotations   int64     // rotations followed
	Truncations int64     // truncations detected
	Gaps        int64     // checkpointed files that could not be found again
	Partial     int64     // partial last lines dropped when a rotated file ended without newline
}

// Follower follows the logs of one directory.
type Follower struct {
	opts    Options
	tails   []*tail
	handed  uint64 // rows handed out (Ready), which paces the polls of idle logs
	wake    chan struct{}
	watcher *fsnotify.Watcher
	wg      sync.WaitGroup
	done    chan struct{}

	// the log directory the watcher watches (see rewatch)
	watched            bool
	watchDev, watchIno uint64
	watchWarned        bool
}

// sinceSlack widens Options.Since: a file may have been written just
// before the checkpoint without the follower having opened it yet (up to
// a poll interval), and file times can be coarse or from another clock
// (NFS). A log without a position had no row handed out before that
// checkpoint (a position, once there, stays in every later one), so the
// slack does not repeat rows.
const sinceSlack = time.Minute

// idlePollRows is how many rows of the other logs go out before a log
// that was idle is looked at again (when every log is idle, all are
// looked at): an idle live file costs a stat or two a look.
const idlePollRows = 512

// New starts following. Positions from a checkpoint (may be nil) say where
// each log resumes; logs without one start at the beginning of the live file.
func New(opts Options, from []Position) (*Follower, error) {
	if opts.Dir == "" {
		return nil, errors.New("follow: no log directory")
	}
	if opts.Warn == nil {
		opts.Warn = func(string, ...any) {}
	}
	if st, err := os.Stat(opts.Dir); err != nil {
		// Live, a directory that Zeek has not created yet (a sidecar
		// started before zeekctl deploy, or while zeekctl's
		// post-terminate replaces it) is waited for like a missing log.
		if opts.Drain || !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("follow: %w", err)
		}
		opts.Warn("log directory %s does not exist (yet): waiting for it", opts.Dir)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("follow: %s is not a directory", opts.Dir)
	}
	if len(opts.Logs) == 0 {
		opts.Logs = DefaultLogs
	}
	if dirExists(opts.Dir) {
		warnNoLiveLog(opts)
	}
	if opts.ArchiveDir == "" {
		opts.ArchiveDir = opts.Dir
		if filepath.Base(filepath.Clean(opts.Dir)) == "current" {
			opts.ArchiveDir = filepath.Dir(filepath.Clean(opts.Dir))
		}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	f := &Follower{opts: opts, wake: make(chan struct{}, 1), done: make(chan struct{})}
	pos := map[string]Position{}
	for _, p := range from {
		pos[p.Log] = p
	}
	for _, l := range opts.Logs {
		t := &tail{f: f, log: l, path: filepath.Join(opts.Dir, l+".log")}
		t.stats.Log = l
		if p, ok := pos[l]; ok {
			t.pos = p
			t.resume = true
		} else if !opts.Since.IsZero() {
			t.startSince(opts.Since.Add(-sinceSlack))
		} else if s, err := openSource(t.path, false, true); err == nil {
			// Open now, so that the first checkpoint (before any row is
			// read) already names the file and offset 0.
			if err := t.begin(s, 0); err != nil {
				s.close()
			}
		}
		f.tails = append(f.tails, t)
	}
	if !opts.NoNotify && !opts.Drain {
		if w, err := fsnotify.NewWatcher(); err == nil {
			f.watcher = w
			f.wg.Add(1)
			go f.watch()
			f.rewatch()
		} else {
			opts.Warn("fsnotify: %v; polling every %s", err, opts.PollInterval)
		}
	}
	return f, nil
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// warnNoLiveLog says when the log directory holds none of the logs
// followed: run waited for them without a word, with a healthy /healthz,
// when --logdir named zeekctl's logs/ instead of logs/current.
func warnNoLiveLog(opts Options) {
	names := make([]string, len(opts.Logs))
	for i, l := range opts.Logs {
		names[i] = l + ".log"
		if _, err := os.Lstat(filepath.Join(opts.Dir, names[i])); err == nil {
			return
		}
	}
	hint := ""
	if cur := filepath.Join(opts.Dir, "current"); dirExists(cur) {
		hint = fmt.Sprintf(" (zeekctl writes its live logs to %s)", cur)
	}
	// corelight/json-streaming-logs with disable_default_logs: only its
	// json_streaming_conn.log and the like, which the logs named so are
	// (run's [input] logs)
	var streaming []string
	for _, l := range opts.Logs {
		if _, err := os.Lstat(filepath.Join(opts.Dir, "json_streaming_"+l+".log")); err == nil {
			streaming = append(streaming, "json_streaming_"+l)
		}
	}
	if len(streaming) > 0 {
		hint = fmt.Sprintf(" (it has json-streaming-logs' files: follow %s)", strings.Join(streaming, ", "))
	}
	opts.Warn("log directory %s has no %s (yet): waiting for them%s", opts.Dir, strings.Join(names, ", "), hint)
}

// rewatch adds the fsnotify watch of the log directory when it is not
// watched yet (it did not exist, or adding failed) or was replaced by a
// new directory (zeekctl's post-terminate moves a stopped node's directory
// away and creates a new one; a watch follows the old inode). It reports
// whether it added one. Until then, polling finds what changes.
func (f *Follower) rewatch() bool {
	if f.watcher == nil {
		return false
	}
	fi, err := os.Stat(f.opts.Dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	dev, ino := devIno(fi)
	if f.watched && dev == f.watchDev && ino == f.watchIno {
		return false
	}
	if err := f.watcher.Add(f.opts.Dir); err != nil {
		if !f.watchWarned {
			f.watchWarned = true
			f.opts.Warn("fsnotify on %s: %v; polling every %s", f.opts.Dir, err, f.opts.PollInterval)
		}
		return false
	}
	f.watched, f.watchDev, f.watchIno = true, dev, ino
	return true
}

func (f *Follower) watch() {
	defer f.wg.Done()
	for {
		select {
		case <-f.done:
			return
		case _, ok := <-f.watcher.Events:
			if !ok {
				return
			}
			f.poke()
		case _, ok := <-f.watcher.Errors:
			if !ok {
				return
			}
			f.poke() // overflow: re-check everything
		}
	}
}

func (f *Follower) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// errIdle: a tail has nothing to give right now.
var errIdle = errors.New("idle")

// Next returns the next row of any followed log. It blocks until one is
// available or ctx is done (returning ctx.Err()); with Drain it returns
// io.EOF when everything has been read. Row errors are counted, not
// returned. The event is valid until the next call.
func (f *Follower) Next(ctx context.Context) (*zeekreader.Event, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if ev, err := f.Ready(); ev != nil || err != nil {
			return ev, err
		}
		if f.opts.Drain {
			return nil, io.EOF
		}
		if f.rewatch() {
			continue // look again: what changed before the watch sent no event
		}
		if timer == nil {
			timer = time.NewTimer(f.opts.PollInterval)
		} else {
			timer.Reset(f.opts.PollInterval)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-f.wake:
		case <-timer.C:
		}
	}
}

// Ready returns the next row of any followed log if one can be read now,
// or nil when every log is idle (Next would wait). Row errors are counted,
// not returned. The event is valid until the next call of Ready or Next.
//
// The logs are merged by time: each log's next row is read ahead (its
// position not yet past it), and the row with the earliest ts goes out,
// as score merges files. Taking the logs in turns of 512 rows (before
// 2026-12-01), a backlog (a restart after a stop, a first start beside
// logs already written) went out log by log, hours apart, and the
// detectors that join logs (beacon: conn, ssl and http; iforest: all
// four) dropped the rows of the log that fell more than an hour behind as
// late: run --drain over TrickBot's week of logs gave 4 beacon notices
// where score gave 56.
func (f *Follower) Ready() (*zeekreader.Event, error) {
	for pass := 0; pass < 2; pass++ {
		var best *tail
		skipped := false
		for _, t := range f.tails {
			if pass == 0 && t.ahead == nil && t.idle && f.handed-t.idleAt < idlePollRows {
				skipped = true
				continue
			}
			ev, err := t.head()
			if err == errIdle {
				t.idle, t.idleAt = true, f.handed
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.log, err)
			}
			t.idle = false
			if best == nil || ev.TS.Before(best.ahead.TS) {
				best = t
			}
		}
		if best != nil {
			f.handed++
			return best.take(), nil
		}
		if !skipped {
			break
		}
	}
	return nil, nil
}

// Positions returns the checkpoint of every log: the file being read and
// the offset just past the last row returned by Next or Ready.
func (f *Follower) Positions() []Position {
	out := make([]Position, 0, len(f.tails))
	for _, t := range f.tails {
		at, done := &t.pos, t.done
		if t.ahead != nil {
			// a row read ahead is not handed out: where the tail was
			// before it
			at, done = &t.outPos, t.outDone
		}
		t.refreshID(at)
		p := *at
		if p.Offset == 0 && (done.File != "" || p.ID.FPLen == 0) {
			// Nothing of this file read yet: resume after the file before
			// it, whose identity is complete, rather than from this one,
			// which may not be identifiable yet (opened empty, or a .gz
			// still being written, read short); a restart finds that file
			// renamed or compressed and queues everything rotated after
			// it. Without one, nothing to resume: a restart reads the live
			// file.
			p = done
		}
		if p.File == "" {
			continue
		}
		out = append(out, p)
	}
	return out
}

// Stats returns every log's counters (BytesBehind measured now).
func (f *Follower) Stats() []LogStats {
	out := make([]LogStats, 0, len(f.tails))
	for _, t := range f.tails {
		s := t.stats
		s.BytesBehind = t.behind()
		out = append(out, s)
	}
	return out
}

// Close releases files and the watcher.
func (f *Follower) Close() error {
	close(f.done)
	if f.watcher != nil {
		f.watcher.Close()
	}
	f.wg.Wait()
	for _, t := range f.tails {
		t.closeFile()
	}
	return nil
}

// tail follows one log: a queue of rotated files to finish, then the live
// path.
type tail struct {
	f    *Follower
	log  string
	path string

	pos      Position // checkpoint: file being read and offset past the last row
	done     Position // pos when the last file was finished (or the checkpoint resumed from)
	resume   bool     // pos comes from a checkpoint and has not been applied
	resumeAt int64    // offset in the first queued file (the checkpointed one)
	queue    []queued // finished files to read before the live path
	catch    bool     // look for files rotated after pos before the live path
	// truncated: the live file was emptied in place; its copy, if
	// logrotate's copytruncate made one, is read from pos first
	truncated bool
	dirMod    time.Time // the log directory's mtime at the last look without a live file

	cur     *source // file being read
	pending *source // the live file, opened before the catch-up was listed

	// ahead is the next row, read ahead for the merge by time (Ready);
	// outPos and outDone are pos and done before it was read, what
	// Positions reports until it is handed out
	ahead           *zeekreader.Event
	outPos, outDone Position
	// idle: the last look found no row, at handed (Follower.handed)
	idle   bool
	idleAt uint64
	// openWarned: the failure to open the live path last warned of
	openWarned string

	stats LogStats
}

// head reads the tail's next row ahead (once), or returns errIdle.
func (t *tail) head() (*zeekreader.Event, error) {
	if t.ahead != nil {
		return t.ahead, nil
	}
	t.applyResume()
	pos, done := t.pos, t.done
	ev, err := t.next()
	if err != nil {
		return nil, err
	}
	t.ahead, t.outPos, t.outDone = ev, pos, done
	return ev, nil
}

// take hands out the row read ahead: the tail's position is now past it.
func (t *tail) take() *zeekreader.Event {
	ev := t.ahead
	t.ahead = nil
	return ev
}

// source is one open file.
type source struct {
	path     string
	file     *os.File
	rd       *zeekreader.Reader
	er       *zeekreader.EventReader
	id       Identity
	head     []byte // first bytes (what the fingerprint hashes)
	live, gz bool
	prefix   int64 // bytes of replayed header lines before the file data
	base     int64 // file offset where the file data starts in the reader stream
	skip     int64 // rows ending at or before this offset were already handed out
	rotating bool  // the live path moved away: read to the end once more
	idle     bool  // the live file's end was reached: check it before reading on
	// warnedRow: a malformed row of this file was warned about
	warnedRow bool
}

// fileOff maps a reader stream offset to an offset in the file.
func (s *source) fileOff(off int64) int64 { return s.base + off - s.prefix }

func (s *source) close() {
	if s == nil {
		return
	}
	if s.er != nil {
		s.er.Close() // closes the file too
	} else if s.file != nil {
		s.file.Close()
	}
}

func (t *tail) warn(format string, args ...any) {
	t.f.opts.Warn(t.log+": "+format, args...)
}

// openFailed reports whether opening the live path failed (err not nil),
// and warns of it unless it does not exist yet or is the failure warned
// of last (an unreadable conn.log, or a FIFO there, was warned of at every
// poll, a line a second in the journal); an open that works forgets it.
func (t *tail) openFailed(err error) bool {
	switch {
	case err == nil:
		t.openWarned = ""
	case errors.Is(err, os.ErrNotExist):
	case err.Error() != t.openWarned:
		t.openWarned = err.Error()
		t.warn("%v (warned once until it changes)", err)
	}
	return err != nil
}

func (t *tail) closeFile() {
	t.cur.close()
	t.pending.close()
	t.cur, t.pending = nil, nil
}

// openSource opens path and identifies it from the open descriptor (so a
// rename between open and identify cannot mix two files).
func openSource(path string, gz, live bool) (*source, error) {
	fh, fi, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	var head []byte
	if gz {
		head, err = readPrefix(path, FingerprintBytes)
		if err != nil {
			fh.Close()
			return nil, err
		}
	} else {
		head = make([]byte, FingerprintBytes)
		n, _ := fh.ReadAt(head, 0)
		head = head[:n]
	}
	id := identityOf(fi, head)
	if gz {
		id.Dev, id.Ino = 0, 0 // a compressed copy: only its content identifies it
	}
	return &source{path: path, file: fh, id: id, head: head, gz: gz, live: live}, nil
}

// openRegular opens path for reading if it is a regular file, and gives
// its FileInfo. It opens without blocking and then checks the descriptor:
// a FIFO at a log's path (a symlink to one, or mkfifo in the log
// directory) blocked run in open(2) for ever, SIGTERM included (it waits
// for a writer), and a character device (a symlink to /dev/zero) never
// ends, so 'run --drain' never did.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	fh, err := os.OpenFile(path, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := fh.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		what := "not a regular file"
		switch m := fi.Mode(); {
		case m&os.ModeNamedPipe != 0:
			what = "a FIFO, not a regular file"
		case m&os.ModeDevice != 0:
			what = "a device, not a regular file"
		case m.IsDir():
			what = "a directory, not a regular file"
		}
		err = fmt.Errorf("%s is %s", path, what)
	}
	if err != nil {
		fh.Close()
		return nil, nil, err
	}
	return fh, fi, nil
}

// begin starts reading s at offset from (0: the beginning). A plain file
// seeks there after replaying every header line before it, so the reader
// knows the schema in effect; a .gz is read from its start, skipping rows
// already handed out.
func (t *tail) begin(s *source, from int64) error {
	var src io.Reader = s.file
	if s.gz {
		s.skip = from
	} else if from > 0 {
		fi, err := s.file.Stat()
		if err != nil {
			return err
		}
		if from > fi.Size() {
			t.warn("%s is shorter (%d) than the checkpoint (%d): reading from the start", s.path, fi.Size(), from)
			t.stats.Truncations++
			from = 0
		} else {
			hdr, err := headerLines(s.file, from)
			if err != nil {
				return err
			}
			if _, err := s.file.Seek(from, io.SeekStart); err != nil {
				return err
			}
			s.prefix, s.base = int64(len(hdr)), from
			src = &prefixReader{head: hdr, rest: s.file}
		}
	}
	s.rd = zeekreader.NewReader(readCloser{src, s.file}, s.path, zeekreader.Options{Live: s.live, Path: t.log})
	s.er = zeekreader.NewEventReader(s.rd)
	s.er.All = true
	t.cur = s
	t.pos = Position{Log: t.log, File: s.path, ID: s.id, Offset: from}
	return nil
}

// prefixReader serves head, then rest. Unlike io.MultiReader it keeps
// asking rest after an io.EOF: a live file grows.
type prefixReader struct {
	head []byte
	rest io.Reader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	return p.rest.Read(b)
}

type readCloser struct {
	io.Reader
	io.Closer
}

// headerLines returns every line starting with '#' in f before offset end.
func headerLines(f *os.File, end int64) ([]byte, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, end), 64<<10)
	var out []byte
	atStart, inHeader := true, false
	for {
		line, err := br.ReadSlice('\n')
		if atStart {
			inHeader = len(line) > 0 && line[0] == '#'
		}
		if inHeader {
			out = append(out, line...)
		}
		atStart = err == nil
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if inHeader && len(line) > 0 && line[len(line)-1] != '\n' {
				out = append(out, '\n')
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// reconcile decides what to read after the file last (read up to
// last.Offset): at a restart (checkpoint) or after finishing a file. The
// live file is opened first, then the rotated files are listed: whatever
// rotated before the live file was created is then already in the list.
func (t *tail) reconcile(last Position, restart bool) {
	live, err := openSource(t.path, false, true)
	t.openFailed(err)
	if live != nil && sameInode(live.id, last.ID) && last.ID.matches(live.head) {
		if err := t.begin(live, last.Offset); err != nil {
			live.close()
			t.warn("%v", err)
		}
		return
	}
	liveID := liveIdentity(live)
	copied := t.truncated && !restart
	t.truncated = false
	q, found := catchUp(t.f.opts.Dir, t.f.opts.ArchiveDir, t.log, t.path, last.ID, liveID, copied)
	for try := 0; !found && try < 2; try++ {
		// An archiver may have moved the file between our listing of the
		// log directory and of the archive (plain removed, .gz not listed
		// yet): look once more before calling it lost.
		q, found = catchUp(t.f.opts.Dir, t.f.opts.ArchiveDir, t.log, t.path, last.ID, liveID, copied)
	}
	if restart && !found {
		t.stats.Gaps++
		t.warn("checkpointed file %s (offset %d) not found in %s or %s: rows after the checkpoint may be lost",
			last.File, last.Offset, t.f.opts.Dir, t.f.opts.ArchiveDir)
	}
	if !restart && !copied && len(q) > 0 && q[0].resume {
		q = q[1:] // the file just finished
	}
	// copied: the copy of the file emptied in place (copytruncate) is
	// read from the offset reached, for the rows written before the copy
	// that were not read yet (those written between the copy and the
	// truncation are lost); found or not, the live file is read again
	// from its start
	t.queue, t.resumeAt = q, last.Offset
	t.pending = live
}

// liveIdentity is the identity of the live file opened before a listing
// (zero if none), identified again now from the open descriptor: it may
// have grown (and been renamed, and compressed) since it was opened.
func liveIdentity(live *source) Identity {
	if live == nil {
		return Identity{}
	}
	id := live.id
	head := make([]byte, FingerprintBytes)
	if n, _ := live.file.ReadAt(head, 0); n > id.FPLen {
		if fi, err := live.file.Stat(); err == nil {
			id = identityOf(fi, head[:n])
		}
	}
	return id
}

// startSince starts a log that has no checkpointed file although there is
// a checkpoint (its file appeared after it, or it was empty then): the
// files rotated since are read before the live file, as for a log with a
// position. The first file is opened now, so that the first checkpoint
// already names it and a restart finds it and what rotated after it.
func (t *tail) startSince(since time.Time) {
	live, err := openSource(t.path, false, true)
	t.openFailed(err)
	t.queue = rotatedSince(t.f.opts.Dir, t.f.opts.ArchiveDir, t.log, t.path, since, liveIdentity(live))
	t.pending = live
	if len(t.queue) > 0 {
		t.openQueued()
	} else if live != nil {
		t.pending = nil
		if err := t.begin(live, 0); err != nil {
			live.close()
		}
	}
}

// openQueued opens the first queued file (or its copies), at the
// checkpoint's offset if it is the checkpointed one; if none opens, it is
// a gap.
func (t *tail) openQueued() {
	q := t.queue[0]
	t.queue = t.queue[1:]
	from := int64(0)
	if q.resume {
		from = t.resumeAt
	}
	var err error
	for _, c := range append([]queued{q}, q.alts...) {
		var s *source
		if s, err = openSource(c.path, c.gz, false); err == nil {
			if !q.is(s) {
				// the name is another file's now (logrotate's
				// conn.log.1 is the next rotation once this one is
				// conn.log.2): looked for by its identity below
				err = fmt.Errorf("%s is another file now: %w", c.path, os.ErrNotExist)
			} else if err = t.begin(s, from); err == nil {
				break
			}
			s.close()
		}
	}
	if errors.Is(err, os.ErrNotExist) {
		// Compressed after the listing and removed before this open
		// (zeekctl's archive-log and zeek-archiver put the .gz in place
		// before they remove the plain file), or renamed again
		// (logrotate's conn.log.1 to conn.log.2): read it there.
		if c, ok := archivedCopy(t.f.opts.Dir, t.f.opts.ArchiveDir, t.log, t.path, q.id); ok {
			var s *source
			if s, err = openSource(c.path, c.gz, false); err == nil {
				if err = t.begin(s, from); err != nil {
					s.close()
				}
			}
		}
	}
	if err != nil {
		t.stats.Gaps++
		t.warn("rotated file %s: %v", q.path, err)
	}
}

// next returns the tail's next row, or errIdle.
func (t *tail) next() (*zeekreader.Event, error) {
	t.applyResume()
	for {
		if t.cur == nil {
			if len(t.queue) > 0 {
				t.openQueued()
				continue
			}
			if t.pending != nil {
				s := t.pending
				t.pending = nil
				if err := t.begin(s, 0); err != nil {
					s.close()
					return nil, errIdle
				}
				continue
			}
			if t.catch || t.pos.File != "" {
				// After a finished file, the live path is opened only
				// through a catch-up: while we waited for it, a whole file
				// may have been written and rotated away. While nothing
				// changed (no live file, the directory as it was), there
				// is nothing to look for.
				if !t.catch && !t.changed() {
					return nil, errIdle
				}
				t.catch = false
				t.reconcile(t.pos, false)
				if t.cur != nil || len(t.queue) > 0 || t.pending != nil {
					continue
				}
				return nil, errIdle
			}
			s, err := openSource(t.path, false, true)
			if t.openFailed(err) {
				return nil, errIdle
			}
			if err := t.begin(s, 0); err != nil {
				s.close()
				return nil, errIdle
			}
			continue
		}
		s := t.cur
		if s.idle {
			// emptied and written again while we waited (copytruncate,
			// then rows past the offset reached): seen before reading
			// the new bytes from that offset as if they were the old
			s.idle = false
			if t.checkLive() == liveTruncated {
				t.truncate()
				return nil, errIdle
			}
		}
		ev, err := s.er.Next()
		if err == nil {
			end := s.fileOff(ev.Record.EndOffset())
			if end <= s.skip {
				continue
			}
			t.pos.Offset = end
			t.stats.Rows++
			if ev.TS.After(t.stats.Newest) {
				t.stats.Newest = ev.TS
			}
			return ev, nil
		}
		if zeekreader.IsRowError(err) {
			t.stats.ParseErrors++
			off := s.fileOff(s.rd.Offset())
			if off > s.skip && !s.warnedRow {
				// a file's first malformed row is named (file:line); the
				// rest are counted only, as a broken writer can make every
				// row one (run logged none: a count in /metrics was all)
				s.warnedRow = true
				t.warn("%v (further malformed rows of this file are counted, not logged: parse_errors_total in /metrics)", err)
			}
			if off > t.pos.Offset && off > s.skip {
				t.pos.Offset = off
			}
			continue
		}
		if err == io.EOF && s.live {
			// Headers and #close after the last row are consumed too.
			if off := s.fileOff(s.rd.Offset()); off > t.pos.Offset {
				t.pos.Offset = off
			}
			switch t.checkLive() {
			case liveSame:
				s.idle = true
				return nil, errIdle
			case liveTruncated:
				t.truncate()
				return nil, errIdle // reopened from the start on the next call
			case liveMoved:
				if !s.rotating {
					// The writer may have appended between our EOF and the
					// rename: read to the end once more.
					s.rotating = true
					continue
				}
				t.stats.Rotations++
				if t.rowBytes() < t.fileSize() {
					t.stats.Partial++
				}
				t.finish()
				continue
			}
		}
		if err != io.EOF {
			// A truncated .gz or an I/O error ends this file; its rows so
			// far were handed out. A live file is retried from its offset.
			t.warn("%s: %v", s.path, err)
			t.finish()
			if s.live {
				return nil, errIdle
			}
			continue
		}
		t.finish()
	}
}

// truncate closes the live file found emptied in place: the next call
// reads its copy, if there is one, from the offset reached, and then the
// file again from its start.
func (t *tail) truncate() {
	t.stats.Truncations++
	t.truncated = true
	t.warn("%s truncated: reading its copy, if any, from the offset reached, then the file from the start", t.path)
	t.closeFile()
}

// applyResume starts from the checkpointed position, once.
func (t *tail) applyResume() {
	if t.resume {
		t.resume = false
		t.done = t.pos // consumed up to here: what Positions falls back to
		t.reconcile(t.pos, true)
	}
}

// changed reports whether the live path exists or the log directory was
// modified (a file renamed, created or removed) since the last call.
func (t *tail) changed() bool {
	if _, err := os.Stat(t.path); err == nil {
		return true
	}
	fi, err := os.Stat(t.f.opts.Dir)
	if err != nil || fi.ModTime().Equal(t.dirMod) {
		return false
	}
	t.dirMod = fi.ModTime()
	return true
}

// rowBytes is how far the reader has consumed the current file.
func (t *tail) rowBytes() int64 { return t.cur.fileOff(t.cur.rd.Stats().Bytes) }

// finish closes the current file; the next call looks for what rotated
// after it.
func (t *tail) finish() {
	t.refreshID(&t.pos)
	t.done = t.pos
	t.cur.close()
	t.cur = nil
	t.catch = true
}

func (t *tail) fileSize() int64 {
	if t.cur == nil {
		return 0
	}
	fi, err := t.cur.file.Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

type liveState int

const (
	liveSame liveState = iota
	liveTruncated
	liveMoved
)

// checkLive compares the open live file with what the path names now.
func (t *tail) checkLive() liveState {
	s := t.cur
	fi, err := os.Stat(t.path)
	if err != nil {
		return liveMoved
	}
	ofi, err := s.file.Stat()
	if err != nil {
		return liveMoved
	}
	if !os.SameFile(fi, ofi) {
		return liveMoved
	}
	if ofi.Size() < t.rowBytes() {
		return liveTruncated
	}
	// Same inode rewritten from the start (copytruncate, then refilled
	// past our offset): the fingerprint changed, or the last row read no
	// longer ends where it did.
	if n := t.pos.ID.FPLen; n > 0 {
		buf := make([]byte, n)
		if k, _ := s.file.ReadAt(buf, 0); k == n && hashHex(buf) != t.pos.ID.FP {
			return liveTruncated
		}
	}
	if off := t.pos.Offset; off > 0 {
		var b [1]byte
		if k, _ := s.file.ReadAt(b[:], off-1); k == 1 && b[0] != '\n' {
			return liveTruncated
		}
	}
	return liveSame
}

// refreshID extends the fingerprint of a plain file that was shorter than
// FingerprintBytes when opened.
func (t *tail) refreshID(p *Position) {
	s := t.cur
	// (p is the current file's position: pos, or the position before a
	// row read ahead, which may be in the file before it, whose first
	// bytes can be the same header)
	if s == nil || s.gz || p.ID.FPLen >= FingerprintBytes || p.ID.Dev != s.id.Dev || p.ID.Ino != s.id.Ino {
		return
	}
	buf := make([]byte, FingerprintBytes)
	n, _ := s.file.ReadAt(buf, 0)
	if n > p.ID.FPLen && hashHex(buf[:p.ID.FPLen]) == p.ID.FP {
		p.ID.FPLen, p.ID.FP = n, hashHex(buf[:n])
	}
}

// behind is how many bytes are left to read: the live file past our
// offset, plus the live file and finished files still queued.
func (t *tail) behind() int64 {
	var n int64
	if t.cur != nil && !t.cur.gz {
		n += max(0, t.fileSize()-t.pos.Offset)
	}
	if t.cur == nil || !t.cur.live {
		if fi, err := os.Stat(t.path); err == nil {
			n += fi.Size()
		}
	}
	for _, q := range t.queue {
		if fi, err := os.Stat(q.path); err == nil {
			n += fi.Size()
		}
	}
	return n
}
