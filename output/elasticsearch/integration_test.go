package elasticsearch

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	elasticsearch "github.com/elastic/go-elasticsearch/v8"

	"github.com/zeekanom/zeekanom/output/notice"
)

// nodeSink is a sink into a fresh data stream of the test node, its
// template installed, with a client for queries.
func nodeSink(t testing.TB) (*elasticsearch.Client, string, *Sink) {
	t.Helper()
	url := esURL(t)
	index := testIndex(t)
	s := newTestSink(t, Config{URLs: []string{url}, Index: index, FlushInterval: 200 * time.Millisecond})
	if err := s.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	return testClient(t, url), index, s
}

func newTestSink(t testing.TB, cfg Config) *Sink {
	t.Helper()
	s, err := New(context.Background(), cfg, WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestIntegrationIndexQueryIdempotent(t *testing.T) {
	url := esURL(t)
	es := testClient(t, url)
	index := testIndex(t)
	s := newTestSink(t, Config{URLs: []string{url}, Index: index, FlushInterval: 200 * time.Millisecond})
	ctx := context.Background()
	if err := s.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Setup(ctx); err != nil { // idempotent
		t.Fatalf("second Setup: %v", err)
	}
	ns := makeNotices(400, 1)
	for i, n := range ns[:100] { // bytes_in in a quarter, not logged (zeekanom.features.bytes_in.not_logged) in half of those
		n.Explain.Features["bytes_in"] = notice.Feature{NotLogged: i%2 == 0}
	}
	writeAll(t, s, ns)
	if got := count(t, es, index, nil); got != len(ns) {
		t.Fatalf("count = %d, want %d (stats %+v)", got, len(ns), s.Stats())
	}
	if st := s.Stats(); st.Indexed != int64(len(ns)) || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}

	// Mapping: the explicit types, also under a data stream backing index.
	types := fieldTypes(t, es, index, "source.ip", "related.ip", "related.hosts", "event.risk_score", "event.severity", "@timestamp",
		"zeekanom.features.conn_count.value", "rule.name", "zeekanom.destination_net", "zeekanom.features.bytes_in.not_logged")
	want := map[string]string{"source.ip": "ip", "related.ip": "ip", "related.hosts": "keyword", "event.risk_score": "float", "event.severity": "long",
		"@timestamp": "date", "zeekanom.features.conn_count.value": "double", "rule.name": "keyword", "zeekanom.destination_net": "ip_range",
		"zeekanom.features.bytes_in.not_logged": "boolean"}
	for f, ty := range want {
		if types[f] != ty {
			t.Errorf("%s mapped as %q, want %q", f, types[f], ty)
		}
	}

	// What analysts ask.
	var in10, beacon, high, firstHalf, beacon10, named, nets, dsts, unlogged int
	for _, n := range ns {
		if n.Explain.Features["bytes_in"].NotLogged {
			unlogged++
		}
		if n.Domain != "" {
			named++
		}
		if n.DestNet.IsValid() {
			nets++
		}
		if n.Destination.IsValid() {
			dsts++
		}
		is10 := netip.MustParsePrefix("10.0.0.0/8").Contains(n.Source)
		if is10 {
			in10++
		}
		if n.Rule == notice.RuleBeacon {
			beacon++
			if is10 {
				beacon10++
			}
		}
		if n.RiskScore >= 70 {
			high++
		}
		if n.Timestamp.Before(base.Add(12 * time.Hour)) {
			firstHalf++
		}
	}
	checks := []struct {
		name  string
		query any
		want  int
	}{
		{"cidr", map[string]any{"term": map[string]any{"source.ip": "10.0.0.0/8"}}, in10},
		{"rule terms", map[string]any{"terms": map[string]any{"rule.name": []string{notice.RuleBeacon}}}, beacon},
		{"risk range", map[string]any{"range": map[string]any{"event.risk_score": map[string]any{"gte": 70}}}, high},
		{"time range", map[string]any{"range": map[string]any{"@timestamp": map[string]any{"gte": base.Format(time.RFC3339), "lt": base.Add(12 * time.Hour).Format(time.RFC3339)}}}, firstHalf},
		{"query_string", map[string]any{"query_string": map[string]any{"query": `source.ip:"10.0.0.0/8" AND rule.name:beacon`}}, beacon10},
		{"related.ip cidr", map[string]any{"term": map[string]any{"related.ip": "203.0.113.0/24"}}, dsts},
		// a beacon to a rotating /24 by one address of it
		{"destination_net", map[string]any{"term": map[string]any{"zeekanom.destination_net": "198.51.100.7"}}, nets},
		// a name wherever it appears (ECS related.hosts: destination.domain)
		{"related.hosts", map[string]any{"term": map[string]any{"related.hosts": ns[2].Domain}}, 1},
		{"related.hosts wildcard", map[string]any{"wildcard": map[string]any{"related.hosts": "*.example.com"}}, named},
		// a byte count the log did not give, left out of a value search
		{"not_logged", map[string]any{"query_string": map[string]any{"query": "zeekanom.features.bytes_in.not_logged:true"}}, unlogged},
	}
	for _, c := range checks {
		if got := count(t, es, index, c.query); got != c.want {
			t.Errorf("%s: %d hits, want %d", c.name, got, c.want)
		}
	}

	// Top source.ip per rule.name.
	agg := call(t, es, "POST", "/"+index+"/_search", map[string]any{
		"size": 0,
		"aggs": map[string]any{"rules": map[string]any{
			"terms": map[string]any{"field": "rule.name", "size": 20},
			"aggs":  map[string]any{"top_src": map[string]any{"terms": map[string]any{"field": "source.ip", "size": 3}}},
		}},
	})
	buckets := agg["aggregations"].(map[string]any)["rules"].(map[string]any)["buckets"].([]any)
	if len(buckets) != 5 {
		t.Fatalf("%d rule buckets, want 5", len(buckets))
	}
	for _, b := range buckets {
		top := b.(map[string]any)["top_src"].(map[string]any)["buckets"].([]any)
		if len(top) == 0 {
			t.Errorf("rule %v: no top source.ip", b.(map[string]any)["key"])
		}
		if _, err := netip.ParseAddr(top[0].(map[string]any)["key"].(string)); err != nil {
			t.Errorf("top source key %v is not an address", top[0])
		}
	}

	// Idempotence: the same notices again change nothing.
	writeAll(t, s, ns)
	if got := count(t, es, index, nil); got != len(ns) {
		t.Fatalf("after replay count = %d, want %d", got, len(ns))
	}
	if st := s.Stats(); st.Duplicates != int64(len(ns)) || st.Indexed != int64(len(ns)) {
		t.Fatalf("after replay stats %+v, want %d duplicates", st, len(ns))
	}
}

func TestIntegrationPartialFailure(t *testing.T) {
	url := esURL(t)
	es := testClient(t, url)
	index := testIndex(t)
	s := newTestSink(t, Config{URLs: []string{url}, Index: index, FlushInterval: time.Hour})
	ctx := context.Background()
	if err := s.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	ns := makeNotices(60, 2)
	// One notice contradicts the mapping: feature "x" makes
	// zeekanom.features.x.value a double, feature "x.value" wants it to be
	// an object. Same bulk request as the others.
	bad := ns[30]
	bad.Explain.Features = map[string]notice.Feature{"x": {Value: 1}, "x.value": {Value: 2}}
	writeAll(t, s, ns)
	st := s.Stats()
	if st.Failed != 1 || st.Indexed != int64(len(ns)-1) {
		t.Fatalf("stats %+v, want 1 failed and %d indexed", st, len(ns)-1)
	}
	if !strings.Contains(st.LastError, bad.ID) {
		t.Errorf("LastError %q does not name the rejected document %s", st.LastError, bad.ID)
	}
	if got := count(t, es, index, nil); got != len(ns)-1 {
		t.Fatalf("count = %d, want %d", got, len(ns)-1)
	}
}

func TestIntegrationOutageSpoolReplay(t *testing.T) {
	url := esURL(t)
	es := testClient(t, url)
	index := testIndex(t)
	p := newProxy(t, strings.TrimPrefix(url, "http://"))
	spoolDir := t.TempDir()
	cfg := Config{
		URLs: []string{p.url()}, Index: index, SpoolDir: spoolDir,
		FlushInterval: 100 * time.Millisecond, MaxRetries: 1, WriteTimeout: time.Second,
	}
	s := newTestSink(t, cfg)
	ctx := context.Background()
	if err := s.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	ns := makeNotices(600, 3)

	// Up: the first 100 go straight in.
	writeAll(t, s, ns[:100])
	if got := count(t, es, index, nil); got != 100 {
		t.Fatalf("count = %d, want 100", got)
	}

	// Outage: the next 200 end up in the spool, nothing is lost or blocks.
	p.stop()
	writeAll(t, s, ns[100:300])
	if st := s.Stats(); st.Spooled < 200 || st.SpoolBytes == 0 {
		t.Fatalf("during outage stats %+v, want >= 200 spooled", st)
	}
	if got := count(t, es, index, nil); got != 100 {
		t.Fatalf("during outage count = %d, want 100", got)
	}

	// Back: the spool replays by itself, then writes go direct again.
	p.start(t)
	eventually(t, 90*time.Second, "spool to drain", func() bool { return !s.Pending() })
	writeAll(t, s, ns[300:400])
	if got := count(t, es, index, nil); got != 400 {
		t.Fatalf("after replay count = %d, want 400 (stats %+v)", got, s.Stats())
	}

	// Restart while down: what is spooled survives Close and a new Sink on
	// the same spool replays it.
	p.stop()
	writeAll(t, s, ns[400:600])
	if err := s.Close(); err != nil {
		t.Logf("close while down: %v", err)
	}
	p.start(t)
	s2 := newTestSink(t, cfg)
	eventually(t, 90*time.Second, "second sink to drain the spool", func() bool { return !s2.Pending() })
	if got := count(t, es, index, nil); got != 600 {
		t.Fatalf("after restart count = %d, want 600 (stats %+v)", got, s2.Stats())
	}
	// No duplicates: every event.id once.
	res := call(t, es, "POST", "/"+index+"/_search", map[string]any{"size": 0, "aggs": map[string]any{"ids": map[string]any{"cardinality": map[string]any{"field": "event.id", "precision_threshold": 4000}}}})
	if c := res["aggregations"].(map[string]any)["ids"].(map[string]any)["value"].(float64); c != 600 {
		t.Fatalf("%v distinct ids, want 600", c)
	}
	t.Logf("stats first sink %+v; second sink %+v", s.Stats(), s2.Stats())
}

// A data stream outside logs-zeekanom.notice-* has a template of its own.
// All such names used to be added to the patterns of the one template
// zeekanom-notice, so two sensors with two of them (zeekanom-site-a,
// zeekanom-site-b) each replaced the other's pattern at every start: the
// first one's notices then went into a plain index with dynamic mappings
// (source.ip a text field: no CIDR queries). It is one priority above
// the shared template, which Elasticsearch would otherwise refuse while a
// shared template of an older zeekanom still lists the name (found by a
// review).
func TestIntegrationCustomIndexNamesHaveTemplatesOfTheirOwn(t *testing.T) {
	url := esURL(t)
	es := testClient(t, url)
	ctx := context.Background()
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e9)
	a, b := "zeekanom-site-a-"+suffix, "zeekanom-site-b-"+suffix
	t.Cleanup(func() {
		if err := PutTemplate(ctx, es, DefaultIndex); err != nil { // as other tests expect it
			t.Error(err)
		}
	})
	// the shared template as an older zeekanom left it for a
	legacy := Template(DefaultIndex)
	legacy["index_patterns"] = append([]string{IndexPattern, a}, legacyPatterns(ctx, es)...)
	call(t, es, "PUT", "/_index_template/"+TemplateName, legacy)

	sa := newTestSink(t, Config{URLs: []string{url}, Index: a, FlushInterval: 100 * time.Millisecond})
	sb := newTestSink(t, Config{URLs: []string{url}, Index: b, FlushInterval: 100 * time.Millisecond})
	if err := sa.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sb.Setup(ctx); err != nil { // the second sensor starts
		t.Fatal(err)
	}
	writeAll(t, sa, makeNotices(10, 15))
	writeAll(t, sb, makeNotices(10, 16))
	// a sensor with the default name starts: the shared template keeps
	// the older one's patterns (Elasticsearch refuses to leave a data
	// stream without a template)
	if err := PutTemplate(ctx, es, DefaultIndex); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(legacyPatterns(ctx, es), a) {
		t.Error("the shared template dropped an older zeekanom's pattern")
	}
	for _, ix := range []string{a, b} {
		mp := call(t, es, "GET", "/"+ix+"/_mapping/field/source.ip", nil)
		if len(mp) == 0 {
			t.Fatalf("%s: no mapping", ix)
		}
		for backing, v := range mp {
			f := v.(map[string]any)["mappings"].(map[string]any)["source.ip"].(map[string]any)["mapping"].(map[string]any)["ip"].(map[string]any)
			if !strings.HasPrefix(backing, ".ds-") || f["type"] != "ip" {
				t.Errorf("%s's notices in %s (a data stream's backing index: %v), source.ip mapped %v", ix, backing, strings.HasPrefix(backing, ".ds-"), f["type"])
			}
		}
	}
}

