package eval

import (
	"errors"
	"io"
	"math"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/dos"
	"github.com/zeekanom/zeekanom/detectors/iforest"
	"github.com/zeekanom/zeekanom/detectors/supervised"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

func feed(t *testing.T, e *Evaluator, path string) {
	a, err := zeekreader.Walk([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	src := a.Open(false)
	defer src.Close()
	for {
		ev, err := src.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		e.Observe(ev)
	}
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-3 {
		t.Errorf("%s = %.4f, want %.4f", what, got, want)
	}
}

// testdata/eval/tiny: A (10.0.0.1) has 2 malicious C2 flows and 1 benign
// flow in window 0, B (.2) 2 benign flows in window 0, C (.3) 1 malicious
// scan flow in window 1, D (.4) 1 benign flow in window 1. Notice X flags
// A→6.6.6.6 in window 0 (risk 80), notice Y flags B in window 0 (risk 60).
func TestTinyFixture(t *testing.T) {
	e := New(5*time.Minute, nil)
	feed(t, e, filepath.Join("..", "..", "testdata", "eval", "tiny", "conn.log.labeled"))
	w0 := time.Unix(1700000100, 0)
	e.Notice(&notice.Notice{Rule: "X", Source: netip.MustParseAddr("10.0.0.1"), Destination: netip.MustParseAddr("6.6.6.6"),
		Start: w0, End: w0.Add(5 * time.Minute), RiskScore: 80})
	e.Notice(&notice.Notice{Rule: "Y", Source: netip.MustParseAddr("10.0.0.2"), Start: w0, End: w0.Add(5 * time.Minute), RiskScore: 60})
	r := e.Report()
	if r.HostWindows != 4 || r.MaliciousHostWindows != 2 || r.Flows != 7 || r.MaliciousFlows != 3 {
		t.Fatalf("counts: %+v", r)
	}
	hw := r.Overall.HostWindow
	if hw.TP != 1 || hw.FP != 1 || hw.FN != 1 || hw.TN != 1 {
		t.Fatalf("host-window confusion %+v", hw)
	}
	near(t, "hw P", hw.Precision, 0.5)
	near(t, "hw R", hw.Recall, 0.5)
	near(t, "hw F1", hw.F1, 0.5)
	fl := r.Overall.Flow
	if fl.TP != 2 || fl.FP != 2 || fl.FN != 1 || fl.TN != 2 {
		t.Fatalf("flow confusion %+v", fl)
	}
	near(t, "flow P", fl.Precision, 0.5)
	near(t, "flow R", fl.Recall, 2.0/3)
	near(t, "flow F1", fl.F1, 4.0/7)
	// scores: A 80 (pos), B 60 (neg), C 0 (pos), D 0 (neg):
	// AP = 0.5*1 + 0 + 0.5*0.5 = 0.75
	near(t, "PR-AUC", r.Overall.PRAUC, 0.75)
	near(t, "PR-AUC chance", r.Overall.PRAUCChance, 0.5)            // 2 of 4 windows
	near(t, "C2 PR-AUC chance", r.ByClass["C2"].PRAUCChance, 1.0/3) // A against B and D
	x := r.ByRule["X"].HostWindow
	near(t, "X P", x.Precision, 1)
	near(t, "X R", x.Recall, 0.5)
	near(t, "X F1", x.F1, 2.0/3)
	c2 := r.ByClass["C2"].HostWindow
	if c2.TP != 1 || c2.FP != 1 || c2.FN != 0 {
		t.Fatalf("class C2 %+v", c2)
	}
	sc := r.ByClass["scan"].HostWindow
	if sc.TP != 0 || sc.FN != 1 {
		t.Fatalf("class scan %+v", sc)
	}
	var b strings.Builder
	r.WriteTable(&b)
	if !strings.Contains(b.String(), "rule X") || !strings.Contains(b.String(), "class scan") {
		t.Fatal(b.String())
	}
}

func TestLabelsFile(t *testing.T) {
	ls, err := ParseLabels(strings.NewReader("host,start,end,class\n# c\n10.0.0.3,,,bot\n10.9.0.0/16,2023-11-14T22:00:00Z,1700000200,sweep\n"))
	if err != nil || len(ls) != 2 {
		t.Fatal(ls, err)
	}
	e := New(5*time.Minute, ls)
	feed(t, e, filepath.Join("..", "..", "testdata", "eval", "tiny", "conn.log.labeled"))
	r := e.Report()
	if r.MaliciousFlows != 3 || r.ByClass["bot"] == nil {
		t.Fatalf("%+v", r)
	}
	if !ls[1].match(netip.MustParseAddr("10.9.1.1"), time.Unix(1700000100, 0)) || ls[1].match(netip.MustParseAddr("10.9.1.1"), time.Unix(1700000300, 0)) {
		t.Fatal("range match")
	}
	if _, err := ParseLabels(strings.NewReader("1.2.3.4,x\n")); err == nil {
		t.Fatal("want error")
	}
}

// Epoch seconds in a labels file are read exactly, as a log's ts: a range
// whose start and end are copied from rows' ts holds those rows. Through a
// float64 1481764645.912248 was 1481764645.912247936 and its row, 64 ns
// later, fell outside a range starting and ending there.
func TestLabelsEpochExact(t *testing.T) {
	for _, ts := range []string{"1481764645.912248", "1481764944.790699", "1541469370.604621", "1541491401.141977", "1700000000"} {
		ls, err := ParseLabels(strings.NewReader("10.0.0.1," + ts + "," + ts + ",edge\n"))
		if err != nil || len(ls) != 1 {
			t.Fatal(ls, err)
		}
		at, _ := zeekreader.EpochTime(ts) // as the reader reads a row's ts
		if !ls[0].Start.Equal(at) || !ls[0].End.Equal(at) {
			t.Errorf("%s: range %s..%s, want %s", ts, ls[0].Start.Format(time.RFC3339Nano), ls[0].End.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano))
		}
		e := New(5*time.Minute, ls)
		c := &zeekreader.Conn{TS: at, Orig: netip.MustParseAddr("10.0.0.1"), Resp: netip.MustParseAddr("10.0.0.2")}
		e.Observe(&zeekreader.Event{Kind: zeekreader.KindConn, TS: at, Conn: c})
		if r := e.Report(); r.MaliciousFlows != 1 {
			t.Errorf("%s: %d malicious flows, want the row at the range's start and end", ts, r.MaliciousFlows)
		}
	}
}

// A labels file's times: RFC 3339, with a space for the T and with ISO
// 8601's offset without a colon as zeek-cut -d prints a ts; a time without
// a zone, or a date alone, is an error naming the line (whose zone would
// be a guess).
func TestLabelsTimeForms(t *testing.T) {
	want := time.Date(2016, 12, 15, 1, 20, 37, 536038000, time.UTC)
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"2016-12-15T01:20:37.536038Z", true},
		{"2016-12-15 01:20:37.536038Z", true},
		{"2016-12-15T02:20:37.536038+01:00", true},
		{"2016-12-15T01:20:37.536038+0000", true},
		{"2016-12-14 20:20:37.536038-0500", true},
		{"1481764837.536038", true},
		{"2016-12-15T01:20:37", false},
		{"2016-12-15 01:20:37", false},
		{"2016-12-15", false},
		{"15/12/2016 01:20", false},
	} {
		ls, err := ParseLabels(strings.NewReader("# c\n10.0.0.1," + c.in + ",,bot\n"))
		switch {
		case c.ok && (err != nil || !ls[0].Start.Equal(want)):
			t.Errorf("%q: %v %v, want %s", c.in, ls, err, want)
		case !c.ok && (err == nil || !strings.HasPrefix(err.Error(), "line 2: ")):
			t.Errorf("%q: error %v, want one naming line 2", c.in, err)
		}
	}
}

