package main

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"strings"

	"github.com/zeekanom/zeekanom/output"
	"github.com/zeekanom/zeekanom/output/elasticsearch"
)

// esConfig decodes [output.elasticsearch] (if present) and applies
// --es-url. It reports whether Elasticsearch is wanted at all.
func esConfig(cfg *Config, url string) (elasticsearch.Config, bool, error) {
	var ec elasticsearch.Config
	prim, has := cfg.Output["elasticsearch"]
	if has && cfg.md != nil {
		if err := cfg.md.PrimitiveDecode(prim, &ec); err != nil {
			return ec, false, fmt.Errorf("[output.elasticsearch]: %w", err)
		}
	}
	if url != "" {
		ec.URLs = strings.Split(url, ",")
	}
	if !has && url == "" {
		return ec, false, nil
	}
	if ec.SpoolDir == "" && cfg.State.Dir != "" && cfg.md != nil && cfg.md.IsDefined("state", "dir") {
		// With a state directory configured, notices wait there while
		// the cluster is unreachable.
		ec.SpoolDir = filepath.Join(cfg.State.Dir, "es-spool")
	}
	if err := ec.ResolveSecrets(); err != nil {
		return ec, false, err
	}
	return ec, true, nil
}

// buildElasticsearch returns the Elasticsearch sink when --es-url or an
// [output.elasticsearch] section asks for one, else nil. The index template
// is installed (idempotently) first, so the notices' mappings are ours
// and not dynamic ones. With connect false only the configuration is
// checked.
func buildElasticsearch(ctx context.Context, cfg *Config, url string, connect bool) (output.Sink, error) {
	ec, want, err := esConfig(cfg, url)
	if err != nil || !want || !connect {
		return nil, err
	}
	s, err := elasticsearch.New(ctx, ec, elasticsearch.WithLogf(log.Printf))
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: %w", err)
	}
	if err := s.Setup(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("elasticsearch: installing the index template: %w", err)
	}
	return s, nil
}
