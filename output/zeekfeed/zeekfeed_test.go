package zeekfeed

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/zeekanom/zeekanom/output"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

var _ output.Sink = (*Sink)(nil)

const mainZeek = "../../zeek-scripts/scripts/main.zeek"

func readScript(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(mainZeek)
	if err != nil {
		t.Fatal(err)
	}
	// Drop comments: ## docs and # remarks (no string in main.zeek has '#').
	return regexp.MustCompile(`(?m)#.*$`).ReplaceAllString(string(b), "")
}

// block returns the text between the braces that follow the match of re.
func block(t *testing.T, src, re string) string {
	t.Helper()
	loc := regexp.MustCompile(re).FindStringIndex(src)
	if loc == nil {
		t.Fatalf("main.zeek: no match for %s", re)
	}
	rest := src[loc[1]:]
	open := strings.IndexByte(rest, '{')
	end := strings.IndexByte(rest, '}')
	if open < 0 || end < open {
		t.Fatalf("main.zeek: no block after %s", re)
	}
	return rest[open+1 : end]
}

func TestNoticeTypesMatchRules(t *testing.T) {
	src := readScript(t)

	want := map[string]bool{}
	for _, r := range notice.Rules() {
		note := notice.ZeekNote(r)
		if !strings.HasPrefix(note, "ZeekAnom::") {
			t.Errorf("rule %s: note %q is not in module ZeekAnom", r, note)
		}
		want[strings.TrimPrefix(note, "ZeekAnom::")] = true
	}

	declared := map[string]bool{}
	for _, name := range strings.Split(block(t, src, `redef\s+enum\s+Notice::Type\s*\+=`), ",") {
		if name = strings.TrimSpace(name); name != "" {
			declared[name] = true
		}
	}
	for n := range want {
		if !declared[n] {
			t.Errorf("notice type %s (from notice.ZeekNote) is not declared in main.zeek", n)
		}
	}
	for n := range declared {
		if !want[n] {
			t.Errorf("main.zeek declares %s, which no rule maps to", n)
		}
	}

	// rule_notes must map every rule to its note, and nothing else.
	pairs := regexp.MustCompile(`\["([^"]+)"\]\s*=\s*(\w+)`).FindAllStringSubmatch(
		block(t, src, `const\s+rule_notes\s*:`), -1)
	got := map[string]string{}
	for _, p := range pairs {
		got[p[1]] = "ZeekAnom::" + p[2]
	}
	wantMap := map[string]string{}
	for _, r := range notice.Rules() {
		wantMap[r] = notice.ZeekNote(r)
	}
	if !reflect.DeepEqual(got, wantMap) {
		t.Errorf("ZeekAnom::rule_notes = %v\nwant %v", got, wantMap)
	}

	// raise_notes raises every type by default.
	raised := map[string]bool{}
	for _, name := range strings.Split(block(t, src, `const\s+raise_notes\s*:`), ",") {
		if name = strings.TrimSpace(name); name != "" {
			raised[name] = true
		}
	}
	if !reflect.DeepEqual(raised, declared) {
		t.Errorf("ZeekAnom::raise_notes default = %v, want every declared type %v", keys(raised), keys(declared))
	}
}

