// Package eval scores detector notices against ground truth: the
// Stratosphere label columns of labelled logs, or label files of host
// ranges for sets whose bad hosts are known. It reports precision, recall
// and F1 at host-window and flow level, per rule and per attack class, and
// the PR-AUC (average precision) of event.risk_score. See README.md.
package eval

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// LabelRange marks every flow from or to Host (an address or prefix)
// between Start and End (zero: open) as malicious of Class.
type LabelRange struct {
	Host       netip.Prefix
	Start, End time.Time
	Class      string
	// Line is the range's line in its labels file (ParseLabels), 0 when
	// it was not read from one.
	Line int
}

// LineError is a bad line of a labels file; Line counts every line of the
// file from 1, comments and blank lines too.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ParseLabels reads "host,start,end,class" lines (CSV; a header line and
// lines starting with # are skipped, and so is a comment after the
// fields, from a # after a blank: trailingComments). host is an address or CIDR prefix;
// start and end are RFC 3339 times, epoch seconds, or empty for open. A bad
// line is a *LineError.
func ParseLabels(r io.Reader) ([]LabelRange, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		br.Discard(3) // a byte-order mark (spreadsheet exports)
	}
	if err := notALog(br); err != nil {
		return nil, err
	}
	cr := csv.NewReader(&trailingComments{br: br})
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var out []LabelRange
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &LineError{pe.Line, pe.Err}
			}
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 0 || (n == 1 && strings.EqualFold(rec[0], "host")) || strings.HasPrefix(rec[0], "#") {
			// (a comment indented: csv's own are # first on the line;
			// no host starts with #)
			continue
		}
		if len(rec) != 4 {
			return nil, &LineError{line, fmt.Errorf("want host,start,end,class, got %d fields", len(rec))}
		}
		lr := LabelRange{Line: line}
		if lr.Host, err = parseHost(rec[0]); err != nil {
			return nil, &LineError{line, err}
		}
		if lr.Start, err = parseTime(rec[1]); err != nil {
			return nil, &LineError{line, err}
		}
		if lr.End, err = parseTime(rec[2]); err != nil {
			return nil, &LineError{line, err}
		}
		if !lr.Start.IsZero() && !lr.End.IsZero() && lr.End.Before(lr.Start) {
			return nil, &LineError{line, fmt.Errorf("end %s is before start %s", rec[2], rec[1])}
		}
		lr.Class = strings.TrimSpace(rec[3])
		if lr.Class == "" {
			lr.Class = "malicious"
		}
		out = append(out, lr)
	}
}

// notALog refuses a Zeek log given as the labels file (eval --labels
// conn.log.labeled): its label columns are read when it is one of the
// logs, and as a labels file it failed on its first row with "want
// host,start,end,class, got 1 fields" (TSV) or "got 23 fields" (JSON).
func notALog(br *bufio.Reader) error {
	b, _ := br.Peek(len("#separator"))
	switch {
	case string(b) == "#separator":
		return &LineError{1, errors.New("a Zeek log (#separator), not a labels file: a log's label columns are read when it is one of the PATHs; --labels takes host,start,end,class lines")}
	case len(b) > 0 && b[0] == '{':
		return &LineError{1, errors.New("a JSON log line, not a labels file: a log's label columns are read when it is one of the PATHs; --labels takes host,start,end,class lines")}
	}
	return nil
}

// parseHost reads an address or a CIDR; IPv4-mapped IPv6 (::ffff:a.b.c.d,
// ::ffff:a.b.c.0/120) is read as the IPv4 it maps, as Zeek logs it.
func parseHost(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err == nil && p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p, err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "*" || s == "-" {
		return time.Time{}, nil
	}
	// exactly, as a log's ts is read: through a float64 a start or end
	// copied from a row's ts (1481764645.912248) landed nanoseconds off
	// it and left that row out of the range
	if t, ok := zeekreader.EpochTime(s); ok {
		return t, nil
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		// NaN, ±Inf and times past 2255 have no UnixNano
		return time.Time{}, fmt.Errorf("epoch time %q out of range", s)
	}
	v := s
	if len(v) > len(time.DateOnly) && v[len(time.DateOnly)] == ' ' {
		// RFC 3339 allows a space for the T, as zeek-cut -d prints it
		v = v[:len(time.DateOnly)] + "T" + v[len(time.DateOnly)+1:]
	}
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 with a zone (2023-11-14T22:00:00Z, +01:00 or +0100) or epoch seconds", s)
}

