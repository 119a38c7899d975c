package elasticsearch

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// TemplatePriority is above the built-in "logs" template (priority 100), so
// our explicit mappings win for logs-zeekanom.notice-*. A data stream
// outside that pattern gets a template of its own one higher (see
// TemplateNameFor).
const TemplatePriority = 200

// TemplateVersion is the index template's "version": raised with every
// change of the template's body (TestTemplateVersionPinsTheBody fails
// until it is). A sensor leaves an installed template of a higher version
// as it is: sensors of several releases share a cluster while they are
// upgraded one by one, and an older one's install at its start replaced
// the newer template, so that the next backing index mapped the fields
// only the newer one knows dynamically (related.hosts as text: term
// queries on it found nothing). Templates installed before 2026-12-01
// carry no version and are replaced. 2 maps zeekanom.windows, 3
// zeekanom.destination_net (an ip_range), 4 zeekanom.observed_ratio, 5
// zeekanom.features.*.not_logged (a boolean).
const TemplateVersion = 5

type m = map[string]any

func kw() m     { return m{"type": "keyword", "ignore_above": 1024} }
func date() m   { return m{"type": "date"} }
func ipT() m    { return m{"type": "ip"} }
func dbl() m    { return m{"type": "double"} }
func obj(p m) m { return m{"properties": p} }

// kwText is a keyword with a .text multi-field for full-text search, as
// ECS maps names (ECS: match_only_text, which needs x-pack; see README).
func kwText() m {
	return m{"type": "keyword", "ignore_above": 1024, "fields": m{"text": m{"type": "text"}}}
}

// attackRef is an ATT&CK tactic, technique or sub-technique.
func attackRef(name m) m { return m{"id": kw(), "name": name, "reference": kw()} }

// Mappings is the explicit mapping of the notice document
// (output/notice: the ECS encoding).
func Mappings() map[string]any {
	technique := attackRef(kwText())
	technique["subtechnique"] = obj(attackRef(kwText()))
	return m{
		"dynamic_templates": []any{
			m{"zeekanom_feature_value": m{"path_match": "zeekanom.features.*.value", "mapping": dbl()}},
			m{"zeekanom_feature_baseline": m{"path_match": "zeekanom.features.*.baseline", "mapping": dbl()}},
			m{"zeekanom_feature_deviation": m{"path_match": "zeekanom.features.*.deviation", "mapping": dbl()}},
			m{"zeekanom_feature_not_logged": m{"path_match": "zeekanom.features.*.not_logged", "mapping": m{"type": "boolean"}}},
		},
		"properties": m{
			"@timestamp": date(),
			"message":    m{"type": "text"},
			"ecs":        obj(m{"version": kw()}),
			"event": obj(m{
				"kind": kw(), "module": kw(), "dataset": kw(), "category": kw(), "type": kw(), "id": kw(),
				"start": date(), "end": date(), "ingested": date(), "duration": m{"type": "long"},
				"risk_score": m{"type": "float"}, "risk_score_norm": m{"type": "float"}, "severity": m{"type": "long"},
			}),
			"rule": obj(m{"name": kw(), "id": kw(), "ruleset": kw(), "category": kw(), "description": kw()}),
			"threat": obj(m{
				"framework": kw(),
				"tactic":    obj(attackRef(kw())),
				"technique": obj(technique),
			}),
			"source":      obj(m{"ip": ipT()}),
			"destination": obj(m{"ip": ipT(), "port": m{"type": "long"}, "domain": kw()}),
			"network":     obj(m{"transport": kw()}),
			"related":     obj(m{"ip": ipT(), "hosts": kw()}),
			"observer":    obj(m{"name": kw(), "hostname": kw()}),
			"zeek": obj(m{
				"notice": obj(m{"note": kw(), "msg": kw(), "sub": kw()}),
				"uids":   kw(),
			}),
			"zeekanom": obj(m{
				"detector": kw(), "score": dbl(), "top": kw(), "window_s": dbl(), "windows": m{"type": "long"}, "destination_net": m{"type": "ip_range"}, "label": kw(), "baseline_scope": kw(), "observed_ratio": dbl(),
				"features": m{"type": "object", "dynamic": true},
			}),
		},
	}
}

