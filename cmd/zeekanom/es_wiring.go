package main

import (
	"context"

	"github.com/zeekanom/zeekanom/output"
)

// buildElasticsearch returns the Elasticsearch sink when --es-url or an
// [output.elasticsearch] section asks for one, else nil.
// TODO(lead): wire output/elasticsearch when it lands.
func buildElasticsearch(ctx context.Context, cfg *Config, url string) (output.Sink, error) {
	return nil, nil
}
