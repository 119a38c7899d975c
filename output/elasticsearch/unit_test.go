package elasticsearch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/zeekanom/zeekanom/output/notice"
)

// mockES answers _bulk like Elasticsearch; status decides, per request
// number (from 1) and item, what to answer.
type mockES struct {
	reqs   atomic.Int64
	status func(req int) int            // whole-request status; 200 = answer per item
	item   func(req int, id string) int // per-item status
	other  func() int                   // status of other requests (nil: 200)
	mu     sync.Mutex
	ids    map[string]int
	seen   []string // "METHOD /path status" of every request
}

func (m *mockES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	if !strings.HasSuffix(r.URL.Path, "/_bulk") {
		st := 200
		if m.other != nil {
			st = m.other()
		}
		m.note(r, st)
		w.WriteHeader(st)
		w.Write([]byte(`{}`))
		return
	}
	n := int(m.reqs.Add(1))
	st := m.status(n)
	m.note(r, st)
	if st != 200 {
		w.WriteHeader(st)
		fmt.Fprintf(w, `{"error":{"type":"mock","reason":"status %d"},"status":%d}`, st, st)
		return
	}
	var items []string
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 0; sc.Scan(); line++ {
		if line%2 != 0 {
			continue
		}
		var meta map[string]struct {
			ID string `json:"_id"`
		}
		json.Unmarshal(sc.Bytes(), &meta)
		id := meta["create"].ID
		st := 201
		if m.item != nil {
			st = m.item(n, id)
		}
		m.mu.Lock()
		if st == 201 {
			if m.ids[id] > 0 {
				st = 409
			}
			m.ids[id]++
		}
		m.mu.Unlock()
		it := fmt.Sprintf(`{"create":{"_id":%q,"status":%d}}`, id, st)
		if st >= 300 {
			it = fmt.Sprintf(`{"create":{"_id":%q,"status":%d,"error":{"type":"mock_%d","reason":"mock"}}}`, id, st, st)
		}
		items = append(items, it)
	}
	fmt.Fprintf(w, `{"errors":true,"items":[%s]}`, strings.Join(items, ","))
}

func newMock(t *testing.T, m *mockES) string {
	m.ids = map[string]int{}
	if m.status == nil {
		m.status = func(int) int { return 200 }
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return srv.URL
}

func (m *mockES) note(r *http.Request, status int) {
	m.mu.Lock()
	m.seen = append(m.seen, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, status))
	m.mu.Unlock()
}

// requests returns what note recorded.
func (m *mockES) requests() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.seen...)
}

func (m *mockES) stored() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.ids {
		if c > 0 {
			n++
		}
	}
	return n
}

func TestRetry429ThenSuccess(t *testing.T) {
	m := &mockES{status: func(n int) int {
		if n <= 2 {
			return 429
		}
		return 200
	}}
	url := newMock(t, m)
	s := newTestSink(t, Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", MaxRetries: 3, FlushInterval: time.Hour})
	writeAll(t, s, makeNotices(10, 4))
	st := s.Stats()
	if st.Indexed != 10 || st.Retries != 2 || st.Failed != 0 {
		t.Fatalf("stats %+v: want 10 indexed after 2 retries", st)
	}
}

// Retries counts the requests sent again, no more: the transport calls
// its backoff after its last attempt too, and Retries counted a retry
// there that was never sent (2 for a request sent twice with max_retries 1).
func TestRetriesCountRequestsSentAgain(t *testing.T) {
	for _, tc := range []struct {
		name              string
		busy              int // the first busy requests are answered 503
		maxRetries        int
		requests, retries int64
	}{
		{"503 twice, then taken", 2, 3, 3, 2},
		{"503 always, max_retries 1", 1 << 30, 1, 2, 1},
		{"503 always, max_retries 3", 1 << 30, 3, 4, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &mockES{status: func(n int) int {
				if n <= tc.busy {
					return 503
				}
				return 200
			}}
			s := newTestSink(t, Config{URLs: []string{newMock(t, m)}, Index: "logs-zeekanom.notice-t", MaxRetries: tc.maxRetries, Workers: 1, FlushInterval: time.Hour})
			writeAll(t, s, makeNotices(10, 4))
			if st := s.Stats(); st.Retries != tc.retries || m.reqs.Load() != tc.requests {
				t.Errorf("stats %+v after %d requests: want %d requests, %d retries", st, m.reqs.Load(), tc.requests, tc.retries)
			}
		})
	}
}

