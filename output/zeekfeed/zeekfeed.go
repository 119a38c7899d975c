// Package zeekfeed writes notices to the feed file that the Zeek package in
// zeek-scripts/ reads and raises as notices inside Zeek's notice framework.
//
// The feed is a Zeek ASCII log (#path zeekanom_feed) with the columns of
// Fields. Its size is bounded: when the next row would take the file past
// MaxBytes, the file is renamed to PATH.1 (older ones move up to PATH.Keep,
// the oldest is dropped) and a new file is started.
//
// How that meets the reader: the Zeek script reads the feed with the raw
// input reader in STREAM mode, which (since Zeek 5.1) sees that PATH names a
// new file and reads it from its start. It switches without draining the old
// file, so rows written to the old file after its last poll would be lost.
// The sink therefore starts every new file with the last rows it wrote to
// the old one (up to a quarter of MaxBytes, at most 1 MiB, and of those only
// the rows first written less than carryFor, ten minutes, before), followed
// by the rows it had not written yet (those never go to the old file). The
// script remembers a raised id for replay_window (an hour by default), so a
// repeated row, raised at most carryFor earlier, is not raised again.
// Nothing is lost as long as what the sink writes to the old file after the
// reader's last poll of it (about a second's worth of rows) fits in that
// carry-over and the reader is less than carryFor behind; the buffer is
// written at half the carry-over at the latest, so a single write never
// exceeds it. Truncating in place instead would not work: both of Zeek's
// readers keep their offset past the new end of the file.
//
// Rows are written whole: Write buffers complete rows and the buffer goes to
// the file in one write call, so a reader sees a row cut in two only where
// the kernel splits a write at a page boundary; the script joins those.
//
// protocol_test.go checks all of this against models of the raw reader and
// of feed.zeek.
package zeekfeed

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/output/notice"
)

// Config is the [output.zeekfeed] section.
type Config struct {
	// Path of the feed file; ZeekAnom::feed_path in the Zeek script.
	Path string `toml:"path"`
	// MaxBytes is the size past which the file is rotated.
	MaxBytes int64 `toml:"max_bytes"`
	// Keep is how many rotated files (PATH.1 .. PATH.Keep) are kept.
	Keep int `toml:"keep"`
	// MinRisk: notices with a lower risk score are not written.
	MinRisk float64 `toml:"min_risk"`
}

// DefaultConfig is the configuration a missing or partial section fills in.
func DefaultConfig() Config {
	return Config{
		Path:     "/var/lib/zeekanom/zeekanom_feed.log",
		MaxBytes: 64 << 20,
		Keep:     3,
	}
}

// MinMaxBytes is the smallest accepted MaxBytes: room for the header and a
// few rows.
const MinMaxBytes = 4096

// Validate reports the first bad setting, naming its key.
func (c Config) Validate() error {
	switch {
	case c.Path == "":
		return errors.New("output.zeekfeed.path: empty")
	case c.MaxBytes < MinMaxBytes:
		return fmt.Errorf("output.zeekfeed.max_bytes: %d is below %d", c.MaxBytes, MinMaxBytes)
	case c.Keep < 0:
		return fmt.Errorf("output.zeekfeed.keep: %d is negative", c.Keep)
	case !(c.MinRisk >= 0 && c.MinRisk <= 100): // NaN too
		return fmt.Errorf("output.zeekfeed.min_risk: %g is outside 0..100", c.MinRisk)
	}
	return nil
}

// Sizes of the buffer of rows not yet written and of the carried-over tail.
const (
	maxFlushAt    = 64 << 10
	maxCarryBytes = 1 << 20
)

// carryFor bounds the carry-over in time: a new file repeats only the rows
// first written to a feed file less than carryFor before the rotation.
//
// The repeats are there for the rows the reader had not read when it
// switched to the new file; it polls about once a second, so rows minutes
// old have been read unless Zeek was down or stalled. Every repeat must
// find its id still in feed.zeek's raised_ids, which keeps an id for
// ZeekAnom::replay_window (1hr by default) after the row was raised, and a
// row is raised no earlier than it is written: with carryFor well inside
// replay_window (a test checks main.zeek's default) a repeat is never raised
// again, however slowly the feed fills. Without the bound, a feed that took
// more than replay_window to write its last carry of rows (fewer than a few
// thousand notices an hour) had them raised, mailed, logged a second time at
// each rotation by a feed.zeek that kept ids only for replay_window; the
// current one also keeps the last max_recent ids raised, more than a
// carry-over holds rows, whatever their age.
//
// It is ZeekAnom::existing_max_age's default: of the rows written while
// Zeek was down, the script raises at its start those whose ts is younger
// than that, and a row's ts (the end of its evidence) is not after its
// write, so a rotation while Zeek was down still repeats them all in the
// new file, which Zeek reads, as far as the carry-over's bytes hold them.
const carryFor = 10 * time.Minute

