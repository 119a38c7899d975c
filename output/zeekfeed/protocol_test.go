package zeekfeed

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/output/notice"
)

// The tests below check the protocol between this sink and feed.zeek as a
// whole, without Zeek: a model of the raw input reader in STREAM mode reads
// the feed while the sink writes and rotates it, and a model of feed.zeek's
// line handling consumes what the reader hands over. Both models follow the
// real code closely (Zeek's src/input/readers/raw/Raw.cc; our feed.zeek);
// keep them in step with feed.zeek when it changes.

// rawReader models Zeek's raw reader in STREAM mode: on every poll it checks
// whether the path names another file and then switches to it from its start
// without draining the old one; it returns every complete line and, at end
// of file, what there is of an unfinished line, as a line of its own.
type rawReader struct {
	path     string
	f        *os.File
	fi       os.FileInfo
	switches int // files opened
}

// poll reads what is there; with short > 0 it stops up to short bytes before
// the end, as if the kernel had copied only part of the last write so far.
func (r *rawReader) poll(t *testing.T, short int, emit func(string)) {
	t.Helper()
	if st, err := os.Stat(r.path); err == nil && (r.fi == nil || !os.SameFile(st, r.fi)) {
		f, err := os.Open(r.path)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if r.f != nil {
			r.f.Close()
		}
		r.f, r.fi = f, fi
		r.switches++
	}
	if r.f == nil {
		return
	}
	limit := int64(1 << 30)
	if short > 0 {
		pos, err := r.f.Seek(0, io.SeekCurrent)
		if err != nil {
			t.Fatal(err)
		}
		st, err := r.f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		limit = max(0, st.Size()-pos-int64(short))
		// The header goes out in one write at offset 0, inside one page:
		// a reader sees all of it or none (the kernel updates the size
		// after copying a page).
		if pos+limit < int64(len(appendHeader(nil, time.Time{}))) {
			limit = 0
		}
	}
	data, err := io.ReadAll(io.LimitReader(r.f, limit))
	if err != nil {
		t.Fatal(err)
	}
	for len(data) > 0 {
		i := strings.IndexByte(string(data), '\n')
		if i < 0 {
			emit(string(data))
			return
		}
		emit(string(data[:i]))
		data = data[i+1:]
	}
}

func (r *rawReader) close() {
	if r.f != nil {
		r.f.Close()
	}
}

// scriptModel follows ZeekAnom::feed_line: header lines set the columns,
// a row that is not whole is kept as a piece and joined with the next line,
// whole rows are checked and raised once per id while the id is in
// raised_ids.
type scriptModel struct {
	columns map[string]int
	piece   string
	raised  map[string]int    // id -> times raised
	msgs    map[string]string // id -> msg as the script decoded it
	dropped int               // pieces dropped at a new file's header
	damaged int               // damaged lines dropped before a good row
	bad     []string          // rows the script would warn about

	// replayWindow is replay_window, after which raised_ids (with
	// &create_expire) forgets an id, at the earliest: raised at raisedAt,
	// an id is in raised_ids until now passes raisedAt+replayWindow.
	// 0: never forgotten.
	replayWindow time.Duration
	raisedAt     map[string]time.Time

	// maxRecent is max_recent, how many of the last raised ids
	// recent_ids keeps whatever their age (0: none, a script with
	// raised_ids alone); recentOrder holds them by raise, as recent_order.
	maxRecent   int
	recentIDs   map[string]bool
	recentOrder []string
	recentN     int

	// What feed.zeek does with the rows already in the feed when Zeek
	// starts: existing is the file's size then (0: none), read how far
	// the reader has got into that first file, maxAge existing_max_age
	// and now current_time().
	existing, read int
	leftFirst      bool
	skipped        map[string]bool // skipped_ids
	maxAge         time.Duration
	now            time.Time
}

func newScriptModel() *scriptModel {
	return &scriptModel{raised: map[string]int{}, msgs: map[string]string{}, skipped: map[string]bool{},
		raisedAt: map[string]time.Time{}, recentIDs: map[string]bool{}}
}

