package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/eval"
	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/iforest"
	"github.com/zeekanom/zeekanom/detectors/model"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// skips counts the rows (and files: unreadable, damaged) a read skipped
// and keeps the first, whose file:line says where to look.
type skips struct {
	n     int64
	first error
	// files is how many files failed (could not be opened, or stopped
	// on damage), firstFile the first of them
	files     int
	firstFile error
	// outside is how many rows were left out as outside --from/--to
	outside int64
	// notes are the walk's (copies left out, renamed logs skipped, files
	// outside the range), for the command to print as score does
	notes []string
}

// printNotes writes the walk's notes, each on a line of its own, as
// score prints them.
func (s skips) printNotes(w io.Writer) {
	for _, n := range s.notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func (s *skips) add(err error) {
	if s.n++; s.first == nil {
		s.first = err
	}
	if fe := (*zeekreader.FileError)(nil); errors.As(err, &fe) {
		if s.files++; s.firstFile == nil {
			s.firstFile = err
		}
	}
}

// nothingRead is an error when every one of the input's files failed and
// no row was read: a lone unreadable file was counted as skipped and the
// command exited 0, as if it had read an empty log. An input of which some
// file was read (an archive with one bad file) is not an error.
func (s skips) nothingRead(files int, rows int64) error {
	switch {
	case files == 0 || s.files < files || rows > 0:
		return nil
	case files == 1:
		return fmt.Errorf("no input could be read: %w", s.firstFile)
	}
	return fmt.Errorf("no input could be read: all %d files failed (the first: %w)", files, s.firstFile)
}

// String says how many were skipped and the first of them, and how many
// rows were outside --from/--to.
func (s skips) String() string {
	out := "no bad rows"
	if s.first != nil {
		out = fmt.Sprintf("%d skipped: bad rows, unreadable or damaged files (the first: %v)", s.n, s.first)
	}
	if s.outside > 0 {
		out += fmt.Sprintf(", %s outside --from/--to", counted(s.outside, "row"))
	}
	return out
}

// eachEvent walks paths and calls fn for every conn/dns/http/ssl event of
// the range, skipping bad rows (counted and returned, as the rows outside
// the range are).
//
// cols, which may be nil, checks each log's header for the columns the
// detectors need (see detectors.ColumnCheck).
func eachEvent(ctx context.Context, paths []string, rng rangeFlags, cols *detectors.ColumnCheck, fn func(*zeekreader.Event)) (skipped skips, err error) {
	if len(paths) == 0 {
		return skipped, errors.New("no input paths")
	}
	a, err := rng.walk(paths)
	if err != nil {
		return skipped, err
	}
	if len(a.Chains) == 0 {
		// (as score: features, train and eval over a directory holding no
		// log exited 0 with an empty table). The walk's notes say why (a
		// renamed conn log, an export named as no log); score prints
		// them before its error, these commands print none of them.
		err := noLogs(paths, rng)
		if len(a.Notes) > 0 {
			err = fmt.Errorf("%w; note: %s", err, strings.Join(a.Notes, "; note: "))
		}
		return skipped, err
	}
	skipped.notes = a.Notes
	src := a.Open(false)
	defer src.Close()
	for i := 0; ; i++ {
		if i&4095 == 0 && ctx.Err() != nil {
			return skipped, ctx.Err()
		}
		ev, err := src.Next()
		if err == io.EOF {
			skipped.outside = src.Stats().Outside
			return skipped, skipped.nothingRead(len(a.Files()), src.Stats().Rows)
		}
		if err != nil {
			if zeekreader.Skippable(err) {
				skipped.add(err)
				continue
			}
			return skipped, err
		}
		cols.Check(ev)
		fn(ev)
	}
}

// warnColumns prints a ColumnCheck's warnings as score, eval and
// features print them: "warning: exfil: conn.log has no orig_bytes: ...".
func warnColumns(w io.Writer) func(detectors.Missing) {
	return func(m detectors.Missing) { fmt.Fprintf(w, "warning: %s\n", m) }
}

// extractVectors returns every host-window vector of the logs at paths, in
// the order the windows close: the extractor is driven by a
// detectors.Engine, fed as score and eval feed the detectors, so that it
// closes its windows on the same watermarks (per log, the oldest of
// conn/dns/http/ssl) and the vectors are those the iforest and supervised
// detectors score. The detectors in also take the same rows alongside
// (train's contextual, exfil and beacon detectors). A log lacking a
// column they need is named on stderr (nil: not checked), and so are the
// lines of the labels file that match no row, as cmd's (train, features)
// warnings, as eval names them.
func extractVectors(ctx context.Context, stderr io.Writer, cmd string, paths []string, rng rangeFlags, window time.Duration, labelsFile string, also ...detectors.Detector) ([]features.Vector, skips, error) {
	fc := features.DefaultConfig()
	fc.Window = window
	var matches *matchTap
	if labelsFile != "" {
		ls, err := readLabels(labelsFile)
		if err != nil {
			return nil, skips{}, err
		}
		fc.Labeler = eval.Labeler(ls)
		matches = &matchTap{eval.NewMatches(ls)}
		also = append(also, matches)
	}
	tap := &vectorTap{ex: features.New(fc)}
	dets := append([]detectors.Detector{tap}, also...)
	eng := detectors.NewEngine(func(*notice.Notice) {}, dets...)
	var cols *detectors.ColumnCheck
	if stderr != nil {
		cols = detectors.NewColumnCheck(warnColumns(stderr), dets...)
	}
	batch := zeekreader.NewBatch(batchRows)
	skipped, err := eachEvent(ctx, paths, rng, cols, func(ev *zeekreader.Event) {
		batch.Add(ev)
		if batch.Full() {
			eng.ObserveBatch(batch.Events)
			batch.Reset()
		}
	})
	if err != nil {
		return nil, skipped, err
	}
	eng.ObserveBatch(batch.Events)
	eng.Flush()
	if matches != nil && stderr != nil {
		// read once the engine is done: the tap is a detector of its own,
		// its state touched only by its Observe, on one goroutine at a time
		warnUnmatched(stderr, cmd, labelsFile, matches.Unmatched(), rng.set())
	}
	return tap.out, skipped, nil
}

// matchTap is a detector that records which lines of a labels file a row
// falls in, every row read (the features extractor asks its labeler only
// of a host-window not yet malicious, and its labeler stops at the first
// line that matches): train and features name the lines that match no
// row as eval does.
type matchTap struct{ *eval.Matches }

func (t matchTap) Name() string { return "labels" }
func (t matchTap) Kinds() []zeekreader.Kind {
	return []zeekreader.Kind{zeekreader.KindConn, zeekreader.KindDNS, zeekreader.KindHTTP, zeekreader.KindSSL}
}
func (t matchTap) Observe(ev *zeekreader.Event) {
	_, orig, resp := rowEnds(ev)
	t.Class(orig, resp, ev.TS)
}
func (t matchTap) Advance(time.Time, detectors.Emit) {}
func (t matchTap) Flush(detectors.Emit)              {}

// vectorTap is a detector that keeps the vectors of the windows it closes.
type vectorTap struct {
	ex  *features.Extractor
	out []features.Vector
}

func (t *vectorTap) Name() string { return "features" }
func (t *vectorTap) Kinds() []zeekreader.Kind {
	return []zeekreader.Kind{zeekreader.KindConn, zeekreader.KindDNS, zeekreader.KindHTTP, zeekreader.KindSSL}
}
func (t *vectorTap) Observe(ev *zeekreader.Event) { t.ex.Observe(ev) }
func (t *vectorTap) Advance(wm time.Time, _ detectors.Emit) {
	t.out = append(t.out, t.ex.Advance(wm)...)
}
func (t *vectorTap) Flush(detectors.Emit) { t.out = append(t.out, t.ex.Flush()...) }

// Needs are the byte counts the vectors stand on (detectors.Needer).
func (t *vectorTap) Needs() []detectors.Need { return features.Needs() }

const featuresSynopsis = `[--window D] [--labels FILE] [--score -m MODEL] [--from TIME] [--to TIME] PATH... [-o FILE]

Writes one CSV row per host and window (host, window_start): the feature
vector the iforest and supervised detectors score, a label column (1 where
the Stratosphere label columns or --labels mark the host-window
malicious), observed_ratio (the share of the window the input covered:
below 1 for the first and last windows and either side of a gap), with
--score the model's iforest_score, as the iforest detector judges the
window, and last orig_bytes_logged and resp_bytes_logged (0 where no conn
row of the window gave the count: its bytes_out or bytes_in, and
out_in_ratio, are then 0 for what was not logged). --from and --to read
only the rows with a ts in [from, to), as score does.`

func cmdFeatures(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("features", featuresSynopsis, stdout)
	out := fs.String("o", "-", "output CSV file (- for stdout)")
	window := fs.Duration("window", 5*time.Minute, "window length")
	score := fs.Bool("score", false, "add an iforest_score column (needs -m)")
	mpath := fs.String("m", "", "model file for --score (implies --score)")
	labels := fs.String("labels", "", "labels file (host,start,end,class) marking host-windows malicious besides the label columns")
	var rng rangeFlags
	rangeVar(fs, &rng)
	if err := parseFlagsAnywhere(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErr(fs, stderr)
	}
	if err := rng.check(); err != nil {
		return err
	}
	if err := checkWindow(*window); err != nil {
		return err
	}
	// A model is only for scoring: -m alone used to be ignored.
	if *mpath != "" {
		*score = true
	}
	var m *model.Model
	if *score {
		if *mpath == "" {
			return usagef("--score needs -m MODEL")
		}
		var err error
		if m, err = model.Load(*mpath); err != nil {
			return err
		}
		// as eval and score check the iforest detector's window
		fix := fmt.Sprintf("retrain with --window or pass --window %s", time.Duration(m.WindowS*float64(time.Second)))
		if err := windowMatches(m, window.Seconds(), fix); err != nil {
			return fmt.Errorf("%s: %w", *mpath, err)
		}
	}
	if err := checkOutput("-o", *out, append(fs.Args(), *mpath, *labels)...); err != nil {
		return err
	}
	vecs, skipped, err := extractVectors(ctx, stderr, "features", fs.Args(), rng, *window, *labels)
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		if err := writeVectorsCSV(bw, vecs, m); err != nil {
			return err
		}
		return bw.Flush()
	}
	if *out == "-" {
		err = write(stdout)
	} else {
		err = writeOutput(*out, write)
	}
	if err != nil {
		return err
	}
	skipped.printNotes(stderr)
	fmt.Fprintf(stderr, "zeekanom features: %s, %v\n", counted(len(vecs), "host-window"), skipped)
	return nil
}