// Sink writes the feed. It implements output.Sink.
type Sink struct {
	cfg  Config
	now  func() time.Time
	f    *os.File
	size int64  // bytes in the current file plus buf
	rows int    // rows in the current file plus buf
	buf  []byte // rows not written yet (after a short write, the rest of a row begun in the file first)
	row  []byte // scratch for the row being added

	// head is the start of a row a short write left in the file; buf
	// begins with its rest.
	head []byte

	// carry holds the last rows written to the current file, oldest
	// first, to repeat at the start of the next one.
	carry      []carried
	carryBytes int
	carryMax   int

	// again holds, oldest first, when the rows at the start of head and
	// buf were first written, for those a rotation carried over and that
	// are not in the current file yet: when they are written they are
	// remembered with that time, not as new rows.
	again []time.Time

	// flushAt is the size at which buf is written: at most half the carry,
	// so that one write never puts more in the old file than a rotation
	// repeats in the new one.
	flushAt int

	// lock holds the flock on Path+LockSuffix for the sink's life.
	lock *os.File

	closed bool
}

// LockSuffix names the file beside the feed that its writer holds a flock
// on: PATH.lock.
const LockSuffix = ".lock"

// LockedError is New's error when another process writes the feed. Two
// writers lose rows at each rotation: the one that did not rotate goes on
// appending to the renamed file, which the reader has left.
type LockedError struct{ Path string }

func (e *LockedError) Error() string {
	return fmt.Sprintf("output.zeekfeed.path: %s is written by another zeekanom (it holds %s%s; "+
		"two writers lose notices at each rotation): stop it (the service: systemctl stop zeekanom) "+
		"or give this one another path", e.Path, e.Path, LockSuffix)
}

// carried is a row of the carry-over and when it was first written to a
// feed file: repeated, it keeps that time.
type carried struct {
	row []byte
	at  time.Time
}

// New opens the feed at cfg.Path, creating its folder if needed. An
// existing feed with the same columns is appended to (a restart of the
// sidecar), its last rows being carried over as if this sink had written
// them; any other file there is rotated away first, and the last rows of
// a feed of an older FormatVersion (an upgrade) carried over in this
// version's columns.
func New(cfg Config) (*Sink, error) { return newAt(cfg, time.Now) }

// newAt is New with the clock that dates the rows; tests pass their own.
func newAt(cfg Config, now func() time.Time) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, now: now, carryMax: int(min(cfg.MaxBytes/4, maxCarryBytes))}
	s.flushAt = min(maxFlushAt, s.carryMax/2)
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
		return nil, fmt.Errorf("zeekfeed: %w", err)
	}
	lock, err := lockFeed(cfg.Path)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	if err := s.open(); err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

func (s *Sink) open() error {
	st, err := os.Stat(s.cfg.Path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s.create()
	case err != nil:
		return fmt.Errorf("zeekfeed: %w", err)
	}
	same, older := s.existing()
	if st.Size() > 0 && same {
		f, err := os.OpenFile(s.cfg.Path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("zeekfeed: %w", err)
		}
		s.f, s.size, s.rows = f, st.Size(), 1 // rows > 0: rotation may happen at once
		// The reader may not have read the file's last rows yet (the
		// previous run wrote them just before it stopped), and the
		// first writes may rotate the file at once: carry them too.
		if err := s.carryTail(st.Size(), st.ModTime(), nil); err != nil {
			f.Close()
			s.f = nil
			return err
		}
		return nil
	}
	if older != nil {
		// A feed an older zeekanom wrote (an upgrade): rotated away as
		// any other file, but its last rows, which the reader may not
		// have read yet, are repeated in the new file in this version's
		// columns, as a rotation of this version's feed repeats them.
		if err := s.carryTail(st.Size(), st.ModTime(), older); err != nil {
			return err
		}
	}
	if err := s.shift(); err != nil {
		return err
	}
	return s.create()
}

