package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/zeekanom/zeekanom/detectors/inject"
)

const injectSynopsis = `[--kinds scan,dos,beacon,dnstunnel,exfil,offhours] [--seed N] -o DIR PATH...

Plants labelled attacks into real benign conn and dns logs and writes them
to DIR in the input's own format, with Stratosphere label/detailedlabel
columns on every row (benign rows "benign", planted rows "Malicious" and
From_malicious-Injected-<kind>). The output is a pure function of the
input and the seed. Evaluate with 'zeekanom eval DIR'.`

func cmdInject(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inject", injectSynopsis, stderr)
	kinds := fs.String("kinds", strings.Join(inject.Kinds, ","), "attack kinds to plant, comma-separated")
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("o", "", "output directory (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-o DIR is required")
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	var ks []string
	for _, k := range strings.Split(*kinds, ",") {
		if k = strings.TrimSpace(k); k != "" {
			ks = append(ks, k)
		}
	}
	sum, err := inject.Inject(fs.Args(), *out, inject.Options{Kinds: ks, Seed: *seed})
	if err != nil {
		return err
	}
	for _, p := range sum.Planted {
		fmt.Fprintf(stdout, "%-9s host %-15s peer %-22s %s .. %s  conn %d dns %d\n", p.Kind, p.Host, p.Peer,
			p.Start.Format("2006-01-02T15:04:05Z"), p.End.Format("2006-01-02T15:04:05Z"), p.ConnRows, p.DNSRows)
	}
	for _, f := range sum.Files {
		fmt.Fprintf(stdout, "wrote %s\n", f)
	}
	return nil
}