// A Zeek log given as the labels file (eval --labels conn.log.labeled)
// is said to be one, at line 1: it failed on its first row, "line 9: want
// host,start,end,class, got 1 fields".
func TestLabelsFileThatIsALog(t *testing.T) {
	for _, in := range []string{
		"#separator \\x09\n#set_separator\t,\n#fields\tts\tuid\n1.0\tCx\n",
		"\ufeff#separator \\x09\n",
		`{"ts":1481764837.536038,"uid":"C1","id.orig_h":"10.0.0.1","label":"Malicious"}` + "\n",
	} {
		_, err := ParseLabels(strings.NewReader(in))
		if err == nil || !strings.HasPrefix(err.Error(), "line 1: ") || !strings.Contains(err.Error(), "not a labels file") {
			t.Errorf("%q: error %v, want line 1 saying it is a log", in, err)
		}
	}
}

// An indented # comment is a comment, commas and all: it was a bad line,
// "want host,start,end,class, got 1 fields".
func TestLabelsIndentedComment(t *testing.T) {
	ls, err := ParseLabels(strings.NewReader("host,start,end,class\n  # the bot, whole capture\n\t# another\n10.0.0.1,,,bot\n"))
	if err != nil || len(ls) != 1 || ls[0].Line != 4 {
		t.Fatalf("%+v %v", ls, err)
	}
}

