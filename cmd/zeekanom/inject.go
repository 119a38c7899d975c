package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/detectors/inject"
)

const injectSynopsis = `[--kinds scan,dos,beacon,dnstunnel,exfil,offhours[,dga]] [--seed N] [--history-days N] -o DIR PATH...

Plants labelled attacks into real benign conn and dns logs and writes them
to DIR in the input's own format, with Stratosphere label/detailedlabel
columns on every row (benign rows "benign", planted rows "Malicious" and
From_malicious-Injected-<kind>). The output is a pure function of the
input and the seed. Evaluate with 'zeekanom eval DIR'.

A zeekctl archive (YYYY-MM-DD/conn.HH:MM:SS-HH:MM:SS.log.gz, two or more
hour files of a log) is planned on as one log and written back in its
layout: each planted row goes into the file whose hour holds its ts (a
new one, named as zeekctl names it, for an hour without a file), gzip
where the input was. --history-days takes a capture, not an archive.

dga (an NXDOMAIN burst of generated domains, one or two resolved and
contacted) is planted only when named: --kinds ...,offhours,dga adds it
after the default kinds and leaves their rows as they are. Its 250-400
queries come about a second apart; named dga@D (--kinds ...,dga@60s) they
are D apart on average (0.4 D to 1.6 D each), a slow walk: 60s spreads it
over 4-7 hours.

--history-days N writes N days of benign history before the capture: its
own rows replayed once a day (every few days for a capture longer than a
day), each copy shifted by up to 15 minutes, with fresh uids and about 10%
of its flows left out, so that detectors that learn a host's days
(contextual, exfil) judge the planted day against the same network. The
attacks stay in the real capture; off-hours activity goes to the quietest
hour of its last day (03:00 UTC when the capture is silent from 02:00 to
05:00).`

func cmdInject(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inject", injectSynopsis, stdout)
	kinds := fs.String("kinds", strings.Join(inject.Kinds, ","), "attack kinds to plant, comma-separated (also: "+strings.Join(inject.OptInKinds, ",")+")")
	seed := fs.Uint64("seed", 1, "random seed")
	history := fs.Int("history-days", 0, "days of replayed benign history before the capture")
	out := fs.String("o", "", "output directory (required)")
	if err := parseFlagsAnywhere(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("-o DIR is required")
	}
	if *history < 0 {
		return usagef("--history-days %d: must be 0 or more", *history)
	}
	if fs.NArg() == 0 {
		return usageErr(fs, stderr)
	}
	var ks []string
	var dgaInterval time.Duration
	for _, k := range strings.Split(*kinds, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if iv, ok := strings.CutPrefix(k, "dga@"); ok {
			d, err := time.ParseDuration(iv)
			if err != nil || d <= 0 {
				return usagef("--kinds %s: dga@D takes a duration above 0 (dga@60s)", k)
			}
			k, dgaInterval = "dga", d
		}
		if err := inject.CheckKind(k); err != nil {
			return usagef("--kinds: %v", err) // a command-line mistake: exit 2
		}
		ks = append(ks, k)
	}
	sum, err := inject.Inject(fs.Args(), *out, inject.Options{Kinds: ks, Seed: *seed, HistoryDays: *history, DGAInterval: dgaInterval})
	if err != nil {
		return err
	}
	for _, p := range sum.Planted {
		fmt.Fprintf(stdout, "%-9s host %-15s peer %-22s %s .. %s  conn %d dns %d\n", p.Kind, p.Host, p.Peer,
			p.Start.Format("2006-01-02T15:04:05Z"), p.End.Format("2006-01-02T15:04:05Z"), p.ConnRows, p.DNSRows)
	}
	if h := sum.History; h.Copies > 0 {
		fmt.Fprintf(stdout, "history   %s: %s every %s, %s (%d left out), last replayed row %s\n",
			counted(h.Days, "day"), counted(h.Copies, "copy", "copies"), counted(h.StepDays, "day"), counted(h.Rows, "row"), h.Dropped,
			time.Unix(int64(h.Until), 0).UTC().Format("2006-01-02T15:04:05Z"))
	}
	for _, f := range sum.Files {
		fmt.Fprintf(stdout, "wrote %s\n", f)
	}
	return nil
}
