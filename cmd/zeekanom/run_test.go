package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader/follow"
	"github.com/zeekanom/zeekanom/zeekreader/zeekgen"
)

func TestConfigExampleChecks(t *testing.T) {
	code, ex, stderr := runCLI(t, "config", "example")
	if code != 0 {
		t.Fatalf("example: %d %s", code, stderr)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "zeekanom.toml")
	os.WriteFile(p, []byte(ex), 0o644)
	if code, out, stderr := runCLI(t, "config", "check", p); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("check example: %d %s %s", code, out, stderr)
	}
	// Uncommented, every generated section is accepted too.
	var b strings.Builder
	for _, l := range strings.Split(ex, "\n") {
		if strings.HasPrefix(l, "# [") && !strings.Contains(l, ":") {
			l = strings.TrimPrefix(l, "# ")
		} else if strings.HasPrefix(l, "#   ") && !strings.HasPrefix(l, "#   ##") {
			l = "  " + strings.TrimPrefix(l, "#   ")
		}
		b.WriteString(l + "\n")
	}
	os.WriteFile(p, []byte(b.String()), 0o644)
	if code, out, stderr := runCLI(t, "config", "check", p); code != 0 {
		t.Fatalf("check uncommented example: %d %s %s\n%s", code, out, stderr, b.String())
	}
}

func TestConfigCheckErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"[input]\nlogdir = \"/x\"\nbogus = 1\n", ":3: unknown key \"input.bogus\""},
		{"[state]\n\ncheckpoint_interval = \"1ns\"\n", ":3: state.checkpoint_interval: 1ns is outside"},
		{"[input]\npoll_interval = \"abc\"\n", ":2: input.poll_interval: invalid duration: \"abc\""},
		{"[input]\nlogs = [\"conn\", \"../etc\"]\n", ":2: input.logs"},
		{"[log]\nlevel = \"loud\"\n", ":2: log.level"},
		{"[output.kafka]\nurl = \"x\"\n", ":1: output.kafka: no such output"},
		{"[output.ndjson]\npath = \"-\"\nmin_risk = 300.0\n", ":3: output.ndjson.min_risk"},
		{"[output.ndjson]\n\npath = \"\"\n", ":3: output.ndjson.path: empty (use \"-\" for standard output)"},
		{"[output.zeekfeed]\nmax_bytes = 10\n", ":2: output.zeekfeed.max_bytes: 10 is below 4096"},
		{"[output.zeekfeed]\nkeep = -1\n", ":2: output.zeekfeed.keep: -1 is negative"}, // the key was named twice
		// nan compared false both ways and was taken as min_risk
		{"[output.ndjson]\npath = \"-\"\nmin_risk = nan\n", ":3: output.ndjson.min_risk: NaN is outside 0..100"},
		{"[output.zeekfeed]\nmin_risk = nan\n", ":2: output.zeekfeed.min_risk: NaN is outside 0..100"},
		// [output.elasticsearch] values were not checked: -1 and [] became
		// the defaults, flush_interval = 2 was 2ns (a busy loop), a bad URL
		// or index failed only at the first request
		{"[output.elasticsearch]\nworkers = -1\n", ":2: output.elasticsearch.workers: -1 is negative"},
		{"[output.elasticsearch]\nurls = []\n", ":2: output.elasticsearch.urls: empty list"},
		{"[output.elasticsearch]\nurls = [\"http://es1:9200\", \"es2:9200\"]\n", ":2: output.elasticsearch.urls: \"es2:9200\" is not an http:// or https:// URL"},
		{"[output.elasticsearch]\n\nflush_interval = 2\n", ":3: output.elasticsearch.flush_interval: a bare number is nanoseconds"},
		{"[output.elasticsearch]\nflush_interval = \"1ms\"\n", ":2: output.elasticsearch.flush_interval: 1ms is below 10ms"},
		{"[output.elasticsearch]\nindex = \"Notices\"\n", ":2: output.elasticsearch.index: \"Notices\" has upper-case letters"},
		{"[output.elasticsearch]\nmin_risk = 150.0\n", ":2: output.elasticsearch.min_risk: 150 is outside 0..100"},
		{"[output.elasticsearch]\nspool_max_bytes = -1\n", ":2: output.elasticsearch.spool_max_bytes: -1 is negative"},
		{"[output.elasticsearch]\nwrite_timeout = \"-1s\"\n", ":2: output.elasticsearch.write_timeout: -1s is negative"},
		{"[output.elasticsearch]\ncert_file = \"c.pem\"\n", ":2: output.elasticsearch.cert_file: set without key_file"},
		{"[detectors.nosuch]\n", ":1: detectors.nosuch: no such detector (known: scan, dos, beacon, "},
		// a value of the wrong type, and a syntax error, were the TOML
		// library's words without the file ("[detectors.scan]: toml: line
		// 2 (last key ...): incompatible types: TOML value has type string;
		// destination has type float")
		{"[detectors.scan]\nhorizontal_threshold = \"30\"\n", ":2: detectors.scan.horizontal_threshold: a string where a number is wanted\n"},
		{"[detectors.contextual]\n\nmin_days = 7.5\n", ":3: detectors.contextual.min_days: a number where a whole number is wanted\n"},
		{"[input]\nlogs = \"conn\"\n", ":2: input.logs: a string where a list is wanted\n"},
		{"[detectors]\nscan.horizontal_threshold = \"30\"\n", ":2: detectors.scan.horizontal_threshold: a string where a number is wanted\n"}, // (dotted)
		{"[detectors]\nscan = { window = \"5x\" }\n", ":2: detectors.scan.window: invalid duration: \"5x\"\n"},                                // (inline)
		{"[output.ndjson]\nmin_risk = \"3\"\n", ":2: output.ndjson.min_risk: a string where a number is wanted\n"},
		{"[output.zeekfeed]\nkeep = true\n", ":2: output.zeekfeed.keep: true or false where a whole number is wanted\n"},
		{"[output.elasticsearch]\nurls = \"http://es1:9200\"\n", ":2: output.elasticsearch.urls: a string where a list is wanted\n"},
		{"[detectors.scan]\nwindow = \"5m\"\n[detectors.dns\n", ":3: expected '.' or ']' to end table name, but got '\\n' instead\n"},
		// detector values were not checked: beacon's window of 0 panicked
		// in score, a scan threshold of 0 stopped the output at a notice
		// scored +Inf, bad CIDRs and time zones were silently dropped
		{"[detectors.beacon]\nwindow = \"0s\"\n", ":2: detectors.beacon.window: 0s must be above 0"},
		{"[detectors.scan]\nwindow = 5\n", ":2: detectors.scan.window: a bare number is nanoseconds"},
		{"[detectors.longconn]\nthreshold = 3600\n", ":2: detectors.longconn.threshold: a bare number is nanoseconds"},
		{"[detectors.scan]\n\nhorizontal_threshold = 0.0\n", ":3: detectors.scan.horizontal_threshold: 0 must be a number above 0"},
		{"[detectors.scan]\nenabled = false\nwindow = \"-5m\"\n", ":3: detectors.scan.window: -5m0s must be above 0"},
		{"[detectors.scan]\nignore_sources = [\"10.1.2.0/24\", \"10.1.2.300\"]\n", ":2: detectors.scan.ignore_sources: \"10.1.2.300\" is not a CIDR"},
		{"[detectors.dos]\nmin_half_open = 1.5\n", ":2: detectors.dos.min_half_open: 1.5 is outside 0..1"},
		{"[detectors.beacon]\nignore_ports = [\"udp/53\", \"dns/53\"]\n", ":2: detectors.beacon.ignore_ports: \"dns/53\" is not"},
		{"[detectors.longconn]\nignore_ports = [\"tcp/70000\"]\n", ":2: detectors.longconn.ignore_ports: \"tcp/70000\""},
		{"[detectors.exfil]\ninternal = [\"10.0.0.0/33\"]\n", ":2: detectors.exfil.internal: \"10.0.0.0/33\" is not a CIDR"},
		{"[detectors.contextual]\nlocation = \"Mars/Base\"\n", ":2: detectors.contextual.location: \"Mars/Base\" is not a time zone"},
		{"[detectors.dns]\nmin_queries = -1\n", ":2: detectors.dns.min_queries: -1 is below 1"},
		{"[detectors.iforest]\nthreshold = nan\n", ":2: detectors.iforest.threshold: NaN must be a number above 0"},
		{"[detectors.supervised]\nmin_risk = 101.0\n", ":2: detectors.supervised.min_risk: 101 is outside 0..100"},
	} {
		p := filepath.Join(t.TempDir(), "c.toml")
		os.WriteFile(p, []byte(tc.text), 0o644)
		code, _, stderr := runCLI(t, "config", "check", p)
		if code != exitConfig || !strings.HasPrefix(stderr, "zeekanom config: "+p+tc.want) {
			t.Errorf("%q: code %d, stderr %q, want %q", tc.text, code, stderr, p+tc.want)
		}
	}
}