// zonedLayouts are the times a labels file takes: RFC 3339, and ISO
// 8601's offset without a colon, as zeek-cut -d prints a ts
// (2016-12-15T01:20:37+0000). A time without a zone is refused: the
// analyst's local time, or the sensor's, is not known here.
var zonedLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"}

// Labeler returns a features.Config.Labeler for the ranges.
func Labeler(ls []LabelRange) func(orig, resp netip.Addr, ts time.Time) (string, bool) {
	if len(ls) == 0 {
		return nil
	}
	return func(o, r netip.Addr, ts time.Time) (string, bool) {
		for i := range ls {
			if ls[i].match(o, ts) || ls[i].match(r, ts) {
				return ls[i].Class, true
			}
		}
		return "", false
	}
}

func (l *LabelRange) match(a netip.Addr, ts time.Time) bool {
	return l.Host.Contains(a) && (l.Start.IsZero() || !ts.Before(l.Start)) && (l.End.IsZero() || !ts.After(l.End))
}

type flow struct {
	ts         time.Time
	orig, resp netip.Addr
	mal        bool
	class      string
	// late: a conn row read when its start window was closed already and
	// the window of its end was not; end is then that time. The detectors
	// never see it in its start window (see lateEnd).
	late bool
	end  time.Time
}

type hwKey struct {
	host  netip.Addr
	start int64
}

// hwTruth is a host-window's ground truth: malicious when any of its rows
// is, of every class its malicious rows carry (a scan from a host that also
// talks to its C2 is a window of both classes).
type hwTruth struct {
	mal     bool
	classes []string
}

// kept reports whether the window takes part in a scope whose keep selects
// classes ("" is benign): a malicious window when keep selects any of its
// classes, a benign one when keep selects "".
func (t *hwTruth) kept(keep func(string) bool) bool {
	if !t.mal {
		return keep("")
	}
	for _, c := range t.classes {
		if keep(c) {
			return true
		}
	}
	return false
}

// Evaluator collects ground truth from events and notices from detectors.
type Evaluator struct {
	Window time.Duration
	// Lateness is how long after its close a window still takes rows, as
	// the detectors' lateness (LatenessOf; New sets features' default, 2
	// minutes): a conn row read later is late (see lateEnd). Set before
	// the first Observe.
	Lateness time.Duration
	// connWM is the latest ts of the conn rows read so far, the
	// detectors' watermark
	connWM  time.Time
	labels  *Matches
	conn    []flow
	other   []flow // dns/http/ssl rows: flows when the input has no conn rows
	hw      map[hwKey]*hwTruth
	notices []*notice.Notice
}

// New returns an evaluator with host-windows of the given length.
func New(window time.Duration, labels []LabelRange) *Evaluator {
	if window <= 0 {
		window = 5 * time.Minute
	}
	return &Evaluator{Window: window, Lateness: features.DefaultConfig().Lateness, labels: NewMatches(labels), hw: map[hwKey]*hwTruth{}}
}

// featuresBuilt is a detector built on the features extractor (iforest,
// supervised): it counts a host's rows in windows of its own length, and
// a conn row read after its start window closed goes to the window of
// its end, where the other windowed detectors drop it.
type featuresBuilt interface {
	FeaturesWindow() time.Duration
	FeaturesLateness() time.Duration
}

// ofFeatures is the largest of get over the detectors of dets built on
// features, def when there is none.
func ofFeatures(dets []detectors.Detector, get func(featuresBuilt) time.Duration, def time.Duration) time.Duration {
	l, found := time.Duration(0), false
	for _, d := range dets {
		if f, ok := d.(featuresBuilt); ok {
			l, found = max(l, get(f)), true
		}
	}
	if !found {
		return def
	}
	return l
}

// LatenessOf is the Lateness for an Evaluator of dets: the largest
// lateness of the detectors that count a late conn row in the window of
// its end (iforest and supervised, their features extractor), features'
// default when none of them is among dets. lateEnd makes a late row a
// row of its end's window too, because those detectors count it there;
// the others drop a late row, so their lateness decides nothing eval
// marks. The largest, because a row is late then only when every one of
// them had closed its start window on reading it (none has it there, as
// lateEnd says) and the window of its end was open for the one with that
// lateness, which counts it there; with a smaller one, a row that
// detector kept in its start window would be given an end window it
// never saw the row in. When they differ, a row only the less patient
// one moved is judged by its start alone.
func LatenessOf(dets []detectors.Detector) time.Duration {
	return ofFeatures(dets, featuresBuilt.FeaturesLateness, features.DefaultConfig().Lateness)
}