// zeek-scripts/README.md's table of notice types has one row per rule,
// with its note, and its raise_notes row names no count: it said "all
// thirteen types" after dns.dga_slow made them fourteen.
func TestREADMENoticeTypes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(mainZeek)), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	got := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_.]+)` \\| `(ZeekAnom::\\w+)` \\|$").FindAllStringSubmatch(readme, -1) {
		got[m[1]] = m[2]
	}
	want := map[string]string{}
	for _, r := range notice.Rules() {
		want[r] = notice.ZeekNote(r)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("README.md, Notice types: %v\nwant %v", got, want)
	}
	const every = "every type (Notice types, below)"
	if row := regexp.MustCompile("(?m)^\\| `ZeekAnom::raise_notes` \\| ([^|]*) \\|").FindStringSubmatch(readme); row == nil || row[1] != every {
		t.Errorf("README.md: the raise_notes row is %q, want its default %q", row, every)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// zeekLogType is the log type the ASCII writer gives a script type.
func zeekLogType(t *testing.T, typ string) string {
	typ = strings.Join(strings.Fields(typ), " ")
	switch typ {
	case "time", "string", "double", "count", "addr", "port", "int", "bool", "interval", "subnet":
		return typ
	case "Notice::Type", "transport_proto":
		return "enum"
	}
	if m := regexp.MustCompile(`^vector of (\w+)$`).FindStringSubmatch(typ); m != nil {
		return "vector[" + m[1] + "]"
	}
	if m := regexp.MustCompile(`^set\[(\w+)\]$`).FindStringSubmatch(typ); m != nil {
		return "set[" + m[1] + "]"
	}
	t.Fatalf("FeedEntry: no log type known for %q", typ)
	return ""
}

func TestHeaderMatchesFeedEntry(t *testing.T) {
	src := readScript(t)
	body := block(t, src, `type\s+FeedEntry\s*:\s*record`)
	var fromScript []Field
	for _, decl := range strings.Split(body, ";") {
		decl = strings.TrimSpace(decl)
		if decl == "" {
			continue
		}
		name, typ, ok := strings.Cut(decl, ":")
		if !ok {
			t.Fatalf("FeedEntry: cannot read field %q", decl)
		}
		if i := strings.Index(typ, "&"); i >= 0 {
			typ = typ[:i]
		}
		fromScript = append(fromScript, Field{strings.TrimSpace(name), zeekLogType(t, typ)})
	}
	if !reflect.DeepEqual(fromScript, Fields) {
		t.Errorf("ZeekAnom::FeedEntry fields\n %v\ndiffer from zeekfeed.Fields\n %v", fromScript, Fields)
	}

	// And the header written is exactly those fields.
	var names, types []string
	for _, f := range fromScript {
		names, types = append(names, f.Name), append(types, f.Type)
	}
	hdr := string(appendHeader(nil, time.Unix(0, 0)))
	for _, line := range []string{
		"#fields\t" + strings.Join(names, "\t"),
		"#types\t" + strings.Join(types, "\t"),
		"#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
		"#path\tzeekanom_feed", "#feed_version\t" + strconv.Itoa(FormatVersion), "#open\t1970-01-01-00-00-00",
	} {
		if !strings.Contains(hdr, line+"\n") {
			t.Errorf("header lacks %q:\n%s", line, hdr)
		}
	}
	if Fields[len(Fields)-1].Type != "time" {
		t.Error("the last column must be a time: the script tells whole rows by it")
	}
}

func TestEscaping(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		set     bool
	}{
		{"plain text", "plain text", false},
		{"a\tb", `a\x09b`, false},
		{"a\nb\rc", `a\x0ab\x0dc`, false},
		{`back\slash`, `back\x5cslash`, false},
		{`\x41`, `\x5cx41`, false},
		{"-", `\x2d`, false},
		{"(empty)", `\x28empty)`, false},
		{"-", `\x2d`, true},
		{"--", "--", false},
		{"a,b", "a,b", false},
		{"a,b", `a\x2cb`, true},
		{"#fields", `\x23fields`, false},
		{"caf\xc3\xa9\x00\x7f", `caf\xc3\xa9\x00\x7f`, false},
	} {
		if got := string(appendEscaped(nil, tc.in, tc.set)); got != tc.out {
			t.Errorf("appendEscaped(%q, set=%v) = %q, want %q", tc.in, tc.set, got, tc.out)
		}
	}
}

// hostile are attacker-controlled strings (DNS names, user agents, SNI) that
// reach msg, sub, domain and uids.
var hostile = []string{
	"", "-", "(empty)", "\\", "\\x", `\x09`, `\x5c`, `\\x41`, "\t", "\n", "\r\n",
	"a\tb\tc", "line\nbreak", "evil.com\t1.2.3.4\tforged", "x\n1764094020.000000\tforged\tscan.horizontal",
	",", "a,b,c", ",-,", "(empty),(empty)", "#fields\tts", "#close", "\x00\x01\x1f\x7f",
	"\xff\xfe", "caf\xc3\xa9.example", "☃.例え.jp", "Mozilla/5.0 (X11; Linux x86_64)", "%00%0a",
	strings.Repeat("A", 5000), "-\t-", " - ", "(empty)\n",
}

func sampleNotice(i int, s string) *notice.Notice {
	t0 := time.Date(2026, 11, 25, 18, 7, 6, 123456789, time.UTC).Add(time.Duration(i) * time.Minute)
	n := &notice.Notice{
		Start:       t0.Add(-5 * time.Minute),
		End:         t0,
		RiskScore:   float64(i%101) + 0.5,
		Message:     s,
		Rule:        notice.Rules()[i%len(notice.Rules())],
		Source:      netip.MustParseAddr("10.1.2.3"),
		Destination: netip.MustParseAddr("2001:db8::7"),
		DestPort:    uint16(i*37 + 1),
		Proto:       []string{"tcp", "udp", "icmp", ""}[i%4],
		Domain:      s,
		Sub:         s,
		UIDs:        []string{"CHhAvVGS1DHFjwGM9", s, s + "2"},
	}
	if i%5 == 4 {
		n.DestNet = netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, byte(i), 0}), 24)
		if i%2 == 1 {
			n.DestNet = netip.MustParsePrefix("2001:db8:0:" + strconv.Itoa(i) + "::/64")
		}
	}
	n.Finalize(s)
	return n
}

// normalize is what the feed keeps of a notice: Zeek's microseconds, no
// zone on addresses, no empty uids, the note derived from the rule, and
// only the fields the feed has.
func normalize(n *notice.Notice) notice.Notice {
	tm := func(t time.Time) time.Time {
		if t.IsZero() || t.Before(time.Unix(0, 0)) {
			return time.Time{}
		}
		return t.Truncate(time.Microsecond).UTC()
	}
	out := notice.Notice{
		Timestamp: tm(n.Timestamp), Start: tm(n.Start), End: tm(n.End),
		RiskScore: n.RiskScore, Severity: max(n.Severity, 0), Message: n.Message, ID: n.ID,
		Rule: n.Rule, Source: n.Source.WithZone(""), Destination: n.Destination.WithZone(""), DestNet: n.DestNet,
		DestPort: n.DestPort, Proto: n.Proto, Domain: n.Domain, Note: n.Note, Sub: n.Sub,
	}
	if math.IsNaN(out.RiskScore) || math.IsInf(out.RiskScore, 0) {
		out.RiskScore = 0
	}
	if out.Note == "" {
		out.Note = notice.ZeekNote(n.Rule)
	}
	for _, u := range n.UIDs {
		if u != "" {
			out.UIDs = append(out.UIDs, u)
		}
	}
	return out
}

// readFeed reads a feed back with zeekreader.
func readFeed(t testing.TB, r io.Reader) []notice.Notice {
	t.Helper()
	rd := zeekreader.NewReader(r, "zeekanom_feed.log")
	var out []notice.Notice
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading the feed back: %v", err)
		}
		sc := rec.Schema()
		idx := func(name string) int {
			i := sc.Index(name)
			if i < 0 {
				t.Fatalf("feed has no column %s", name)
			}
			return i
		}
		var n notice.Notice
		n.Timestamp, _ = rec.Time(idx("ts"))
		n.Start, _ = rec.Time(idx("start"))
		n.End, _ = rec.Time(idx("end"))
		n.ID = rec.String(idx("id"))
		n.Rule = rec.String(idx("rule"))
		n.Note = rec.String(idx("note"))
		n.RiskScore, _ = rec.Float(idx("risk_score"))
		sev, _ := rec.Uint(idx("severity"))
		n.Severity = int(sev)
		n.Source, _ = rec.Addr(idx("src"))
		n.Destination, _ = rec.Addr(idx("dst"))
		if net := rec.String(idx("dst_net")); net != "" {
			var err error
			if n.DestNet, err = netip.ParsePrefix(net); err != nil {
				t.Fatalf("dst_net: %v", err)
			}
		}
		p, _ := rec.Uint(idx("dst_p"))
		n.DestPort = uint16(p)
		n.Proto = rec.String(idx("proto"))
		n.Domain = rec.String(idx("domain"))
		n.Message = rec.String(idx("msg"))
		n.Sub = rec.String(idx("sub"))
		for _, u := range rec.Elems(idx("uids"), nil) {
			n.UIDs = append(n.UIDs, string(u))
		}
		out = append(out, n)
	}
}

func compare(t testing.TB, got []notice.Notice, want []*notice.Notice) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read back %d notices, wrote %d", len(got), len(want))
	}
	for i := range want {
		w := normalize(want[i])
		g := got[i]
		// Times compare by instant, not by location or monotonic reading.
		for _, p := range [][2]*time.Time{{&g.Timestamp, &w.Timestamp}, {&g.Start, &w.Start}, {&g.End, &w.End}} {
			if p[0].Equal(*p[1]) {
				*p[0] = *p[1]
			}
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("notice %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func newSink(t *testing.T, cfg Config) *Sink {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "feed", "zeekanom_feed.log")
	return cfg
}

func TestRoundTripHostile(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	s := newSink(t, cfg)
	var wrote []*notice.Notice
	for i, h := range hostile {
		n := sampleNotice(i, h)
		wrote = append(wrote, n)
		if err := s.Write(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	// A notice with nothing optional set.
	bare := &notice.Notice{Rule: notice.RuleBeacon, Timestamp: time.Unix(1764094020, 0)}
	wrote = append(wrote, bare)
	if err := s.Write(ctx, bare); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, b)
	compare(t, readFeed(t, bytes.NewReader(b)), wrote)
}

// checkRows asserts the shape the Zeek script relies on: every data line has
// exactly one field per column, only header lines start with '#', and the
// last field of a row is "-" or a time with six decimals.
func checkRows(t testing.TB, b []byte) {
	t.Helper()
	whole := regexp.MustCompile(`^[0-9]+\.[0-9]{6}$`)
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != len(Fields) {
			t.Fatalf("line %d has %d fields, want %d: %q", i+1, len(f), len(Fields), line)
		}
		if last := f[len(f)-1]; last != "-" && !whole.MatchString(last) {
			t.Fatalf("line %d: last field %q is neither - nor a whole time", i+1, last)
		}
		// The raw reader may hand over any prefix of the row at end of
		// file; the script must see each as not whole, or it would raise
		// a truncated row.
		tabs, lastTab := 0, -1
		for k := 0; k < len(line); k++ {
			if k > 0 && tabs == len(Fields)-1 {
				if p := line[lastTab+1 : k]; p == "-" || whole.MatchString(p) {
					t.Fatalf("line %d: the prefix %q would pass for a whole row", i+1, line[:k])
				}
			}
			if line[k] == '\t' {
				tabs++
				lastTab = k
			}
		}
	}
}

func TestMinRisk(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.MinRisk = 50
	s := newSink(t, cfg)
	low, high := sampleNotice(10, "low"), sampleNotice(80, "high")
	for _, n := range []*notice.Notice{low, high} {
		if err := s.Write(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	compare(t, readFeed(t, f), []*notice.Notice{high})
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for key, mut := range map[string]func(*Config){
		"path":      func(c *Config) { c.Path = "" },
		"max_bytes": func(c *Config) { c.MaxBytes = 100 },
		"keep":      func(c *Config) { c.Keep = -1 },
		"min_risk":  func(c *Config) { c.MinRisk = 101 },
	} {
		c := DefaultConfig()
		mut(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "output.zeekfeed."+key) {
			t.Errorf("%s: error %v does not name the key", key, err)
		}
	}
	// min_risk = nan compared false both ways and was taken (as 0)
	c := DefaultConfig()
	c.MinRisk = math.NaN()
	if err := c.Validate(); err == nil || err.Error() != "output.zeekfeed.min_risk: NaN is outside 0..100" {
		t.Errorf("min_risk NaN: %v", err)
	}
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.MaxBytes = MinMaxBytes
	cfg.Keep = 2
	s := newSink(t, cfg)
	var wrote []*notice.Notice
	for i := 0; i < 200; i++ {
		n := sampleNotice(i, "rotation test")
		wrote = append(wrote, n)
		if err := s.Write(ctx, n); err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 {
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.Path + ".3"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.3 exists with keep=2 (err %v)", cfg.Path, err)
	}
	byID := map[string]int{}
	for i, n := range wrote {
		byID[n.ID] = i
	}
	var prevLast = -1
	for _, name := range []string{cfg.Path + ".2", cfg.Path + ".1", cfg.Path} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > int(cfg.MaxBytes) {
			t.Errorf("%s: %d bytes, over max_bytes %d", filepath.Base(name), len(b), cfg.MaxBytes)
		}
		checkRows(t, b)
		got := readFeed(t, bytes.NewReader(b))
		if len(got) == 0 {
			t.Fatalf("%s: no rows", name)
		}
		// Rows are in order; a new file starts with the tail of the old.
		first := byID[got[0].ID]
		for j, n := range got {
			if byID[n.ID] != first+j {
				t.Fatalf("%s: row %d is notice %d, want %d", filepath.Base(name), j, byID[n.ID], first+j)
			}
		}
		if prevLast >= 0 && (first > prevLast || first == 0) {
			t.Errorf("%s starts at notice %d: does not repeat the tail of the previous file (ending at %d)",
				filepath.Base(name), first, prevLast)
		}
		prevLast = byID[got[len(got)-1].ID]
	}
	if prevLast != len(wrote)-1 {
		t.Errorf("the current file ends at notice %d, want %d", prevLast, len(wrote)-1)
	}
}

func TestKeepZero(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.MaxBytes = MinMaxBytes
	cfg.Keep = 0
	s := newSink(t, cfg)
	for i := 0; i < 100; i++ {
		if err := s.Write(ctx, sampleNotice(i, "x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Dir(cfg.Path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{filepath.Base(cfg.Path), filepath.Base(cfg.Path) + LockSuffix}; !slices.Equal(names, want) {
		t.Errorf("keep=0 left %q, want %q", names, want)
	}
}

func TestRestartAppends(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	var wrote []*notice.Notice
	for round := 0; round < 2; round++ {
		s := newSink(t, cfg)
		for i := 0; i < 3; i++ {
			n := sampleNotice(round*10+i, "restart")
			wrote = append(wrote, n)
			if err := s.Write(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	if c := bytes.Count(b, []byte("#fields")); c != 1 {
		t.Errorf("%d header blocks after a restart, want 1 (append)", c)
	}
	compare(t, readFeed(t, bytes.NewReader(b)), wrote)
	if _, err := os.Stat(cfg.Path + ".1"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("restart rotated the feed (err %v)", err)
	}
}

// carriedRows is the carry-over's rows, joined.
func carriedRows(s *Sink) []byte {
	var b []byte
	for _, c := range s.carry {
		b = append(b, c.row...)
	}
	return b
}

// After a restart the carry-over holds what it would had the new sink
// written the rows at the end of the file itself: the whole rows that fit,
// and no header lines, dated by the file's modification time.
func TestRestartCarriesTail(t *testing.T) {
	long := strings.Repeat("A", 5000) // a row longer than the carry-over
	for name, msgs := range map[string][]string{
		"few rows":       {"a", "b", "c"},
		"rotated":        slices.Repeat([]string{"rotated"}, 100),
		"long row last":  {"a", "b", long},
		"long row first": {long, "a", "b"},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			cfg := testConfig(t)
			cfg.MaxBytes = 16384
			s := newSink(t, cfg)
			for i, m := range msgs {
				if err := s.Write(ctx, sampleNotice(i, m)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			want := carriedRows(s)
			st, err := os.Stat(cfg.Path)
			if err != nil {
				t.Fatal(err)
			}
			s = newSink(t, cfg)
			defer s.Close()
			if got := carriedRows(s); !bytes.Equal(got, want) || s.carryBytes != len(want) {
				t.Errorf("after a restart the carry-over is %d bytes (%d counted):\n%q\nwant %d bytes:\n%q",
					len(got), s.carryBytes, got, len(want), want)
			}
			for _, c := range s.carry {
				if !c.at.Equal(st.ModTime()) {
					t.Errorf("a carried row is dated %v, want the file's modification time %v", c.at, st.ModTime())
					break
				}
			}
		})
	}
}

// A feed last written carryFor or longer ago carries nothing over: its rows
// are older than that.
func TestRestartAfterCarryForCarriesNothing(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	s := newSink(t, cfg)
	if err := s.Write(ctx, sampleNotice(1, "old")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	mod := clock.Add(-carryFor)
	if err := os.Chtimes(cfg.Path, mod, mod); err != nil {
		t.Fatal(err)
	}
	s = newSinkAt(t, cfg, &clock)
	defer s.Close()
	if len(s.carry) > 0 {
		t.Errorf("a feed last written %v ago carries %d rows over", carryFor, len(s.carry))
	}
}

// A new file repeats exactly the rows of the old file's last carry-over
// bytes that were first written less than carryFor before the rotation; a
// row repeated by one rotation keeps the time it was first written, so the
// next rotation does not repeat it again once that is carryFor ago.
func TestCarryOnlyRecentRows(t *testing.T) {
	ctx := context.Background()
	fsync = func(*os.File) error { return nil }
	defer func() { fsync = (*os.File).Sync }()
	cfg := testConfig(t)
	cfg.MaxBytes = 8192 // carry-over 2048 bytes
	cfg.Keep = 1000
	clock := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	s := newSinkAt(t, cfg, &clock)
	rng := rand.New(rand.NewPCG(1, 2))
	first := map[string]time.Time{} // id -> when first written
	for i := 0; i < 600; i++ {
		// Whole seconds, so that #open tells when a file was created:
		// mostly a minute or less apart, sometimes up to a quarter hour.
		step := 1 + rng.IntN(60)
		if rng.IntN(2) == 0 {
			step = 1 + rng.IntN(12*60)
		}
		clock = clock.Add(time.Duration(step) * time.Second)
		msg := "carry"
		switch rng.IntN(8) {
		case 0:
			msg = strings.Repeat("L", 1200)
		case 1:
			// A row that rotates a file holding only its carried-over
			// rows, which the next file then repeats again.
			msg = strings.Repeat("H", 5500)
		}
		n := sampleNotice(i, msg)
		// as long as before Finalize cut them (notice.MaxMessage): the
		// feed writes whatever it is given
		n.Message, n.Domain, n.Sub = msg, msg, msg
		n.UIDs = []string{"CHhAvVGS1DHFjwGM9", msg, msg + "2"}
		first[n.ID] = clock
		if err := s.Write(ctx, n); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var files []string
	for i := cfg.Keep; i >= 1; i-- {
		if _, err := os.Stat(fmt.Sprintf("%s.%d", cfg.Path, i)); err == nil {
			files = append(files, fmt.Sprintf("%s.%d", cfg.Path, i))
		}
	}
	files = append(files, cfg.Path)
	if len(files) < 20 {
		t.Fatalf("%d files, want at least 20", len(files))
	}
	var prev []byte
	seen := map[string]int{} // id -> files it is in
	var repeated, dropped, twice int
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		open, err := time.Parse("2006-01-02-15-04-05", regexp.MustCompile(`#open\t(\S+)`).FindStringSubmatch(string(b))[1])
		if err != nil {
			t.Fatal(err)
		}
		// What the old file's last carry-over bytes hold, first written
		// less than carryFor before this file was created.
		var want []string
		rows := strings.SplitAfter(string(prev), "\n")
		for i, size := len(rows)-1, 0; i >= 0 && prev != nil; i-- {
			if rows[i] == "" || rows[i][0] == '#' {
				continue
			}
			if size += len(rows[i]); size > int(cfg.MaxBytes/4) {
				break
			}
			id := strings.Split(rows[i], "\t")[1]
			if open.Sub(first[id]) < carryFor {
				want = append([]string{id}, want...)
			} else {
				dropped++
			}
		}
		var got []string
		for _, n := range readFeed(t, bytes.NewReader(b)) {
			if seen[n.ID] > 0 {
				got = append(got, n.ID)
			}
			if seen[n.ID]++; seen[n.ID] == 3 {
				twice++
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s (created %v) repeats %d rows of the old file, want %d:\n%v\nwant %v",
				filepath.Base(name), open, len(got), len(want), got, want)
		}
		repeated += len(got)
		prev = b
	}
	if repeated == 0 || dropped == 0 || twice == 0 {
		t.Errorf("%d rows repeated, %d rows too old to repeat, %d repeated twice: want some of each", repeated, dropped, twice)
	}
}

