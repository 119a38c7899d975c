package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"path/filepath"
	"strings"

	"github.com/zeekanom/zeekanom/output"
	"github.com/zeekanom/zeekanom/output/elasticsearch"
)

// urlList is the --es-url flag of score, run and setup elasticsearch:
// repeated, comma-separated, or both. Each URL is checked as the config's
// urls are, so a mistyped one is a command-line error.
type urlList []string

func (u *urlList) String() string { return strings.Join(*u, ",") }
func (u *urlList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if err := elasticsearch.CheckURL(s); err != nil {
			return err
		}
		*u = append(*u, s)
	}
	return nil
}

// esURLVar defines --es-url; more says what it replaces.
func esURLVar(fs *flag.FlagSet, u *urlList, more string) {
	fs.Var(u, "es-url", "Elasticsearch node `URL`; repeat the flag or separate URLs with commas for several nodes ("+more+")")
}

// esSection decodes and checks [output.elasticsearch]; has reports
// whether the file has the section. A bad value is reported with its line.
func esSection(cfg *Config) (ec elasticsearch.Config, has bool, err error) {
	prim, has := cfg.Output["elasticsearch"]
	if !has || cfg.md == nil {
		return ec, has, nil
	}
	if err := cfg.md.PrimitiveDecode(prim, &ec); err != nil {
		return ec, has, cfg.sectionErr(err)
	}
	if err := durationsWritten(cfg.md, []string{"output", "elasticsearch"}, &ec); err != nil {
		return ec, has, cfg.sectionErr(err)
	}
	if err := ec.Validate(); err != nil {
		return ec, has, cfg.outputErr("elasticsearch", err)
	}
	for _, p := range []*string{&ec.PasswordFile, &ec.APIKeyFile, &ec.BearerTokenFile, &ec.CAFile, &ec.CertFile, &ec.KeyFile, &ec.SpoolDir} {
		*p = cfg.resolve(*p)
	}
	return ec, has, nil
}

// esConfig decodes [output.elasticsearch] (if present) and applies
// --es-url. It reports whether Elasticsearch is wanted at all.
func esConfig(cfg *Config, urls []string) (elasticsearch.Config, bool, error) {
	ec, has, err := esSection(cfg)
	if err != nil {
		return ec, false, err
	}
	if len(urls) > 0 {
		ec.URLs = urls
	}
	if !has && len(urls) == 0 {
		return ec, false, nil
	}
	named := func(k ...string) bool { return cfg.md != nil && cfg.md.IsDefined(k...) }
	if ec.SpoolDir == "" && cfg.State.Dir != "" && (cfg.live || named("state", "dir")) &&
		!named("output", "elasticsearch", "spool_dir") {
		// With a state directory (run's, or one the file names for
		// score), notices wait there while the cluster is unreachable,
		// unless spool_dir = "" says no spool.
		ec.SpoolDir = filepath.Join(cfg.State.Dir, "es-spool")
	}
	if err := ec.ResolveSecrets(); err != nil {
		return ec, false, cfg.outputErr("elasticsearch", err)
	}
	return ec, true, nil
}

// buildElasticsearch returns the Elasticsearch sink when --es-url or an
// [output.elasticsearch] section asks for one, else nil. The index template
// is installed (idempotently) first, unless manage_template = false, so the notices' mappings are ours
// and not dynamic ones. If the cluster cannot be reached for it, the sink
// starts anyway and installs it before it sends the first notice (notices
// wait in the spool meanwhile, or are dropped without one: see
// elasticsearch.WithTemplate); a 4xx answer (credentials, privileges, a
// template the cluster refuses) is an error. score's sink waits for room
// in its bulk queue while the cluster answers (elasticsearch.WithBackpressure);
// run's waits at most write_timeout. With connect false only the
// configuration is checked.
func buildElasticsearch(ctx context.Context, cfg *Config, urls []string, connect bool, logf func(string, ...any)) (output.Sink, error) {
	ec, want, err := esConfig(cfg, urls)
	if err != nil || !want || !connect {
		return nil, err
	}
	if logf == nil {
		logf = log.Printf
	}
	opts := []elasticsearch.Option{elasticsearch.WithLogf(logf)}
	if ec.ManagesTemplate() {
		opts = append(opts, elasticsearch.WithTemplate())
	}
	if !cfg.live {
		// score reads files, which can wait: a slow cluster slows it
		// down instead of costing notices (write_timeout, if the file
		// sets it, is honoured). run keeps write_timeout's bound, so
		// that a slow cluster never holds up following the live logs.
		opts = append(opts, elasticsearch.WithBackpressure())
	}
	s, err := elasticsearch.New(ctx, ec, opts...)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: %w", err)
	}
	return s, nil
}

// esSummary writes a line for each Elasticsearch output saying what
// became of the notices it took: "2 notices" alone did not tell a re-run
// of an archive (every notice already indexed, answered 409) from a first
// one.
func (ss *sinkSet) esSummary(w io.Writer, cmd string) {
	for _, s := range ss.sinks {
		es, ok := s.sink.(*elasticsearch.Sink)
		if !ok {
			continue
		}
		st := es.Stats()
		noun := "notices"
		if st.Indexed == 1 {
			noun = "notice" // ("1 notices indexed" read wrong)
		}
		fmt.Fprintf(w, "zeekanom %s: output %s: %d %s indexed into %s, %d already there (this sensor indexed them before)",
			cmd, s.name, st.Indexed, noun, es.Index(), st.Duplicates)
		if st.SpoolBytes > 0 {
			fmt.Fprintf(w, ", %d bytes of notices left in the spool", st.SpoolBytes)
		}
		fmt.Fprintln(w)
	}
}