// zeekDir makes a Zeek log directory with the real conn rows of
// testdata/follow.
func zeekDir(t *testing.T) (logdir, conn string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "follow", "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	logdir = filepath.Join(t.TempDir(), "current")
	os.MkdirAll(logdir, 0o755)
	conn = filepath.Join(logdir, "conn.log")
	if err := os.WriteFile(conn, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return logdir, conn
}

func checkpointAtEnd(t *testing.T, state, conn string) bool {
	st, err := follow.LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(conn)
	for _, p := range st.Files {
		if p.Log == "conn" && p.Offset == fi.Size() {
			return true
		}
	}
	return false
}

func TestRunDrain(t *testing.T) {
	logdir, conn := zeekDir(t)
	state := t.TempDir()
	out := filepath.Join(t.TempDir(), "notices.ndjson")
	args := []string{"run", "--logdir", logdir, "--state-dir", state, "-o", out, "--metrics", "off", "--drain"}
	code, _, stderr := runCLI(t, args...)
	if code != 0 || !strings.Contains(stderr, "zeekanom run: 120 rows") {
		t.Fatalf("first drain: %d %s", code, stderr)
	}
	if !checkpointAtEnd(t, state, conn) {
		t.Fatal("checkpoint not at the end of conn.log")
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	// Again: nothing new.
	if code, _, stderr := runCLI(t, args...); code != 0 || !strings.Contains(stderr, "zeekanom run: 0 rows") {
		t.Fatalf("second drain: %d %s", code, stderr)
	}
	// Five more rows: exactly those.
	b, _ := os.ReadFile(conn)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	f, _ := os.OpenFile(conn, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(strings.Join(lines[len(lines)-5:], "\n") + "\n")
	f.Close()
	if code, _, stderr := runCLI(t, args...); code != 0 || !strings.Contains(stderr, "zeekanom run: 5 rows") {
		t.Fatalf("third drain: %d %s", code, stderr)
	}
}

// SIGTERM (the context cancelled): stop, flush, checkpoint, exit 0 quickly.
func TestRunStopsOnCancel(t *testing.T) {
	logdir, conn := zeekDir(t)
	state := t.TempDir()
	cfg := fastConfig(t, logdir, state, "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() { done <- run(ctx, []string{"run", "-c", cfg}, &bytes.Buffer{}, &stderr) }()
	deadline := time.Now().Add(20 * time.Second)
	for !checkpointAtEnd(t, state, conn) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no checkpoint at the end of conn.log: exit %d: %s", <-done, stderr.String())
		}
		select {
		case c := <-done:
			t.Fatalf("run exited early: %d", c)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	select {
	case c := <-done:
		if c != 0 {
			t.Fatalf("exit %d", c)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop within 15s of SIGTERM")
	}
}

// fastConfig writes a config that polls every 20 ms, checkpoints every
// 30 ms and writes notices to n.ndjson in state; metrics listen on listen.
func fastConfig(t *testing.T, logdir, state, listen string) string {
	cfg := filepath.Join(t.TempDir(), "zeekanom.toml")
	err := os.WriteFile(cfg, []byte(`[input]
logdir = "`+logdir+`"
poll_interval = "20ms"
[state]
dir = "`+state+`"
checkpoint_interval = "30ms"
[metrics]
listen = "`+listen+`"
[output.ndjson]
path = "`+filepath.Join(state, "n.ndjson")+`"
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// syncBuffer is a bytes.Buffer safe for the run goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until the deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-time.After(10 * time.Millisecond)
	}
}

func TestRunMetricsAndReload(t *testing.T) {
	logdir, conn := zeekDir(t)
	state := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "zeekanom.toml")
	write := func(level, interval string) {
		os.WriteFile(cfg, []byte(`[input]
logdir = "`+logdir+`"
[state]
dir = "`+state+`"
checkpoint_interval = "`+interval+`"
[metrics]
listen = "127.0.0.1:0"
[log]
level = "`+level+`"
[output.ndjson]
path = "`+filepath.Join(state, "n.ndjson")+`"
min_risk = 10.0
`), 0o644)
	}
	write("info", "30ms")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"run", "-c", cfg}, &bytes.Buffer{}, &stderr) }()
	addrRe := regexp.MustCompile(`addr=http://([0-9.:]+)/metrics`)
	waitFor(t, "metrics address", func() bool { return addrRe.MatchString(stderr.String()) })
	addr := addrRe.FindStringSubmatch(stderr.String())[1]
	waitFor(t, "checkpoint at the end", func() bool { return checkpointAtEnd(t, state, conn) })
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor(t, "rows in /metrics", func() bool {
		_, body := get("/metrics")
		return strings.Contains(body, `zeekanom_rows_read_total{log="conn"} 120`)
	})
	_, body := get("/metrics")
	for _, want := range []string{`zeekanom_bytes_behind{log="conn"} 0`, `zeekanom_lag_seconds{log="conn"}`,
		`zeekanom_parse_errors_total{log="conn"} 0`, `zeekanom_checkpoints_total`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, body := get("/healthz"); code != 200 {
		t.Errorf("healthz %d %s", code, body)
	}
	// SIGHUP: a bad file is refused, a good one applied.
	os.WriteFile(cfg, []byte("[log]\nlevel = \"loud\"\n"), 0o644)
	sighup(t)
	waitFor(t, "refused reload", func() bool { return strings.Contains(stderr.String(), "config not reloaded") })
	write("debug", "1h")
	sighup(t)
	waitFor(t, "reload", func() bool { return strings.Contains(stderr.String(), "SIGHUP: reloaded") })
	if !strings.Contains(stderr.String(), "checkpoint_interval=1h0m0s") {
		t.Errorf("reload did not apply: %s", stderr.String())
	}
	cancel()
	if c := <-done; c != 0 {
		t.Fatalf("exit %d: %s", c, stderr.String())
	}
}

func TestRunBadStateDirFails(t *testing.T) {
	logdir, _ := zeekDir(t)
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o644)
	code, _, stderr := runCLI(t, "run", "--logdir", logdir, "--state-dir", notDir, "--metrics", "off", "--drain", "-o", filepath.Join(t.TempDir(), "n"))
	if code != 1 || !strings.Contains(stderr, "state directory") {
		t.Fatalf("code %d: %s", code, stderr)
	}
	// A damaged checkpoint (empty, garbage, cut short) stops the start
	// with one line naming it and what to do, never a panic or a silent
	// fresh start.
	for _, bad := range []string{"", "garbage", `{"version":1,"files":[{"log":"conn"`, "[]"} {
		state := t.TempDir()
		os.WriteFile(filepath.Join(state, follow.StateFile), []byte(bad), 0o600)
		code, _, stderr := runCLI(t, "run", "--logdir", logdir, "--state-dir", state, "--metrics", "off", "--drain", "-o", filepath.Join(t.TempDir(), "n"))
		if code != 1 || !strings.Contains(stderr, filepath.Join(state, follow.StateFile)+" is not a checkpoint") ||
			!strings.Contains(stderr, "move it away") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("checkpoint %q: code %d: %s", bad, code, stderr)
		}
	}
}

// --drain closes every window at the end of what is written, but the
// checkpoint must keep them open: a run every few minutes with --drain
// (or a live run after one) goes on with the windows, so each window is
// judged on all its rows, as in one run. When the checkpoint held the
// windows closed, the rows after a drain that fell into them were late:
// the Cerber sweep gave its notices on the part before the cut only (580
// hosts became fewer) and windows under the threshold at the cut never
// fired. Per event.id, the last notice written must equal the one run's.
func TestRunDrainInPartsEqualsOnce(t *testing.T) {
	plain := filepath.Join(t.TempDir(), "cerber.log")
	gunzipTo(t, filepath.Join("..", "..", "testdata", "detectors", "cerber", "conn.log.gz"), plain)
	b, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	run := func(parts int) map[string]string { return noticesByID(t, drainInParts(t, lines, parts)) }
	want := run(1)
	if len(want) == 0 {
		t.Fatal("no notices: the comparison would prove nothing")
	}
	for _, parts := range []int{2, 5} {
		got := run(parts)
		for id, n := range want {
			if got[id] != n {
				t.Errorf("%d drains: notice %s\n got %s\nwant %s", parts, id, got[id], n)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%d drains: %d notice ids, one run %d", parts, len(got), len(want))
		}
	}
}

// drainInParts writes lines (each with its newline) as a live conn.log in
// parts, a `run --drain` after each on one state directory, and returns
// the file of the notices the drains wrote.
func drainInParts(t *testing.T, lines []string, parts int) string {
	t.Helper()
	logdir := filepath.Join(t.TempDir(), "current")
	os.MkdirAll(logdir, 0o755)
	state, out := t.TempDir(), filepath.Join(t.TempDir(), "n.ndjson")
	f, err := os.Create(filepath.Join(logdir, "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range parts {
		f.WriteString(strings.Join(lines[len(lines)*i/parts:len(lines)*(i+1)/parts], ""))
		args := []string{"run", "--logdir", logdir, "--state-dir", state, "-o", out, "--metrics", "off", "--drain"}
		if i == parts-1 {
			args = append(args, "--flush") // the input is over
		}
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("drain %d of %d: %d %s", i+1, parts, code, stderr)
		}
	}
	return out
}

// The README: 'zeekanom config example' prints every key with its default.
// Lists empty by default (scan's ignore_sources, every allow, ...) were
// left out, and dns's allow showed nothing of its built-in list.
func TestConfigExampleHasEveryKey(t *testing.T) {
	var ex strings.Builder
	if err := writeExample(&ex); err != nil {
		t.Fatal(err)
	}
	for _, e := range allDetectors(newModelFiles("", "")) {
		var captured any
		e.build(func(v any) error { captured = v; return nil })
		section := "# [detectors." + e.name + "]\n"
		i := strings.Index(ex.String(), section)
		if i < 0 {
			t.Errorf("no %q", section)
			continue
		}
		body, _, _ := strings.Cut(ex.String()[i+len(section):], "\n\n")
		rt := reflect.TypeOf(captured).Elem()
		for f := range rt.Fields() {
			tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if tag != "" && tag != "-" && !strings.Contains(body, "#   "+tag+" = ") {
				t.Errorf("[detectors.%s] %s is not in the example:\n%s", e.name, tag, body)
			}
		}
	}
	if !strings.Contains(ex.String(), `#   allow = ["akamaiedge.net", `) {
		t.Error("[detectors.dns] allow does not show the built-in list")
	}
}

// A log with no file at the last checkpoint whose file then appeared and
// was rotated while zeekanom was stopped: the restart read only the new
// live file; the rotated rows were skipped, no gap counted or warned.
func TestRunReadsRotatedFilesOfALogFirstSeenAfterTheCheckpoint(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "follow", "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	var header, rows []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if strings.HasPrefix(l, "#") {
			if !strings.HasPrefix(l, "#close") {
				header = append(header, l)
			}
		} else if l != "" {
			rows = append(rows, l)
		}
	}
	logdir := filepath.Join(t.TempDir(), "current")
	os.MkdirAll(logdir, 0o755)
	state := t.TempDir()
	drain := func() string {
		t.Helper()
		code, _, stderr := runCLI(t, "run", "--logdir", logdir, "--state-dir", state, "--metrics", "off", "--drain",
			"-o", filepath.Join(t.TempDir(), "n.ndjson"))
		if code != 0 {
			t.Fatalf("drain: %d %s", code, stderr)
		}
		return stderr
	}
	drain() // no conn.log yet: a checkpoint without it
	live := filepath.Join(logdir, "conn.log")
	os.WriteFile(live, []byte(strings.Join(header, "")+strings.Join(rows[:70], "")), 0o644)
	if err := os.Rename(live, filepath.Join(logdir, "conn.2026-11-25-18-00-00.log")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(live, []byte(strings.Join(header, "")+strings.Join(rows[70:], "")), 0o644)
	if stderr := drain(); !strings.Contains(stderr, "zeekanom run: 120 rows") {
		t.Fatalf("want the 70 rotated rows and the 50 live ones: %s", stderr)
	}
}

// The follower's archive search is bounded (zeekreader/follow: the last 3
// date directories); run --help says so, and what a longer stop costs.
func TestRunHelpStatesArchiveBound(t *testing.T) {
	_, help, _ := runCLI(t, "run", "--help")
	for _, want := range []string{"last 3 date directories", "counted as a gap"} {
		if !strings.Contains(help, want) {
			t.Errorf("run --help lacks %q", want)
		}
	}
}

// Checkpoints take at most a tenth of the time: one that took long spaces
// the next ones (a busy sensor's detector state is hundreds of MB).
func TestCheckpointSpacing(t *testing.T) {
	for _, c := range []struct{ interval, last, want time.Duration }{
		{10 * time.Second, 0, 10 * time.Second},
		{10 * time.Second, 200 * time.Millisecond, 10 * time.Second},
		{10 * time.Second, time.Second, 10 * time.Second},
		{10 * time.Second, 3 * time.Second, 30 * time.Second},
		{time.Minute, 3 * time.Second, time.Minute},
	} {
		if got := checkpointSpacing(c.interval, c.last); got != c.want {
			t.Errorf("interval %v, last took %v: next after %v, want %v", c.interval, c.last, got, c.want)
		}
	}
}

// A first start (no checkpoint) reads what was the live file when it
// started even if Zeek rotated it away while the follower opened: the
// files rotated in the minute before the start, then the new live file.
// Before, such a start read only the new live file, and the rows of the
// rotated one were lost: the SIGKILL test's first run met it in 3 of 30
// writer seeds (its writer rotates at random from the first moment).
func TestRunFirstStartDuringRotation(t *testing.T) {
	root := t.TempDir()
	logdir := filepath.Join(root, "current")
	os.MkdirAll(logdir, 0o755)
	w := cerberWriter(t, logdir)
	w.append(30)
	w.rotate(true) // into the archive, as zeekctl does, just as zeekanom starts
	w.append(20)
	state := t.TempDir()
	code, _, stderr := runCLI(t, "run", "--logdir", logdir, "--state-dir", state, "-o", filepath.Join(t.TempDir(), "n"), "--metrics", "off", "--drain")
	if code != 0 || !strings.Contains(stderr, "zeekanom run: 50 rows") {
		t.Fatalf("first start: exit %d: %s", code, stderr)
	}
}

// A reload names the keys that changed in the file and were not applied
// (it said only "other changes need a restart"), every reload until a
// restart; the reloadable keys are applied and not named.
func TestReloadNamesWhatWasNotApplied(t *testing.T) {
	logdir, _ := zeekDir(t)
	state := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "zeekanom.toml")
	base := "[input]\nlogdir = " + strconv.Quote(logdir) + "\n[metrics]\nlisten = \"\"\n" +
		"[output.ndjson]\npath = " + strconv.Quote(filepath.Join(state, "n.ndjson")) + "\n"
	if err := os.WriteFile(cfg, []byte(base+"[detectors.beacon]\nwindow = \"1h\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	r, err := newRunner(context.Background(), runFlags{config: cfg, stateDir: state, set: map[string]bool{}}, io.Discard, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer r.lock.Close()
	defer r.sinks.Close()
	const notApplied = "SIGHUP: changed in the config file but not applied: restart to apply"
	for _, c := range []struct {
		name, file, keys string
	}{
		{"unchanged", base + "[detectors.beacon]\nwindow = \"1h\"\n", ""},
		{"reloadable only", base + "min_risk = 50.0\n[log]\nlevel = \"debug\"\n[state]\ncheckpoint_interval = \"1m\"\n[detectors.beacon]\nwindow = \"1h\"\n", ""},
		{"a detector key", base + "[detectors.beacon]\nwindow = \"2h\"\n", "detectors.beacon.window"},
		{"a key removed, a section added", base + "[detectors.scan]\nenabled = false\n", "detectors.beacon.window,detectors.scan.enabled"},
		{"run's sections and an output", "[input]\nlogdir = " + strconv.Quote(t.TempDir()) + "\npoll_interval = \"2s\"\n[metrics]\nlisten = \"\"\n" +
			"[output.ndjson]\npath = \"-\"\n[detectors.beacon]\nwindow = \"1h\"\n", "input.logdir,input.poll_interval,output.ndjson.path"},
		// the state dir of --state-dir stays whatever the file says
		{"a flag's key", base + "[state]\ndir = \"/elsewhere\"\n[detectors.beacon]\nwindow = \"1h\"\n", ""},
	} {
		if err := os.WriteFile(cfg, []byte(c.file), 0o644); err != nil {
			t.Fatal(err)
		}
		stderr.Reset()
		r.reload(context.Background())
		log := stderr.String()
		if !strings.Contains(log, "SIGHUP: reloaded") || strings.Contains(log, "not reloaded") {
			t.Errorf("%s: not reloaded: %s", c.name, log)
		}
		want := notApplied + "\" keys=" + c.keys + "\n"
		if c.keys == "" && strings.Contains(log, notApplied) || c.keys != "" && !strings.Contains(log, want) {
			t.Errorf("%s: %s; want the keys %q named", c.name, log, c.keys)
		}
	}
}

// run --drain over a directory of logs written over a week (a first
// start beside them, or a restart after a long stop) gives the notices
// score gives over the same files: the follower merges the logs by time
// as score does. Taken in turns of 512 rows a log, the beacon detector
// (conn, ssl and http joined) dropped the rows of the log left more than
// an hour behind as late: 4 beacon notices where score gave 56.
func TestRunDrainOfABacklogIsScore(t *testing.T) {
	src := filepath.Join(sharedData(t), "trickbot-network-analysis-playbook")
	logdir := t.TempDir()
	for _, l := range []string{"conn", "dns", "http", "ssl"} {
		b, err := os.ReadFile(filepath.Join(src, l+".log"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(logdir, l+".log"), b, 0o644)
	}
	out := filepath.Join(t.TempDir(), "run.ndjson")
	if code, _, errs := runCLI(t, "run", "--logdir", logdir, "--state-dir", t.TempDir(), "-o", out, "--metrics", "off", "--drain", "--flush"); code != 0 {
		t.Fatalf("run --drain: exit %d: %s", code, errs)
	}
	code, scored, errs := runCLI(t, "score", logdir)
	if code != 0 {
		t.Fatalf("score: exit %d: %s", code, errs)
	}
	ran, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(b string) []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(b), "\n") {
			var n struct {
				Event struct{ ID string } `json:"event"`
				Rule  struct{ Name string }
			}
			json.Unmarshal([]byte(l), &n)
			out = append(out, n.Rule.Name+" "+n.Event.ID)
		}
		slices.Sort(out)
		return out
	}
	got, want := ids(string(ran)), ids(scored)
	beacons := 0
	for _, w := range want {
		if strings.HasPrefix(w, "beacon ") {
			beacons++
		}
	}
	if !slices.Equal(got, want) || beacons < 50 {
		t.Fatalf("run --drain: %d notices, score: %d (%d beacons)", len(got), len(want), beacons)
	}
}

// sharedData is ../shared/data/zeek beside the repository (CI has it), or
// $ZEEKANOM_DATA; the test is skipped without it.
func sharedData(t *testing.T) string {
	if d := os.Getenv("ZEEKANOM_DATA"); d != "" {
		return d
	}
	d, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "zeek"))
	if st, e := os.Stat(d); err != nil || e != nil || !st.IsDir() {
		t.Skip("../shared/data/zeek not found")
	}
	return d
}

// A backlog (the sidecar behind Zeek: a flood, a restart after a stop)
// still gets the tick's work done: checkpoints, metrics, flushes. The
// tick's context was renewed at every call while rows were ready, so the
// follower never waited it out: 'run --drain' over 3.6M rows (a DNS water
// torture planted in TrickBot's week, scripts/genflood) took 5 s with
// /metrics frozen at 0 rows read and the whole file behind, and live, a
// flood that kept the follower busy for its duration would have had no
// checkpoint, no published counters (/healthz: stalled) and no flushed
// notices until it ended. Here 300,000 rows with checkpoint_interval
// 30ms: checkpoints at the start, at the end and between.
func TestRunBacklogCheckpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 300,000 rows")
	}
	logdir := t.TempDir()
	f, err := os.Create(filepath.Join(logdir, "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	zeekgen.Write(f, zeekgen.Options{Rows: 300000, Hosts: 3000, Seed: 5})
	f.Close()
	cfg := fastConfig(t, logdir, t.TempDir(), "")
	code, _, stderr := runCLI(t, "run", "-c", cfg, "--drain")
	m := regexp.MustCompile(`msg=drained rows=300000 .*checkpoints=(\d+)`).FindStringSubmatch(stderr)
	if code != 0 || m == nil {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n, _ := strconv.Atoi(m[1]); n < 3 {
		t.Errorf("%d checkpoints over a backlog of 300,000 rows (at the start and at the end only)", n)
	}
}