// Each notice names its sensor (observer.name, from the config, else the
// host name, and observer.hostname), so an analyst can tell apart the
// sensors that share a cluster: two sinks, two names, one data stream.
func TestIntegrationObserverNamesTheSensor(t *testing.T) {
	url := esURL(t)
	es := testClient(t, url)
	index := testIndex(t)
	ctx := context.Background()
	host, _ := os.Hostname()
	for i, name := range []string{"sensor-east", ""} {
		s := newTestSink(t, Config{URLs: []string{url}, Index: index, Observer: name, FlushInterval: 200 * time.Millisecond})
		if err := s.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		writeAll(t, s, makeNotices(5+i, uint64(30+i)))
	}
	for name, want := range map[string]int{"sensor-east": 5, host: 6} {
		if got := count(t, es, index, map[string]any{"term": map[string]any{"observer.name": name}}); got != want {
			t.Errorf("observer.name %q: %d notices, want %d", name, got, want)
		}
	}
	if got := count(t, es, index, map[string]any{"term": map[string]any{"observer.hostname": host}}); got != 11 {
		t.Errorf("observer.hostname %q: %d notices, want 11", host, got)
	}
}

// Two sensors that report the same notice (the same traffic seen from two
// taps, or two sites with the same private addresses) into one data
// stream each keep theirs; each sensor writing its notices again adds
// nothing. With _id = event.id the second sensor's notices were all
// answered 409 and counted as duplicates: observer.name "sensor-b" found
// none of them.
func TestIntegrationTwoSensorsSameNotices(t *testing.T) {
	url := esURL(t)
	es := testClient(t, url)
	index := testIndex(t)
	ctx := context.Background()
	ns := makeNotices(20, 41)
	for pass := 0; pass < 2; pass++ {
		for _, name := range []string{"sensor-a", "sensor-b"} {
			s := newTestSink(t, Config{URLs: []string{url}, Index: index, Observer: name, FlushInterval: 200 * time.Millisecond})
			if err := s.Setup(ctx); err != nil {
				t.Fatal(err)
			}
			writeAll(t, s, ns)
			want := Stats{Indexed: int64(len(ns))}
			if pass == 1 {
				want = Stats{Duplicates: int64(len(ns))}
			}
			if st := s.Stats(); st.Indexed != want.Indexed || st.Duplicates != want.Duplicates || st.Lost != 0 {
				t.Errorf("pass %d, %s: stats %+v, want %d indexed and %d duplicates", pass, name, st, want.Indexed, want.Duplicates)
			}
		}
	}
	for _, name := range []string{"sensor-a", "sensor-b"} {
		if got := count(t, es, index, map[string]any{"term": map[string]any{"observer.name": name}}); got != len(ns) {
			t.Errorf("observer.name %q: %d notices, want %d", name, got, len(ns))
		}
	}
	// one event.id per notice, reported by both sensors
	res := call(t, es, "POST", "/"+index+"/_search", map[string]any{"size": 0,
		"aggs": map[string]any{"ids": map[string]any{"cardinality": map[string]any{"field": "event.id"}}}})
	if got := res["aggregations"].(map[string]any)["ids"].(map[string]any)["value"].(float64); int(got) != len(ns) {
		t.Errorf("%v distinct event.id, want %d", got, len(ns))
	}
}

