package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/output/elasticsearch"
	"github.com/zeekanom/zeekanom/output/metrics"
	"github.com/zeekanom/zeekanom/output/notice"
)

// esURL is the test node started by scripts/test (ZEEKANOM_ES_URL). Missing
// in CI is a failure, not a skip; developers may run -short.
func esURL(t *testing.T) string {
	u := os.Getenv("ZEEKANOM_ES_URL")
	switch {
	case u != "":
		return strings.TrimRight(u, "/")
	case testing.Short():
		t.Skip("-short: no Elasticsearch node")
	case os.Getenv("CI") != "":
		t.Fatal("ZEEKANOM_ES_URL is not set: scripts/test starts the node")
	default:
		t.Skip("ZEEKANOM_ES_URL not set (scripts/test starts a node)")
	}
	return ""
}

func esGet(t *testing.T, method, url string) string {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// `score` with an [output.elasticsearch] section indexes the demo's
// notices into the real node; scoring again adds no duplicates.
func TestScoreIntoElasticsearch(t *testing.T) {
	base := esURL(t)
	index := "logs-zeekanom.notice-clitest"
	esGet(t, "DELETE", base+"/_data_stream/"+index)
	cfg := filepath.Join(t.TempDir(), "zeekanom.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[output.elasticsearch]\nurls = [%q]\nindex = %q\n", base, index)), 0o644)
	demo := filepath.Join("..", "..", "testdata", "demo")
	for run := 0; run < 2; run++ {
		code, _, errs := runCLI(t, "score", "-c", cfg, demo)
		if code != 0 {
			t.Fatalf("run %d: exit %d: %s", run, code, errs)
		}
		// the second run says its notices were there already (its
		// summary said "1 notices" as the first one's did)
		if want := "output elasticsearch: 0 notices indexed into " + index + ", 1 already there"; run == 1 && !strings.Contains(errs, want) {
			t.Errorf("second run does not say %q: %s", want, errs)
		}
	}
	esGet(t, "POST", base+"/"+index+"/_refresh")
	count := esGet(t, "GET", base+"/"+index+"/_count?q=rule.name:scan.horizontal%20AND%20source.ip:%2210.12.15.0/24%22")
	if !strings.Contains(count, `"count":1,`) {
		t.Errorf("want exactly one scan.horizontal notice for 10.12.15.0/24 after two runs, got %s", count)
	}
}

// captureLog collects what the standard logger writes (the Elasticsearch
// sink logs there) for the rest of the test.
func captureLog(t *testing.T) *bytes.Buffer {
	var buf bytes.Buffer
	prev := log.Writer()
	log.SetOutput(io.MultiWriter(&buf, prev))
	t.Cleanup(func() { log.SetOutput(prev) })
	return &buf
}

// deadURL is a local address nothing listens on.
func deadURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

