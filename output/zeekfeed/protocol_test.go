package zeekfeed

import (
	"bytes"
	"cmp"
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

	// version1 models feed.zeek before feed version 2: it reads neither
	// the #feed_version line nor dst_net.
	version1 bool
	// fileVersion is file_version; versions the versions say_version
	// warned about (once; -1 an unreadable #feed_version line).
	fileVersion int
	versions    []int

	// entries are the entries raised, in order, as the notice framework
	// gets them.
	entries []raisedEntry
}

// raisedEntry is what NOTICE gets of an entry: its id (for the tests), ts,
// rule and identifier.
type raisedEntry struct {
	id, rule, identifier string
	ts                   float64
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
	if net := col("dst_net"); net != "-" && !m.version1 && !isSubnet(net) {
		return "bad dst_net"
	}
	for _, name := range []string{"start", "end"} {
		if v := col(name); v != "-" && !realPat.MatchString(v) {
			return "bad " + name
		}
	}
	return ""
}

// isSubnet follows is_subnet: an address, "/" and a prefix length that
// fits it.
func isSubnet(s string) bool {
	a, bits, ok := strings.Cut(s, "/")
	ip, err := netip.ParseAddr(a)
	if !ok || err != nil || !regexp.MustCompile(`^[0-9]{1,3}$`).MatchString(bits) {
		return false
	}
	n, _ := strconv.Atoi(bits)
	return n <= ip.BitLen()
}

// identifier follows feed.zeek's identifier (of a row rowProblem took):
// rule, src, dst, dst_net, dst_p with its transport, and domain, each
// as Zeek's cat prints them, "" where unset; a script before feed version
// 2 has no dst_net.
func (m *scriptModel) identifier(row []string) string {
	col := func(name string) string {
		i, ok := m.columns[name]
		if !ok || i >= len(row) || row[i] == "-" {
			return ""
		}
		return row[i]
	}
	addr := func(name string) string {
		if a := col(name); a != "" {
			return netip.MustParseAddr(a).String()
		}
		return ""
	}
	port := col("dst_p")
	if port != "" {
		proto := m.unescape(col("proto"))
		if !slices.Contains([]string{"tcp", "udp", "icmp"}, proto) {
			proto = "unknown"
		}
		port += "/" + proto
	}
	parts := []string{m.unescape(col("rule")), addr("src"), addr("dst")}
	if !m.version1 {
		net := col("dst_net")
		if net != "" {
			net = netip.MustParsePrefix(net).String()
		}
		parts = append(parts, net)
	}
	domain := col("domain")
	if domain == "(empty)" {
		domain = ""
	}
	return strings.Join(append(parts, port, m.unescape(domain)), "|")
}