// zeek.uids pivots to Zeek's logs: each uid once (an outlier window's rows
// repeat the uid of a connection with conn, http and ssl rows: 20 uids
// listed, 7 distinct), so terms zeek.uids counts a connection once.
func TestIntegrationUIDsDistinct(t *testing.T) {
	es, index, s := nodeSink(t)
	n := makeNotices(1, 43)[0]
	n.Rule, n.UIDs = notice.RuleOutlier, []string{"CXwTVk2jcBxUWC1Sxk", "CXwTVk2jcBxUWC1Sxk", "CODbAG3qkfTXCeX8b7", "CXwTVk2jcBxUWC1Sxk"}
	n.Finalize("")
	writeAll(t, s, []*notice.Notice{n})
	call(t, es, "POST", "/"+index+"/_refresh", nil)
	res := call(t, es, "POST", "/"+index+"/_search", map[string]any{"size": 1,
		"query": map[string]any{"term": map[string]any{"zeek.uids": "CXwTVk2jcBxUWC1Sxk"}}})
	hits := res["hits"].(map[string]any)["hits"].([]any)
	if len(hits) != 1 {
		t.Fatalf("%d hits for the uid", len(hits))
	}
	got := hits[0].(map[string]any)["_source"].(map[string]any)["zeek"].(map[string]any)["uids"]
	if want := []any{"CXwTVk2jcBxUWC1Sxk", "CODbAG3qkfTXCeX8b7"}; !slices.Equal(got.([]any), want) {
		t.Errorf("zeek.uids %v, want %v", got, want)
	}
}

