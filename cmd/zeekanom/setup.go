package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/output/elasticsearch"
)

const setupSynopsis = `elasticsearch|kibana [flags]

  setup elasticsearch ` + setupESSynopsis + `
      install or update the zeekanom-notice index template (idempotent);
      score and run install it too when they start (or, while the cluster
      cannot be reached, before they send the first notice)
  setup kibana [-o FILE]
      write Kibana saved objects (data view, a saved search per rule, a
      dashboard) as NDJSON for Kibana's Saved Objects import

Secrets come from the config file ([output.elasticsearch] password,
api_key, *_file) or from ZEEKANOM_ES_PASSWORD / ZEEKANOM_ES_API_KEY.`

const setupESSynopsis = "[-c FILE] [--es-url URL]... [--index NAME] [--timeout D]"

func cmdSetup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "elasticsearch" && args[0] != "kibana") {
		fs := newFlags("setup", setupSynopsis, stdout)
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		return usageErr(fs, stderr)
	}
	switch args[0] {
	case "elasticsearch":
		return setupElasticsearch(ctx, args[1:], stdout, stderr)
	default:
		return setupKibana(args[1:], stdout, stderr)
	}
}

func setupElasticsearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("setup elasticsearch", setupESSynopsis, stdout)
	var urls urlList
	esURLVar(fs, &urls, "default: the config's urls, else http://127.0.0.1:9200")
	configPath := fs.String("c", "", "config file (TOML) with an [output.elasticsearch] section")
	fs.StringVar(configPath, "config", "", "the same as -c")
	index := fs.String("index", "", "data stream name (default "+elasticsearch.DefaultIndex+")")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr(fs, stderr)
	}
	if *timeout <= 0 {
		return usagef("--timeout %s: must be above 0", *timeout)
	}
	var cfg elasticsearch.Config
	if *configPath != "" {
		c, err := loadConfig(*configPath)
		if err != nil {
			return err
		}
		if cfg, _, err = esSection(c); err != nil {
			return err
		}
	}
	if len(urls) > 0 {
		cfg.URLs = urls
	}
	if *index != "" {
		if err := elasticsearch.CheckIndex(*index); err != nil {
			return usagef("--index: %v", err)
		}
		cfg.Index = *index
	}
	if cfg.Index == "" {
		cfg.Index = elasticsearch.DefaultIndex
	}
	es, err := elasticsearch.NewClient(cfg, nil)
	if err != nil {
		return err
	}
	// --timeout bounds the whole setup, the answers' bodies too (each
	// request is also bounded by the package: a minute)
	tctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := elasticsearch.PutTemplate(tctx, es, cfg.Index); err != nil {
		var newer *elasticsearch.NewerTemplateError
		if errors.As(err, &newer) {
			// a newer zeekanom installed it: not replaced by an older one
			fmt.Fprintf(stdout, "%v\n", err)
			return nil
		}
		return timedOut(ctx, tctx, err, *timeout)
	}
	fmt.Fprintf(stdout, "index template %s installed for %s (data stream %s)\n",
		elasticsearch.TemplateNameFor(cfg.Index), strings.Join(elasticsearch.Template(cfg.Index)["index_patterns"].([]string), ","), cfg.Index)
	if err := elasticsearch.PutWriteIndexMapping(tctx, es, cfg.Index); err != nil {
		fmt.Fprintf(stderr, "zeekanom setup: warning: %v\n", timedOut(ctx, tctx, err, *timeout))
	}
	return nil
}

// timedOut names --timeout in err when tctx (ctx bounded by it) ended it:
// "context deadline exceeded" alone did not say which bound.
func timedOut(ctx, tctx context.Context, err error, timeout time.Duration) error {
	if tctx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("%w (the cluster did not answer in full within --timeout %s)", err, timeout)
	}
	return err
}

func setupKibana(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("setup kibana", "[-o FILE]", stdout)
	out := fs.String("o", "-", "write the NDJSON here ('-' is stdout)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr(fs, stderr)
	}
	if *out == "-" {
		return elasticsearch.KibanaObjects(stdout)
	}
	if err := checkOutput("-o", *out); err != nil {
		return err
	}
	if err := writeOutput(*out, elasticsearch.KibanaObjects); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s: import it in Kibana (Stack Management > Saved objects > Import)\n", *out)
	return nil
}