// olderColumns maps the columns of a feed of an older FormatVersion to
// this version's: Fields[i] is the older row's column at[i], or unset
// where at[i] is -1; an older row has n columns.
type olderColumns struct {
	at []int
	n  int
}

// row is an older feed's row (newline included) in this version's
// columns, or nil when it has not the older number of columns.
func (c *olderColumns) row(b []byte) []byte {
	vals := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte{separator})
	if len(vals) != c.n {
		return nil
	}
	var out []byte
	for i, j := range c.at {
		if i > 0 {
			out = append(out, separator)
		}
		if j < 0 {
			out = append(out, unsetField...)
		} else {
			out = append(out, vals[j]...)
		}
	}
	return append(out, '\n')
}

// existing says what the file at Path is: this version's feed, ending with
// a whole row, to append to (same); or a feed of an older FormatVersion
// (older, non-nil): the same header lines up to #path, a #feed_version
// below this one or none (version 1), and columns each of which Fields
// has, with its type. Anything else is neither.
func (s *Sink) existing() (same bool, older *olderColumns) {
	f, err := os.Open(s.cfg.Path)
	if err != nil {
		return false, nil
	}
	defer f.Close()
	want := bytes.Split(appendHeader(nil, time.Time{}), []byte("\n"))
	want = want[:len(want)-1]
	var got [][]byte
	br := bufio.NewReader(io.LimitReader(f, 1<<16))
	for len(got) < len(want) {
		line, err := br.ReadBytes('\n')
		if err != nil || line[0] != '#' {
			break
		}
		got = append(got, line[:len(line)-1])
	}
	if len(got) == len(want) && sameHeader(got, want) {
		var last [1]byte
		if _, err := f.ReadAt(last[:], mustSize(f)-1); err != nil {
			return false, nil
		}
		return last[0] == '\n', nil
	}
	return false, olderHeader(got, want)
}

// sameHeader reports whether the header lines got are want's, #open aside.
func sameHeader(got, want [][]byte) bool {
	for i, w := range want {
		if bytes.HasPrefix(w, []byte("#open\t")) {
			if !bytes.HasPrefix(got[i], []byte("#open\t")) {
				return false
			}
			continue
		}
		if !bytes.Equal(got[i], w) {
			return false
		}
	}
	return true
}

// olderHeader is the column map of header lines got, when they are those
// of a feed of an older version than want's, else nil.
func olderHeader(got, want [][]byte) *olderColumns {
	const common = 5 // #separator, #set_separator, #empty_field, #unset_field, #path
	if len(got) < common+2 || !sameHeader(got[:common], want[:common]) {
		return nil
	}
	var names, types []string
	for _, l := range got[common:] {
		k, v, _ := strings.Cut(string(l), "\t")
		switch k {
		case "#feed_version":
			if n, err := strconv.Atoi(v); err != nil || n < 1 || n >= FormatVersion {
				return nil
			}
		case "#fields":
			names = strings.Split(v, "\t")
		case "#types":
			types = strings.Split(v, "\t")
		}
	}
	if len(names) == 0 || len(types) != len(names) {
		return nil
	}
	c := &olderColumns{at: make([]int, len(Fields)), n: len(names)}
	for i := range c.at {
		c.at[i] = -1
	}
	for j, name := range names {
		i := slices.IndexFunc(Fields, func(f Field) bool { return f.Name == name })
		if i < 0 || Fields[i].Type != types[j] || c.at[i] >= 0 {
			return nil
		}
		c.at[i] = j
	}
	return c
}