// Template is the composable index template body for the given data
// stream: IndexPattern's, or, for a name outside it, one matching that
// name alone.
func Template(index string) map[string]any {
	patterns, priority := []string{IndexPattern}, TemplatePriority
	if !matchesPattern(index) {
		// its own pattern and name: two sensors with other names no
		// longer overwrite each other's pattern in one shared template
		// (the first sensor's data stream then lost its mappings at its
		// next rollover, source.ip mapped as text). One higher than the
		// shared template, which before 2026-11-30 also listed custom
		// names: Elasticsearch refuses two templates of one priority
		// whose patterns overlap.
		patterns, priority = []string{index}, TemplatePriority+1
	}
	custom := []string{CustomTemplateFor(index)}
	return m{
		"index_patterns": patterns,
		"data_stream":    m{},
		"priority":       priority,
		// the operator's own settings (retention: an ILM policy or the
		// data stream's lifecycle, replicas, more mappings), kept across
		// our installs; optional
		"composed_of":                        custom,
		"ignore_missing_component_templates": custom,
		"template": m{
			"settings": m{"index": m{"refresh_interval": "5s"}},
			"mappings": Mappings(),
		},
		"version": TemplateVersion,
		"_meta":   m{"managed_by": "zeekanom", "description": "zeekanom notices (ECS alerts)"},
	}
}

func matchesPattern(index string) bool {
	return strings.HasPrefix(index, strings.TrimSuffix(IndexPattern, "*"))
}

// TemplateNameFor is the name of the template of the data stream index:
// TemplateName for IndexPattern's, TemplateName-INDEX for another.
func TemplateNameFor(index string) string {
	if matchesPattern(index) {
		return TemplateName
	}
	return TemplateName + "-" + index
}

// CustomTemplateFor is the component template an operator may create for
// the data stream index's own settings and mappings (Elastic's
// <template>@custom convention): the template is composed of it when it
// exists, and zeekanom never writes it.
func CustomTemplateFor(index string) string { return TemplateNameFor(index) + "@custom" }

// MappedFields lists every concrete field path the template maps, with its
// type (dynamic template targets appear as zeekanom.features.*.value etc.).
func MappedFields() map[string]string {
	out := map[string]string{}
	var walk func(prefix string, props map[string]any)
	walk = func(prefix string, props map[string]any) {
		for name, v := range props {
			def := v.(map[string]any)
			path := prefix + name
			if sub, ok := def["properties"].(map[string]any); ok {
				walk(path+".", sub)
				continue
			}
			t, _ := def["type"].(string)
			out[path] = t
		}
	}
	mp := Mappings()
	walk("", mp["properties"].(map[string]any))
	for _, dt := range mp["dynamic_templates"].([]any) {
		for _, v := range dt.(map[string]any) {
			d := v.(map[string]any)
			out[d["path_match"].(string)] = d["mapping"].(map[string]any)["type"].(string)
		}
	}
	return out
}

// Setup installs or updates the index template (idempotent: PUT replaces
// it), then adds its mappings to the data stream's write index
// (PutWriteIndexMapping; a failure there is logged, not returned). A
// template of this TemplateVersion is left as it is (nothing to do); a
// newer one (NewerTemplateError) too, and logged. Each request is bounded
// by adminTimeout (within).
func (s *Sink) Setup(ctx context.Context) error {
	c := adminClient{s.es, cmp.Or(s.requestTimeout, adminTimeout)}
	name := TemplateNameFor(s.cfg.Index)
	t, err := c.installed(ctx, name)
	if err != nil {
		return fmt.Errorf("elasticsearch: reading index template %s: %w", name, err)
	}
	if t.Version == TemplateVersion {
		// installed by a sensor of this release, which mapped the write
		// index then: one GET at a start, where every start PUT the
		// template and the write index's mappings again
		return nil
	}
	if err := c.putTemplate(ctx, s.cfg.Index, t); err != nil {
		var newer *NewerTemplateError
		if errors.As(err, &newer) {
			s.logf("elasticsearch: %v", err)
			return nil
		}
		return err
	}
	if err := c.mapWriteIndex(ctx, s.cfg.Index); err != nil {
		s.logf("elasticsearch: %v", err)
	}
	return nil
}

// adminClient makes the requests about the index template, each bounded
// by limit (within): adminTimeout, shorter in tests.
type adminClient struct {
	tr    esapi.Transport
	limit time.Duration
}

