package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// `setup elasticsearch` against a cluster whose answer to one of its
// requests stalls after the headers: --timeout bounds the answers' bodies
// too, and the error (or, for the write index's mapping, the warning)
// names what was being done and the bound.
func TestSetupElasticsearchStalledAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, method, path string // the request whose answer stalls
		code               int
		says               string // on stderr
	}{
		{"GET of the template stalls", "GET", "/_index_template/", 1,
			"zeekanom setup: elasticsearch: reading index template zeekanom-notice: context deadline exceeded (the cluster did not answer in full within --timeout 300ms)"},
		{"PUT of the template stalls", "PUT", "/_index_template/", 1,
			"zeekanom setup: elasticsearch: put template: context deadline exceeded (the cluster did not answer in full within --timeout 300ms)"},
		{"mapping of the write index stalls", "PUT", "/logs-zeekanom.notice-default/_mapping", 0,
			"zeekanom setup: warning: mapping the write index of logs-zeekanom.notice-default: context deadline exceeded (the cluster did not answer in full within --timeout 300ms)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Elastic-Product", "Elasticsearch")
				w.Header().Set("Content-Type", "application/json")
				if r.Method != tc.method || !strings.HasPrefix(r.URL.Path, tc.path) {
					if r.Method == "GET" {
						w.WriteHeader(404) // no template yet
					}
					w.Write([]byte(`{}`))
					return
				}
				w.Write([]byte(`{"acknowledged":`))
				w.(http.Flusher).Flush()
				<-r.Context().Done() // setup gives up: its --timeout
			}))
			t.Cleanup(srv.Close)
			type result struct {
				code      int
				out, errs string
			}
			done := make(chan result, 1)
			start := time.Now()
			go func() {
				code, out, errs := runCLI(t, "setup", "elasticsearch", "--es-url", srv.URL, "--timeout", "300ms")
				done <- result{code, out, errs}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("setup elasticsearch still waiting after 30 s for a cluster whose answer stalls")
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %s with --timeout 300ms", took)
			}
			if r.code != tc.code || strings.TrimSpace(r.errs) != tc.says {
				t.Errorf("exit %d, stderr %q; want exit %d, %q (stdout %q)", r.code, r.errs, tc.code, tc.says, r.out)
			}
		})
	}
}