func TestForeignFileRotatedAway(t *testing.T) {
	for name, content := range map[string]string{
		"other header": "#separator \\x09\n#fields\tts\tfoo\n#types\ttime\tstring\n1.000000\tbar\n",
		"partial row":  "", // filled below: our header and a row cut short
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t)
			if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
				t.Fatal(err)
			}
			if content == "" {
				content = string(appendHeader(nil, time.Now())) + "1764094020.000000\tabc"
			}
			if err := os.WriteFile(cfg.Path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			s := newSink(t, cfg)
			n := sampleNotice(1, "after")
			if err := s.Write(context.Background(), n); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			old, err := os.ReadFile(cfg.Path + ".1")
			if err != nil || string(old) != content {
				t.Fatalf("the foreign file was not kept as .1 unchanged (err %v)", err)
			}
			b, err := os.ReadFile(cfg.Path)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, readFeed(t, bytes.NewReader(b)), []*notice.Notice{n})
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	s := newSink(t, testConfig(t))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), sampleNotice(1, "x")); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func FuzzRoundTrip(f *testing.F) {
	for i, h := range hostile {
		if len(h) > 200 {
			continue
		}
		f.Add(h, h+"sub", h, h, "C"+h, "tcp", 42.5, uint16(i), int64(1764094020123456), []byte{10, 0, 0, byte(i)})
	}
	f.Add("", "", "", "", "", "", math.NaN(), uint16(0), int64(0), []byte(nil))
	f.Add("a\x00b", "-", "(empty)", ",", ",,", "udp", -1.0, uint16(65535), int64(-5), []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, msg, sub, domain, uid1, uid2, proto string, risk float64, port uint16, tsMicro int64, addr []byte) {
		var src netip.Addr
		if a, ok := netip.AddrFromSlice(addr); ok {
			src = a
		}
		ts := time.UnixMicro(tsMicro % (1 << 52))
		n := &notice.Notice{
			Timestamp: ts, Start: ts.Add(-time.Minute), End: ts,
			RiskScore: risk, Severity: int(port) - 100, Message: msg, ID: uid2, Rule: domain,
			Source: src, Destination: src, DestPort: port, Proto: proto, Domain: domain,
			Note: sub, Sub: sub, UIDs: []string{uid1, uid2, ""},
		}
		b := appendHeader(nil, time.Unix(0, 0))
		b = appendRow(b, n)
		checkRows(t, b)
		compare(t, readFeed(t, bytes.NewReader(b)), []*notice.Notice{n})
	})
}