// PutWriteIndexMapping adds the template's mappings to the write index of
// the data stream index, if it exists. A backing index keeps the mappings
// it was created with, and without ILM nothing rolls a data stream over:
// the fields a newer template maps (the ECS fields of 2026-11-30) were
// mapped dynamically in an existing data stream for ever, strings as text
// (term threat.technique.id: T1046 found nothing). Adding fields to a
// mapping is allowed; the error (other than a data stream that does not
// exist yet) says what to do when it fails: a role without the manage
// privilege on the data stream (403), or a field already mapped otherwise
// (400). Each request is bounded by adminTimeout, and by ctx.
func PutWriteIndexMapping(ctx context.Context, tr esapi.Transport, index string) error {
	return adminClient{tr, adminTimeout}.mapWriteIndex(ctx, index)
}

func (c adminClient) mapWriteIndex(ctx context.Context, index string) error {
	body, err := json.Marshal(Mappings())
	if err != nil {
		return err
	}
	// not the install's status (Setup's caller judges the template PUT)
	ctx = context.WithValue(ctx, statusKey{}, (*atomic.Int64)(nil))
	writeOnly := true
	var failure string
	err = within(ctx, c.limit, "PUT "+index+"/_mapping", func(ctx context.Context) error {
		res, err := esapi.IndicesPutMappingRequest{Index: []string{index}, Body: bytes.NewReader(body),
			WriteIndexOnly: &writeOnly}.Do(ctx, c.tr)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		// read to its end (so the connection is reused): an answer
		// that stalls is an error, whatever its status said
		b, err := io.ReadAll(io.LimitReader(res.Body, 1<<16))
		if err != nil {
			return err
		}
		if res.IsError() && res.StatusCode != 404 {
			failure = res.Status() + ": " + errorText(b[:min(len(b), 4096)])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mapping the write index of %s: %w", index, err)
	}
	if failure == "" { // (404: no data stream yet: its first index takes the template's mappings)
		return nil
	}
	if kind := c.notDataStream(ctx, index); kind != "" {
		// (the rollover below is refused for a concrete index, and
		// the template, data streams only, never applies to it)
		return fmt.Errorf("%s is %s, not a data stream: the index template does not apply to it, and it keeps "+
			"its mappings (%s), so notices go in mapped as it says and searches on the fields it maps "+
			"otherwise (source.ip as an ip...) find nothing: set index to a name no index or alias has, "+
			"and the first notice creates that data stream", index, kind, failure)
	}
	return fmt.Errorf("the write index of %s keeps its mappings (%s): fields the template gained are mapped "+
		"as the template says only after a rollover (POST %s/_rollover)", index, failure, index)
}

// notDataStream says what index is when it names a concrete index ("an
// index") or an alias ("an alias") rather than a data stream, and ""
// otherwise: a data stream, nothing, or no answer (GET
// _resolve/index/<index>).
func (c adminClient) notDataStream(ctx context.Context, index string) string {
	var got struct {
		Indices     []struct{ Name string } `json:"indices"`
		Aliases     []struct{ Name string } `json:"aliases"`
		DataStreams []struct{ Name string } `json:"data_streams"`
	}
	err := within(ctx, c.limit, "GET _resolve/index/"+index, func(ctx context.Context) error {
		res, err := esapi.IndicesResolveIndexRequest{Name: []string{index}}.Do(ctx, c.tr)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.IsError() {
			return errors.New(res.Status())
		}
		return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&got)
	})
	switch {
	case err != nil || len(got.DataStreams) > 0:
		return ""
	case len(got.Indices) > 0:
		return "an index"
	case len(got.Aliases) > 0:
		return "an alias"
	}
	return ""
}

// NewerTemplateError is PutTemplate's answer when the installed template
// has a higher TemplateVersion than this build's: it is left as it is.
type NewerTemplateError struct {
	Name           string
	Installed, Own int
}

func (e *NewerTemplateError) Error() string {
	return fmt.Sprintf("index template %s left as it is: it is version %d, from a newer zeekanom than this one (version %d)",
		e.Name, e.Installed, e.Own)
}

// PutTemplate installs the composable template of the data stream index
// (TemplateNameFor) through any esapi.Transport (an *elasticsearch.Client),
// unless the installed one is newer (a *NewerTemplateError). Each request
// (the GET of the installed template, the PUT) is bounded by adminTimeout,
// and by ctx.
func PutTemplate(ctx context.Context, tr esapi.Transport, index string) error {
	c := adminClient{tr, adminTimeout}
	name := TemplateNameFor(index)
	t, err := c.installed(ctx, name)
	if err != nil {
		return fmt.Errorf("elasticsearch: reading index template %s: %w", name, err)
	}
	return c.putTemplate(ctx, index, t)
}

// putTemplate is PutTemplate, given the installed template (zero: none).
func (c adminClient) putTemplate(ctx context.Context, index string, installed installed) error {
	tpl := Template(index)
	name := TemplateNameFor(index)
	if installed.Version > TemplateVersion {
		return &NewerTemplateError{Name: name, Installed: installed.Version, Own: TemplateVersion}
	}
	if name == TemplateName {
		// An older zeekanom (before 2026-11-30) listed other data streams
		// in this template: keep them, or Elasticsearch refuses the PUT
		// while such a data stream exists and no template of its own
		// matches it yet (its sensor not upgraded).
		tpl["index_patterns"] = append(tpl["index_patterns"].([]string), installed.legacyPatterns()...)
	}
	status, b, err := c.put(ctx, name, tpl)
	if err == nil && status == 400 && bytes.Contains(b, []byte("ignore_missing_component_templates")) {
		// Elasticsearch before 8.7 knows no optional component
		// templates: install without the @custom hook
		delete(tpl, "composed_of")
		delete(tpl, "ignore_missing_component_templates")
		status, b, err = c.put(ctx, name, tpl)
	}
	if err != nil {
		return fmt.Errorf("elasticsearch: put template: %w", err)
	}
	if status >= 300 {
		return fmt.Errorf("elasticsearch: put template %s: %d %s: %s", name, status, http.StatusText(status), errorText(b))
	}
	return nil
}

// put PUTs an index template and returns the answer's status and (for an
// error) the start of its body. An answer whose body cannot be read to its
// end (it stalled) is an error, whatever its status said.
func (c adminClient) put(ctx context.Context, name string, tpl map[string]any) (int, []byte, error) {
	body, err := json.Marshal(tpl)
	if err != nil {
		return 0, nil, err
	}
	var status int
	var b []byte
	err = within(ctx, c.limit, "PUT _index_template/"+name, func(ctx context.Context) error {
		res, err := esapi.IndicesPutIndexTemplateRequest{Name: name, Body: bytes.NewReader(body)}.Do(ctx, c.tr)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		status = res.StatusCode
		if b, err = io.ReadAll(io.LimitReader(res.Body, 4096)); err != nil {
			return err
		}
		if !res.IsError() {
			b = nil
		}
		return nil
	})
	return status, b, err
}

// installed is what an installed index template says of itself.
type installed struct {
	Version  int      `json:"version"`
	Patterns []string `json:"index_patterns"`
}

// legacyPatterns are its patterns other than IndexPattern.
func (t installed) legacyPatterns() []string {
	var out []string
	for _, p := range t.Patterns {
		if p != IndexPattern && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// installed reads the index template name: zero when there is none or
// the answer is an error or cannot be parsed (the PUT then says why); an
// error when there is no answer, or not in full (a body that stalled): the
// PUT would fare no better.
func (c adminClient) installed(ctx context.Context, name string) (installed, error) {
	// (its 404 on a fresh cluster is not the install's status: a PUT that
	// then got no answer was taken for a template the cluster refuses)
	ctx = context.WithValue(ctx, statusKey{}, (*atomic.Int64)(nil))
	var got struct {
		IndexTemplates []struct {
			Name          string    `json:"name"`
			IndexTemplate installed `json:"index_template"`
		} `json:"index_templates"`
	}
	err := within(ctx, c.limit, "GET _index_template/"+name, func(ctx context.Context) error {
		res, err := esapi.IndicesGetIndexTemplateRequest{Name: name}.Do(ctx, c.tr)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.IsError() {
			return nil
		}
		if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&got); err != nil {
			got.IndexTemplates = nil
			if ctx.Err() != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return installed{}, err
	}
	for _, t := range got.IndexTemplates {
		if t.Name == name {
			return t.IndexTemplate, nil
		}
	}
	return installed{}, nil
}

func sortedKeys(mp map[string]string) []string {
	out := make([]string, 0, len(mp))
	for k := range mp {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