// inRaisedIDs reports whether id is in raised_ids.
func (m *scriptModel) inRaisedIDs(id string) bool {
	return m.raised[id] > 0 && (m.replayWindow == 0 || m.now.Sub(m.raisedAt[id]) < m.replayWindow)
}

// rememberRaised follows remember_raised.
func (m *scriptModel) rememberRaised(id string) {
	m.raised[id]++
	m.raisedAt[id] = m.now
	if m.maxRecent == 0 {
		return
	}
	if m.recentOrder == nil {
		m.recentOrder = make([]string, m.maxRecent)
	}
	slot := m.recentN % m.maxRecent
	if m.recentN >= m.maxRecent {
		delete(m.recentIDs, m.recentOrder[slot])
	}
	m.recentOrder[slot] = id
	m.recentIDs[id] = true
	m.recentN++
}

var (
	wholeTimePat = regexp.MustCompile(`^[0-9]+\.[0-9]{6}$`)
	escapePat    = regexp.MustCompile(`\\x[0-9a-fA-F]{2}`)
	countPat     = regexp.MustCompile(`^[0-9]+$`)
	portPat      = regexp.MustCompile(`^[0-9]{1,5}$`)
	realPat      = regexp.MustCompile(`^-?[0-9]+(\.[0-9]*)?$`)
)

// whole follows is_whole: a row is whole with as many fields as the header
// and a last field that is "-" or a time with six decimals, or with more.
func (m *scriptModel) whole(row []string) bool {
	if len(row) < len(m.columns) {
		return false
	}
	last := row[len(row)-1]
	return len(row) > len(m.columns) || last == "-" || wholeTimePat.MatchString(last)
}

// rowProblem follows row_problem: why a whole row cannot become an entry,
// or "".
func (m *scriptModel) rowProblem(row []string) string {
	col := func(name string) string {
		i, ok := m.columns[name]
		if !ok || i >= len(row) {
			return "-"
		}
		return row[i]
	}
	switch {
	case len(row) != len(m.columns):
		return "wrong number of fields"
	case !realPat.MatchString(col("ts")):
		return "bad ts"
	case col("id") == "-":
		return "no id"
	case !slices.Contains(notice.Rules(), m.unescape(col("rule"))):
		return "unknown rule"
	case !realPat.MatchString(col("risk_score")):
		return "bad risk_score"
	case !countPat.MatchString(col("severity")):
		return "bad severity"
	case col("msg") == "-":
		return "no msg"
	}
	for _, name := range []string{"src", "dst"} {
		if a := col(name); a != "-" {
			if _, err := netip.ParseAddr(a); err != nil {
				return "bad " + name
			}
		}
	}
	if p := col("dst_p"); p != "-" {
		if n, err := strconv.Atoi(p); !portPat.MatchString(p) || err != nil || n > 65535 {
			return "bad dst_p"
		}
	}
	for _, name := range []string{"start", "end"} {
		if v := col(name); v != "-" && !realPat.MatchString(v) {
			return "bad " + name
		}
	}
	return ""
}

// unescape follows feed.zeek's unescape: every \xNN becomes its byte.
func (m *scriptModel) unescape(s string) string {
	return escapePat.ReplaceAllStringFunc(s, func(e string) string {
		b, _ := hex.DecodeString(e[2:])
		return string(b)
	})
}