// score with the cluster unreachable at start used to exit at once
// (installing the index template was fatal), though notices are what the
// spool is for; so did run. Now they start and warn: with a spool_dir the
// notices are spooled; without one they are dropped, the log says so, and
// score exits non-zero saying how many notices were lost (it exited 0: a
// re-scoring job saw success with its notices gone).
func TestScoreAndRunStartWhileClusterDown(t *testing.T) {
	dead := deadURL(t)
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	demo := filepath.Join("..", "..", "testdata", "demo")
	for _, tc := range []struct {
		name, extra string
		says        []string
		code        int
		stderr      string
	}{
		{"spool", fmt.Sprintf("spool_dir = %q\n", spool), []string{"cluster unreachable", "starting anyway", "spooled to " + spool}, 0, ""},
		{"no spool", "", []string{"cluster unreachable", "starting anyway", "no spool_dir", "dropped"}, 1,
			"output elasticsearch: 1 notice was not delivered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := captureLog(t)
			cfg := filepath.Join(dir, "zeekanom.toml")
			os.WriteFile(cfg, []byte(fmt.Sprintf("[output.elasticsearch]\nurls = [%q]\nmax_retries = 1\n%s", dead, tc.extra)), 0o644)
			code, _, errs := runCLI(t, "score", "-q", "-c", cfg, demo)
			if code != tc.code || !strings.Contains(errs, tc.stderr) {
				t.Fatalf("score with the cluster down: exit %d, want %d saying %q: %s", code, tc.code, tc.stderr, strings.TrimSpace(errs))
			}
			for _, s := range tc.says {
				if !strings.Contains(logs.String(), s) {
					t.Errorf("the log does not say %q:\n%s", s, logs)
				}
			}
		})
	}
	if segs, _ := filepath.Glob(filepath.Join(spool, "spool-*.ndjson")); len(segs) == 0 {
		t.Error("nothing spooled")
	}

	// run --drain, a batch run too, exits 1 when it lost notices (it
	// exited 0 with every notice dropped and its checkpoint past them)
	t.Run("run --drain, no spool", func(t *testing.T) {
		logdir := t.TempDir()
		gunzipTo(t, filepath.Join("..", "..", "testdata", "detectors", "trickbot", "conn.log.gz"), filepath.Join(logdir, "conn.log"))
		cfg := filepath.Join(dir, "run-nospool.toml")
		// (run spools into its state directory unless told not to)
		os.WriteFile(cfg, []byte(fmt.Sprintf("[output.elasticsearch]\nurls = [%q]\nmax_retries = 1\nspool_dir = \"\"\n", dead)), 0o644)
		code, _, errs := runCLI(t, "run", "-c", cfg, "--logdir", logdir, "--state-dir", t.TempDir(), "--metrics", "off", "--drain", "--flush")
		if code != 1 || !strings.Contains(errs, "output elasticsearch: 7 notices were not delivered") {
			t.Fatalf("run --drain with the cluster down and no spool: exit %d: %s", code, errs)
		}
	})

	// run goes through the same start.
	t.Run("run", func(t *testing.T) {
		logdir, runSpool := t.TempDir(), filepath.Join(dir, "run-spool")
		gunzipTo(t, filepath.Join("..", "..", "testdata", "detectors", "trickbot", "conn.log.gz"), filepath.Join(logdir, "conn.log"))
		cfg := filepath.Join(dir, "run.toml")
		os.WriteFile(cfg, []byte(fmt.Sprintf("[output.elasticsearch]\nurls = [%q]\nmax_retries = 1\nspool_dir = %q\n", dead, runSpool)), 0o644)
		logs := captureLog(t)
		code, _, errs := runCLI(t, "run", "-c", cfg, "--logdir", logdir, "--state-dir", t.TempDir(), "--metrics", "off", "--drain", "--flush")
		if code != 0 {
			t.Fatalf("run --drain with the cluster down: exit %d: %s", code, errs)
		}
		// The sink's lines are in run's log, with a level (they were
		// the standard logger's, without one).
		if want := `level=WARN msg="elasticsearch: cluster unreachable`; !strings.Contains(errs, want) {
			t.Errorf("run's log lacks %s:\n%s", want, errs)
		}
		if logs.Len() > 0 {
			t.Errorf("run wrote to the standard logger: %s", logs)
		}
		if segs, _ := filepath.Glob(filepath.Join(runSpool, "spool-*.ndjson")); len(segs) == 0 {
			t.Error("nothing spooled")
		}
	})
}

