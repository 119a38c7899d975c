package elasticsearch

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/zeekanom/zeekanom/output/notice"
)

// DataViewID is the id of the Kibana data view on logs-zeekanom.notice-*.
const DataViewID = "zeekanom-notice"

// searchColumns are the columns of every saved search (also checked against
// the template by the tests).
var searchColumns = []string{
	"rule.name", "event.severity", "event.risk_score", "source.ip", "destination.ip",
	"destination.port", "destination.domain", "message", "zeekanom.detector", "zeekanom.score", "zeekanom.top", "observer.name",
}

// ruleColumns are the columns a rule's saved search has besides
// searchColumns, after destination.ip: a beacon to a source's rotating
// destinations names their network, and no destination.ip.
var ruleColumns = map[string][]string{
	notice.RuleBeacon: {"zeekanom.destination_net"},
}

// columnsOf are the columns of rule's saved search.
func columnsOf(rule string) []string {
	var cols []string
	for _, c := range searchColumns {
		cols = append(cols, c)
		if c == "destination.ip" {
			cols = append(cols, ruleColumns[rule]...)
		}
	}
	return cols
}

type savedObject struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Attributes map[string]any `json:"attributes"`
	References []reference    `json:"references"`
	// Fields lists the document fields the object uses (not exported to
	// Kibana; the test checks them against the template).
	Fields []string `json:"-"`
}

type reference struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

func searchID(rule string) string { return "zeekanom-rule-" + strings.ReplaceAll(rule, ".", "-") }

func savedObjects() []savedObject {
	objs := []savedObject{{
		Type: "index-pattern", ID: DataViewID,
		Attributes: map[string]any{"title": IndexPattern, "name": "zeekanom notices", "timeFieldName": "@timestamp"},
		References: []reference{},
		Fields:     []string{"@timestamp"},
	}}
	var panels []map[string]any
	var dashRefs []reference
	for i, rule := range notice.Rules() {
		ssrc, _ := json.Marshal(map[string]any{
			"query":        map[string]any{"query": fmt.Sprintf("rule.name : %q", rule), "language": "kuery"},
			"filter":       []any{},
			"indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
		})
		id := searchID(rule)
		objs = append(objs, savedObject{
			Type: "search", ID: id,
			Attributes: map[string]any{
				"title":                 "zeekanom: " + rule,
				"description":           "Notices of rule " + rule + " (Zeek notice " + notice.ZeekNote(rule) + ")",
				"columns":               columnsOf(rule),
				"sort":                  [][]string{{"@timestamp", "desc"}},
				"kibanaSavedObjectMeta": map[string]any{"searchSourceJSON": string(ssrc)},
			},
			References: []reference{{Name: "kibanaSavedObjectMeta.searchSourceJSON.index", Type: "index-pattern", ID: DataViewID}},
			Fields:     append([]string{"@timestamp", "rule.name"}, columnsOf(rule)...),
		})
		ref := fmt.Sprintf("panel_%d", i)
		panels = append(panels, map[string]any{
			"version": "8.19.0", "type": "search", "panelIndex": ref, "panelRefName": ref,
			"gridData":         map[string]any{"x": (i % 2) * 24, "y": (i / 2) * 15, "w": 24, "h": 15, "i": ref},
			"embeddableConfig": map[string]any{},
		})
		dashRefs = append(dashRefs, reference{Name: ref, Type: "search", ID: id})
	}
	panelsJSON, _ := json.Marshal(panels)
	dsrc, _ := json.Marshal(map[string]any{"query": map[string]any{"query": "", "language": "kuery"}, "filter": []any{}})
	objs = append(objs, savedObject{
		Type: "dashboard", ID: "zeekanom-overview",
		Attributes: map[string]any{
			"title":                 "zeekanom: notices by rule",
			"description":           "One saved search per zeekanom rule over " + IndexPattern,
			"panelsJSON":            string(panelsJSON),
			"optionsJSON":           `{"useMargins":true,"hidePanelTitles":false}`,
			"timeRestore":           false,
			"kibanaSavedObjectMeta": map[string]any{"searchSourceJSON": string(dsrc)},
		},
		References: dashRefs,
	})
	return objs
}

// KibanaObjects writes the Kibana saved objects as NDJSON for Kibana's
// Saved Objects import (Stack Management > Saved objects > Import, or
// POST /api/saved_objects/_import): a data view on logs-zeekanom.notice-*,
// one saved search per rule, and a dashboard of those searches.
func KibanaObjects(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, o := range savedObjects() {
		if err := enc.Encode(o); err != nil {
			return err
		}
	}
	return nil
}

// KibanaFields lists every document field the saved objects reference.
func KibanaFields() []string {
	seen := map[string]bool{}
	var out []string
	for _, o := range savedObjects() {
		for _, f := range o.Fields {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out
}