func (m *scriptModel) line(l string) {
	at := m.read
	if !m.leftFirst {
		m.read += len(l) + 1
	}
	if l != "" && l[0] == '#' {
		if at > 0 && l == "#separator \\x09" {
			m.leftFirst = true
		}
		if m.piece != "" {
			m.dropped++
		}
		m.piece = ""
		header := strings.Split(l, "\t")
		if header[0] == "#fields" {
			m.columns = map[string]int{}
			for i, name := range header[1:] {
				m.columns[name] = i
			}
		}
		return
	}
	joined := m.piece != ""
	text := m.piece + l
	m.piece = ""
	if text == "" {
		return
	}
	if len(m.columns) == 0 {
		m.bad = append(m.bad, "row before header: "+text)
		return
	}
	row := strings.Split(text, "\t")
	if !m.whole(row) {
		m.piece = text
		return
	}
	problem := m.rowProblem(row)
	if problem != "" && joined {
		if alone := strings.Split(l, "\t"); m.whole(alone) && m.rowProblem(alone) == "" {
			m.damaged++
			row, problem = alone, ""
		}
	}
	if problem != "" {
		m.bad = append(m.bad, problem+": "+text)
		return
	}
	id := m.unescape(row[m.columns["id"]])
	if !m.leftFirst && at < m.existing {
		ts, err := strconv.ParseFloat(row[m.columns["ts"]], 64)
		if err != nil {
			m.bad = append(m.bad, "bad ts: "+text)
			return
		}
		if m.maxAge == 0 || ts < float64(m.now.Add(-m.maxAge).UnixMicro())/1e6 {
			if id != "" && at+maxCarryBytes >= m.existing {
				m.skipped[id] = true
			}
			return
		}
	}
	if m.inRaisedIDs(id) || m.recentIDs[id] || m.skipped[id] {
		return
	}
	m.rememberRaised(id)
	msg := row[m.columns["msg"]]
	if msg == "(empty)" {
		msg = ""
	}
	m.msgs[id] = m.unescape(msg)
}

func TestProtocolSimulation(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := simulate(t, seed, true)
			if r.switches < 3 {
				t.Errorf("the reader followed %d rotations, want at least 3", r.switches)
			}
			if len(r.bad) > 0 {
				t.Errorf("the script would warn about %d rows, first: %q", len(r.bad), r.bad[0])
			}
			for _, l := range r.lost {
				t.Errorf("notice %d was never raised", l)
			}
			for _, m := range r.wrongMsg {
				t.Error(m)
			}
		})
	}
}

// Without the carried-over rows the same runs lose notices: the simulation
// is able to see what the carry-over prevents.
func TestProtocolSimulationNeedsCarry(t *testing.T) {
	lost := 0
	for seed := uint64(1); seed <= 12; seed++ {
		lost += len(simulate(t, seed, false).lost)
	}
	if lost == 0 {
		t.Error("no notice was lost without carry-over: the simulation does not exercise rotation")
	}
}

type simResult struct {
	switches int      // rotations the reader followed
	lost     []int    // notices never raised
	wrongMsg []string // notices whose msg the script decoded wrongly
	bad      []string // rows the script would warn about
}