// run's zeekanom_output_errors_total counts the notices Elasticsearch
// lost: with the cluster down and no spool_dir every notice is dropped,
// and the counter (read from Failed, where such a notice was counted too)
// stayed at 0 once it was counted in Dropped only.
func TestOutputErrorsCountNoticesDroppedWithoutSpool(t *testing.T) {
	captureLog(t)
	ctx := context.Background()
	cfgPath := filepath.Join(t.TempDir(), "zeekanom.toml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("[output.elasticsearch]\nurls = [%q]\nmax_retries = 1\n", deadURL(t))), 0o644)
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	sinks, err := buildSinks(ctx, cfg, sinkFlags{}, io.Discard, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		n := &notice.Notice{Rule: notice.RuleBeacon, RiskScore: 50, End: time.Unix(1_700_000_000+int64(i), 0)}
		n.Finalize("")
		if err := sinks.Write(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := sinks.Close(); err != nil {
		t.Fatal(err)
	}
	st, errs := sinks.stats()
	m := metrics.New()
	m.Set(metrics.Snapshot{Updated: time.Now(), Outputs: st, OutputErrors: errs})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if want := `zeekanom_output_errors_total{output="elasticsearch"} 3`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("3 notices dropped, /metrics lacks %s:\n%s", want, grepLines(rec.Body.String(), "output_"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A 4xx answer to the template install at start is not an outage (bad
// credentials, missing privileges): score stops with the error.
func TestScoreStopsOn401AtStart(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"type":"security_exception","reason":"unable to authenticate user [zeekanom]"},"status":401}`)
	}))
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "zeekanom.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[output.elasticsearch]\nurls = [%q]\nspool_dir = %q\n", srv.URL, t.TempDir())), 0o644)
	code, _, errs := runCLI(t, "score", "-q", "-c", cfg, filepath.Join("..", "..", "testdata", "demo"))
	if code == 0 || !strings.Contains(errs, "installing the index template") || !strings.Contains(errs, "401") {
		t.Fatalf("exit %d, stderr %q: want score to stop on the 401", code, errs)
	}
}

// What a score spooled while the cluster was down is sent by the next score
// with the same spool_dir once the cluster is back: before, the replay of
// the spool was stopped when score closed its outputs, so a short score
// left the old notices and spooled its own behind them, for ever.
func TestScoreSendsTheSpoolOnceTheClusterIsBack(t *testing.T) {
	base := esURL(t)
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	demo := filepath.Join("..", "..", "testdata", "demo")
	index := fmt.Sprintf("logs-zeekanom.notice-clispool%d", os.Getpid())
	logs := captureLog(t)
	score := func(url string) {
		t.Helper()
		cfg := filepath.Join(dir, "zeekanom.toml")
		os.WriteFile(cfg, []byte(fmt.Sprintf("[output.elasticsearch]\nurls = [%q]\nindex = %q\nspool_dir = %q\nmax_retries = 1\n", url, index, spool)), 0o644)
		if code, _, errs := runCLI(t, "score", "-q", "-c", cfg, demo); code != 0 {
			t.Fatalf("score: exit %d: %s", code, errs)
		}
	}
	score(deadURL(t))
	segs, _ := filepath.Glob(filepath.Join(spool, "spool-*.ndjson"))
	spooled := 0
	for _, seg := range segs {
		b, _ := os.ReadFile(seg)
		spooled += bytes.Count(b, []byte("\n")) / 2
	}
	if spooled == 0 || !strings.Contains(logs.String(), "left in the spool") {
		t.Fatalf("%d notices spooled; log:\n%s", spooled, logs)
	}
	score(base)
	if left, _ := filepath.Glob(filepath.Join(spool, "spool-*.ndjson")); len(left) != 0 {
		t.Errorf("spool not drained: %v", left)
	}
	esGet(t, "POST", base+"/"+index+"/_refresh")
	if got := esGet(t, "GET", base+"/"+index+"/_count"); !strings.Contains(got, fmt.Sprintf(`"count":%d,`, spooled)) {
		t.Errorf("want the %d spooled notices (the same ids as scored again) in %s: %s", spooled, index, got)
	}
}

// A sensor whose role may only write documents: with manage_template =
// false, score installs nothing (no template or mapping request) and
// indexes its notices; by default it asks for the template at start and
// stops on the 403 (README: Privileges).
func TestEsManageTemplateFalse(t *testing.T) {
	var mu sync.Mutex
	var templateCalls, docs int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/_bulk"):
			body, _ := io.ReadAll(r.Body)
			n := bytes.Count(body, []byte("\n")) / 2
			docs += n
			items := strings.Repeat(`{"create":{"status":201}},`, n)
			fmt.Fprintf(w, `{"took":1,"errors":false,"items":[%s]}`, strings.TrimSuffix(items, ","))
		default: // a write-only role: templates, mappings and the rest
			templateCalls++
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"error":{"type":"security_exception","reason":"action [indices:admin/index_template/put] is unauthorized"},"status":403}`)
		}
	}))
	defer srv.Close()
	demo := filepath.Join("..", "..", "testdata", "demo")
	for _, manage := range []string{"false", ""} {
		cfg := filepath.Join(t.TempDir(), "zeekanom.toml")
		body := fmt.Sprintf("[output.elasticsearch]\nurls = [%q]\n", srv.URL)
		if manage != "" {
			body += "manage_template = " + manage + "\n"
		}
		os.WriteFile(cfg, []byte(body), 0o644)
		mu.Lock()
		templateCalls, docs = 0, 0
		mu.Unlock()
		code, _, errs := runCLI(t, "score", "-c", cfg, demo)
		mu.Lock()
		calls, indexed := templateCalls, docs
		mu.Unlock()
		switch manage {
		case "false":
			if code != 0 || calls != 0 || indexed == 0 {
				t.Errorf("manage_template = false: exit %d, %d template requests, %d notices indexed: %s", code, calls, indexed, errs)
			}
		default:
			if code != 1 || calls == 0 || indexed != 0 || !strings.Contains(errs, "403") {
				t.Errorf("by default: exit %d, %d template requests, %d notices indexed: %s", code, calls, indexed, errs)
			}
		}
	}
}