// fieldTypes is the mapped type of each field in the data stream index
// (GET _mapping/field), failing t if a backing index is not a data
// stream's.
func fieldTypes(t testing.TB, es *elasticsearch.Client, index string, fields ...string) map[string]string {
	t.Helper()
	mp := call(t, es, "GET", "/"+index+"/_mapping/field/"+strings.Join(fields, ","), nil)
	types := map[string]string{}
	for bi, v := range mp {
		if !strings.HasPrefix(bi, ".ds-"+index) {
			t.Errorf("backing index %q: not a data stream", bi)
		}
		for field, fv := range v.(map[string]any)["mappings"].(map[string]any) {
			leaf := field[strings.LastIndex(field, ".")+1:]
			types[field] = fv.(map[string]any)["mapping"].(map[string]any)[leaf].(map[string]any)["type"].(string)
		}
	}
	return types
}

// The ECS fields of notice.MarshalJSON (ecs.version, event.duration,
// event.risk_score_norm, rule.*, threat.*) are mapped as the template says,
// not guessed (a guessed string is text: term threat.technique.id "T1046"
// would find nothing), and the queries an analyst runs in Kibana find the
// notices.
func TestIntegrationECSFieldsMappedAndQueryable(t *testing.T) {
	es, index, s := nodeSink(t)
	ns := makeNotices(100, 40)
	// a one-way flood: the one notice with a sub-technique outside DNS
	flood := *ns[0]
	flood.Rule, flood.Sub, flood.Proto, flood.Related = notice.RuleDoSFanIn, "one_way_flow", "udp", nil
	flood.End = flood.Start.Add(90 * time.Second)
	flood.Finalize("flood")
	ns = append(ns, &flood)
	writeAll(t, s, ns)
	if got := count(t, es, index, nil); got != len(ns) {
		t.Fatalf("count = %d, want %d (stats %+v)", got, len(ns), s.Stats())
	}

	want := map[string]string{
		"ecs.version": "keyword", "event.duration": "long", "event.risk_score_norm": "float",
		"rule.id": "keyword", "rule.ruleset": "keyword", "rule.category": "keyword", "rule.description": "keyword",
		"threat.framework": "keyword", "threat.tactic.id": "keyword", "threat.tactic.name": "keyword",
		"threat.technique.id": "keyword", "threat.technique.name": "keyword", "threat.technique.reference": "keyword",
		"threat.technique.subtechnique.id": "keyword", "threat.technique.subtechnique.name": "keyword",
		"threat.technique.name.text": "text",
	}
	var fields []string
	for f := range want {
		fields = append(fields, f)
	}
	types := fieldTypes(t, es, index, fields...)
	for f, ty := range want {
		if types[f] != ty {
			t.Errorf("%s mapped as %q, want %q", f, types[f], ty)
		}
	}

	by := map[string]int{}
	scans10 := 0 // scan.horizontal from 10.0.0.0/8
	for _, n := range ns {
		by[n.Rule]++
		if n.Rule == notice.RuleScanHorizontal && netip.MustParsePrefix("10.0.0.0/8").Contains(n.Source) {
			scans10++
		}
	}
	term := func(f string, v any) any { return map[string]any{"term": map[string]any{f: v}} }
	checks := []struct {
		name  string
		query any
		want  int
	}{
		{"technique T1046", term("threat.technique.id", "T1046"), by[notice.RuleScanHorizontal]},
		{"rule.id", term("rule.id", notice.RuleBeacon), by[notice.RuleBeacon]},
		{"tactic C2", term("threat.tactic.id", "TA0011"), by[notice.RuleBeacon] + by[notice.RuleDNSTunnel]},
		{"tactic name", term("threat.tactic.name", "Exfiltration"), by[notice.RuleExfiltration]},
		{"subtechnique DNS", term("threat.technique.subtechnique.id", "T1071.004"), by[notice.RuleDNSTunnel]},
		{"subtechnique flood", term("threat.technique.subtechnique.id", "T1498.001"), 1},
		{"framework", term("threat.framework", "MITRE ATT&CK"), len(ns) - by[notice.RuleLongConnection]},
		{"no threat: anomalies", map[string]any{"bool": map[string]any{"must_not": map[string]any{"exists": map[string]any{"field": "threat"}}}},
			by[notice.RuleLongConnection]},
		{"category", term("rule.category", "Network Scan"), by[notice.RuleScanHorizontal]},
		{"ruleset", term("rule.ruleset", "zeekanom"), len(ns)},
		{"ecs.version", term("ecs.version", notice.ECSVersion), len(ns)},
		{"duration 5m", term("event.duration", int64(5*time.Minute)), len(ns) - 1},
		{"risk_score_norm", map[string]any{"range": map[string]any{"event.risk_score_norm": map[string]any{"gte": 0, "lte": 100}}}, len(ns)},
		{"technique name words", map[string]any{"match": map[string]any{"threat.technique.name.text": map[string]any{"query": "service discovery", "operator": "and"}}}, by[notice.RuleScanHorizontal]},
		{"query_string", map[string]any{"query_string": map[string]any{"query": `threat.technique.id:T1046 AND source.ip:"10.0.0.0/8"`}}, scans10},
	}
	for _, c := range checks {
		if c.want == 0 {
			t.Fatalf("%s: the notices have none to find", c.name)
		}
		if got := count(t, es, index, c.query); got != c.want {
			t.Errorf("%s: %d hits, want %d", c.name, got, c.want)
		}
	}
}