// A comment after the fields, from a # after a blank, is a comment, quotes
// and commas in it too: "c2 # note" was the class, a row of its own in
// eval's per-class table. A # with no blank before it, or quoted, stays in
// the class; a quote in a comment line opens no field.
func TestLabelsTrailingComment(t *testing.T) {
	for _, c := range []struct {
		in    string
		class []string
	}{
		{"10.0.0.1,,,c2 # note\n", []string{"c2"}},
		{"10.0.0.1,,,c2\t# the \"bot\", see ticket 7\r\n10.0.0.2,,,dga\r\n", []string{"c2", "dga"}},
		{"10.0.0.1,,, # open, no class\n", []string{"malicious"}},
		{"10.0.0.1,,,c2#1\n10.0.0.2,,,\"c2 # one\"\n", []string{"c2#1", "c2 # one"}},
		{"# the \"bot\n10.0.0.1,,,c2 # x\n", []string{"c2"}},
	} {
		ls, err := ParseLabels(strings.NewReader(c.in))
		if err != nil || len(ls) != len(c.class) {
			t.Errorf("%q: %+v %v", c.in, ls, err)
			continue
		}
		for i, want := range c.class {
			if ls[i].Class != want {
				t.Errorf("%q: line %d's class %q, want %q", c.in, ls[i].Line, ls[i].Class, want)
			}
		}
	}
	// the line numbers stay those of the file
	_, err := ParseLabels(strings.NewReader("10.0.0.1,,,c2 # a\n\n10.0.0.x,,,c2 # b\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "line 3: ") {
		t.Errorf("error %v, want it at line 3", err)
	}
}

// IPv4-mapped IPv6 in a labels file names the IPv4 host Zeek logs.
func TestLabelsMappedIPv4(t *testing.T) {
	ls, err := ParseLabels(strings.NewReader("::ffff:10.0.0.3,,,bot\n::ffff:10.9.0.0/112,,,sweep\n2001:db8::1,,,v6\n"))
	if err != nil || len(ls) != 3 {
		t.Fatal(ls, err)
	}
	at := time.Unix(1700000100, 0)
	for _, c := range []struct {
		l    int
		addr string
		want bool
	}{{0, "10.0.0.3", true}, {0, "10.0.0.4", false}, {1, "10.9.1.1", true}, {1, "10.8.1.1", false}, {2, "2001:db8::1", true}} {
		if got := ls[c.l].match(netip.MustParseAddr(c.addr), at); got != c.want {
			t.Errorf("label %d on %s: %v, want %v", c.l, c.addr, got, c.want)
		}
	}
}

func TestAveragePrecision(t *testing.T) {
	near(t, "perfect", AveragePrecision([]point{{0.9, true}, {0.5, false}}), 1)
	near(t, "inverted", AveragePrecision([]point{{0.9, false}, {0.5, true}}), 0.5)
}

// A fan-in notice (no source, the victim as destination) flags the flows to
// the victim and the host-windows of their originators.
func TestFanInNotice(t *testing.T) {
	e := New(5*time.Minute, nil)
	feed(t, e, filepath.Join("..", "..", "testdata", "eval", "tiny", "conn.log.labeled"))
	w0 := time.Unix(1700000100, 0)
	e.Notice(&notice.Notice{Rule: "dos.fanin", Destination: netip.MustParseAddr("6.6.6.6"), Start: w0, End: w0.Add(time.Minute), RiskScore: 70})
	r := e.Report()
	hw, fl := r.Overall.HostWindow, r.Overall.Flow
	if hw.TP != 1 || hw.FP != 0 || fl.TP != 2 || fl.FP != 0 {
		t.Fatalf("hw %+v flow %+v", hw, fl)
	}
}

// A bad labels line is reported by its line in the file (comments and
// blank lines counted), and values that are no time or an empty range are
// errors rather than silently matching everything or nothing.
func TestLabelsErrorsNameTheFileLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"# comment\n\nhost,start,end,class\n10.0.0.1,,,bot\n\n# more\n10.0.0.x,,,bad\n", "line 7: "},
		{"host,start,end,class\n\n10.0.0.1,,,\"bot\n", "line 3: "},
		{"10.0.0.1,NaN,,bot\n", "line 1: "},
		{"10.0.0.1,,inf,bot\n", "line 1: "},
		{"10.0.0.1,1e30,,bot\n", "line 1: "},
		{"# c\n10.0.0.1,1700000200,1700000100,bot\n", "line 2: "},
		{"\n\n10.0.0.1,x\n", "line 3: "},
	} {
		_, err := ParseLabels(strings.NewReader(c.in))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to start with %q", c.in, err, c.want)
		}
		var le *LineError
		if err != nil && !errors.As(err, &le) {
			t.Errorf("%q: %v is not a *LineError", c.in, err)
		}
	}
	// a byte-order mark before the header (spreadsheet exports) is no host
	ls, err := ParseLabels(strings.NewReader("\ufeffhost,start,end,class\r\n2001:db8::/32,2023-11-14T23:13:20+01:00,,v6\r\n"))
	if err != nil || len(ls) != 1 || !ls[0].match(netip.MustParseAddr("2001:db8::5"), time.Unix(1700000000, 0)) ||
		ls[0].match(netip.MustParseAddr("2001:db8::5"), time.Unix(1699999999, 0)) {
		t.Fatalf("%+v %v", ls, err)
	}
}