// score into a cluster that answers, but slower than write_timeout's
// default, indexes every notice and exits 0: on 2026-12-02 score --es-url
// of TrickBot into a freshly started node on a busy VM dropped 1 of 91
// notices after waiting 5 s for room in the bulk queue, and exited 1.
// Here the first two bulk requests (one per worker, a notice each) are
// answered after the default write_timeout and a second, while score has
// more notices to write.
func TestScoreWaitsForASlowCluster(t *testing.T) {
	captureLog(t)
	var mu sync.Mutex
	ids := map[string]int{}
	bulks := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		if !strings.HasSuffix(r.URL.Path, "/_bulk") {
			fmt.Fprint(w, `{}`) // template and mapping requests
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		bulks++
		slow := bulks <= 2
		mu.Unlock()
		if slow {
			select {
			case <-time.After(elasticsearch.DefaultWriteTimeout + time.Second):
			case <-r.Context().Done():
				return
			}
		}
		var items []string
		for _, line := range bytes.Split(body, []byte("\n")) {
			if i := bytes.Index(line, []byte(`"_id":"`)); i >= 0 && bytes.HasPrefix(line, []byte(`{"create":`)) {
				id := string(line[i+7 : i+7+bytes.IndexByte(line[i+7:], '"')])
				mu.Lock()
				ids[id]++
				mu.Unlock()
				items = append(items, `{"create":{"status":201}}`)
			}
		}
		fmt.Fprintf(w, `{"took":1,"errors":false,"items":[%s]}`, strings.Join(items, ","))
	}))
	defer srv.Close()
	trickbot := filepath.Join("..", "..", "testdata", "detectors", "trickbot")
	code, out, errs := runCLI(t, "score", "-q", "-o", "-", trickbot)
	want := strings.Count(out, "\n")
	if code != 0 || want < 5 {
		t.Fatalf("score to stdout: exit %d, %d notices (5 needed to fill both workers and queues): %s", code, want, errs)
	}
	cfg := filepath.Join(t.TempDir(), "zeekanom.toml")
	// one notice a bulk request: both workers wait on the slow answers
	os.WriteFile(cfg, []byte(fmt.Sprintf("[output.elasticsearch]\nurls = [%q]\nflush_bytes = 1\nmax_retries = 1\n", srv.URL)), 0o644)
	code, _, errs = runCLI(t, "score", "-q", "-c", cfg, trickbot)
	mu.Lock()
	got := len(ids)
	mu.Unlock()
	if code != 0 || got != want || strings.Contains(errs, "not delivered") {
		t.Fatalf("score into a slow cluster: exit %d, %d of %d notices indexed: %s", code, got, want, errs)
	}
}
