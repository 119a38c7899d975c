package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/netip"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/beacon"
	"github.com/zeekanom/zeekanom/detectors/contextual"
	"github.com/zeekanom/zeekanom/detectors/eval"
	"github.com/zeekanom/zeekanom/detectors/exfil"
	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/supervised"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"

	"github.com/zeekanom/zeekanom/detectors/iforest"
	"github.com/zeekanom/zeekanom/detectors/model"
)

const trainSynopsis = `[-c CONFIG] [--labels] [--labels-file FILE] [--window D] [--trees N] [--sample N] [--seed N] [--from TIME] [--to TIME] PATH... -o model.json

Learns from archived Zeek logs (files or directories, read as score reads
them) the model file the detectors can start from: per-host baselines and
an isolation forest over host-window feature vectors, every host's
hour-of-week profile (contextual) and hourly volumes (exfil), beacon's
normal periodic pairs and, with --labels, a supervised classifier. score,
eval and features load it with -m; run (and score) with model = "..." in
[detectors.iforest], [detectors.supervised], [detectors.contextual],
[detectors.exfil] and [detectors.beacon]. --from and --to learn from the
rows with a ts in [from, to) alone, as score reads them: 'train --to T'
and then 'score --from T -m' score a time against what came before it.`

func cmdTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", trainSynopsis, stdout)
	config := fs.String("c", "", "config file: the contextual detector's hour profiles and exfil's host histories are learnt with their sections ([detectors.contextual] location, internal, ...)")
	out := fs.String("o", "", "model file to write (required)")
	labels := fs.Bool("labels", false, "also train the supervised classifier from the Stratosphere label columns, and keep the windows labelled malicious out of the baselines and the forest")
	labelsFile := fs.String("labels-file", "", "labels file (host,start,end,class): extra ground truth; implies --labels")
	window := fs.Duration("window", 5*time.Minute, "window length (must match the detectors' window)")
	trees := fs.Int("trees", 100, "isolation trees")
	sample := fs.Int("sample", 256, "subsample size per tree")
	seed := fs.Uint64("seed", 1, "random seed (the model is a pure function of input and seed)")
	var rng rangeFlags
	rangeVar(fs, &rng)
	if err := parseFlagsAnywhere(fs, args); err != nil {
		return err
	}
	if err := rng.check(); err != nil {
		return err
	}
	if *out == "" {
		return usagef("-o MODEL is required")
	}
	if fs.NArg() == 0 {
		return usageErr(fs, stderr)
	}
	if err := checkOutput("-o", *out, append(fs.Args(), *config, *labelsFile)...); err != nil {
		return err
	}
	if err := checkWindow(*window); err != nil {
		return err
	}
	// A labels file is ground truth to train with; without --labels it
	// used to be read and then ignored.
	if *labelsFile != "" {
		*labels = true
	}
	cfg, err := loadConfig(*config)
	if err != nil {
		return err
	}
	ccfg := contextual.DefaultConfig()
	if err := sectionDecoder(cfg.md, cfg.Detectors, "contextual")(&ccfg); err != nil {
		return cfg.sectionErr(err)
	}
	hours := contextual.New(ccfg)
	ecfg := exfil.DefaultConfig()
	if err := sectionDecoder(cfg.md, cfg.Detectors, "exfil")(&ecfg); err != nil {
		return cfg.sectionErr(err)
	}
	volumes := exfil.New(ecfg)
	bcfg := beacon.DefaultConfig()
	if err := sectionDecoder(cfg.md, cfg.Detectors, "beacon")(&bcfg); err != nil {
		return cfg.sectionErr(err)
	}
	periodic := &noticeTap{Detector: beacon.New(bcfg)}
	profiles := []detectors.Detector{hours, volumes, periodic}
	if *labels {
		var labeler func(orig, resp netip.Addr, ts time.Time) (string, bool)
		if *labelsFile != "" {
			ls, err := readLabels(*labelsFile)
			if err != nil {
				return err
			}
			labeler = eval.Labeler(ls)
		}
		profiles = []detectors.Detector{benignOnly{hours, labeler}, benignOnly{volumes, labeler}, benignOnly{periodic, labeler}}
	}
	vecs, skipped, err := extractVectors(ctx, stderr, "train", fs.Args(), rng, *window, *labelsFile, profiles...)
	if err != nil {
		return err
	}
	mal := 0
	for _, v := range vecs {
		if v.Malicious {
			mal++
		}
	}
	if *labels {
		if err := checkLabelled(len(vecs), mal, *labelsFile); err != nil {
			return err
		}
	}
	m, err := model.Train(vecs, model.Options{Window: *window, Labels: *labels,
		Forest: iforest.Params{Trees: *trees, Sample: *sample, Seed: *seed}})
	if err != nil {
		return err
	}
	m.Contextual, m.Exfil, m.Beacon = hours.Profiles(), volumes.Profiles(), beacon.BaselineOf(periodic.notices)
	if err := writeOutput(*out, m.Encode); err != nil {
		return err
	}
	sup := "no"
	if m.Supervised != nil {
		sup = fmt.Sprintf("yes (%d malicious, %s; %s)", m.Supervised.Positives, counted(m.Supervised.Negatives, "benign window"), calibrationNote(m.Supervised.Calibrated()))
	}
	skipped.printNotes(stderr)
	fmt.Fprintf(stdout, "model %s: version %d, %s (%d labelled malicious), %s, %s, supervised: %s, hour profiles: %s, volume histories: %s, normal periodic pairs: %d; %v\n",
		*out, model.Version, counted(len(vecs), "host-window"), mal, counted(len(m.Hosts), "host baseline"), counted(len(m.Forest.Trees), "tree"),
		sup, counted(len(m.Contextual.Hosts), "host"), counted(len(m.Exfil.Hosts), "host"), len(m.Beacon.Pairs), skipped)
	if mal > 0 && !*labels {
		// the label columns were read but not used: the attacks became
		// the hosts' normal, without a word
		are := "host-windows are labelled malicious and were"
		if mal == 1 {
			are = "host-window is labelled malicious and was"
		}
		fmt.Fprintf(stderr, "zeekanom train: note: %d %s learnt as normal; --labels keeps them out of the baselines, the forest and the profiles\n", mal, are)
	}
	return nil
}