// carryTail fills the carry-over with the whole rows in the last carryMax
// bytes of the file at Path, whose size is size: what it would hold had
// this sink written them; with older, an older version's rows in this
// version's columns. The file does not say when each row was written,
// so all are dated by its modification time mod, the latest they can have
// been: a file untouched for carryFor or longer repeats nothing.
func (s *Sink) carryTail(size int64, mod time.Time, older *olderColumns) error {
	s.carry, s.carryBytes = s.carry[:0], 0
	if s.now().Sub(mod) >= carryFor {
		return nil
	}
	// One byte more than carryMax, to tell whether the first row in it
	// starts there.
	from := max(0, size-int64(s.carryMax)-1)
	f, err := os.Open(s.cfg.Path)
	if err != nil {
		return fmt.Errorf("zeekfeed: %w", err)
	}
	defer f.Close()
	tail := make([]byte, size-from)
	if _, err := f.ReadAt(tail, from); err != nil {
		return fmt.Errorf("zeekfeed: %s: %w", s.cfg.Path, err)
	}
	if from > 0 {
		tail = tail[bytes.IndexByte(tail, '\n')+1:] // a row cut by the limit
	}
	for len(tail) > 0 {
		i := bytes.IndexByte(tail, '\n')
		if i < 0 {
			break // a row cut short (an older feed's: this version's end whole)
		}
		row := tail[:i+1]
		if older != nil && row[0] != '#' {
			row = older.row(row)
		}
		if len(row) > 0 && row[0] != '#' { // only header lines start with #
			s.remember(row, mod)
		}
		tail = tail[i+1:]
	}
	return nil
}

func mustSize(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

// create starts a new file at Path: the header in one write (so a reader
// never sees half of it), then, buffered, the rows carried over from the old
// file and the rows not written yet. Only rows first written less than
// carryFor ago are carried over. They are remembered again, with the time
// they were first written, once they are written to the new file.
func (s *Sink) create() error {
	f, err := os.OpenFile(s.cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("zeekfeed: %w", err)
	}
	hdr := appendHeader(nil, s.now())
	if _, err := f.Write(hdr); err != nil {
		f.Close()
		os.Remove(s.cfg.Path) // so that the next try can create it again
		return fmt.Errorf("zeekfeed: %s: %w", s.cfg.Path, err)
	}
	now := s.now()
	var nb []byte
	var again []time.Time
	carry := func(row []byte, at time.Time) {
		if now.Sub(at) < carryFor {
			nb = append(nb, row...)
			again = append(again, at)
		}
	}
	for _, c := range s.carry {
		carry(c.row, c.at)
	}
	// A row whose start is in the old file but not its end (a short
	// write) is written whole to the new file.
	rest := append(s.head, s.buf...)
	// Rows an earlier rotation carried over that never reached the old
	// file (its writes failed) are carried over again, or not, the same
	// way.
	for _, at := range s.again {
		i := bytes.IndexByte(rest, '\n') + 1
		carry(rest[:i], at)
		rest = rest[i:]
	}
	nb = append(nb, rest...)
	s.buf, s.head, s.again = nb, s.head[:0], again
	s.carry, s.carryBytes = s.carry[:0], 0
	s.f = f
	s.size = int64(len(hdr) + len(s.buf))
	s.rows = bytes.Count(s.buf, []byte{'\n'})
	return nil
}

// shift moves PATH.(i-1) to PATH.i for i = Keep..1 (PATH.0 being PATH), or
// removes PATH when Keep is 0.
func (s *Sink) shift() error {
	p := s.cfg.Path
	if s.cfg.Keep == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("zeekfeed: %w", err)
		}
		return nil
	}
	name := func(i int) string {
		if i == 0 {
			return p
		}
		return p + "." + strconv.Itoa(i)
	}
	for i := s.cfg.Keep; i >= 1; i-- {
		if err := rename(name(i-1), name(i)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("zeekfeed: rotate: %w", err)
		}
	}
	return nil
}

// rename and fsync are os.Rename and File.Sync; tests replace them.
var (
	rename = os.Rename
	fsync  = (*os.File).Sync
)

// rotate closes the current file and starts a new one. Rows not written
// yet go to the new file, not the old: the reader may already have left the
// old one. If the old file cannot be moved away, writing goes on into it
// (over MaxBytes) and the next write tries again.
func (s *Sink) rotate() error {
	if len(s.head) > 0 {
		// Finish the row a short write began in the old file.
		if err := s.writeBytes(bytes.IndexByte(s.buf, '\n') + 1); err != nil {
			return err
		}
	}
	if err := fsync(s.f); err != nil {
		return fmt.Errorf("zeekfeed: %s: %w", s.cfg.Path, err)
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("zeekfeed: %w", err)
	}
	s.f = nil
	if err := s.shift(); err != nil {
		if f, oerr := os.OpenFile(s.cfg.Path, os.O_WRONLY|os.O_APPEND, 0); oerr == nil {
			s.f = f
		}
		return err
	}
	return s.create()
}