func TestSampleConf(t *testing.T) {
	var file struct {
		Output struct {
			Zeekfeed Config `toml:"zeekfeed"`
		} `toml:"output"`
	}
	md, err := toml.DecodeFile("sample.conf", &file)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Errorf("sample.conf has keys Config does not know: %v", u)
	}
	if file.Output.Zeekfeed != DefaultConfig() {
		t.Errorf("sample.conf = %+v, want the defaults %+v", file.Output.Zeekfeed, DefaultConfig())
	}
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/zeekfeed")

// TestGolden pins the exact bytes of a feed: what the Zeek script parses.
func TestGolden(t *testing.T) {
	golden := "../../testdata/zeekfeed/feed.log"
	b := appendHeader(nil, time.Date(2026, 11, 25, 18, 7, 6, 0, time.UTC))
	for i, h := range hostile {
		if len(h) > 100 {
			continue
		}
		b = appendRow(b, sampleNotice(i, h))
	}
	b = appendRow(b, &notice.Notice{Rule: notice.RuleBeacon, Timestamp: time.Unix(1764094020, 0)})
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("feed differs from %s (go test -update rewrites it)", golden)
	}
}

func TestRotationFailure(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.MaxBytes = MinMaxBytes
	cfg.Keep = 10
	s := newSink(t, cfg)
	failing := true
	rename = func(from, to string) error {
		if failing {
			return errors.New("injected rename failure")
		}
		return os.Rename(from, to)
	}
	defer func() { rename = os.Rename }()

	var wrote []*notice.Notice
	var rotErrs int
	for i := 0; i < 60; i++ {
		if i == 40 {
			failing = false
		}
		n := sampleNotice(i, "rotation failure")
		wrote = append(wrote, n)
		if err := s.Write(ctx, n); err != nil {
			rotErrs++
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if rotErrs == 0 {
		t.Fatal("no write reported the failed rotation")
	}
	// Nothing is lost: the rows are in the rotated-away file and the
	// current one, in order, the current one starting with a repeated tail.
	var got []notice.Notice
	for _, name := range []string{cfg.Path + ".3", cfg.Path + ".2", cfg.Path + ".1", cfg.Path} {
		b, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		checkRows(t, b)
		got = append(got, readFeed(t, bytes.NewReader(b))...)
	}
	seen := map[string]bool{}
	var uniq []notice.Notice
	for _, n := range got {
		if !seen[n.ID] {
			seen[n.ID] = true
			uniq = append(uniq, n)
		}
	}
	compare(t, uniq, wrote)
}

func BenchmarkAppendRow(b *testing.B) {
	n := sampleNotice(3, "evil\texample.com")
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendRow(buf[:0], n)
	}
	b.SetBytes(int64(len(buf)))
}

// Each notice type's ## doc in main.zeek, which Zeek's docs and an admin
// writing notice policy read, names the rule raised as it.
func TestNoticeTypeDocsNameTheirRule(t *testing.T) {
	b, err := os.ReadFile(mainZeek)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{} // type -> its ## doc
	doc := ""
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "##"):
			doc += strings.TrimPrefix(l, "##") + " "
			continue
		case regexp.MustCompile(`^\w+,$`).MatchString(l) && doc != "":
			// (raise_notes lists them again, undocumented)
			docs[strings.TrimSuffix(l, ",")] = strings.Join(strings.Fields(doc), " ")
		}
		doc = ""
	}
	for _, r := range notice.Rules() {
		typ := strings.TrimPrefix(notice.ZeekNote(r), "ZeekAnom::")
		if !strings.Contains(docs[typ], "(rule ``"+r+"``)") {
			t.Errorf("main.zeek: the doc of %s does not name its rule as (rule ``%s``): %q", typ, r, docs[typ])
		}
	}
}