// row feeds one conn row; label "" is benign.
func row(e *Evaluator, ts int64, orig, resp, label string) {
	c := &zeekreader.Conn{TS: time.Unix(ts, 0), Orig: netip.MustParseAddr(orig), Resp: netip.MustParseAddr(resp)}
	if label != "" {
		c.Label, c.DetailedLabel = []byte("Malicious"), []byte(label)
	}
	e.Observe(&zeekreader.Event{Kind: zeekreader.KindConn, TS: c.TS, Conn: c})
}

// A window whose rows carry two classes (a scan from a host that also
// talks to its C2) is a window of each: it counted only for the class of
// its first malicious row, so the other class lost it by row order.
func TestWindowOfTwoClasses(t *testing.T) {
	for _, first := range []string{"C2", "scan"} {
		second := map[string]string{"C2": "scan", "scan": "C2"}[first]
		e := New(5*time.Minute, nil)
		row(e, 1700000110, "10.0.0.1", "6.6.6.6", first)
		row(e, 1700000120, "10.0.0.1", "6.6.6.7", second)
		row(e, 1700000130, "10.0.0.2", "1.1.1.1", "")
		w0 := time.Unix(1700000100, 0)
		e.Notice(&notice.Notice{Rule: "X", Source: netip.MustParseAddr("10.0.0.1"), Start: w0, End: w0.Add(5 * time.Minute), RiskScore: 80})
		r := e.Report()
		if r.MaliciousHostWindows != 1 || r.Overall.HostWindow.TP != 1 || r.Overall.HostWindow.TN != 1 {
			t.Fatalf("%s first: overall %+v", first, r.Overall.HostWindow)
		}
		for _, c := range []string{"C2", "scan"} {
			s := r.ByClass[c]
			if s == nil || s.HostWindow.TP != 1 || s.HostWindow.FN != 0 || s.HostWindow.TN != 1 || s.Flow.TP != 1 || s.Flow.TN != 1 {
				t.Errorf("%s first: class %s %+v", first, c, s)
			}
		}
	}
}