// reopen gets a file to write to after a failed rotation.
func (s *Sink) reopen() error {
	if s.f != nil {
		return nil
	}
	if err := s.open(); err != nil {
		return err
	}
	return nil
}

// Write adds one notice, unless its risk is below MinRisk.
func (s *Sink) Write(_ context.Context, n *notice.Notice) error {
	if s.closed {
		return errors.New("zeekfeed: write after close")
	}
	if n.RiskScore < s.cfg.MinRisk {
		return nil
	}
	if err := s.reopen(); err != nil {
		return err
	}
	s.row = appendRow(s.row[:0], n)
	var rerr error
	if s.rows > 0 && s.size+int64(len(s.row)) > s.cfg.MaxBytes {
		// On failure the row is still kept, for whichever file is open
		// next; the error reports the failed rotation.
		rerr = s.rotate()
	}
	s.buf = append(s.buf, s.row...)
	s.size += int64(len(s.row))
	s.rows++
	if rerr != nil {
		return rerr
	}
	if len(s.buf) >= s.flushAt {
		return s.writeBuf()
	}
	return nil
}

// remember keeps a copy of row, first written at at, in the carry-over
// tail.
func (s *Sink) remember(row []byte, at time.Time) {
	if len(row) > s.carryMax {
		s.carry, s.carryBytes = s.carry[:0], 0
		return
	}
	s.carry = append(s.carry, carried{append([]byte(nil), row...), at})
	s.carryBytes += len(row)
	drop := 0
	for s.carryBytes > s.carryMax {
		s.carryBytes -= len(s.carry[drop].row)
		s.carry[drop] = carried{}
		drop++
	}
	if drop > 0 {
		s.carry = append(s.carry[:0], s.carry[drop:]...)
	}
}

// writeBuf writes the buffered rows in one call.
func (s *Sink) writeBuf() error { return s.writeBytes(len(s.buf)) }

// writeBytes writes the first k bytes of buf and remembers the rows it
// completes.
func (s *Sink) writeBytes(k int) error {
	if k <= 0 {
		return nil
	}
	if err := s.reopen(); err != nil {
		return err
	}
	n, err := s.f.Write(s.buf[:k])
	now := s.now()
	// when a row completed now was first written: now, or for a row a
	// rotation carried over, then
	first := func() time.Time {
		if len(s.again) == 0 {
			return now
		}
		at := s.again[0]
		s.again = s.again[1:]
		return at
	}
	written := s.buf[:n]
	for len(written) > 0 {
		i := bytes.IndexByte(written, '\n')
		if i < 0 {
			s.head = append(s.head, written...)
			break
		}
		if len(s.head) > 0 {
			s.head = append(s.head, written[:i+1]...)
			s.remember(s.head, first())
			s.head = s.head[:0]
		} else {
			s.remember(written[:i+1], first())
		}
		written = written[i+1:]
	}
	// After a short write, keep only what is left, so a retry goes on
	// where the file stopped instead of repeating the start of a row.
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	if err != nil {
		return fmt.Errorf("zeekfeed: %s: %w", s.cfg.Path, err)
	}
	return nil
}

func (s *Sink) sync() error {
	if err := s.writeBuf(); err != nil {
		return err
	}
	if err := fsync(s.f); err != nil {
		return fmt.Errorf("zeekfeed: %s: %w", s.cfg.Path, err)
	}
	return nil
}

// Flush writes the buffered rows and fsyncs the file.
func (s *Sink) Flush(context.Context) error {
	if s.closed {
		return errors.New("zeekfeed: flush after close")
	}
	return s.sync()
}

// Close flushes and closes the file. The file is left in place (no #close
// line) so that the next start appends to it.
func (s *Sink) Close() error {
	if s.closed {
		return nil
	}
	err := s.sync()
	s.closed = true
	if s.f != nil {
		if cerr := s.f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("zeekfeed: %w", cerr)
		}
		s.f = nil
	}
	if s.lock != nil {
		if cerr := s.lock.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("zeekfeed: %w", cerr)
		}
		s.lock = nil
	}
	return err
}