// checkLabelled says why --labels has nothing to train the classifier
// on: no window labelled malicious (logs without a label column, and no
// labels file or one matching none of their rows), or none benign. It
// used to fail with the classifier's "training data needs both malicious
// and benign windows", which named neither cause nor remedy.
func checkLabelled(windows, mal int, labelsFile string) error {
	switch {
	case windows == 0:
		return nil // model.Train's error
	case mal == 0 && labelsFile == "":
		return fmt.Errorf("--labels: none of the %s is labelled malicious: no row's label (the label column of Stratosphere's *.labeled logs and of zeekanom inject's output) starts with Malicious; give the known bad hosts as --labels-file FILE (host,start,end,class), or train without --labels", counted(windows, "host-window"))
	case mal == 0:
		return fmt.Errorf("--labels: none of the %s is labelled malicious: no row is from or to a host of %s in its range, nor has a label starting with Malicious; check its hosts and times against the logs (the warnings above name the lines that match no row)", counted(windows, "host-window"), labelsFile)
	case mal == windows:
		return fmt.Errorf("--labels: all %s are labelled malicious: the classifier needs benign windows too (a labels line with an open range marks every window of its host); train on logs with benign hosts, or bound the ranges", counted(windows, "host-window"))
	}
	return nil
}

// calibrationNote says how the classifier's probabilities were calibrated,
// and when the held-out windows found no ranking in its score, that it
// gives every window their base rate.
func calibrationNote(c supervised.Calibration) string {
	switch {
	case c.Method != "platt":
		return fmt.Sprintf("too few held-out windows of each class (%d needed) to calibrate: p at the training base rate (prior correction)", supervised.MinHeldOut)
	case c.A == 0:
		return fmt.Sprintf("calibrated on the last %s (%d malicious), whose order the classifier did not rank better than chance: every window gets p = %.2f, no notice at min_risk 50",
			counted(c.Windows, "window"), c.Positives, 1/(1+math.Exp(-c.B)))
	}
	return fmt.Sprintf("calibrated on the last %s (%d malicious): p = σ(%.3f s %+.3f)", counted(c.Windows, "window"), c.Positives, c.A, c.B)
}

// benignOnly feeds its detector the rows not labelled malicious (the
// label column, or the labels file's labeler), of every kind the features
// extractor labels (beacon takes ssl and http rows too): with --labels the
// contextual, exfil and beacon profiles learn hosts' normal, as the
// baselines and the forest do, so an archived exfiltration is not a host's
// usual volume nor a bot's C2 domain normal periodic traffic.
type benignOnly struct {
	detectors.Detector
	labeler func(orig, resp netip.Addr, ts time.Time) (string, bool)
}

// Needs are the wrapped detector's (detectors.Needer).
func (o benignOnly) Needs() []detectors.Need { return detectors.NeedsOf(o.Detector) }

func (o benignOnly) Observe(ev *zeekreader.Event) {
	label, orig, resp := rowEnds(ev)
	if features.IsMalicious(label) {
		return
	}
	if o.labeler != nil {
		if _, mal := o.labeler(orig, resp, ev.TS); mal {
			return
		}
	}
	o.Detector.Observe(ev)
}

// rowEnds are a conn, dns, http or ssl row's label column and endpoints
// (nothing for other rows).
func rowEnds(ev *zeekreader.Event) (label []byte, orig, resp netip.Addr) {
	switch {
	case ev.Conn != nil:
		return ev.Conn.Label, ev.Conn.Orig, ev.Conn.Resp
	case ev.DNS != nil:
		return ev.DNS.Label, ev.DNS.Orig, ev.DNS.Resp
	case ev.HTTP != nil:
		return ev.HTTP.Label, ev.HTTP.Orig, ev.HTTP.Resp
	case ev.SSL != nil:
		return ev.SSL.Label, ev.SSL.Orig, ev.SSL.Resp
	}
	return nil, netip.Addr{}, netip.Addr{}
}

// noticeTap keeps the notices of its detector (train's beacon baseline).
type noticeTap struct {
	detectors.Detector
	notices []*notice.Notice
}

func (t *noticeTap) keep(n *notice.Notice) { t.notices = append(t.notices, n) }

// Needs are the wrapped detector's (detectors.Needer).
func (t *noticeTap) Needs() []detectors.Need { return detectors.NeedsOf(t.Detector) }

func (t *noticeTap) Advance(wm time.Time, _ detectors.Emit) { t.Detector.Advance(wm, t.keep) }
func (t *noticeTap) Flush(detectors.Emit)                   { t.Detector.Flush(t.keep) }