// WindowOf is the host-window length for an Evaluator of dets when the
// command line does not give one: the largest window of the detectors
// built on features (iforest and supervised, whose host-windows are the
// unit eval scores, and whose start windows lateEnd mirrors), features'
// default of 5 minutes when none of them is among dets. The largest,
// because a notice flags every host-window its span overlaps: on the
// grid of the smaller, a notice of the larger window flags two or more
// windows, those the attack left benign false positives that detector
// could not avoid, where on the larger grid a notice of the smaller
// flags the one window that holds its own (when one length divides the
// other, as 5 and 10 or 15 minutes do). It also keeps lateEnd's rule of
// LatenessOf: a start window of the larger length closes no earlier than
// the smaller's, so a row late on it was late for both.
func WindowOf(dets []detectors.Detector) time.Duration {
	return ofFeatures(dets, featuresBuilt.FeaturesWindow, features.DefaultConfig().Window)
}

// Observe records the ground truth of one row.
func (e *Evaluator) Observe(ev *zeekreader.Event) {
	var f flow
	var label, detailed []byte
	switch ev.Kind {
	case zeekreader.KindConn:
		c := ev.Conn
		f = flow{ts: c.TS, orig: c.Orig, resp: c.Resp}
		f.end, f.late = e.lateEnd(c.TS, c.Duration)
		if c.TS.After(e.connWM) {
			e.connWM = c.TS
		}
		label, detailed = c.Label, c.DetailedLabel
	case zeekreader.KindDNS:
		q := ev.DNS
		f = flow{ts: q.TS, orig: q.Orig, resp: q.Resp}
		label, detailed = q.Label, q.DetailedLabel
	case zeekreader.KindHTTP:
		h := ev.HTTP
		f = flow{ts: h.TS, orig: h.Orig, resp: h.Resp}
		label, detailed = h.Label, h.DetailedLabel
	case zeekreader.KindSSL:
		s := ev.SSL
		f = flow{ts: s.TS, orig: s.Orig, resp: s.Resp}
		label, detailed = s.Label, s.DetailedLabel
	default:
		return
	}
	if features.IsMalicious(label) {
		f.mal, f.class = true, features.ClassOf(string(detailed))
	}
	if c, ok := e.labels.Class(f.orig, f.resp, f.ts); ok {
		f.mal, f.class = true, c
	}
	if ev.Kind == zeekreader.KindConn {
		e.conn = append(e.conn, f)
	} else {
		e.other = append(e.other, f)
	}
	e.mark(hwKey{f.orig, f.ts.Truncate(e.Window).UnixNano()}, &f)
	if f.late {
		// the window where the detectors see it too
		e.mark(hwKey{f.orig, f.end.Truncate(e.Window).UnixNano()}, &f)
	}
}

// Unmatched are the label ranges no row observed so far fell in (from or
// to the range's host, in its time): a host mistyped, or absent from the
// input (or from its --from/--to), labels nothing, and a labels file of
// such ranges scored its detectors against no attack without a word.
func (e *Evaluator) Unmatched() []LabelRange { return e.labels.Unmatched() }

// lateEnd returns the end of a conn row starting at ts and lasting dur,
// and whether it is late: read when the watermark (the latest ts read
// before it) has passed its start window's close plus the lateness, as
// Zeek logs a connection when it ends, with ts its start. features
// (iforest, supervised) then counts it in the window of its end, if that
// one is still open; the other windowed detectors drop it (window.Late).
// Judged by the order the rows are read in, as the detectors see them,
// not by the duration: a log sorted by ts (zeekanom inject's planted
// rows) has a long connection where it starts, and Zeek writes a row
// when it removes the connection, an inactivity timeout after its end.
func (e *Evaluator) lateEnd(ts time.Time, dur time.Duration) (time.Time, bool) {
	closed := e.connWM.Add(-e.Lateness) // windows ending at or before it are closed
	open := func(t time.Time) bool { return t.Truncate(e.Window).Add(e.Window).After(closed) }
	end := ts.Add(dur)
	return end, !e.connWM.IsZero() && !open(ts) && open(end)
}