// Edge cases of the scores: ties in the risk score are taken together, as
// scikit-learn's average_precision_score does (the values below are its);
// no positive gives 0 and no notice precision and recall 0; a notice
// spanning several windows flags each of them, those without rows counted
// as benign; a flow is covered within [start, end] only.
func TestScoreEdgeCases(t *testing.T) {
	pts := func(scores []float64, pos []bool) []point {
		var ps []point
		for i := range scores {
			ps = append(ps, point{scores[i], pos[i]})
		}
		return ps
	}
	near(t, "ties", AveragePrecision(pts([]float64{0.9, 0.9, 0.5, 0.5, 0.5, 0}, []bool{true, false, true, false, true, false})), 0.5666667)
	near(t, "ties at the top", AveragePrecision(pts([]float64{80, 80, 80, 0, 0}, []bool{true, true, false, false, true})), 0.6444444)
	near(t, "no positive", AveragePrecision(pts([]float64{0.9, 0.5, 0}, []bool{false, false, false})), 0)

	e := New(5*time.Minute, nil)
	row(e, 1700000110, "10.0.0.1", "6.6.6.6", "")
	row(e, 1700000410, "10.0.0.1", "6.6.6.6", "")
	r := e.Report()
	if o := r.Overall; o.HostWindow != (Metrics{TN: 2}) || o.Flow != (Metrics{TN: 2}) || o.PRAUC != 0 {
		t.Fatalf("no notice, no positive: %+v", o)
	}

	e = New(5*time.Minute, nil)
	row(e, 1700000110, "10.0.0.1", "6.6.6.6", "C2") // window 0
	row(e, 1700001010, "10.0.0.1", "6.6.6.6", "C2") // window 3; 1 and 2 have no row
	row(e, 1700001290, "10.0.0.1", "6.6.6.6", "C2") // after the notice's end
	w0 := time.Unix(1700000100, 0)
	e.Notice(&notice.Notice{Rule: "long", Source: netip.MustParseAddr("10.0.0.1"), Destination: netip.MustParseAddr("6.6.6.6"),
		Start: w0.Add(10 * time.Second), End: w0.Add(15*time.Minute + 10*time.Second), RiskScore: 60})
	r = e.Report()
	hw, fl := r.Overall.HostWindow, r.Overall.Flow
	if r.HostWindows != 4 || hw.TP != 2 || hw.FP != 2 || fl.TP != 2 || fl.FN != 1 {
		t.Fatalf("long notice: %d windows, hw %+v, flow %+v", r.HostWindows, hw, fl)
	}
}