func simulate(t *testing.T, seed uint64, carry bool) simResult {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 42))
	// Durability is not what is simulated; fsync makes it slow.
	fsync = func(*os.File) error { return nil }
	defer func() { fsync = (*os.File).Sync }()
	cfg := testConfig(t)
	cfg.MaxBytes = 16384
	cfg.Keep = 2

	reader := &rawReader{path: cfg.Path}
	defer reader.close()
	model := newScriptModel()

	// The reader may start before the sink: the raw reader waits for the
	// file to appear.
	reader.poll(t, 0, model.line)
	s := newSink(t, cfg)
	budget := s.carryMax
	if !carry {
		s.carryMax = 0 // every row is too long to remember
	}

	var short []string
	for _, h := range hostile {
		if len(h) < 60 {
			short = append(short, h)
		}
	}
	var wrote []*notice.Notice
	poll := func() {
		short := 0
		if rng.IntN(3) == 0 {
			short = 1 + rng.IntN(300) // stop inside a row
		}
		reader.poll(t, short, model.line)
	}
	// The reader polls about once a second. What the sink writes to a file
	// that the reader has not read yet, plus what a poll may leave unread,
	// must fit in what the sink carries over into a new file: that is the
	// protocol's one condition, and ensure keeps to it by polling before a
	// write would break it. (Rows still buffered at a rotation go to the
	// new file, so only written bytes count.)
	unread := func() int {
		st, err := os.Stat(cfg.Path)
		if err != nil || reader.fi == nil || !os.SameFile(st, reader.fi) {
			return 1 << 30 // the reader is not on the current file yet
		}
		pos, err := reader.f.Seek(0, io.SeekCurrent)
		if err != nil {
			t.Fatal(err)
		}
		return int(st.Size() - pos)
	}
	ensure := func(extra int) {
		if unread()+len(s.buf)+extra > budget-300 {
			poll()
			if unread()+len(s.buf)+extra > budget {
				reader.poll(t, 0, model.line)
			}
		}
	}
	for i := 0; i < 800; i++ {
		n := sampleNotice(i, short[rng.IntN(len(short))])
		wrote = append(wrote, n)
		ensure(len(appendRow(nil, n)))
		if err := s.Write(ctx, n); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(3) == 0 {
			ensure(0)
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(3) == 0 {
			poll()
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	reader.poll(t, 0, model.line)

	res := simResult{switches: reader.switches - 1, bad: model.bad}
	if model.piece != "" {
		res.bad = append(res.bad, "left over at the end: "+model.piece)
	}
	for i, n := range wrote {
		switch {
		case model.raised[n.ID] == 0:
			res.lost = append(res.lost, i)
		case model.msgs[n.ID] != n.Message:
			res.wrongMsg = append(res.wrongMsg,
				fmt.Sprintf("notice %d: the script decoded msg %q, want %q", i, model.msgs[n.ID], n.Message))
		}
	}
	return res
}

// restartConfig is the feed of the restart tests, without fsync (durability
// is not what they check).
func restartConfig(t *testing.T) Config {
	fsync = func(*os.File) error { return nil }
	t.Cleanup(func() { fsync = (*os.File).Sync })
	cfg := testConfig(t)
	cfg.MaxBytes = 16384
	return cfg
}

// When Zeek restarts, feed.zeek does not raise the rows already in the feed
// that are older than existing_max_age: the previous run raised them. The
// sidecar's next rotation repeats the end of that file at the start of the
// new one, where they must not be raised either; the rows written after Zeek
// started are raised once, however old their ts.
func TestProtocolRestartThenRotation(t *testing.T) {
	ctx := context.Background()
	cfg := restartConfig(t)
	s := newSink(t, cfg)
	n := 0
	write := func() {
		if err := s.Write(ctx, sampleNotice(n, "restart")); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		n++
	}
	// The previous Zeek run raised these; the feed is nearly full.
	for s.size < cfg.MaxBytes-1500 {
		write()
	}
	old := n
	st, err := os.Stat(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	// Zeek starts a day after the last of them was detected.
	model := newScriptModel()
	model.existing, model.maxAge = int(st.Size()), 10*time.Minute
	model.now = sampleNotice(old, "").Timestamp.Add(24 * time.Hour)
	reader := &rawReader{path: cfg.Path}
	defer reader.close()
	reader.poll(t, 0, model.line)
	if len(model.raised) != 0 {
		t.Fatalf("Zeek raised %d of the day-old rows already in the feed at its start", len(model.raised))
	}
	// New notices, each read, until the feed has rotated.
	for reader.switches < 2 {
		if n > old+200 {
			t.Fatal("the feed did not rotate")
		}
		write()
		reader.poll(t, 0, model.line)
	}
	if len(model.bad) > 0 {
		t.Errorf("the script would warn about %d rows, first: %q", len(model.bad), model.bad[0])
	}
	for i := 0; i < n; i++ {
		got := model.raised[sampleNotice(i, "restart").ID]
		switch {
		case i < old && got > 0:
			t.Errorf("notice %d, in the feed before Zeek started and a day old, was raised after the rotation", i)
		case i >= old && got != 1:
			t.Errorf("notice %d, written after Zeek started, was raised %d times, want 1", i, got)
		}
	}
}

// When the sidecar restarts it appends to the feed, and its first writes
// may rotate it at once: the new file must repeat the rows at the end of the
// old one that the reader had not read yet, those the previous run wrote
// after the reader's last poll as well as those the new run wrote there.
func TestProtocolSidecarRestartThenRotation(t *testing.T) {
	ctx := context.Background()
	cfg := restartConfig(t)
	model := newScriptModel()
	reader := &rawReader{path: cfg.Path}
	defer reader.close()
	n := 0
	write := func(s *Sink) {
		if err := s.Write(ctx, sampleNotice(n, "restart")); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		n++
	}
	// The previous run, read as it writes until the feed is nearly full;
	// then a few rows the reader has not polled yet, and it stops.
	s := newSink(t, cfg)
	for s.size < cfg.MaxBytes-2000 {
		write(s)
		reader.poll(t, 0, model.line)
	}
	for range 3 {
		write(s)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The new run rotates the feed before the reader polls again.
	s = newSink(t, cfg)
	defer s.Close()
	for reader.switches < 2 {
		if _, err := os.Stat(cfg.Path + ".1"); err == nil {
			reader.poll(t, 0, model.line)
			break
		}
		write(s)
	}
	if reader.switches != 2 {
		t.Fatal("the feed did not rotate")
	}
	if len(model.bad) > 0 {
		t.Errorf("the script would warn about %d rows, first: %q", len(model.bad), model.bad[0])
	}
	for i := 0; i < n; i++ {
		if got := model.raised[sampleNotice(i, "restart").ID]; got != 1 {
			t.Errorf("notice %d was raised %d times, want 1", i, got)
		}
	}
}

// feed.zeek remembers the ids of the old rows it skipped in the last
// max_carry bytes of the feed at its start: as much as a rotation repeats.
func TestFeedZeekMaxCarry(t *testing.T) {
	if got := feedZeekConst(t, "max_carry"); got != maxCarryBytes {
		t.Errorf("feed.zeek max_carry = %d, want maxCarryBytes %d", got, maxCarryBytes)
	}
}

// feedZeekConst reads a count constant of feed.zeek.
func feedZeekConst(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile("../../zeek-scripts/scripts/feed.zeek")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^const ` + name + ` = ([0-9]+);`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("feed.zeek declares no const %s", name)
	}
	n, err := strconv.Atoi(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// feed.zeek keeps the ids of its last max_recent raised entries whatever
// their age: more than the rows a rotation can repeat, max_carry bytes of
// the shortest rows it raises.
func TestFeedZeekMaxRecent(t *testing.T) {
	rule := notice.Rules()[0]
	for _, r := range notice.Rules() {
		if len(r) < len(rule) {
			rule = r
		}
	}
	// ts, id, rule, note, risk_score, severity, src, dst, dst_p, proto,
	// domain, msg, sub, uids, start, end: each as short as row_problem
	// lets it be.
	shortest := "0\tx\t" + rule + "\t-\t0\t0\t-\t-\t-\t-\t-\tx\t-\t-\t-\t-\n"
	m := newScriptModel()
	for _, l := range strings.Split(string(appendHeader(nil, time.Time{}))+shortest, "\n") {
		m.line(l)
	}
	if m.raised["x"] != 1 {
		t.Fatalf("the script model does not raise %q", shortest)
	}
	if got, want := feedZeekConst(t, "max_recent"), maxCarryBytes/len(shortest)+1; got < want {
		t.Errorf("feed.zeek max_recent = %d, want at least %d (%d bytes of %d-byte rows)",
			got, want, maxCarryBytes, len(shortest))
	}
}

// A sidecar from before carryFor repeats the old file's last rows whatever
// their age: feed.zeek itself raises none of them again, though they were
// raised more than replay_window before, since it keeps the ids of the last
// max_recent entries it raised. (The other protocol tests model a script
// without recent_ids: they check what the sink does for such a script.)
func TestProtocolOldSidecarRepeatsRaisedOnce(t *testing.T) {
	for _, recent := range []bool{false, true} {
		t.Run(fmt.Sprint("recent_ids ", recent), func(t *testing.T) {
			cfg := testConfig(t)
			if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
				t.Fatal(err)
			}
			model := newScriptModel()
			model.replayWindow = zeekInterval(t, "replay_window")
			if recent {
				model.maxRecent = feedZeekConst(t, "max_recent")
			}
			reader := &rawReader{path: cfg.Path}
			defer reader.close()
			clock := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
			// A notice every ten minutes, each read once written.
			var rows []byte
			file := appendHeader(nil, clock)
			for i := range 20 {
				clock = clock.Add(10 * time.Minute)
				model.now = clock
				rows = appendRow(rows, sampleNotice(i, "old sidecar"))
				if err := os.WriteFile(cfg.Path, append(file, rows...), 0o644); err != nil {
					t.Fatal(err)
				}
				reader.poll(t, 0, model.line)
			}
			// The old sidecar's rotation: the new file starts with all
			// of them, three hours old and newer.
			if err := os.Rename(cfg.Path, cfg.Path+".1"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cfg.Path, append(appendHeader(nil, clock), rows...), 0o644); err != nil {
				t.Fatal(err)
			}
			reader.poll(t, 0, model.line)
			twice := 0
			for i := range 20 {
				if model.raised[sampleNotice(i, "old sidecar").ID] > 1 {
					twice++
				}
			}
			switch {
			case recent && twice > 0:
				t.Errorf("%d notices raised twice", twice)
			case !recent && twice == 0:
				t.Error("without recent_ids no notice was raised twice: the test does not exercise it")
			}
		})
	}
}

// zeekInterval reads the default of an interval option of main.zeek, such as
// `const replay_window = 1hr &redef;`.
func zeekInterval(t *testing.T, name string) time.Duration {
	t.Helper()
	b, err := os.ReadFile(mainZeek)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*const ` + name + ` = ([0-9.]+) ?(usec|msec|sec|min|hr|day)s? &redef;`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("main.zeek declares no interval option %s", name)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	unit := map[string]time.Duration{"usec": time.Microsecond, "msec": time.Millisecond, "sec": time.Second,
		"min": time.Minute, "hr": time.Hour, "day": 24 * time.Hour}[string(m[2])]
	return time.Duration(v * float64(unit))
}

// A rotation repeats only rows first written less than carryFor ago, so a
// repeat always finds its id still in raised_ids: carryFor must stay well
// inside replay_window's default. And it covers existing_max_age's
// default, so that a rotation while Zeek is down still repeats every row
// the script raises at its start (see carryFor).
func TestCarryForWithinReplayWindow(t *testing.T) {
	if rw := zeekInterval(t, "replay_window"); carryFor > rw/2 {
		t.Errorf("carryFor %v is not well inside main.zeek's replay_window %v", carryFor, rw)
	}
	if age := zeekInterval(t, "existing_max_age"); age > carryFor {
		t.Errorf("main.zeek's existing_max_age %v is longer than carryFor %v", age, carryFor)
	}
}

// newSinkAt is newSink on a clock the test moves.
func newSinkAt(t *testing.T, cfg Config, clock *time.Time) *Sink {
	t.Helper()
	s, err := newAt(cfg, func() time.Time { return *clock })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// feedRun writes notices one at a time on a simulated clock, each flushed
// and read at once, to a script that forgets raised ids after
// replay_window as raised_ids does, and has no recent_ids (which would hide
// what the sink does: older feed.zeek versions have none); it reports the
// notices not raised exactly once.
type feedRun struct {
	t      *testing.T
	clock  time.Time
	model  *scriptModel
	reader *rawReader
	n      int // notices written
}

func newFeedRun(t *testing.T, cfg Config) *feedRun {
	r := &feedRun{t: t, clock: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
		model: newScriptModel(), reader: &rawReader{path: cfg.Path}}
	r.model.replayWindow = zeekInterval(t, "replay_window")
	t.Cleanup(r.reader.close)
	return r
}

// write moves the clock by step, writes and flushes a notice and polls.
func (r *feedRun) write(s *Sink, step time.Duration) {
	ctx := context.Background()
	r.clock = r.clock.Add(step)
	r.model.now = r.clock
	if err := s.Write(ctx, sampleNotice(r.n, "feed run")); err != nil {
		r.t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		r.t.Fatal(err)
	}
	r.n++
	r.reader.poll(r.t, 0, r.model.line)
}

func (r *feedRun) check() {
	if len(r.model.bad) > 0 {
		r.t.Errorf("the script would warn about %d rows, first: %q", len(r.model.bad), r.model.bad[0])
	}
	for i := range r.n {
		if got := r.model.raised[sampleNotice(i, "feed run").ID]; got != 1 {
			r.t.Errorf("notice %d was raised %d times, want 1", i, got)
		}
	}
}

// A feed that fills slowly: the last rows of a file, which the next file
// repeats, were written and raised long before the rotation, longer than
// replay_window when the carry-over's bytes take more than that to write.
// Such repeats are not raised again (the notice framework's suppress_for has
// expired by then too: they would land in notice.log and mail again); busy
// feeds, whose repeats are recent, raise each notice once as well.
func TestProtocolSlowFeedRaisesOnce(t *testing.T) {
	fsync = func(*os.File) error { return nil }
	defer func() { fsync = (*os.File).Sync }()
	for _, every := range []time.Duration{3 * time.Second, time.Minute, carryFor - time.Second, carryFor, 30 * time.Minute} {
		t.Run(fmt.Sprint("every ", every), func(t *testing.T) {
			cfg := testConfig(t)
			cfg.MaxBytes = 16384 // carry-over 4096 bytes, about a dozen rows
			r := newFeedRun(t, cfg)
			s := newSinkAt(t, cfg, &r.clock)
			defer s.Close()
			for r.reader.switches < 4 {
				if r.n > 1000 {
					t.Fatal("the feed did not rotate")
				}
				r.write(s, every)
			}
			r.check()
		})
	}
}

// A sidecar stopped for longer than carryFor (an upgrade, a maintenance
// window) appends to its feed when it starts again; its first rotation must
// not repeat the rows the previous run wrote, which Zeek raised before the
// stop, and which it would raise again more than replay_window later.
func TestProtocolSidecarRestartAfterLongStop(t *testing.T) {
	for _, stop := range []time.Duration{carryFor, 2 * time.Hour} {
		t.Run(fmt.Sprint("stop ", stop), func(t *testing.T) {
			cfg := restartConfig(t)
			r := newFeedRun(t, cfg)
			// A busy feed, a notice a second, until the file is nearly full.
			s := newSinkAt(t, cfg, &r.clock)
			for s.size < cfg.MaxBytes-600 {
				r.write(s, time.Second)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// The file's modification time is when the run last wrote it.
			if err := os.Chtimes(cfg.Path, r.clock, r.clock); err != nil {
				t.Fatal(err)
			}
			r.clock = r.clock.Add(stop)
			s = newSinkAt(t, cfg, &r.clock)
			defer s.Close()
			for r.reader.switches < 2 {
				if r.n > 1000 {
					t.Fatal("the feed did not rotate")
				}
				r.write(s, time.Second)
			}
			r.check()
		})
	}
}

// A damaged line in the feed (one an admin appended by hand to try the
// package, a row cut short by something else than the sink) is dropped with
// a warning and costs no other row: the script keeps a line that is not a
// whole row as the start of the next one, and when the two joined are no
// row it takes the next line alone. It took the row after the damage down
// with it.
func TestProtocolDamagedLineCostsNoRow(t *testing.T) {
	good := func(i int) string {
		return strings.TrimSuffix(string(appendRow(nil, sampleNotice(i, "damaged"))), "\n")
	}
	row := good(9)
	fields := strings.Split(row, "\t")
	for _, tc := range []struct{ name, line string }{
		{"a word", "test"},
		{"a row cut short", row[:40]},
		{"a row cut after its last tab", row[:strings.LastIndexByte(row, '\t')+1]},
		{"end without its decimals", strings.Join(fields[:len(fields)-1], "\t") + "\t1764094020"},
		{"a column too many", row + "\t-"},
		{"an unknown rule", strings.Replace(row, "\t"+fields[2]+"\t", "\tno.such.rule\t", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newScriptModel()
			lines := strings.Split(string(appendHeader(nil, time.Time{})), "\n")
			lines = append(lines[:len(lines)-1], good(0), tc.line, good(1), good(2))
			for _, l := range lines {
				m.line(l)
			}
			for i := range 3 {
				if got := m.raised[sampleNotice(i, "damaged").ID]; got != 1 {
					t.Errorf("row %d was raised %d times, want 1", i, got)
				}
			}
			if m.damaged+len(m.bad) != 1 {
				t.Errorf("%d damaged lines dropped and %d rows warned about (%q), want one of either",
					m.damaged, len(m.bad), m.bad)
			}
		})
	}
}