// One writer a feed: a second sink on the same path (zeekanom score -c with
// the service's config while the service runs, two runs with their own
// state directories) is refused with an error that says what to do; the
// lock goes with the first sink's Close.
func TestSecondWriterRefused(t *testing.T) {
	cfg := testConfig(t)
	first := newSink(t, cfg)
	_, err := New(cfg)
	var le *LockedError
	if !errors.As(err, &le) || le.Path != cfg.Path {
		t.Fatalf("second New = %v, want a LockedError for %s", err, cfg.Path)
	}
	for _, want := range []string{cfg.Path, "another zeekanom", "systemctl stop zeekanom", "another path"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := New(cfg)
	if err != nil {
		t.Fatalf("New after the first sink's Close: %v", err)
	}
	second.Close()
}

// A lock file that is a symbolic link is not followed (nor created through).
func TestFeedLockIsNoLink(t *testing.T) {
	cfg := testConfig(t)
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Symlink(target, cfg.Path+LockSuffix); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg); err == nil {
		t.Fatal("New took a lock through a symbolic link")
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link's target was created: %v", err)
	}
}

// Why the lock: two writers of one feed (here a sink whose lock is let go,
// as a zeekanom from before the lock) lose notices although the reader
// polls after every row: the writer that did not rotate goes on appending
// to the renamed file, which the reader has left.
func TestTwoWritersLoseNotices(t *testing.T) {
	ctx := context.Background()
	cfg := restartConfig(t)
	a := newSink(t, cfg)
	a.lock.Close() // a writer without the lock
	a.lock = nil
	b := newSink(t, cfg)
	defer a.Close()
	defer b.Close()
	m := newScriptModel()
	r := &rawReader{path: cfg.Path}
	defer r.close()
	const n = 600
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		if err := s.Write(ctx, sampleNotice(i, "two writers")); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		r.poll(t, 0, m.line)
	}
	lost := 0
	for i := range n {
		if m.raised[sampleNotice(i, "two writers").ID] == 0 {
			lost++
		}
	}
	if lost == 0 {
		t.Error("two writers lost no notice: the lock guards against nothing")
	}
	t.Logf("two writers: %d of %d notices never raised", lost, n)
}

