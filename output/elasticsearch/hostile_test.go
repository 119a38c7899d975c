package elasticsearch

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/zeekanom/zeekanom/output/notice"
)

// Strings an attacker controls (a DNS name, an HTTP Host, a uid in a JSON
// log) reach the node as data: tabs, newlines, quotes, backslashes,
// braces, U+2028, NUL, invalid UTF-8 and a megabyte of them neither break
// the bulk request nor the mapping, and each document reads back exactly
// as the notice encodes it (the bounds of README.md "Notice schema"
// applied), searchable by its domain.
func TestIntegrationHostileStringsAreData(t *testing.T) {
	es, index, s := nodeSink(t)
	nasty := "a\tb\nc\r\"d'\\e{\"create\":{}}\n<f>&g\u2028h\x00i\xff\xfej ü日本🙂 "
	huge := strings.Repeat(nasty, (1<<20)/len(nasty)+1) // over 1 MiB
	ns := makeNotices(6, 44)
	for i, n := range ns {
		n.Rule, n.Domain = notice.RuleDNSTunnel, nasty+string(rune('0'+i))
		n.Message = "query " + nasty
		if i%2 == 1 {
			n.Domain, n.Message, n.Sub = string(rune('0'+i))+huge, "query "+huge, huge
			n.UIDs = []string{huge, nasty, "C" + nasty}
		}
		n.Finalize("")
	}
	writeAll(t, s, ns)
	if st := s.Stats(); st.Indexed != int64(len(ns)) || st.Lost != 0 {
		t.Fatalf("stats %+v, want %d indexed", st, len(ns))
	}
	call(t, es, "POST", "/"+index+"/_refresh", nil)
	for _, n := range ns {
		if len(n.Domain) > notice.MaxDomain || len(n.Message) > notice.MaxMessage {
			t.Fatalf("notice not bounded: domain %d, message %d bytes", len(n.Domain), len(n.Message))
		}
		c := *n
		c.Observer = s.observer
		doc, err := c.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		if err := json.Unmarshal(doc, &want); err != nil {
			t.Fatal(err)
		}
		domain := want["destination"].(map[string]any)["domain"] // invalid UTF-8 as U+FFFD
		res := call(t, es, "POST", "/"+index+"/_search", map[string]any{"size": 2,
			"query": map[string]any{"term": map[string]any{"destination.domain": domain}}})
		hits := res["hits"].(map[string]any)["hits"].([]any)
		if len(hits) != 1 {
			t.Errorf("term destination.domain %q: %d hits, want 1", domain, len(hits))
			continue
		}
		got := hits[0].(map[string]any)["_source"].(map[string]any)
		delete(got["event"].(map[string]any), "ingested")
		delete(want["event"].(map[string]any), "ingested")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("document of %q read back as\n%v\nwant\n%v", n.Domain, got, want)
		}
	}
	// the message is full text: its words are found
	if got := count(t, es, index, map[string]any{"match": map[string]any{"message": "日本"}}); got != len(ns) {
		t.Errorf("match message 日本: %d hits, want %d", got, len(ns))
	}
}
