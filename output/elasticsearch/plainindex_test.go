package elasticsearch

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// index names an index the site made before (a plain index, not a data
// stream) whose mappings conflict with the template's: the template, data
// streams only, never applies to it, and the log used to ask for
// "POST <index>/_rollover", which Elasticsearch refuses for a concrete
// index. It now says the name is an index and what to do; a data stream
// whose write index refuses the mapping still gets the rollover advice.
func TestIntegrationPlainIndexOfTheNameIsNamed(t *testing.T) {
	url := esURL(t)
	es := testClient(t, url)
	plain := fmt.Sprintf("zeekanom-plain-%d", time.Now().UnixNano()%1e9)
	textIP := map[string]any{"properties": map[string]any{
		"source": map[string]any{"properties": map[string]any{"ip": map[string]any{"type": "text"}}}}}
	call(t, es, "PUT", "/"+plain, map[string]any{"mappings": textIP})
	t.Cleanup(func() { call(t, es, "DELETE", "/"+plain, nil) })
	stream := testIndex(t)
	for _, c := range []struct {
		index, want, not string
	}{
		{plain, plain + " is an index, not a data stream", "_rollover"},
		{stream, "POST " + stream + "/_rollover", "not a data stream"},
	} {
		if c.index == stream {
			// a data stream whose write index maps source.ip as text: made
			// under a template of its own that says so
			tpl := fmt.Sprintf("zeekanom-test-text-ip-%d", time.Now().UnixNano()%1e9)
			call(t, es, "PUT", "/_index_template/"+tpl, map[string]any{"index_patterns": []string{stream},
				"data_stream": map[string]any{}, "priority": 500, "template": map[string]any{"mappings": textIP}})
			t.Cleanup(func() {
				if res, err := es.Indices.DeleteIndexTemplate(tpl); err == nil {
					res.Body.Close()
				}
			})
			call(t, es, "POST", "/"+stream+"/_doc?refresh=true", map[string]any{"@timestamp": "2026-12-02T00:00:00Z",
				"source": map[string]any{"ip": "10.0.0.1"}})
		}
		err := PutWriteIndexMapping(t.Context(), es, c.index)
		if err == nil {
			t.Fatalf("%s: the conflicting mapping was taken", c.index)
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, c.not) {
			t.Errorf("%s: %q, want it to say %q and not %q", c.index, msg, c.want, c.not)
		}
		// the gist of Elasticsearch's answer, not its JSON (root_cause
		// and error, the reason twice)
		if msg, gist := err.Error(), "illegal_argument_exception: mapper [source.ip] cannot be changed from type [text] to [ip]"; !strings.Contains(msg, gist) || strings.Contains(msg, "root_cause") {
			t.Errorf("%s: %q, want the reason %q alone", c.index, msg, gist)
		}
	}
}

// A URL of another web server (Kibana's port, a proxy's error page) is
// refused at start with the gist of its page on one line: the log held
// the whole HTML page, a dozen lines.
func TestStartAgainstAnotherServerSaysSoOnOneLine(t *testing.T) {
	page := "<!DOCTYPE HTML>\n<html>\n  <head><title>Error response</title></head>\n  <body>\n    <h1>Not Found</h1>\n" +
		strings.Repeat("    <p>padding</p>\n", 40) + "  </body>\n</html>\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, page)
	}))
	t.Cleanup(srv.Close)
	_, err := New(t.Context(), Config{URLs: []string{srv.URL}, MaxRetries: 1}, WithTemplate(), WithLogf(t.Logf))
	if err == nil {
		t.Fatal("started against a server that is not Elasticsearch")
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || len(msg) > 400 || !strings.Contains(msg, "404 Not Found: <!DOCTYPE HTML> <html>") {
		t.Errorf("error %q (%d bytes): want the status and the page's start on one line", msg, len(msg))
	}
}