// A conn row is logged when its connection ends, with ts its start. One
// ending after its start window's close plus the lateness (2 minutes) is
// seen by the detectors in the window of its end, if at all: features
// (iforest, supervised) reassigns it there, the others drop it. Such a
// late row is a row of its start window and of its end window, and a
// notice covers it by its start or its end; a row ending within the
// lateness is judged by its start alone, as every row was before.
func TestLateRowCountsWhereSeen(t *testing.T) {
	w0 := time.Unix(1700000100, 0) // a window start
	win := func(i int) (time.Time, time.Time) {
		s := w0.Add(time.Duration(i) * 5 * time.Minute)
		return s, s.Add(5 * time.Minute)
	}
	const a, c2 = "10.0.0.1", "6.6.6.6"
	// Each case reads a benign row of another pair (b to d: a host-window
	// and a flow that no notice covers) at the time the connection is
	// logged, before the connection's row, as Zeek writes them, or after
	// it (sorted: a log sorted by ts, as zeekanom inject writes it).
	const b, d = "10.0.0.9", "10.0.0.10"
	for _, c := range []struct {
		name   string
		label  string
		at     time.Duration // the connection's start in window 0 (10 s when 0)
		dur    time.Duration
		logged time.Duration // after the start, the other row (dur when 0)
		sorted bool
		noSrc  bool // a fan-in notice: no source, c2 its destination
		from   int  // the notice spans windows from..to
		to     int
		hws    int // host-windows (malicious)
		malHWs int
		hw, fl Metrics
		late   int
	}{
		// 20 minutes from window 0 into window 4: the features' notice in
		// window 4 was a benign window (FP) and left the flow missed
		{"malicious late, notice at its end", "C2", 0, 20 * time.Minute, 0, false, false, 4, 4, 3, 2,
			Metrics{TP: 1, FN: 1, TN: 1}, Metrics{TP: 1, TN: 1}, 1},
		{"benign late, notice at its end", "", 0, 20 * time.Minute, 0, false, false, 4, 4, 3, 0,
			Metrics{FP: 1, TN: 2}, Metrics{FP: 1, TN: 1}, 1},
		{"malicious late, no notice", "C2", 0, 20 * time.Minute, 0, false, false, -1, -1, 3, 2,
			Metrics{FN: 2, TN: 1}, Metrics{FN: 1, TN: 1}, 1},
		// long_connection's notice spans the connection: the windows
		// between, without a row, stay benign
		{"malicious late, notice over the connection", "C2", 0, 20 * time.Minute, 0, false, false, 0, 4, 6, 2,
			Metrics{TP: 2, FP: 3, TN: 1}, Metrics{TP: 1, TN: 1}, 1},
		{"malicious late, fan-in notice at its end", "C2", 0, 20 * time.Minute, 0, false, true, 4, 4, 3, 2,
			Metrics{TP: 1, FN: 1, TN: 1}, Metrics{TP: 1, TN: 1}, 1},
		// 6 minutes: ends within the lateness, seen in its start window
		{"malicious within the lateness, notice in the next window", "C2", 0, 6 * time.Minute, 0, false, false, 1, 1, 3, 1,
			Metrics{FP: 1, FN: 1, TN: 1}, Metrics{FN: 1, TN: 1}, 0},
		{"malicious within the lateness, notice at its start", "C2", 0, 6 * time.Minute, 0, false, false, 0, 0, 2, 1,
			Metrics{TP: 1, TN: 1}, Metrics{TP: 1, TN: 1}, 0},
		// a log sorted by ts has the 20 minutes where they start: the
		// detectors see them in their start window, as any row (the
		// duration alone made window 4 malicious, a miss no detector
		// could avoid)
		{"sorted by ts, malicious long, notice at its start", "C2", 0, 20 * time.Minute, 0, true, false, 0, 0, 2, 1,
			Metrics{TP: 1, TN: 1}, Metrics{TP: 1, TN: 1}, 0},
		// 1 minute across a window boundary, logged 3 minutes after its
		// end (an inactivity timeout): window 0 had closed, features
		// counts it in window 1 (by its duration it was on time)
		{"logged after a timeout, notice at its end", "C2", 4*time.Minute + 50*time.Second, time.Minute, 4 * time.Minute, false, false, 1, 1, 3, 2,
			Metrics{TP: 1, FN: 1, TN: 1}, Metrics{TP: 1, TN: 1}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := New(5*time.Minute, nil)
			at, logged := c.at, c.logged
			if at == 0 {
				at = 10 * time.Second
			}
			if logged == 0 {
				logged = c.dur
			}
			ts := w0.Add(at)
			conn := &zeekreader.Conn{TS: ts, Duration: c.dur, Orig: netip.MustParseAddr(a), Resp: netip.MustParseAddr(c2)}
			if c.label != "" {
				conn.Label, conn.DetailedLabel = []byte("Malicious"), []byte(c.label)
			}
			other := &zeekreader.Conn{TS: ts.Add(logged), Orig: netip.MustParseAddr(b), Resp: netip.MustParseAddr(d)}
			rows := []*zeekreader.Conn{other, conn}
			if c.sorted {
				rows = []*zeekreader.Conn{conn, other}
			}
			for _, r := range rows {
				e.Observe(&zeekreader.Event{Kind: zeekreader.KindConn, TS: r.TS, Conn: r})
			}
			if c.from >= 0 {
				s, _ := win(c.from)
				_, end := win(c.to)
				n := &notice.Notice{Rule: "X", Source: netip.MustParseAddr(a), Start: s, End: end, RiskScore: 70}
				if c.noSrc {
					n.Source, n.Destination = netip.Addr{}, netip.MustParseAddr(c2)
				}
				e.Notice(n)
			}
			r := e.Report()
			hw, fl := r.Overall.HostWindow, r.Overall.Flow
			hw.Precision, hw.Recall, hw.F1 = 0, 0, 0
			fl.Precision, fl.Recall, fl.F1 = 0, 0, 0
			if r.HostWindows != c.hws || r.MaliciousHostWindows != c.malHWs || hw != c.hw || fl != c.fl {
				t.Errorf("host-windows %d (%d malicious), hw %+v, flow %+v; want %d (%d), hw %+v, flow %+v",
					r.HostWindows, r.MaliciousHostWindows, hw, fl, c.hws, c.malHWs, c.hw, c.fl)
			}
			wantMal := 0
			if c.label != "" {
				wantMal = c.late
			}
			if r.LateFlows != c.late || r.LateMaliciousFlows != wantMal {
				t.Errorf("late flows %d (%d malicious), want %d (%d)", r.LateFlows, r.LateMaliciousFlows, c.late, wantMal)
			}
		})
	}
}