// What New does with the file it finds: appends to this version's feed,
// carries over an older version's rows in this version's columns, and
// rotates away anything else without a word.
func TestExistingFeedKinds(t *testing.T) {
	row := appendRow(nil, sampleNotice(4, "existing")) // (one with a dst_net)
	v2 := append(appendHeader(nil, time.Unix(0, 0)), row...)
	v1 := feedVersion1(t, v2)
	for _, tc := range []struct {
		name  string
		file  string
		same  bool
		older bool
	}{
		{"this version", string(v2), true, false},
		{"this version, a row cut short", strings.TrimSuffix(string(v2), "\n"), false, false},
		{"version 1", string(v1), false, true},
		{"version 1, a row cut short", strings.TrimSuffix(string(v1), "\n"), false, true},
		{"a newer version", strings.Replace(string(v2), "#feed_version\t2", "#feed_version\t3", 1), false, false},
		{"another log", strings.Replace(string(v1), "#path\tzeekanom_feed", "#path\tconn", 1), false, false},
		{"a column this version lacks", strings.Replace(string(v1), "\tend\n", "\tfinish\n", 1), false, false},
		{"a column of another type", strings.Replace(string(v1), "\tenum\tstring\tstring", "\tstring\tstring\tstring", 1), false, false},
		{"no #types", regexp.MustCompile(`(?m)^#types.*\n`).ReplaceAllString(string(v1), ""), false, false},
		{"not a feed", "hello\n", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cfg.Path, []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			s := &Sink{cfg: cfg}
			same, older := s.existing()
			if same != tc.same || (older != nil) != tc.older {
				t.Fatalf("same %v, older %v; want %v, %v", same, older != nil, tc.same, tc.older)
			}
			if older == nil {
				return
			}
			v1row := bytes.TrimPrefix(v1, v1[:bytes.LastIndex(v1[:len(v1)-1], []byte("\n"))+1])
			if got := older.row(v1row); !bytes.Equal(got, bytes.Replace(row, []byte("\t198.51.4.0/24\t"), []byte("\t-\t"), 1)) {
				t.Errorf("version 1 row in this version's columns:\n%q\nwant the row with dst_net unset:\n%q", got, row)
			}
			if got := older.row([]byte("1\t2\t3\n")); got != nil {
				t.Errorf("a row of 3 columns: %q, want nil", got)
			}
		})
	}
}