// A data stream created by an older zeekanom keeps the mappings its write
// index was created with, and without ILM nothing rolls it over: the ECS
// fields were mapped dynamically there for ever (threat.technique.id as
// text, term T1046 found nothing). Setup now adds the template's mappings
// to the write index: the same backing index maps them as keyword.
func TestIntegrationSetupMapsNewFieldsInAnExistingDataStream(t *testing.T) {
	url := esURL(t)
	es := testClient(t, url)
	// outside the shared pattern: a template of its own, which the test
	// may replace by an older one without touching the shared template
	index := fmt.Sprintf("zeekanom-upgrade-%d", time.Now().UnixNano()%1e9)
	old := Template(index)
	delete(old, "version") // (an older zeekanom's carried none)
	props := old["template"].(m)["mappings"].(m)["properties"].(m)
	delete(props, "ecs")
	delete(props, "threat")
	props["rule"] = obj(m{"name": kw()})
	delete(props["event"].(m)["properties"].(m), "duration")
	delete(props["event"].(m)["properties"].(m), "risk_score_norm")
	call(t, es, "PUT", "/_index_template/"+TemplateNameFor(index), old)
	doc := exampleDoc(t, "example-before-ecs-fields.json")
	call(t, es, "PUT", "/"+index+"/_create/old-1", doc) // the data stream, as the older zeekanom left it
	if ty := fieldTypes(t, es, index, "threat.technique.id"); len(ty) != 0 {
		t.Fatalf("the older template maps %v", ty)
	}

	s := newTestSink(t, Config{URLs: []string{url}, Index: index, FlushInterval: 200 * time.Millisecond})
	if err := s.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	ns := makeNotices(20, 50)
	writeAll(t, s, ns)
	if backing := call(t, es, "GET", "/"+index+"/_mapping", nil); len(backing) != 1 {
		t.Fatalf("%d backing indices, want the one the older zeekanom made", len(backing))
	}
	want := map[string]string{"threat.technique.id": "keyword", "rule.id": "keyword", "ecs.version": "keyword",
		"event.duration": "long", "event.risk_score_norm": "float"}
	types := fieldTypes(t, es, index, "threat.technique.id", "rule.id", "ecs.version", "event.duration", "event.risk_score_norm")
	for f, ty := range want {
		if types[f] != ty {
			t.Errorf("%s mapped as %q in the existing write index, want %q", f, types[f], ty)
		}
	}
	scans := 0
	for _, n := range ns {
		if n.Rule == notice.RuleScanHorizontal {
			scans++
		}
	}
	if got := count(t, es, index, map[string]any{"term": map[string]any{"threat.technique.id": "T1046"}}); got != scans || scans == 0 {
		t.Errorf("term threat.technique.id T1046: %d hits, want %d", got, scans)
	}
	if got := count(t, es, index, nil); got != len(ns)+1 {
		t.Errorf("count %d, want %d", got, len(ns)+1)
	}
}