func TestPersistent503SpoolsThenReplays(t *testing.T) {
	var healthy atomic.Bool
	m := &mockES{status: func(int) int {
		if healthy.Load() {
			return 200
		}
		return 503
	}}
	url := newMock(t, m)
	s := newTestSink(t, Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", MaxRetries: 1,
		SpoolDir: t.TempDir(), FlushInterval: time.Hour})
	ns := makeNotices(50, 5)
	writeAll(t, s, ns)
	if st := s.Stats(); st.Spooled != 50 || st.Indexed != 0 || st.SpoolBytes == 0 {
		t.Fatalf("stats %+v: want 50 spooled", st)
	}
	healthy.Store(true)
	s.kick()
	eventually(t, 60*time.Second, "replay", func() bool { return !s.Pending() })
	if st := s.Stats(); st.Indexed != 50 || st.Replayed != 50 || m.stored() != 50 {
		t.Fatalf("stats %+v, stored %d: want 50 replayed", st, m.stored())
	}
}

func TestItem429IsRetriedNotFailed(t *testing.T) {
	var first sync.Map
	m := &mockES{item: func(_ int, id string) int {
		if _, seen := first.LoadOrStore(id, true); !seen && strings.HasPrefix(id, "0") {
			return 429
		}
		return 201
	}}
	url := newMock(t, m)
	s := newTestSink(t, Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", SpoolDir: t.TempDir(), FlushInterval: time.Hour})
	writeAll(t, s, makeNotices(100, 6))
	eventually(t, 60*time.Second, "retried items", func() bool { return !s.Pending() })
	// sent again by the worker (retryItems), not through the spool
	if st := s.Stats(); st.Indexed != 100 || st.Failed != 0 || st.Spooled != 0 || st.Retries == 0 || m.stored() != 100 {
		t.Fatalf("stats %+v stored %d: want 100 indexed, some after a 429 and a retry", st, m.stored())
	}
}

func TestSpoolFullDropsLoudly(t *testing.T) {
	m := &mockES{status: func(int) int { return 503 }}
	url := newMock(t, m)
	var logs bytes.Buffer
	var mu sync.Mutex
	s, err := New(context.Background(), Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", MaxRetries: 1,
		SpoolDir: t.TempDir(), SpoolMaxBytes: 20000, FlushInterval: time.Hour},
		WithLogf(func(f string, a ...any) { mu.Lock(); fmt.Fprintf(&logs, f+"\n", a...); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	writeAll(t, s, makeNotices(100, 7))
	st := s.Stats()
	if st.Dropped == 0 || st.Spooled+st.Dropped != 100 || st.SpoolBytes > 20000 {
		t.Fatalf("stats %+v: want drops and a bounded spool", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "SPOOL FULL") {
		t.Fatalf("no loud log of drops: %s", logs.String())
	}
}

func TestSpoolSegmentsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	sp, err := openSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	sp.mu.Lock()
	for i := 0; i < 3; i++ {
		if err := sp.appendLocked([]byte(fmt.Sprintf("{\"create\":{}}\n{\"n\":%d}\n", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.syncLocked(); err != nil {
		t.Fatal(err)
	}
	sp.mu.Unlock()
	if err := sp.close(); err != nil {
		t.Fatal(err)
	}
	sp2, err := openSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	segs, _ := sp2.segments()
	if len(segs) != 1 || sp2.size() == 0 {
		t.Fatalf("segments %v size %d", segs, sp2.size())
	}
	b, _ := os.ReadFile(filepath.Join(dir, segs[0]))
	if strings.Count(string(b), "\n") != 6 {
		t.Fatalf("segment content %q", b)
	}
}

func TestRestampIngested(t *testing.T) {
	doc := []byte(`{"event":{"id":"x","ingested":"2020-01-01T00:00:00.000000Z"},"message":"m"}`)
	out := restamp(doc)
	if bytes.Contains(out, []byte("2020-01-01")) || !json.Valid(out) {
		t.Fatalf("restamp: %s", out)
	}
}

func TestKibanaObjectsReferenceMappedFields(t *testing.T) {
	var buf bytes.Buffer
	if err := KibanaObjects(&buf); err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	ids := map[string]bool{}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var objs []map[string]any
	for sc.Scan() {
		var o map[string]any
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		types[o["type"].(string)]++
		ids[o["id"].(string)] = true
		objs = append(objs, o)
	}
	if types["index-pattern"] != 1 || types["search"] != len(ruleNames()) || types["dashboard"] != 1 {
		t.Fatalf("object types %v", types)
	}
	// Every reference resolves to an object in the file.
	for _, o := range objs {
		for _, r := range o["references"].([]any) {
			if id := r.(map[string]any)["id"].(string); !ids[id] {
				t.Errorf("%s references missing object %s", o["id"], id)
			}
		}
	}
	// Every field used exists in the template mapping.
	mapped := MappedFields()
	for _, f := range KibanaFields() {
		if _, ok := mapped[f]; !ok {
			t.Errorf("Kibana objects use %q, not in the template (have %v)", f, sortedKeys(mapped))
		}
	}
	// And the fields inside the saved searches' columns and queries are the
	// ones KibanaFields declares.
	for _, o := range objs {
		if o["type"] != "search" {
			continue
		}
		a := o["attributes"].(map[string]any)
		for _, c := range a["columns"].([]any) {
			if _, ok := mapped[c.(string)]; !ok {
				t.Errorf("column %v not mapped", c)
			}
		}
		src := a["kibanaSavedObjectMeta"].(map[string]any)["searchSourceJSON"].(string)
		var ss struct {
			Query struct{ Query string } `json:"query"`
		}
		json.Unmarshal([]byte(src), &ss)
		field := strings.TrimSpace(strings.SplitN(ss.Query.Query, ":", 2)[0])
		if _, ok := mapped[field]; !ok {
			t.Errorf("query field %q not mapped", field)
		}
	}
}

func TestTemplateTypes(t *testing.T) {
	mf := MappedFields()
	want := map[string]string{
		"source.ip": "ip", "destination.ip": "ip", "related.ip": "ip", "related.hosts": "keyword", "@timestamp": "date",
		"event.start": "date", "event.end": "date", "event.ingested": "date", "event.risk_score": "float",
		"event.severity": "long", "destination.port": "long", "rule.name": "keyword", "event.id": "keyword",
		"zeek.notice.note": "keyword", "zeek.uids": "keyword", "message": "text",
		"observer.name": "keyword", "observer.hostname": "keyword",
		"ecs.version": "keyword", "event.duration": "long", "event.risk_score_norm": "float",
		"rule.id": "keyword", "rule.ruleset": "keyword", "rule.category": "keyword", "rule.description": "keyword",
		"threat.framework": "keyword", "threat.tactic.id": "keyword", "threat.tactic.name": "keyword",
		"threat.tactic.reference": "keyword", "threat.technique.id": "keyword", "threat.technique.name": "keyword",
		"threat.technique.reference": "keyword", "threat.technique.subtechnique.id": "keyword",
		"threat.technique.subtechnique.name": "keyword", "threat.technique.subtechnique.reference": "keyword",
		"zeekanom.features.*.value": "double", "zeekanom.features.*.baseline": "double", "zeekanom.features.*.deviation": "double",
		"zeekanom.features.*.not_logged": "boolean",
	}
	for f, ty := range want {
		if mf[f] != ty {
			t.Errorf("%s: %q, want %q", f, mf[f], ty)
		}
	}
	tpl := Template(DefaultIndex)
	if tpl["priority"].(int) <= 100 {
		t.Error("template priority must beat the built-in logs template (100)")
	}
	if got := Template("notices-custom"); !reflect.DeepEqual(got["index_patterns"], []string{"notices-custom"}) ||
		got["priority"].(int) != TemplatePriority+1 || TemplateNameFor("notices-custom") != TemplateName+"-notices-custom" {
		t.Errorf("a custom index's template: %v %v %s", got["index_patterns"], got["priority"], TemplateNameFor("notices-custom"))
	}
	if TemplateNameFor(DefaultIndex) != TemplateName || TemplateNameFor("logs-zeekanom.notice-site1") != TemplateName {
		t.Error("a data stream of the shared pattern has the shared template")
	}
}

// Every field a notice can carry is mapped by the template, so that no
// dynamic mapping guesses one (a string guessed is text with a .keyword:
// term threat.technique.id "T1046" would find nothing). Notices of every
// rule, with every optional field set, and the sub-techniques' variants.
func TestEveryDocumentFieldIsMapped(t *testing.T) {
	mapped := MappedFields()
	at := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	half := 0.5
	for _, rule := range ruleNames() {
		for _, v := range []struct{ sub, proto string }{{"x", "tcp"}, {"one_way_flow", "udp"}, {"", "icmp"}} {
			n := &notice.Notice{
				Rule: rule, Sub: v.sub, Proto: v.proto, Start: at, End: at.Add(time.Minute), RiskScore: 80,
				Message: "m", Source: netip.MustParseAddr("10.0.0.1"), Destination: netip.MustParseAddr("10.0.0.2"),
				DestPort: 53, Domain: "example.com", UIDs: []string{"C1"}, Ingested: at,
				Observer: notice.Observer{Name: "s", Hostname: "h"},
				Explain: notice.Explanation{Detector: "d", Score: 1, Top: []string{"f"}, Window: 60,
					BaselineScope: "host", Label: "l", Features: map[string]notice.Feature{"f": notice.F(1, 2, 3)}, ObservedRatio: &half},
			}
			n.Finalize("")
			b, err := n.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			for _, path := range leafPaths("", doc) {
				if strings.HasPrefix(path, "zeekanom.features.f.") {
					path = "zeekanom.features.*." + strings.TrimPrefix(path, "zeekanom.features.f.")
				}
				seen[path] = true
				if _, ok := mapped[path]; !ok {
					t.Errorf("%s (rule %s): not in the template: %s", path, rule, b)
				}
			}
		}
	}
	for _, f := range []string{"threat.technique.subtechnique.id", "event.duration", "ecs.version", "rule.description", "related.hosts", "zeekanom.observed_ratio"} {
		if !seen[f] {
			t.Errorf("no notice here has %s", f)
		}
	}
}

// README.md's notice schema names every field the template maps (every
// field a notice can carry: TestEveryDocumentFieldIsMapped), and no other.
// It left out event.category and event.type, which every notice has.
func TestREADMENoticeSchemaListsEveryField(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Notice schema\n")
	if !ok {
		t.Fatal("README.md has no section 'Notice schema'")
	}
	table, _, _ := strings.Cut(section[strings.Index(section, "\n|"):], "\n\n")
	code := regexp.MustCompile("`([^`]+)`")
	alts := regexp.MustCompile(`\{([^}]*)\}`)
	listed := map[string]bool{}
	for _, row := range strings.Split(strings.TrimSpace(table), "\n")[2:] {
		first := strings.Split(row, "|")[1]
		for _, m := range code.FindAllStringSubmatch(first, -1) {
			f := strings.ReplaceAll(m[1], "<name>", "*") // zeekanom.features.<name>.value
			forms := []string{f}
			if a := alts.FindStringSubmatchIndex(f); a != nil { // threat.tactic.{id,name,reference}
				forms = nil
				for _, alt := range strings.Split(f[a[2]:a[3]], ",") {
					forms = append(forms, f[:a[0]]+alt+f[a[1]:])
				}
			}
			for _, f := range forms {
				listed[f] = true
			}
		}
	}
	mapped := MappedFields()
	// mapped for Explanation.Label, which no command sets
	delete(mapped, "zeekanom.label")
	for f, ty := range mapped {
		if ty != "object" && !listed[f] { // (zeekanom.features: its fields are)
			t.Errorf("README.md's notice schema does not list %s", f)
		}
	}
	for f := range listed {
		if _, ok := mapped[f]; !ok {
			t.Errorf("README.md's notice schema lists %s, which no notice carries", f)
		}
	}
}

// leafPaths lists the dotted paths of the values in a decoded JSON object
// (arrays are their elements' paths, as Elasticsearch maps them).
func leafPaths(prefix string, v any) []string {
	switch x := v.(type) {
	case map[string]any:
		var out []string
		for k, e := range x {
			out = append(out, leafPaths(prefix+k+".", e)...)
		}
		return out
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, leafPaths(prefix, e)...)
		}
		return out
	}
	return []string{strings.TrimSuffix(prefix, ".")}
}

func TestConfigTOMLAndSecrets(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("c2VjcmV0\n"), 0o600)
	var c struct {
		Output struct {
			ES Config `toml:"elasticsearch"`
		} `toml:"output"`
	}
	_, err := toml.Decode(`
[output.elasticsearch]
urls = ["https://es1:9200", "https://es2:9200"]
username = "zeekanom"
api_key_file = "`+keyFile+`"
spool_dir = "/var/lib/zeekanom/es-spool"
spool_max_bytes = 1048576
flush_interval = "3s"
workers = 4
`, &c)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvPassword, "from-env")
	cfg := c.Output.ES
	if err := cfg.ResolveSecrets(); err != nil {
		t.Fatal(err)
	}
	if cfg.APIKey != "c2VjcmV0" || cfg.Password != "from-env" || len(cfg.URLs) != 2 ||
		cfg.FlushInterval != 3*time.Second || cfg.Workers != 4 || cfg.InsecureSkipVerify {
		t.Fatalf("config %+v", cfg)
	}
	if d := (&Config{}).withDefaults(); d.Index != DefaultIndex || d.SpoolMaxBytes <= 0 {
		t.Fatalf("defaults %+v", d)
	}
}

func ruleNames() []string { return notice.Rules() }

func TestWriteDoesNotBlockOnHungCluster(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // hang until the test ends
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(503)
	}))
	defer srv.Close()
	s, err := New(context.Background(), Config{URLs: []string{srv.URL}, Index: "logs-zeekanom.notice-t", Workers: 1,
		FlushBytes: 1024, MaxRetries: 1, WriteTimeout: 100 * time.Millisecond, SpoolDir: t.TempDir(), FlushInterval: time.Hour},
		WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	for _, n := range makeNotices(50, 8) {
		if err := s.Write(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("50 writes took %s against a hung cluster", d)
	}
	if st := s.Stats(); st.Spooled == 0 {
		t.Fatalf("stats %+v: nothing spooled while the cluster hangs", st)
	}
	fctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	s.Flush(fctx) // bounded by its context
	if time.Since(start) > 10*time.Second {
		t.Fatal("Flush did not honour its context")
	}
	close(release)
	s.Close()
}

func TestMinRiskFilters(t *testing.T) {
	m := &mockES{}
	url := newMock(t, m)
	s := newTestSink(t, Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", MinRisk: 50, FlushInterval: time.Hour})
	ns := makeNotices(100, 10)
	want := 0
	for _, n := range ns {
		if n.RiskScore >= 50 {
			want++
		}
	}
	writeAll(t, s, ns)
	if st := s.Stats(); st.Indexed != int64(want) || st.Filtered != int64(len(ns)-want) || m.stored() != want {
		t.Fatalf("stats %+v stored %d: want %d indexed", st, m.stored(), want)
	}
}

func TestMetaLineIsJSON(t *testing.T) {
	s := &Sink{cfg: Config{Index: DefaultIndex}}
	var got map[string]map[string]string
	if err := json.Unmarshal(s.meta("0123abcd"), &got); err != nil {
		t.Fatal(err)
	}
	if got["create"]["_index"] != DefaultIndex || got["create"]["_id"] != "0123abcd" {
		t.Fatalf("meta %v", got)
	}
}

// Setup adds the template's mappings to the data stream's write index
// (PUT <index>/_mapping?write_index_only=true) after the template. When
// the cluster refuses that (here 403: a role without manage on the data
// stream), the sink still starts, with the template installed, and the
// log says what to do; a missing data stream (404) is not worth a line.
func TestSetupWriteIndexMappingIsBestEffort(t *testing.T) {
	for _, st := range []int{403, 404, 200} {
		t.Run(fmt.Sprint(st), func(t *testing.T) {
			m := &mockES{}
			var mapped atomic.Int64
			url := frontProxy(t, newMock(t, m), func(r *http.Request, body []byte) (int, string) {
				if r.Method == http.MethodPut && r.URL.Path == "/logs-zeekanom.notice-t/_mapping" {
					mapped.Add(1)
					if r.URL.Query().Get("write_index_only") != "true" || !bytes.Contains(body, []byte(`"threat"`)) {
						t.Errorf("mapping request %s: %s", r.URL, body)
					}
					return st, fmt.Sprintf(`{"error":{"type":"mock","reason":"status %d"},"status":%d}`, st, st)
				}
				return 0, ""
			})
			s, logs := newLoggedSink(t, Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", MaxRetries: 1,
				FlushInterval: time.Hour}, WithTemplate())
			if mapped.Load() != 1 {
				t.Fatalf("%d mapping requests, want 1", mapped.Load())
			}
			warned := len(logs.with("keeps its mappings", "403", "_rollover")) == 1
			if warned != (st == 403) {
				t.Errorf("status %d: logged %q", st, logs.with(""))
			}
			writeAll(t, s, makeNotices(3, 1))
			if got := s.Stats(); got.Indexed != 3 {
				t.Errorf("stats %+v", got)
			}
		})
	}
}

// TemplateVersion goes with the template's body: a change of the body
// (mappings, settings, patterns) fails here until TemplateVersion is
// raised and the hash below updated, so that sensors of the new release
// replace the template and those of the old one leave it
// (TestIntegrationNewerTemplateIsKept).
func TestTemplateVersionPinsTheBody(t *testing.T) {
	const pinned = 5
	const hash = "9f9c270e0ccd4d3d"
	tpl := Template(DefaultIndex)
	delete(tpl, "version")
	b, err := json.Marshal(tpl) // (maps encode with sorted keys)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:8]); got != hash || TemplateVersion != pinned {
		t.Errorf("the template's body hashes to %s (pinned: %s, for version %d; TemplateVersion is %d): "+
			"a changed body needs a higher TemplateVersion, then pin both here", got, hash, pinned, TemplateVersion)
	}
}

// Each rule's saved search shows the entities its notices name: a beacon
// to a source's rotating destinations names their network
// (zeekanom.destination_net) and no destination.ip, which left its row's
// destination columns empty.
func TestKibanaSearchShowsTheEntities(t *testing.T) {
	at := time.Date(2024, 11, 2, 10, 0, 0, 0, time.UTC)
	src := netip.MustParseAddr("10.1.2.3")
	for _, n := range []*notice.Notice{
		{Rule: notice.RuleBeacon, Source: src, DestNet: netip.MustParsePrefix("198.51.100.0/24"), DestPort: 443, Proto: "tcp"},
		{Rule: notice.RuleBeacon, Source: src, Domain: "c2.example.com", DestPort: 443, Proto: "tcp"},
		{Rule: notice.RuleScanVertical, Source: src, Destination: netip.MustParseAddr("10.9.9.9")},
		{Rule: notice.RuleDNSTunnel, Source: src, Destination: netip.MustParseAddr("10.0.0.53"), Domain: "t.example.com"},
	} {
		n.Timestamp, n.Start, n.End, n.Message = at, at.Add(-time.Hour), at, "m"
		n.Finalize("")
		b, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		json.Unmarshal(b, &doc)
		cols := map[string]bool{}
		for _, c := range columnsOf(n.Rule) {
			cols[c] = true
		}
		for _, f := range []string{"source.ip", "destination.ip", "destination.port", "destination.domain", "zeekanom.destination_net"} {
			var v any = doc
			for _, k := range strings.Split(f, ".") {
				if o, ok := v.(map[string]any); ok {
					v = o[k]
				} else {
					v = nil
				}
			}
			if v != nil && !cols[f] {
				t.Errorf("%s notice has %s (%v), not a column of its saved search %v", n.Rule, f, v, columnsOf(n.Rule))
			}
		}
	}
}