// LatenessOf and WindowOf are the largest lateness and window of the
// detectors built on features (iforest, supervised); without one of
// them, features' defaults (2 and 5 minutes), whatever the others'
// (which drop a late row and count in windows eval does not score).
func TestLatenessOfWindowOf(t *testing.T) {
	forest := func(l, w time.Duration) detectors.Detector {
		c := iforest.DefaultConfig()
		c.Lateness, c.Window = l, w
		return iforest.New(c, nil)
	}
	classifier := func(l, w time.Duration) detectors.Detector {
		c := supervised.DefaultConfig()
		c.Lateness, c.Window = l, w
		return supervised.New(c, nil, nil)
	}
	longDoS := dos.DefaultConfig()
	longDoS.Lateness, longDoS.Window = time.Hour, time.Hour
	const m = time.Minute
	for _, tc := range []struct {
		name                 string
		dets                 []detectors.Detector
		lateness, windowSize time.Duration
	}{
		{"none", nil, 2 * m, 5 * m},
		{"iforest", []detectors.Detector{forest(7*m, 10*m)}, 7 * m, 10 * m},
		{"iforest below the defaults", []detectors.Detector{forest(m, m)}, m, m},
		{"the larger of the two", []detectors.Detector{forest(2*m, 15*m), classifier(10*m, 5*m)}, 10 * m, 15 * m},
		{"dos alone", []detectors.Detector{dos.New(longDoS)}, 2 * m, 5 * m},
		{"dos's does not count", []detectors.Detector{dos.New(longDoS), forest(3*m, 10*m)}, 3 * m, 10 * m},
	} {
		if got := LatenessOf(tc.dets); got != tc.lateness {
			t.Errorf("%s: lateness %v, want %v", tc.name, got, tc.lateness)
		}
		if got := WindowOf(tc.dets); got != tc.windowSize {
			t.Errorf("%s: window %v, want %v", tc.name, got, tc.windowSize)
		}
	}
}