// Sensors of two releases share a cluster while they are upgraded: an
// older one's install at its start no longer replaces a newer template
// (its next backing index mapped the newer fields dynamically). A
// template of a higher version is left as it is, and Setup goes on; one
// without a version (before 2026-12-01) or of a lower one is replaced.
func TestIntegrationNewerTemplateIsKept(t *testing.T) {
	url := esURL(t)
	es := testClient(t, url)
	ctx := context.Background()
	index := "zeekanom-versions-" + fmt.Sprint(time.Now().UnixNano()%1e9)
	name := TemplateNameFor(index)
	version := func() any {
		got := call(t, es, "GET", "/_index_template/"+name, nil)
		return got["index_templates"].([]any)[0].(map[string]any)["index_template"].(map[string]any)["version"]
	}
	newer := Template(index)
	newer["version"] = TemplateVersion + 1
	call(t, es, "PUT", "/_index_template/"+name, newer)
	err := PutTemplate(ctx, es, index)
	var nt *NewerTemplateError
	if !errors.As(err, &nt) || nt.Installed != TemplateVersion+1 || nt.Own != TemplateVersion {
		t.Fatalf("PutTemplate over a newer template: %v", err)
	}
	if v := version(); v != float64(TemplateVersion+1) {
		t.Fatalf("the newer template was replaced: version %v", v)
	}
	var logged []string
	s, err := New(ctx, Config{URLs: []string{url}, Index: index}, WithLogf(func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Setup(ctx); err != nil || len(logged) != 1 || !strings.Contains(logged[0], "newer zeekanom") {
		t.Fatalf("Setup: %v, logged %q", err, logged)
	}
	older := Template(index)
	delete(older, "version")
	call(t, es, "PUT", "/_index_template/"+name, older)
	if err := PutTemplate(ctx, es, index); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != float64(TemplateVersion) {
		t.Fatalf("a template without a version was not replaced: version %v", v)
	}
}