// noLogs is the error of an input without a log to read (in the range).
func noLogs(paths []string, rng rangeFlags) error {
	if rng.set() {
		return fmt.Errorf("no conn, dns, http or ssl logs under %v that may hold rows between --from and --to", paths)
	}
	return fmt.Errorf("no conn, dns, http or ssl logs under %v", paths)
}

// checkOutputDir fails at once when the directory of an output FILE
// written after the whole input is read does not exist: the write failed
// only after all the reading.
func checkOutputDir(flag, file string) error {
	dir := filepath.Dir(file)
	st, err := os.Stat(dir)
	if err == nil && !st.IsDir() {
		err = fmt.Errorf("%s is not a directory", dir)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", flag, file, err)
	}
	return nil
}

// checkWindow rejects a --window that is not above 0 (a usage error).
func checkWindow(d time.Duration) error {
	if d <= 0 {
		return usagef("--window %s: must be above 0", d)
	}
	return nil
}

func readLabels(path string) ([]eval.LabelRange, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ls, err := eval.ParseLabels(f)
	if le := (*eval.LineError)(nil); errors.As(err, &le) {
		return nil, fmt.Errorf("%s:%d: %w", path, le.Line, le.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ls, nil
}

// writeVectorsCSV writes host, window_start, the features, label (1 =
// malicious), observed_ratio (the share of the window the input covered:
// 1, or less for a window its first or last row, or a gap, cut) and, with
// a model, iforest_score: the score the iforest detector judges the
// window by (a partial one as the most usual whole window consistent
// with it), then orig_bytes_logged and resp_bytes_logged: 0 when the
// window has conn rows and none of them gave the count (its bytes_out or
// bytes_in, and out_in_ratio, hold 0 for what the log never gave:
// features.Vector.Unlogged), else 1. They come last, after
// iforest_score, so that every column before keeps its place.
func writeVectorsCSV(w *bufio.Writer, vecs []features.Vector, m *model.Model) error {
	w.WriteString("host,window_start")
	for _, n := range features.Names {
		w.WriteString("," + n)
	}
	w.WriteString(",label,observed_ratio")
	var judge *iforest.Judge
	if m != nil {
		w.WriteString(",iforest_score")
		judge = iforest.NewJudge(m.Forest, time.Duration(m.WindowS*float64(time.Second)))
	}
	w.WriteString(",orig_bytes_logged,resp_bytes_logged\n")
	var b []byte
	for _, v := range vecs {
		b = b[:0]
		b = append(b, v.Host.String()...)
		b = append(b, ',')
		b = append(b, v.Start.UTC().Format(time.RFC3339)...)
		for _, x := range v.Values {
			b = append(b, ',')
			b = strconv.AppendFloat(b, x, 'g', 8, 64)
		}
		if v.Malicious {
			b = append(b, ",1,"...)
		} else {
			b = append(b, ",0,"...)
		}
		b = strconv.AppendFloat(b, v.Observed(), 'g', 6, 64)
		if judge != nil {
			b = append(b, ',')
			b = strconv.AppendFloat(b, judge.Score(&v), 'f', 6, 64)
		}
		for _, u := range []features.Unlogged{features.UnloggedOut, features.UnloggedIn} {
			if v.Unlogged&u != 0 {
				b = append(b, ",0"...)
			} else {
				b = append(b, ",1"...)
			}
		}
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