// noticeLog is what the notice framework logs of the entries raised: an
// entry is suppressed while an earlier one of the same rule (the note)
// and identifier is, for suppressFor from its ts (the lag behind network
// time, which these tests do not move, being 0). It returns the ids
// logged.
func (m *scriptModel) noticeLog(suppressFor time.Duration) []string {
	until := map[string]float64{}
	var logged []string
	for _, e := range m.entries {
		k := e.rule + "\x00" + e.identifier
		if u, ok := until[k]; ok && e.ts < u {
			continue
		}
		until[k] = e.ts + suppressFor.Seconds()
		logged = append(logged, e.id)
	}
	return logged
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
		if m.version1 {
			if header[0] == "#fields" {
				m.columns = map[string]int{}
				for i, name := range header[1:] {
					m.columns[name] = i
				}
			}
			return
		}
		if header[0] == "#separator \\x09" {
			m.fileVersion = 0
		}
		if header[0] == "#feed_version" {
			if len(header) == 2 && countPat.MatchString(header[1]) {
				m.fileVersion, _ = strconv.Atoi(header[1])
			} else { // damaged: said once (as -1), not as version 1
				m.fileVersion = FormatVersion
				if len(m.versions) == 0 {
					m.versions = append(m.versions, -1)
				}
			}
		}
		if header[0] == "#fields" {
			m.columns = map[string]int{}
			for i, name := range header[1:] {
				m.columns[name] = i
			}
			v := max(m.fileVersion, 1)
			if v != FormatVersion && len(m.versions) == 0 {
				m.versions = append(m.versions, v)
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
	ts, _ := strconv.ParseFloat(row[m.columns["ts"]], 64)
	m.entries = append(m.entries, raisedEntry{id: id, rule: m.unescape(row[m.columns["rule"]]),
		identifier: m.identifier(row), ts: ts})
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

// feed.zeek reads all of the feed version the sink writes, and says when
// a feed is of another.
func TestFeedZeekVersion(t *testing.T) {
	if got := feedZeekConst(t, "feed_version"); got != FormatVersion {
		t.Errorf("feed.zeek feed_version = %d, want FormatVersion %d", got, FormatVersion)
	}
}

// feedZeekConst reads a count constant of feed.zeek.
func feedZeekConst(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile("../../zeek-scripts/scripts/feed.zeek")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*const ` + name + ` = ([0-9]+);`).FindSubmatch(b)
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
	// every column as short as row_problem lets it be
	least := map[string]string{"ts": "0", "id": "x", "rule": rule, "risk_score": "0", "severity": "0", "msg": "x"}
	var short []string
	for _, f := range Fields {
		short = append(short, cmp.Or(least[f.Name], "-"))
	}
	shortest := strings.Join(short, "\t") + "\n"
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

// feedVersion1 is a feed file of this version as a sidecar before feed
// version 2 wrote it: no #feed_version line, no dst_net column.
func feedVersion1(t testing.TB, b []byte) []byte {
	t.Helper()
	i := slices.IndexFunc(Fields, func(f Field) bool { return f.Name == "dst_net" })
	if i < 0 {
		t.Fatal("Fields has no dst_net")
	}
	var out []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		body := strings.TrimSuffix(l, "\n")
		switch {
		case body == "" || strings.HasPrefix(body, "#feed_version\t"):
			if body == "" {
				out = append(out, l)
			}
			continue
		case strings.HasPrefix(body, "#fields\t"), strings.HasPrefix(body, "#types\t"):
			f := strings.Split(body, "\t")
			out = append(out, strings.Join(slices.Delete(f, i+1, i+2), "\t")+"\n")
		case body[0] == '#':
			out = append(out, l)
		default:
			f := strings.Split(body, "\t")
			out = append(out, strings.Join(slices.Delete(f, i, i+1), "\t")+"\n")
		}
	}
	return []byte(strings.Join(out, ""))
}

// ruleNotice is a notice of rule as its detector builds one, at window w
// (an hour each): the fields it sets are given, Finalize makes the id.
func ruleNotice(rule string, w int, set func(n *notice.Notice), key string) *notice.Notice {
	start := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).Add(time.Duration(w) * time.Hour)
	n := &notice.Notice{Rule: rule, Start: start, End: start.Add(time.Hour), RiskScore: 80,
		Source: netip.MustParseAddr("10.1.1.5"), Message: rule}
	set(n)
	n.Finalize(key)
	return n
}

// Two findings an analyst wants to see apart must get two identifiers from
// feed.zeek (the notice framework suppresses by note and identifier), and
// the same finding found again in a later window (another event.id) the
// same one. Each rule's cases say what tells its findings apart; the
// detectors set those fields. A beacon to a rotating network names no
// destination: from a version 1 feed the second network was a repeat of
// the first.
func TestSuppressionIdentifierPerRule(t *testing.T) {
	addr := netip.MustParseAddr
	dst := func(a string, port uint16, proto string) func(*notice.Notice) {
		return func(n *notice.Notice) { n.Destination, n.DestPort, n.Proto = addr(a), port, proto }
	}
	port := func(p uint16, proto string) func(*notice.Notice) {
		return func(n *notice.Notice) { n.DestPort, n.Proto = p, proto }
	}
	beaconNet := func(net string) func(*notice.Notice) {
		return func(n *notice.Notice) {
			n.DestNet, n.DestPort, n.Proto = netip.MustParsePrefix(net), 443, "tcp"
		}
	}
	domain := func(d string) func(*notice.Notice) {
		return func(n *notice.Notice) { n.Domain = d }
	}
	both := func(fs ...func(*notice.Notice)) func(*notice.Notice) {
		return func(n *notice.Notice) {
			for _, f := range fs {
				f(n)
			}
		}
	}
	src := func(a string) func(*notice.Notice) { return func(n *notice.Notice) { n.Source = addr(a) } }
	noSrc := func(n *notice.Notice) { n.Source = netip.Addr{} }
	sub := func(s string) func(*notice.Notice) { return func(n *notice.Notice) { n.Sub = s } }
	none := func(*notice.Notice) {}
	type side struct {
		set func(*notice.Notice)
		key string
	}
	cases := []struct {
		rule, name string
		a, b       side
		same       bool
	}{
		{notice.RuleBeacon, "two networks, one port", side{beaconNet("198.51.100.0/24"), "net:198.51.100.0"}, side{beaconNet("192.0.2.0/24"), "net:192.0.2.0"}, false},
		{notice.RuleBeacon, "two IPv6 /64s", side{beaconNet("2001:db8:0:1::/64"), "net:2001:db8:0:1::"}, side{beaconNet("2001:db8:0:2::/64"), "net:2001:db8:0:2::"}, false},
		{notice.RuleBeacon, "one network again", side{beaconNet("198.51.100.0/24"), "net:198.51.100.0"}, side{beaconNet("198.51.100.0/24"), "net:198.51.100.0"}, true},
		{notice.RuleBeacon, "two destinations", side{dst("203.0.113.9", 443, "tcp"), ""}, side{dst("203.0.113.10", 443, "tcp"), ""}, false},
		{notice.RuleBeacon, "a destination and its network", side{dst("198.51.100.1", 443, "tcp"), ""}, side{beaconNet("198.51.100.0/24"), "net:198.51.100.0"}, false},
		{notice.RuleBeacon, "one destination again", side{dst("203.0.113.9", 443, "tcp"), ""}, side{dst("203.0.113.9", 443, "tcp"), ""}, true},
		{notice.RuleBeacon, "two domains", side{domain("a.example"), "domain"}, side{domain("b.example"), "domain"}, false},
		{notice.RuleScanHorizontal, "two ports", side{port(445, "tcp"), ""}, side{port(3389, "tcp"), ""}, false},
		{notice.RuleScanHorizontal, "one port, two transports", side{port(53, "tcp"), ""}, side{port(53, "udp"), ""}, false},
		{notice.RuleScanHorizontal, "a port and ICMP", side{port(445, "tcp"), ""}, side{port(0, "icmp"), ""}, false},
		{notice.RuleScanHorizontal, "one port again", side{port(445, "tcp"), ""}, side{port(445, "tcp"), ""}, true},
		{notice.RuleScanVertical, "two hosts", side{dst("10.1.1.9", 0, ""), "v"}, side{dst("10.1.1.10", 0, ""), "v"}, false},
		{notice.RuleScanSlow, "horizontal and vertical", side{port(445, "tcp"), ""}, side{dst("10.1.1.9", 0, ""), "v"}, false},
		{notice.RuleDoSFanIn, "two services", side{both(noSrc, dst("10.1.1.9", 80, "tcp"), sub("distributed")), "distributed"}, side{both(noSrc, dst("10.1.1.9", 443, "tcp"), sub("distributed")), "distributed"}, false},
		{notice.RuleDoSFanIn, "two loud sources", side{both(src("192.0.2.1"), dst("10.1.1.9", 80, "tcp"), sub("single_source")), "single_source"}, side{both(src("192.0.2.2"), dst("10.1.1.9", 80, "tcp"), sub("single_source")), "single_source"}, false},
		{notice.RuleDoSFanIn, "many sources and one", side{both(noSrc, dst("10.1.1.9", 80, "tcp"), sub("distributed")), "distributed"}, side{both(src("192.0.2.1"), dst("10.1.1.9", 80, "tcp"), sub("single_source")), "single_source"}, false},
		// one source flooding one service, seen by two tests: one flood
		{notice.RuleDoSFanIn, "a loud source and its one-way flow", side{both(src("192.0.2.1"), dst("10.1.1.9", 80, "udp"), sub("single_source")), "single_source"}, side{both(src("192.0.2.1"), dst("10.1.1.9", 80, "udp"), sub("one_way_flow")), "one_way_flow"}, true},
		{notice.RuleDNSTunnel, "two registered domains", side{both(dst("10.0.0.53", 53, "udp"), domain("t1.example"), sub("clients=1")), ""}, side{both(dst("10.0.0.53", 53, "udp"), domain("t2.example"), sub("clients=1")), ""}, false},
		{notice.RuleDNSTunnel, "one domain again, more clients", side{both(dst("10.0.0.53", 53, "udp"), domain("t1.example"), sub("clients=1")), ""}, side{both(dst("10.0.0.53", 53, "udp"), domain("t1.example"), sub("clients=2")), ""}, true},
		{notice.RuleDNSRandomSub, "two victim domains", side{both(dst("10.0.0.53", 53, "udp"), domain("victim-a.example"), sub("clients=200")), ""}, side{both(dst("10.0.0.53", 53, "udp"), domain("victim-b.example"), sub("clients=200")), ""}, false},
		{notice.RuleDNSRandomSub, "one victim again, more clients", side{both(dst("10.0.0.53", 53, "udp"), domain("victim-a.example"), sub("clients=200")), ""}, side{both(dst("10.0.0.53", 53, "udp"), domain("victim-a.example"), sub("clients=250")), ""}, true},
		{notice.RuleDNSDGA, "two clients", side{dst("10.0.0.53", 53, "udp"), ""}, side{both(src("10.1.1.6"), dst("10.0.0.53", 53, "udp")), ""}, false},
		{notice.RuleDNSDGA, "one client again", side{dst("10.0.0.53", 53, "udp"), ""}, side{dst("10.0.0.53", 53, "udp"), ""}, true},
		{notice.RuleExfiltration, "two destinations", side{both(dst("203.0.113.9", 443, "tcp"), sub("destination")), ""}, side{both(dst("203.0.113.10", 443, "tcp"), sub("destination")), ""}, false},
		// another connection of the same long-lived activity: one
		// (the README's day of suppression for Long_Connection)
		{notice.RuleLongConnection, "two connections of one pair", side{dst("195.54.32.88", 80, "tcp"), "C1"}, side{dst("195.54.32.88", 80, "tcp"), "C2"}, true},
		{notice.RuleLongConnection, "two destinations", side{dst("195.54.32.88", 80, "tcp"), "C1"}, side{dst("195.54.32.89", 80, "tcp"), "C2"}, false},
		{notice.RuleOffHours, "two hosts", side{none, ""}, side{src("10.1.1.6"), ""}, false},
		{notice.RuleOffHours, "one host again", side{none, ""}, side{none, ""}, true},
		{notice.RuleOutlier, "two hosts", side{none, ""}, side{src("10.1.1.6"), ""}, false},
		{notice.RuleSupervised, "two hosts", side{none, ""}, side{src("10.1.1.6"), ""}, false},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.rule] = true
		t.Run(c.rule+" "+c.name, func(t *testing.T) {
			a := ruleNotice(c.rule, 0, c.a.set, c.a.key)
			b := ruleNotice(c.rule, 1, c.b.set, c.b.key)
			m := newScriptModel()
			feed := appendRow(appendRow(appendHeader(nil, time.Time{}), a), b)
			for _, l := range strings.Split(string(feed), "\n") {
				m.line(l)
			}
			if len(m.bad) > 0 || len(m.entries) != 2 {
				t.Fatalf("raised %d entries of 2, warnings %q", len(m.entries), m.bad)
			}
			ia, ib := m.entries[0].identifier, m.entries[1].identifier
			if (ia == ib) != c.same {
				t.Errorf("identifiers %q and %q: same %v, want %v", ia, ib, ia == ib, c.same)
			}
		})
	}
	for _, r := range notice.Rules() {
		if !seen[r] && r != notice.RuleDNSDGASlow { // (dns.dga's notice, another rule)
			t.Errorf("rule %s has no case", r)
		}
	}
}

// A host beaconing to two rotating networks on one port, found again in
// the next window (a day later: here suppress_for is a day and a half, as
// a site may set for Beaconing): notice.log gets one notice for each
// network, and none for the repeats, with this sidecar and this script. Either side older (feed version 1) logs the first
// network alone, as before; neither side warns about a row, and the script
// says once that the feed is of another version. A feed of a newer version,
// with a column this script does not know, is read by the columns it
// knows.
func TestProtocolBeaconNetworksAcrossVersions(t *testing.T) {
	var ns []*notice.Notice
	for w := range 2 {
		for _, net := range []string{"198.51.100.0", "192.0.2.0"} {
			ns = append(ns, ruleNotice(notice.RuleBeacon, 24*w, func(n *notice.Notice) {
				n.DestNet, n.DestPort, n.Proto = netip.MustParsePrefix(net+"/24"), 443, "tcp"
			}, "net:"+net))
		}
	}
	feed := appendHeader(nil, time.Time{})
	for _, n := range ns {
		feed = appendRow(feed, n)
	}
	newer := strings.Replace(string(feed), "#feed_version\t2", "#feed_version\t3", 1)
	newer = regexp.MustCompile(`(?m)^(#fields|#types|[0-9])(.*\t)([^\t]*\t[^\t]*)$`).ReplaceAllStringFunc(newer, func(l string) string {
		// a column before start and end: "x" in #fields, string in #types, a value in rows
		f := strings.Split(l, "\t")
		add := map[string]string{"#fields": "x", "#types": "string"}[f[0]]
		if add == "" {
			add = "some\\x09value"
		}
		return strings.Join(slices.Insert(f, len(f)-2, add), "\t")
	})
	for _, c := range []struct {
		name           string
		feed           string
		script1        bool
		logged         []int // of ns
		versionWarning []int
	}{
		{"sidecar 2, script 2", string(feed), false, []int{0, 1}, nil},
		{"sidecar 1, script 2", string(feedVersion1(t, feed)), false, []int{0}, []int{1}},
		{"sidecar 2, script 1", string(feed), true, []int{0}, nil},
		{"sidecar 1, script 1", string(feedVersion1(t, feed)), true, []int{0}, nil},
		{"sidecar 3, script 2", newer, false, []int{0, 1}, []int{3}},
		// a damaged #feed_version line: said once as unreadable, not as an
		// older sidecar's, and the rows read by their columns' names
		{"damaged version line", strings.Replace(string(feed), "#feed_version\t2", "#feed_version\t2x", 1), false, []int{0, 1}, []int{-1}},
		{"version line without a value", strings.Replace(string(feed), "#feed_version\t2", "#feed_version", 1), false, []int{0, 1}, []int{-1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newScriptModel()
			m.version1 = c.script1
			for _, l := range strings.Split(c.feed, "\n") {
				m.line(l)
			}
			if len(m.bad) > 0 || len(m.entries) != len(ns) {
				t.Fatalf("raised %d entries of %d, warnings %q", len(m.entries), len(ns), m.bad)
			}
			var want []string
			for _, i := range c.logged {
				want = append(want, ns[i].ID)
			}
			if got := m.noticeLog(36 * time.Hour); !slices.Equal(got, want) {
				t.Errorf("notice.log has %d notices %v, want %d %v", len(got), got, len(want), want)
			}
			if !slices.Equal(m.versions, c.versionWarning) {
				t.Errorf("version warnings %v, want %v", m.versions, c.versionWarning)
			}
		})
	}
}

// An upgrade of the sidecar: the new one finds a version 1 feed, which it
// cannot append to. It rotates it away, as any other file, and repeats
// its last rows (those of the last ten minutes) in the new file in this
// version's columns, as its own rotations do: the rows the old sidecar
// wrote after the reader's last poll are raised once, with their messages,
// and those read before are not raised again. A version 1 file whose rows
// are older than that repeats none.
func TestProtocolUpgradeFromVersion1Feed(t *testing.T) {
	for _, age := range []time.Duration{time.Second, carryFor} {
		t.Run(fmt.Sprint("last written ", age, " before"), func(t *testing.T) {
			cfg := restartConfig(t)
			if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
				t.Fatal(err)
			}
			clock := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
			model := newScriptModel()
			reader := &rawReader{path: cfg.Path}
			defer reader.close()
			// The old sidecar's feed: the reader has read 30 rows of
			// it, and 5 more were written before the old one stopped.
			old := appendHeader(nil, clock)
			var written []*notice.Notice
			for i := range 35 {
				n := sampleNotice(i, "upgrade")
				written = append(written, n)
				old = appendRow(old, n)
				if i == 29 {
					if err := os.WriteFile(cfg.Path, feedVersion1(t, old), 0o644); err != nil {
						t.Fatal(err)
					}
					reader.poll(t, 0, model.line)
				}
			}
			if err := os.WriteFile(cfg.Path, feedVersion1(t, old), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(cfg.Path, clock, clock); err != nil {
				t.Fatal(err)
			}
			clock = clock.Add(age)
			s := newSinkAt(t, cfg, &clock)
			defer s.Close()
			for i := 35; i < 40; i++ {
				n := sampleNotice(i, "upgrade")
				written = append(written, n)
				if err := s.Write(context.Background(), n); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			reader.poll(t, 0, model.line)
			if reader.switches != 2 {
				t.Fatalf("the reader read %d files, want the old and the new", reader.switches)
			}
			if len(model.bad) > 0 {
				t.Errorf("the script would warn about %d rows, first: %q", len(model.bad), model.bad[0])
			}
			lost := 0
			for i, n := range written {
				got := model.raised[n.ID]
				switch {
				case got == 0 && i >= 30 && i < 35:
					lost++ // written after the last poll of the old file
				case got != 1:
					t.Errorf("notice %d was raised %d times, want 1", i, got)
				case model.msgs[n.ID] != n.Message:
					t.Errorf("notice %d: msg %q, want %q", i, model.msgs[n.ID], n.Message)
				}
			}
			if want := map[bool]int{true: 5, false: 0}[age >= carryFor]; lost != want {
				t.Errorf("%d of the old feed's unread rows lost, want %d", lost, want)
			}
			if !slices.Equal(model.versions, []int{1}) {
				t.Errorf("version warnings %v, want [1]", model.versions)
			}
			rotated, err := os.ReadFile(cfg.Path + ".1")
			if err != nil || !bytes.Equal(rotated, feedVersion1(t, old)) {
				t.Errorf("the old feed is not kept as %s.1 (%v)", cfg.Path, err)
			}
		})
	}
}
