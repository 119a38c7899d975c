package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/eval"
	"github.com/zeekanom/zeekanom/detectors/model"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

const evalSynopsis = `[-c FILE] [-m MODEL] [--labels FILE] [--json FILE] [--window D] [--from TIME] [--to TIME] [--min-risk N] [--workers N] PATH...

Runs every configured detector (as 'score' builds them) over labelled logs
and reports precision, recall and F1 at host-window and flow level, per
rule and per attack class, and the PR-AUC of event.risk_score. Ground truth
is the Stratosphere label/detailedlabel columns, and/or a labels file of
host,start,end,class ranges (see detectors/eval/README.md). --from and --to
evaluate only the rows with a ts in [from, to), as score scores them.`

func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", evalSynopsis, stdout)
	cfgPath := fs.String("c", "", "config file (TOML)")
	mpath := fs.String("m", "", "model file for the iforest, supervised, contextual, exfil and beacon detectors (overrides the config)")
	labelsPath := fs.String("labels", "", "labels file: host,start,end,class lines")
	jsonOut := fs.String("json", "", "also write the report as JSON to FILE (-: standard output, and the table to standard error)")
	window := fs.Duration("window", 5*time.Minute, "host-window length for the host-window metrics; when not given, the window of -c's iforest and supervised (the larger when they differ), or this default without either")
	minRisk := fs.Float64("min-risk", 0, "ignore notices with event.risk_score below N")
	var workers int
	workersVar(fs, &workers)
	var rng rangeFlags
	rangeVar(fs, &rng)
	if err := parseFlagsAnywhere(fs, args); err != nil {
		return err
	}
	if err := checkWorkers(workers); err != nil {
		return err
	}
	if err := rng.check(); err != nil {
		return err
	}
	if err := checkOutput("--json", *jsonOut, append(fs.Args(), *cfgPath, *mpath, *labelsPath)...); err != nil {
		return err
	}
	if err := checkWindow(*window); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErr(fs, stderr)
	}
	var labels []eval.LabelRange
	if *labelsPath != "" {
		var err error
		if labels, err = readLabels(*labelsPath); err != nil {
			return err
		}
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	dets, mf, err := cfg.buildModelFiles(*mpath)
	if err != nil {
		return err
	}
	models := mf.loaded
	for _, n := range mf.notes { // as score says them
		fmt.Fprintf(stderr, "warning: %s\n", n)
	}
	if err := cfg.checkUndecoded(); err != nil {
		return err
	}
	if len(dets) == 0 {
		return errors.New("no detector enabled")
	}
	if !flagGiven(fs, "window") {
		// the host-windows are the detectors' own (iforest, supervised)
		// unless the command line says otherwise
		*window = eval.WindowOf(dets)
	}
	ev := eval.New(*window, labels)
	// the late-row accounting follows the detectors' configured lateness,
	// not features' default
	ev.Lateness = eval.LatenessOf(dets)
	eng := detectors.NewEngine(func(n *notice.Notice) {
		if n.RiskScore >= *minRisk {
			ev.Notice(n)
		}
	}, dets...)
	eng.SetWorkers(workers)
	// the evaluator takes each row; the detectors take runs of rows, as in
	// score (the evaluator only collects notices until Report)
	batch := zeekreader.NewBatch(batchRows)
	skipped, err := eachEvent(ctx, fs.Args(), rng, detectors.NewColumnCheck(warnColumns(stderr), dets...), func(e *zeekreader.Event) {
		ev.Observe(e)
		batch.Add(e)
		if batch.Full() {
			eng.ObserveBatch(batch.Events)
			batch.Reset()
		}
	})
	if err != nil {
		return err
	}
	eng.ObserveBatch(batch.Events)
	eng.Flush()
	rep := ev.Report()
	skipped.printNotes(stderr)
	if skipped.n > 0 || skipped.outside > 0 {
		fmt.Fprintf(stderr, "zeekanom eval: %v\n", skipped)
	}
	warnNoTruth(stderr, rep, fs.Args())
	warnUnmatched(stderr, "eval", *labelsPath, ev.Unmatched(), rng.set())
	warnInSample(stderr, ev, rep, models)
	names := ""
	for i, d := range dets {
		if i > 0 {
			names += ", "
		}
		names += d.Name()
	}
	table := stdout
	if *jsonOut == "-" {
		// standard output is the JSON's alone, for a pipe to jq: the
		// table before it made it unparseable
		table = stderr
	}
	fmt.Fprintf(table, "detectors: %s\n", names)
	if err := rep.WriteTable(table); err != nil {
		return err
	}
	if *jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if *jsonOut == "-" {
			_, err = stdout.Write(b)
		} else {
			err = writeOutput(*jsonOut, func(w io.Writer) error {
				_, err := w.Write(b)
				return err
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// warnNoTruth says when the report's scores mean nothing: without rows, or
// without a row labelled malicious (no label column, or a capture without
// attacks), every scope shows zeros, which used to pass for a result.
func warnNoTruth(stderr io.Writer, rep *eval.Report, paths []string) {
	in := strings.Join(paths, " ")
	switch {
	case rep.Flows == 0:
		fmt.Fprintf(stderr, "zeekanom eval: warning: no conn/dns/http/ssl rows in %s: precision and recall are undefined\n", in)
	case rep.MaliciousFlows == 0 && rep.MaliciousHostWindows == 0:
		fmt.Fprintf(stderr, "zeekanom eval: warning: no row of %s is labelled malicious (label column or --labels): recall is undefined and every notice counts as a false positive\n", in)
	case rep.MaliciousHostWindows == rep.HostWindows:
		fmt.Fprintf(stderr, "zeekanom eval: warning: every host-window of %s is malicious: host-window precision and PR-AUC are 1 whatever the detectors flag; only recall says anything\n", in)
	}
}

// maxUnmatched bounds the lines warnUnmatched names one by one.
const maxUnmatched = 10

// warnUnmatched names the lines of the labels file that labelled no row
// (no row from or to the host in the range): a mistyped host, or one the
// input (or its --from/--to) does not hold. Such a line used to label
// nothing without a word, the attack it meant scored as absent (eval) or
// trained as benign (train, features). cmd is the command's name.
func warnUnmatched(stderr io.Writer, cmd, path string, ls []eval.LabelRange, ranged bool) {
	read := "no row"
	if ranged {
		read = "no row between --from and --to"
	}
	for i, l := range ls {
		if i == maxUnmatched {
			fmt.Fprintf(stderr, "zeekanom %s: warning: %s: %d more lines match no row\n", cmd, path, len(ls)-i)
			return
		}
		fmt.Fprintf(stderr, "zeekanom %s: warning: %s:%d: %s is from or to %s %s: the line labels nothing (a mistyped host, or one the input does not hold then)\n",
			cmd, path, l.Line, read, hostString(l.Host), rangeString(l.Start, l.End))
	}
}

// hostString is a label's host as its file may write it: an address
// alone, or a prefix.
func hostString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// rangeString says a label's time range (a zero time is an open end).
func rangeString(start, end time.Time) string {
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	switch {
	case start.IsZero() && end.IsZero():
		return "at any time"
	case end.IsZero():
		return "from " + at(start) + " on"
	case start.IsZero():
		return "until " + at(end)
	}
	return "between " + at(start) + " and " + at(end)
}

// warnInSample says when the model the detectors were built from was
// trained on the period being evaluated (train --labels and eval -m on one
// capture, or on two injections into one capture): the report is then
// in-sample for that part, what the model remembers rather than what it
// finds in new traffic. The share goes into the JSON as model_trained_on.
func warnInSample(stderr io.Writer, ev *eval.Evaluator, rep *eval.Report, models map[string]*model.Model) {
	for _, p := range slices.Sorted(maps.Keys(models)) {
		m := models[p]
		if m.TrainedFrom.IsZero() {
			continue
		}
		in, all := ev.WindowsWithin(m.TrainedFrom, m.TrainedUntil)
		if all == 0 {
			continue
		}
		share := float64(in) / float64(all)
		if rep.ModelTrainedOn == nil || share > *rep.ModelTrainedOn {
			rep.ModelTrainedOn = &share
		}
		if in > 0 {
			fmt.Fprintf(stderr, "zeekanom eval: warning: the model %s was trained on %s to %s, the time of %d of the %d host-windows with rows (%.1f%%): its scores there are in-sample, not what it finds in traffic it has not seen; evaluate on another period (detectors/eval/README.md)\n",
				p, m.TrainedFrom.Format(time.RFC3339), m.TrainedUntil.Format(time.RFC3339), in, all, 100*share)
		}
	}
}
