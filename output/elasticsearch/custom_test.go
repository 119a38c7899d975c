package elasticsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// An operator's <template>@custom component template (retention, replicas,
// more mappings) is part of the data stream's template when it exists; the
// template installs without it. Against the node: a field the operator
// maps there is mapped so in a new data stream (dynamically it is text).
func TestIntegrationCustomComponentTemplate(t *testing.T) {
	url := esURL(t)
	es := testClient(t, url)
	ctx := context.Background()
	// outside the shared pattern: a template and @custom of its own
	index := fmt.Sprintf("zeekanom-custom-%d", time.Now().UnixNano()%1e9)
	if err := PutTemplate(ctx, es, index); err != nil {
		t.Fatalf("install without %s: %v", CustomTemplateFor(index), err)
	}
	call(t, es, "PUT", "/_component_template/"+CustomTemplateFor(index),
		m{"template": m{"mappings": m{"properties": m{"labels": obj(m{"site": kw()})}}}})
	if err := PutTemplate(ctx, es, index); err != nil {
		t.Fatal(err)
	}
	got := call(t, es, "GET", "/_index_template/"+TemplateNameFor(index), nil)
	b, _ := json.Marshal(got)
	if !strings.Contains(string(b), `"composed_of":["`+CustomTemplateFor(index)+`"]`) {
		t.Fatalf("installed template: %s", b)
	}
	d := exampleDoc(t, "example.json")
	d["labels"] = map[string]any{"site": "hq-dmz"}
	call(t, es, "PUT", "/"+index+"/_create/1", d)
	if ty := fieldTypes(t, es, index, "labels.site", "threat.technique.id"); ty["labels.site"] != "keyword" || ty["threat.technique.id"] != "keyword" {
		t.Fatalf("mapped %v: want the operator's labels.site and the template's threat.technique.id as keyword", ty)
	}
}

// Elasticsearch before 8.7 refuses ignore_missing_component_templates: the
// template is installed again without the @custom hook.
func TestTemplateWithoutOptionalComponentsOnOldClusters(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPut || !strings.HasPrefix(r.URL.Path, "/_index_template/") {
			w.WriteHeader(404)
			w.Write([]byte(`{}`))
			return
		}
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		json.Unmarshal(b, &body)
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
		if _, ok := body["ignore_missing_component_templates"]; ok {
			w.WriteHeader(400)
			w.Write([]byte(`{"error":{"root_cause":[{"type":"x_content_parse_exception","reason":"[1:1077] [index_template] unknown field [ignore_missing_component_templates]"}],"type":"x_content_parse_exception","reason":"[1:1077] [index_template] unknown field [ignore_missing_component_templates]"},"status":400}`))
			return
		}
		w.Write([]byte(`{"acknowledged":true}`))
	}))
	defer srv.Close()
	es := testClient(t, srv.URL)
	if err := PutTemplate(context.Background(), es, "zeekanom-old-cluster"); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 2 {
		t.Fatalf("%d template PUTs, want 2", len(bodies))
	}
	if _, ok := bodies[1]["composed_of"]; ok {
		t.Errorf("the second PUT still names a component template: %v", bodies[1]["composed_of"])
	}
	if got := bodies[0]["composed_of"]; !slices.Equal(toStrings(got), []string{"zeekanom-notice-zeekanom-old-cluster@custom"}) {
		t.Errorf("first PUT composed_of %v", got)
	}
}

// exampleDoc is a notice document of testdata/notice, decoded.
func exampleDoc(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "notice", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func toStrings(v any) (out []string) {
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// A sensor's start (Setup) finds the template of its own TemplateVersion
// installed and leaves it, with the write index's mappings: one GET,
// where every start PUT both again. A lower version is replaced.
func TestSetupLeavesTheSameVersion(t *testing.T) {
	for _, installed := range []int{TemplateVersion, TemplateVersion - 1} {
		var mu sync.Mutex
		var puts []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
			w.Header().Set("Content-Type", "application/json")
			if r.Method == http.MethodGet && r.URL.Path == "/_index_template/"+TemplateName {
				fmt.Fprintf(w, `{"index_templates":[{"name":%q,"index_template":{"version":%d,"index_patterns":[%q]}}]}`, TemplateName, installed, IndexPattern)
				return
			}
			mu.Lock()
			puts = append(puts, r.Method+" "+r.URL.Path)
			mu.Unlock()
			w.Write([]byte(`{"acknowledged":true}`))
		}))
		s, err := New(context.Background(), Config{URLs: []string{srv.URL}, Index: DefaultIndex}, WithLogf(t.Logf))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Setup(context.Background()); err != nil {
			t.Fatal(err)
		}
		s.Close()
		srv.Close()
		mu.Lock()
		if n := len(puts); (installed == TemplateVersion) != (n == 0) {
			t.Errorf("installed version %d (ours %d): requests %v", installed, TemplateVersion, puts)
		}
		mu.Unlock()
	}
}