// mark makes k a host-window with rows, malicious of f's class when f is.
func (e *Evaluator) mark(k hwKey, f *flow) {
	t := e.hw[k]
	if t == nil {
		t = &hwTruth{}
		e.hw[k] = t
	}
	if f.mal {
		t.mal = true
		if !slices.Contains(t.classes, f.class) {
			t.classes = append(t.classes, f.class)
		}
	}
}

// WindowsWithin counts the host-windows with rows (all of them, and those
// starting in [from, until)): how much of the input a model trained on
// that range has seen.
func (e *Evaluator) WindowsWithin(from, until time.Time) (in, all int) {
	for k := range e.hw {
		if t := time.Unix(0, k.start); !t.Before(from) && t.Before(until) {
			in++
		}
	}
	return in, len(e.hw)
}

// Notice records one notice.
func (e *Evaluator) Notice(n *notice.Notice) { e.notices = append(e.notices, n) }

// Metrics are confusion counts and the derived scores.
type Metrics struct {
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
	TN        int     `json:"tn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

func (m *Metrics) finish() {
	if m.TP+m.FP > 0 {
		m.Precision = float64(m.TP) / float64(m.TP+m.FP)
	}
	if m.TP+m.FN > 0 {
		m.Recall = float64(m.TP) / float64(m.TP+m.FN)
	}
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	m.Precision, m.Recall, m.F1 = r4(m.Precision), r4(m.Recall), r4(m.F1)
}

func r4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// Scores are one slice of the report.
type Scores struct {
	Notices    int     `json:"notices"`
	HostWindow Metrics `json:"host_window"`
	Flow       Metrics `json:"flow"`
	// PRAUC is the average precision of the host-window risk score.
	PRAUC float64 `json:"pr_auc"`
	// PRAUCChance is what PRAUC a score that knows nothing gets: the share
	// of malicious host-windows in the scope. A set whose windows are
	// nearly all malicious has a PRAUC near 1 whatever is flagged.
	PRAUCChance float64 `json:"pr_auc_chance"`
}

// Report is the evaluation result.
type Report struct {
	WindowS              float64 `json:"window_s"`
	HostWindows          int     `json:"host_windows"`
	MaliciousHostWindows int     `json:"malicious_host_windows"`
	Flows                int     `json:"flows"`
	MaliciousFlows       int     `json:"malicious_flows"`
	// LateFlows are the conn rows read when their start window was closed
	// and their end's was not (of them, LateMaliciousFlows malicious): a
	// host-window of their end has them too, and a notice covers them by
	// their start or their end.
	LateFlows          int                `json:"late_flows"`
	LateMaliciousFlows int                `json:"late_malicious_flows"`
	FlowKind           string             `json:"flow_kind"`
	Overall            Scores             `json:"overall"`
	ByRule             map[string]*Scores `json:"by_rule"`
	// ByClass compares each attack class against the benign windows and
	// flows only (windows of other classes are left out).
	ByClass map[string]*Scores `json:"by_class"`
	// ModelTrainedOn is, with a model (eval -m), the share of the
	// host-windows with rows that fall in the time range the model was
	// trained on (HostWindows also counts the windows without rows that
	// notices flagged): there its scores are in-sample. Nil without a model, or
	// with one that does not record its range.
	ModelTrainedOn *float64 `json:"model_trained_on,omitempty"`
}

func span(n *notice.Notice) (time.Time, time.Time) {
	s, e := n.Start, n.End
	if s.IsZero() {
		s = n.Timestamp
	}
	if e.IsZero() || e.Before(s) {
		e = s
	}
	return s, e
}

// covers reports whether n flags flow f: same originator (or responder when
// the notice has no source), ts (or, for a late row, its end) within the
// notice's evidence window, and the notice's destination, when it has one
// with a source, equal to the flow's responder.
func covers(n *notice.Notice, f *flow) bool {
	atStart, atEnd := coversAt(n, f)
	return atStart || atEnd
}

// coversAt is covers by the time it matched: the flow's start, and (a late
// row only) its end.
func coversAt(n *notice.Notice, f *flow) (atStart, atEnd bool) {
	s, e := span(n)
	atStart = !f.ts.Before(s) && !f.ts.After(e)
	atEnd = f.late && !f.end.Before(s) && !f.end.After(e)
	if (!atStart && !atEnd) || !endpointsMatch(n, f) {
		return false, false
	}
	return atStart, atEnd
}

func endpointsMatch(n *notice.Notice, f *flow) bool {
	if !n.Source.IsValid() {
		return n.Destination.IsValid() && n.Destination == f.resp
	}
	if n.Source != f.orig {
		return false
	}
	return !n.Destination.IsValid() || n.Destination == f.resp
}

// Report computes the metrics.
func (e *Evaluator) Report() *Report {
	flows, kind := e.conn, "conn"
	if len(flows) == 0 {
		flows, kind = e.other, "dns/http/ssl"
	}
	r := &Report{WindowS: e.Window.Seconds(), Flows: len(flows), FlowKind: kind,
		ByRule: map[string]*Scores{}, ByClass: map[string]*Scores{}}
	for _, f := range flows {
		if f.mal {
			r.MaliciousFlows++
		}
		if f.late {
			r.LateFlows++
			if f.mal {
				r.LateMaliciousFlows++
			}
		}
	}
	// host-windows hit by notices that had no rows are benign windows too
	hw := make(map[hwKey]*hwTruth, len(e.hw))
	for k, v := range e.hw {
		hw[k] = v
	}
	for _, n := range e.notices {
		for _, k := range e.windowsOf(n) {
			if hw[k] == nil {
				hw[k] = &hwTruth{}
			}
		}
	}
	keys := make([]hwKey, 0, len(hw))
	for k, v := range hw {
		keys = append(keys, k)
		if v.mal {
			r.MaliciousHostWindows++
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].start != keys[j].start {
			return keys[i].start < keys[j].start
		}
		return keys[i].host.Less(keys[j].host)
	})
	r.HostWindows = len(keys)
	rules := map[string][]*notice.Notice{}
	for _, n := range e.notices {
		rules[n.Rule] = append(rules[n.Rule], n)
	}
	classes := map[string]bool{}
	for _, v := range hw {
		for _, c := range v.classes {
			classes[c] = true
		}
	}
	for _, f := range flows {
		if f.mal {
			classes[f.class] = true
		}
	}
	all := func(string) bool { return true }
	r.Overall = e.score(e.notices, keys, hw, flows, all)
	for rule, ns := range rules {
		s := e.score(ns, keys, hw, flows, all)
		r.ByRule[rule] = &s
	}
	for c := range classes {
		s := e.score(e.notices, keys, hw, flows, func(cl string) bool { return cl == "" || cl == c })
		s.Notices = 0
		r.ByClass[c] = &s
	}
	return r
}

func (e *Evaluator) windowsOf(n *notice.Notice) []hwKey {
	h := n.Source
	if !h.IsValid() {
		return nil
	}
	s, end := span(n)
	var out []hwKey
	for w := s.Truncate(e.Window); ; w = w.Add(e.Window) {
		out = append(out, hwKey{h, w.UnixNano()})
		if !w.Add(e.Window).Before(end) || len(out) > 10000 {
			break
		}
	}
	return out
}

// score evaluates notices ns; keep(class) selects which truths take part
// ("" is benign).
func (e *Evaluator) score(ns []*notice.Notice, keys []hwKey, hw map[hwKey]*hwTruth, flows []flow, keep func(string) bool) Scores {
	s := Scores{Notices: len(ns)}
	risk := map[hwKey]float64{}
	bySrc := map[netip.Addr][]*notice.Notice{}
	var noSrc []*notice.Notice
	for _, n := range ns {
		if n.Source.IsValid() {
			bySrc[n.Source] = append(bySrc[n.Source], n)
			for _, k := range e.windowsOf(n) {
				risk[k] = math.Max(risk[k], math.Max(n.RiskScore, 1e-6))
			}
		} else {
			noSrc = append(noSrc, n)
		}
	}
	// Flows. A notice without a source (fan-in: the victim is the
	// destination) also flags the host-windows of the originators of the
	// flows it covers.
	flag := func(orig netip.Addr, t time.Time, r float64) {
		k := hwKey{orig, t.Truncate(e.Window).UnixNano()}
		risk[k] = math.Max(risk[k], math.Max(r, 1e-6))
	}
	for i := range flows {
		f := &flows[i]
		p := false
		for _, n := range bySrc[f.orig] {
			if covers(n, f) {
				p = true
				break
			}
		}
		for _, n := range noSrc {
			// the window of the time it covers: a late row's end is where
			// the detectors saw it
			atStart, atEnd := coversAt(n, f)
			if atStart {
				flag(f.orig, f.ts, n.RiskScore)
			}
			if atEnd {
				flag(f.orig, f.end, n.RiskScore)
			}
			p = p || atStart || atEnd
		}
		if keep(f.class) {
			count(&s.Flow, p, f.mal)
		}
	}
	s.Flow.finish()
	var pts []point
	for _, k := range keys {
		t := hw[k]
		if !t.kept(keep) {
			continue
		}
		p := risk[k] > 0
		count(&s.HostWindow, p, t.mal)
		pts = append(pts, point{risk[k], t.mal})
	}
	s.HostWindow.finish()
	s.PRAUC = r4(AveragePrecision(pts))
	if len(pts) > 0 {
		s.PRAUCChance = r4(float64(s.HostWindow.TP+s.HostWindow.FN) / float64(len(pts)))
	}
	return s
}

func count(m *Metrics, pred, truth bool) {
	switch {
	case pred && truth:
		m.TP++
	case pred:
		m.FP++
	case truth:
		m.FN++
	default:
		m.TN++
	}
}

type point struct {
	score float64
	pos   bool
}

// AveragePrecision is the area under the precision-recall curve as
// scikit-learn's average_precision_score computes it: Σ (R_k − R_k−1) P_k
// over descending score thresholds, ties taken together.
func AveragePrecision(pts []point) float64 {
	pos := 0
	for _, p := range pts {
		if p.pos {
			pos++
		}
	}
	if pos == 0 {
		return 0
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].score > pts[j].score })
	var ap, prevR float64
	tp, n := 0, 0
	for i := 0; i < len(pts); {
		j := i
		for j < len(pts) && pts[j].score == pts[i].score {
			if pts[j].pos {
				tp++
			}
			n++
			j++
		}
		rec := float64(tp) / float64(pos)
		ap += (rec - prevR) * float64(tp) / float64(n)
		prevR = rec
		i = j
	}
	return ap
}

// WriteTable prints the report as aligned text.
func (r *Report) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "host-windows %d (%d malicious, %.0fs windows); flows %d %s rows (%d malicious)\n",
		r.HostWindows, r.MaliciousHostWindows, r.WindowS, r.Flows, r.FlowKind, r.MaliciousFlows)
	if r.LateFlows > 0 {
		fmt.Fprintf(bw, "late rows (read when their window had closed; also rows of their end's window): %d (%d malicious)\n",
			r.LateFlows, r.LateMaliciousFlows)
	}
	fmt.Fprintln(bw)
	fmt.Fprintf(bw, "%-34s %7s | %6s %6s %6s %5s %5s %5s | %6s %6s %6s | %6s %6s\n",
		"scope", "notices", "hw-P", "hw-R", "hw-F1", "TP", "FP", "FN", "flow-P", "flow-R", "flow-F1", "PR-AUC", "chance")
	line := func(name string, s *Scores, showN bool) {
		n := "-"
		if showN {
			n = strconv.Itoa(s.Notices)
		}
		fmt.Fprintf(bw, "%-34s %7s | %6.3f %6.3f %6.3f %5d %5d %5d | %6.3f %6.3f %6.3f | %6.3f %6.3f\n", clipName(name), n,
			s.HostWindow.Precision, s.HostWindow.Recall, s.HostWindow.F1, s.HostWindow.TP, s.HostWindow.FP, s.HostWindow.FN,
			s.Flow.Precision, s.Flow.Recall, s.Flow.F1, s.PRAUC, s.PRAUCChance)
	}
	line("ALL", &r.Overall, true)
	for _, k := range sortedKeys(r.ByRule) {
		line("rule "+k, r.ByRule[k], true)
	}
	for _, k := range sortedKeys(r.ByClass) {
		line("class "+k, r.ByClass[k], false)
	}
	return bw.Flush()
}

func clipName(s string) string {
	s = strings.Replace(s, "From_malicious-To_malicious-", "", 1)
	s = strings.Replace(s, "From_malicious-", "", 1)
	if len(s) > 34 {
		return s[:31] + "..."
	}
	return s
}

func sortedKeys(m map[string]*Scores) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
