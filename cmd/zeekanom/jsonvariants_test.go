package main

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// jsonVariants is testdata/jsonvariants (see its README): the TSV logs of
// tsv/ as JSON deployments write them, each a path to score.
var jsonVariants = []struct {
	path   string
	millis bool // JSON::TS_MILLIS: times to the millisecond
}{
	{"json", false},
	{"json-millis", true},
	{"json-iso8601-nulls", false},
	{"securityonion.tar", false}, // zeekctl's archive (its names hold ':', which no file of a Go module may)
	{"json-streaming", false},
	{"corelight/corelight-export.json", false}, // a name of no log: read when named
}

// score gives the notices of the TSV original for every JSON variant of
// it, byte for byte; TS_MILLIS's to the millisecond, its times all Zeek
// wrote of them (a notice's event.id, made from its times, is another).
// Before, TS_MILLIS rows were all skipped ('field ts: bad value: not a
// valid time: "1541144157488"', no notice), and the Corelight export, its
// rows taken as the first row's dns, gave one outlier.multivariate and none
// of the three.
func TestScoreJSONVariants(t *testing.T) {
	base := filepath.Join("..", "..", "testdata", "jsonvariants")
	code, want, errs := runCLI(t, "score", filepath.Join(base, "tsv"))
	if code != 0 {
		t.Fatalf("tsv: exit %d: %s", code, errs)
	}
	// (and, since the run's first forest grows on whole windows, two
	// outlier notices of the capture's first quarter-hour: the infected
	// client's 30 DNS queries and the DC's HTTP requests, when TrickBot
	// came in; 3 notices before)
	if n := strings.Count(want, "\n"); n != 5 {
		t.Fatalf("tsv: %d notices, want 5 (a beacon, two long connections, two outlier windows): %s", n, errs)
	}
	for _, v := range jsonVariants {
		p := filepath.Join(base, v.path)
		if strings.HasSuffix(p, ".tar") {
			p = untar(t, p)
		}
		code, got, errs := runCLI(t, "score", p)
		if code != 0 || !strings.Contains(errs, "178 rows") || !strings.Contains(errs, " 0 skipped") {
			t.Errorf("%s: exit %d: %s", v.path, code, errs)
		}
		if !v.millis {
			if got != want {
				t.Errorf("%s: notices\n%s\nwant\n%s", v.path, got, want)
			}
			continue
		}
		g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
		if len(g) != len(w) {
			t.Fatalf("%s: %d notices, want %d", v.path, len(g)-1, len(w)-1)
		}
		for i := range w {
			if d := toMillis(t, g[i]); !reflect.DeepEqual(d, toMillis(t, w[i])) {
				t.Errorf("%s: notice %d\n%s\nwant (to the millisecond)\n%s", v.path, i, g[i], w[i])
			}
		}
	}
}

// untar extracts a tar's files into a new folder.
func untar(t *testing.T, file string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		b, err := io.ReadAll(tr)
		if err == nil {
			err = os.MkdirAll(filepath.Dir(p), 0o755)
		}
		if err == nil {
			err = os.WriteFile(p, b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// toMillis is a notice without its event.id, its times to the millisecond.
func toMillis(t *testing.T, line string) map[string]any {
	t.Helper()
	if line == "" {
		return nil
	}
	var n map[string]any
	if err := json.Unmarshal([]byte(line), &n); err != nil {
		t.Fatal(err)
	}
	ms := func(s any) any {
		ts, err := time.Parse(time.RFC3339Nano, s.(string))
		if err != nil {
			t.Fatal(err)
		}
		return ts.Truncate(time.Millisecond).Format(time.RFC3339Nano)
	}
	n["@timestamp"] = ms(n["@timestamp"])
	ev := n["event"].(map[string]any)
	ev["start"], ev["end"] = ms(ev["start"]), ms(ev["end"])
	delete(ev, "id")
	delete(ev, "duration")
	return n
}

// run follows json-streaming-logs' files by their names (logs =
// ["json_streaming_conn", ...]) through the package's rotations (the live
// file renamed to .1.log after .1 to .2, and so on), drained after each
// rotation, after every other one or once at the end (a first start beside
// the rotated files), and gives the notices score gives for the TSV
// original. Its rows were all read as a log of no kind
// ("json_streaming_conn"): 178 rows and no notice.
func TestRunFollowsJSONStreamingLogs(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "jsonvariants", "json-streaming")
	code, scored, errs := runCLI(t, "score", filepath.Join(src, "..", "tsv"))
	if code != 0 {
		t.Fatalf("score: exit %d: %s", code, errs)
	}
	want := strings.Split(strings.TrimSpace(scored), "\n")
	slices.Sort(want)
	for _, drainAt := range [][]int{{3, 2, 1, 0}, {3, 1, 0}, {0}} {
		got := followJSONStreaming(t, src, drainAt)
		if !slices.Equal(got, want) {
			t.Errorf("drains after %v rotations to go: %d notices\n%s\nscore of the TSV: %d\n%s", drainAt,
				len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
		}
	}
}

// followJSONStreaming writes the fixture's files into a log directory as
// the package did, oldest first (.3.log was the live file three rotations
// ago), runs run --drain when as many rotations are to come as drainAt
// says, and returns the notices, the last of each event.id (noticesByID),
// sorted.
func followJSONStreaming(t *testing.T, src string, drainAt []int) []string {
	dir := t.TempDir()
	logdir := filepath.Join(dir, "logs")
	os.MkdirAll(logdir, 0o755)
	cfg := filepath.Join(dir, "zeekanom.toml")
	os.WriteFile(cfg, []byte(`[input]
logdir = "logs"
logs = ["json_streaming_conn", "json_streaming_dns", "json_streaming_http", "json_streaming_ssl"]
`), 0o644)
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "notices.ndjson")
	for k := 3; k >= 0; k-- {
		for _, l := range []string{"conn", "dns", "http", "ssl"} {
			live := filepath.Join(logdir, "json_streaming_"+l+".log")
			if k < 3 {
				// JSONStreaming::rotate_logs, extra_files = 4
				for i := 3; i > 0; i-- {
					os.Rename(fmt.Sprintf("%s/json_streaming_%s.%d.log", logdir, l, i), fmt.Sprintf("%s/json_streaming_%s.%d.log", logdir, l, i+1))
				}
				if err := os.Rename(live, fmt.Sprintf("%s/json_streaming_%s.1.log", logdir, l)); err != nil {
					t.Fatal(err)
				}
			}
			name := fmt.Sprintf("json_streaming_%s.%d.log", l, k)
			if k == 0 {
				name = "json_streaming_" + l + ".log"
			}
			b, err := os.ReadFile(filepath.Join(src, name))
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			os.WriteFile(live, b, 0o644) // a log without rows that period: an empty file
		}
		if slices.Contains(drainAt, k) {
			drain(t, cfg, state, out, k == 0) // the last: the input is over
		}
	}
	return sortedNotices(t, out)
}

// drain runs run --drain with cfg, state and out, with --flush when the
// input is over (final).
func drain(t *testing.T, cfg, state, out string, final bool) {
	t.Helper()
	args := []string{"run", "-c", cfg, "--state-dir", state, "-o", out, "--metrics", "off", "--drain"}
	if final {
		args = append(args, "--flush")
	}
	if code, _, errs := runCLI(t, args...); code != 0 {
		t.Fatalf("drain: exit %d: %s", code, errs)
	}
}

// sortedNotices is the notices of out, the last of each event.id, sorted.
func sortedNotices(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for _, l := range noticesByID(t, out) {
		got = append(got, l)
	}
	slices.Sort(got)
	return got
}
