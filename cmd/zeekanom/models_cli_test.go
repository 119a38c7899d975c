package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/eval"
	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// The model commands end to end on small real data: inject attacks into a
// benign slice, train on it, export features, evaluate with the model.
func TestInjectTrainFeaturesEval(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every detector several times")
	}
	dir := t.TempDir()
	benign := filepath.Join("..", "..", "testdata", "detectors", "benign", "evanswj")
	injected := filepath.Join(dir, "injected")
	if code, _, errs := runCLI(t, "inject", "--kinds", "scan,beacon", "--seed", "3", "-o", injected, benign); code != 0 {
		t.Fatalf("inject: exit %d: %s", code, errs)
	}
	model := filepath.Join(dir, "model.json")
	if code, _, errs := runCLI(t, "train", "-o", model, injected); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	if b, err := os.ReadFile(model); err != nil || !strings.Contains(string(b), "zeekanom") {
		t.Fatalf("model file: %v", err)
	}
	csv := filepath.Join(dir, "vectors.csv")
	if code, _, errs := runCLI(t, "features", "-o", csv, injected); code != 0 {
		t.Fatalf("features: exit %d: %s", code, errs)
	}
	if b, _ := os.ReadFile(csv); strings.Count(string(b), "\n") < 2 {
		t.Errorf("features CSV too short:\n%s", b)
	}
	report := filepath.Join(dir, "eval.json")
	code, out, errs := runCLI(t, "eval", "-m", model, "--json", report, injected)
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "F1") {
		t.Errorf("eval table has no F1 column:\n%s", out)
	}
	var js map[string]any
	if b, err := os.ReadFile(report); err != nil || json.Unmarshal(b, &js) != nil {
		t.Errorf("eval JSON unreadable: %v", err)
	}
	// the detectors' cores do not change the report
	for _, w := range []string{"1", "3"} {
		if code, again, errs := runCLI(t, "eval", "-m", model, "--workers", w, injected); code != 0 || again != out {
			t.Errorf("eval --workers %s: exit %d, %s; report differs: %v", w, code, errs, again != out)
		}
	}
}

func TestModelFromAnotherVersionIsAClearError(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "model.json")
	os.WriteFile(bad, []byte(`{"magic":"zeekanom-model","version":999}`), 0o644)
	code, _, errs := runCLI(t, "eval", "-m", bad, filepath.Join("..", "..", "testdata", "demo"))
	if code == 0 || !strings.Contains(errs, "version") {
		t.Errorf("exit %d, stderr %q: want a clear version error", code, errs)
	}
}

// A bad labels line stops eval, train and features with file:line, the line
// counted in the file (comments and blank lines included).
func TestBadLabelsLineNamesFileAndLine(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.labels")
	os.WriteFile(bad, []byte("# c2 hosts\n\nhost,start,end,class\n10.0.0.1,,,bot\n10.0.0.2,2023-11-14 22:00,,bot\n"), 0o644)
	tiny := filepath.Join("..", "..", "testdata", "eval", "tiny")
	for _, args := range [][]string{
		{"eval", "--labels", bad, tiny},
		{"features", "--labels", bad, tiny},
		{"train", "--labels", "--labels-file", bad, "-o", filepath.Join(t.TempDir(), "m.json"), tiny},
	} {
		if code, _, errs := runCLI(t, args...); code != 1 || !strings.Contains(errs, bad+":5: ") {
			t.Errorf("%s: exit %d, stderr %q: want exit 1 and %s:5", args[0], code, errs, bad)
		}
	}
}

// --window must be above 0: eval and features used to take 0 or a negative
// length silently as 5m, and train wrote it into the model (window_s -300,
// which then passed the window check of every detector).
func TestWindowFlagMustBePositive(t *testing.T) {
	tiny := filepath.Join("..", "..", "testdata", "eval", "tiny")
	model := filepath.Join(t.TempDir(), "m.json")
	for _, w := range []string{"0", "-5m"} {
		for _, args := range [][]string{
			{"eval", "--window", w, tiny},
			{"features", "--window", w, tiny},
			{"train", "--window", w, "-o", model, tiny},
		} {
			if code, _, errs := runCLI(t, args...); code != 2 || !strings.Contains(errs, "--window") {
				t.Errorf("%s --window %s: exit %d, stderr %q: want exit 2 naming --window", args[0], w, code, errs)
			}
		}
	}
	if _, err := os.Stat(model); err == nil {
		t.Error("train wrote a model with a bad --window")
	}
}

// features (and train) see the windows the detectors see. Zeek writes a
// conn row at connection end; a long connection's row comes after shorter
// later ones, and its start window is still open in the detectors while a
// sparser log (http here) lags, because the engine advances them to the
// oldest of their logs' watermarks. features used to close windows on the
// newest row of any log and moved the row to its end window: on the
// TrickBot capture 286 of 3563 vectors differed from the detectors' (283
// iforest scores), so train learned and features exported other vectors
// than the ones scored.
func TestFeaturesSeeTheDetectorsWindows(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.Mkdir(logs, 0o755)
	conn := func(ts int, uid, orig string, dur float64) string {
		return fmt.Sprintf(`{"ts":%d.0,"uid":"%s","id.orig_h":"%s","id.orig_p":5000,"id.resp_h":"10.0.0.9","id.resp_p":443,"proto":"tcp","duration":%g,"orig_bytes":100,"resp_bytes":200,"conn_state":"SF"}`+"\n", ts, uid, orig, dur)
	}
	const t0 = 1700000100 // a window start
	var c, h strings.Builder
	for i := range 20 { // windows for the forest to train on
		c.WriteString(conn(t0-6000+i*300, fmt.Sprintf("Cw%d", i), fmt.Sprintf("10.0.1.%d", i%4), 1))
	}
	c.WriteString(conn(t0, "Ca", "10.0.0.1", 1))
	c.WriteString(conn(t0+600, "Cb", "10.0.0.2", 1))
	c.WriteString(conn(t0+10, "Cx", "10.0.0.1", 700)) // logged at its end
	for _, ts := range []int{t0 - 6000, t0 + 1, t0 + 2000} {
		fmt.Fprintf(&h, `{"ts":%d.0,"uid":"H%d","id.orig_h":"10.0.0.3","id.orig_p":5003,"id.resp_h":"10.0.0.9","id.resp_p":80,"method":"GET","host":"example.com","uri":"/"}`+"\n", ts, ts)
	}
	os.WriteFile(filepath.Join(logs, "conn.log"), []byte(c.String()), 0o644)
	os.WriteFile(filepath.Join(logs, "http.log"), []byte(h.String()), 0o644)
	model := filepath.Join(dir, "m.json")
	if code, _, errs := runCLI(t, "train", "--trees", "10", "-o", model, logs); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	code, out, errs := runCLI(t, "features", "--score", "-m", model, logs)
	if code != 0 {
		t.Fatalf("features: exit %d: %s", code, errs)
	}
	score := map[string]float64{} // host,window_start -> iforest_score
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if want := "host,window_start," + strings.Join(features.Names, ",") + ",label,observed_ratio,iforest_score,orig_bytes_logged,resp_bytes_logged"; lines[0] != want {
		t.Errorf("header %q, want %q", lines[0], want)
	}
	// the share of each window the input covered: 10.0.0.2's row at
	// t0+600 is the only one of its window, after a gap of 590 s and
	// before one of 1400 s (covered for an instant), 10.0.1.0's is the
	// input's first window, from its start on, 10.0.1.1's the next
	observed := map[string]string{}
	col := map[string]int{}
	for i, name := range strings.Split(lines[0], ",") {
		col[name] = i
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		s, _ := strconv.ParseFloat(f[col["iforest_score"]], 64)
		score[f[0]+","+f[1]] = s
		observed[f[0]+","+f[1]] = f[col["observed_ratio"]]
		if f[0] == "10.0.0.1" && f[2] != "2" {
			t.Errorf("10.0.0.1: %s: want its two conns in the window they started in", l)
		}
	}
	at := func(sec int) string { return time.Unix(int64(sec), 0).UTC().Format(time.RFC3339) }
	for k, want := range map[string]string{"10.0.0.2," + at(t0+600): "0", "10.0.1.0," + at(t0-6000): "1", "10.0.1.1," + at(t0-5700): "1"} {
		if observed[k] != want {
			t.Errorf("%s: observed_ratio %q, want %s", k, observed[k], want)
		}
	}
	// every window the iforest detector scores, with the same score (a
	// partial one's as the detector judges it)
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("[detectors.iforest]\nmodel = "+strconv.Quote(model)+"\nmin_rows = 1\nmin_risk = 0\nthreshold = 0.001\n"), 0o644)
	code, notices, errs := runCLI(t, "score", "-c", cfg, "-q", logs)
	if code != 0 {
		t.Fatalf("score: exit %d: %s", code, errs)
	}
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(notices), "\n") {
		var no struct {
			Event struct {
				Start time.Time `json:"start"`
			} `json:"event"`
			Rule     struct{ Name string } `json:"rule"`
			Source   struct{ IP string }   `json:"source"`
			Zeekanom struct{ Score float64 }
		}
		if json.Unmarshal([]byte(l), &no) != nil || no.Rule.Name != "outlier.multivariate" {
			continue
		}
		n++
		k := no.Source.IP + "," + no.Event.Start.UTC().Format(time.RFC3339)
		if s, ok := score[k]; !ok || math.Abs(s-no.Zeekanom.Score) > 6e-4 {
			t.Errorf("%s: detector score %g, features %g (row %v)", k, no.Zeekanom.Score, s, ok)
		}
	}
	if n < len(score) {
		t.Errorf("%d windows scored by the detector, %d exported", n, len(score))
	}
}

// smallConnLogs writes a JSON conn.log without label columns: four hosts,
// one connection each per 5-minute window for five hours. It returns the
// folder.
func smallConnLogs(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := range 60 {
		for h := 1; h <= 4; h++ {
			fmt.Fprintf(&b, `{"ts":%d.0,"uid":"C%d_%d","id.orig_h":"10.0.0.%d","id.orig_p":5000,"id.resp_h":"10.0.1.9","id.resp_p":443,"proto":"tcp","duration":1.0,"orig_bytes":%d,"resp_bytes":200,"conn_state":"SF"}`+"\n",
				1700000100+i*300+h, i, h, h, 100*h)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "conn.log"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// --labels-file is ground truth to train with: without --labels it was
// read and then ignored, and the model had no supervised part.
func TestTrainLabelsFileImpliesLabels(t *testing.T) {
	logs := smallConnLogs(t)
	labels := filepath.Join(t.TempDir(), "bot.labels")
	os.WriteFile(labels, []byte("host,start,end,class\n10.0.0.1,,,bot\n"), 0o644)
	m := filepath.Join(t.TempDir(), "m.json")
	code, out, errs := runCLI(t, "train", "--trees", "10", "--labels-file", labels, "-o", m, logs)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "supervised: yes (60 malicious") {
		t.Errorf("train --labels-file without --labels: %q; want a supervised model from the labels file", out)
	}
}

// train on labelled logs without --labels says that their malicious
// windows were learnt as normal (it said nothing).
func TestTrainNotesUnusedLabels(t *testing.T) {
	tiny := filepath.Join("..", "..", "testdata", "eval", "tiny")
	m := filepath.Join(t.TempDir(), "m.json")
	note := "zeekanom train: note: 2 host-windows are labelled malicious and were learnt as normal; --labels keeps them out"
	for _, labels := range []bool{false, true} {
		args := []string{"train", "--trees", "10", "-o", m, tiny}
		if labels {
			args = append(args, "--labels")
		}
		code, _, errs := runCLI(t, args...)
		if code != 0 || strings.Contains(errs, note) == labels {
			t.Errorf("%v: exit %d, stderr %q; want the note only without --labels", args, code, errs)
		}
	}
}

// features -m MODEL scores with the model (-m alone used to be ignored),
// and, as eval and score, refuses a model trained on other windows than
// --window (it used to score them).
func TestFeaturesModel(t *testing.T) {
	logs := smallConnLogs(t)
	dir := t.TempDir()
	for _, w := range []string{"5m", "10m"} {
		if code, _, errs := runCLI(t, "train", "--trees", "10", "--window", w, "-o", filepath.Join(dir, w+".json"), logs); code != 0 {
			t.Fatalf("train --window %s: exit %d: %s", w, code, errs)
		}
	}
	code, out, errs := runCLI(t, "features", "-m", filepath.Join(dir, "5m.json"), logs)
	if header, _, _ := strings.Cut(out, "\n"); code != 0 || !strings.HasSuffix(header, ",iforest_score,orig_bytes_logged,resp_bytes_logged") {
		t.Errorf("features -m: exit %d, %s, header %q: want an iforest_score column", code, errs, header)
	}
	code, _, errs = runCLI(t, "features", "--score", "-m", filepath.Join(dir, "10m.json"), logs)
	if code != 1 || !strings.Contains(errs, "model trained on 600s windows, the detector uses 300s") || !strings.Contains(errs, "--window 10m0s") {
		t.Errorf("features --score with a 10m model and --window 5m: exit %d, stderr %q: want exit 1 and the window mismatch", code, errs)
	}
}

// eval on input without rows, or without a row labelled malicious, warns
// that its all-zero scores mean nothing (it used to print them silently),
// and still exits 0; labelled input gets no warning.
func TestEvalWarnsWithoutGroundTruth(t *testing.T) {
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "conn.log"), []byte("#separator \\x09\n#path\tconn\n#fields\tts\tuid\n#types\ttime\tstring\n"), 0o644)
	unlabelled := smallConnLogs(t)
	tiny := filepath.Join("..", "..", "testdata", "eval", "tiny")
	for _, c := range []struct{ path, want string }{
		{empty, "no conn/dns/http/ssl rows in " + empty + ": precision and recall are undefined"},
		{unlabelled, "no row of " + unlabelled + " is labelled malicious"},
		{tiny, ""},
	} {
		code, _, errs := runCLI(t, "eval", c.path)
		if code != 0 || strings.Contains(errs, "warning") != (c.want != "") || !strings.Contains(errs, c.want) {
			t.Errorf("eval %s: exit %d, stderr %q: want exit 0 and a warning %q", c.path, code, errs, c.want)
		}
	}
	// every window malicious (c2detect's and apt-investigation's label
	// files): precision and PR-AUC are 1 whatever is flagged
	all := filepath.Join(t.TempDir(), "all.labels")
	os.WriteFile(all, []byte("0.0.0.0/0,,,bot\n"), 0o644)
	want := "every host-window of " + tiny + " is malicious: host-window precision and PR-AUC are 1 whatever the detectors flag"
	if code, _, errs := runCLI(t, "eval", "--labels", all, tiny); code != 0 || !strings.Contains(errs, want) {
		t.Errorf("eval --labels all: exit %d, stderr %q: want exit 0 and %q", code, errs, want)
	}
}

// eval --json - writes the JSON alone to standard output (the table goes
// to standard error): the table before it made 'eval --json - | jq' fail.
func TestEvalJSONToStdout(t *testing.T) {
	code, out, errs := runCLI(t, "eval", "--json", "-", filepath.Join("..", "..", "testdata", "eval", "tiny"))
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil || rep["by_class"] == nil {
		t.Errorf("exit %d, stdout not the JSON report (%v): %.200q", code, err, out)
	}
	if !strings.Contains(errs, "detectors: ") || !strings.Contains(errs, "scope ") {
		t.Errorf("no table on standard error: %q", errs)
	}
}

// eval, train and features name the first row they skipped, as score does:
// they said only "1 bad rows skipped", not which file or line.
func TestSkippedRowIsNamed(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	conn := filepath.Join(dir, "conn.log")
	lines := strings.SplitAfter(string(b), "\n")
	bad := strings.Join(lines[:20], "") + "not\ta\trow\n" + strings.Join(lines[20:], "")
	if err := os.WriteFile(conn, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "1 skipped: bad rows, unreadable or damaged files (the first: " + conn + ":21: "
	out := t.TempDir() // (not in the input directory: refused)
	for _, args := range [][]string{
		{"eval", dir},
		{"train", "-o", filepath.Join(out, "model.json"), dir},
		{"features", "-o", filepath.Join(out, "v.csv"), dir},
	} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || !strings.Contains(out+errs, want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", args, code, out, errs, want)
		}
	}
}

// train learns the contextual detector's hour profiles with -c's
// [detectors.contextual] (and exfil's histories) and writes them into the
// model; a detector that
// loads the model (-m) starts from them, and one counting hours in
// another time zone refuses them.
func TestTrainContextualProfiles(t *testing.T) {
	dir := t.TempDir()
	benign := filepath.Join("..", "..", "testdata", "detectors", "benign", "evanswj")
	berlin := filepath.Join(dir, "berlin.toml")
	os.WriteFile(berlin, []byte("[detectors.contextual]\nlocation = \"Europe/Berlin\"\n"), 0o644)
	model := filepath.Join(dir, "model.json")
	code, out, errs := runCLI(t, "train", "-c", berlin, "-o", model, benign)
	if code != 0 || !strings.Contains(out, "hour profiles:") || !strings.Contains(out, "volume histories:") || !strings.Contains(out, "normal periodic pairs:") {
		t.Fatalf("train: exit %d: %s %s", code, out, errs)
	}
	b, _ := os.ReadFile(model)
	var m struct {
		Version    int
		Contextual struct {
			Location string
			Hosts    map[string]any
		}
		Exfil struct {
			WindowS float64 `json:"window_s"`
		}
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Version != 6 || m.Contextual.Location != "Europe/Berlin" || len(m.Contextual.Hosts) == 0 || m.Exfil.WindowS != 3600 {
		t.Fatalf("model: %v, version %d, profiles in %q of %d hosts", err, m.Version, m.Contextual.Location, len(m.Contextual.Hosts))
	}
	withModel := filepath.Join(dir, "with-model.toml")
	os.WriteFile(withModel, []byte("[detectors.contextual]\nlocation = \"Europe/Berlin\"\nmodel = "+strconv.Quote(model)+"\n"), 0o644)
	if code, _, errs := runCLI(t, "score", "-q", "-c", withModel, "-o", filepath.Join(dir, "n.ndjson"), benign); code != 0 {
		t.Fatalf("score with the model: exit %d: %s", code, errs)
	}
	utc := filepath.Join(dir, "utc.toml")
	os.WriteFile(utc, []byte("[detectors.contextual]\nmodel = "+strconv.Quote(model)+"\n"), 0o644)
	if code, _, errs := runCLI(t, "score", "-q", "-c", utc, benign); code == 0 || !strings.Contains(errs, "Europe/Berlin") {
		t.Fatalf("score in UTC with Berlin profiles: exit %d: %s", code, errs)
	}
}

// With --labels the profiles learn from the rows not labelled malicious,
// by the label column or the labels file.
func TestBenignOnly(t *testing.T) {
	g := &gateDet{holdAt: 1 << 62}
	ls, err := eval.ParseLabels(strings.NewReader("10.0.0.9,,,bot\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := benignOnly{g, eval.Labeler(ls)}
	row := func(src, label string) *zeekreader.Event {
		c := &zeekreader.Conn{Orig: netip.MustParseAddr(src), Resp: netip.MustParseAddr("203.0.113.1"), Label: []byte(label)}
		return &zeekreader.Event{Kind: zeekreader.KindConn, Conn: c}
	}
	for _, ev := range []*zeekreader.Event{row("10.0.0.1", "Benign"), row("10.0.0.1", "Malicious   C&C"), row("10.0.0.9", "-"), row("10.0.0.2", "")} {
		d.Observe(ev)
	}
	if n := g.rows.Load(); n != 2 {
		t.Fatalf("%d rows reached the detector, want the 2 benign ones", n)
	}
	// beacon also takes ssl and http rows (its domain keys): the features
	// extractor labels those too, by their label column and the labels file
	bot, srv := netip.MustParseAddr("10.0.0.9"), netip.MustParseAddr("203.0.113.1")
	host := netip.MustParseAddr("10.0.0.1")
	for _, ev := range []*zeekreader.Event{
		{Kind: zeekreader.KindSSL, SSL: &zeekreader.SSL{Orig: bot, Resp: srv}},
		{Kind: zeekreader.KindSSL, SSL: &zeekreader.SSL{Orig: host, Resp: srv, Label: []byte("Malicious")}},
		{Kind: zeekreader.KindHTTP, HTTP: &zeekreader.HTTP{Orig: bot, Resp: srv}},
		{Kind: zeekreader.KindHTTP, HTTP: &zeekreader.HTTP{Orig: host, Resp: srv, Label: []byte("Malicious")}},
		{Kind: zeekreader.KindDNS, DNS: &zeekreader.DNS{Orig: bot, Resp: srv}},
		{Kind: zeekreader.KindSSL, SSL: &zeekreader.SSL{Orig: host, Resp: srv, Label: []byte("Benign")}},
		{Kind: zeekreader.KindHTTP, HTTP: &zeekreader.HTTP{Orig: host, Resp: srv}},
	} {
		d.Observe(ev)
	}
	if n := g.rows.Load(); n != 4 {
		t.Fatalf("%d rows reached the detector, want the 4 benign ones (a malicious ssl, http or dns row went through)", n)
	}
}

// score -m MODEL starts the detectors from a trained model as eval -m does
// (score had no -m: only model = "..." in each section loaded it). On
// TrickBot, the beacon baseline train learns from the capture silences its
// periodic pairs; the notices are those of a config naming the model in
// every model section, and a model of another version is refused.
func TestScoreModelFlag(t *testing.T) {
	dir := t.TempDir()
	trickbot := filepath.Join("..", "..", "testdata", "detectors", "trickbot")
	m := filepath.Join(dir, "model.json")
	if code, _, errs := runCLI(t, "train", "--trees", "10", "-o", m, trickbot); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	cfg := filepath.Join(dir, "model.toml")
	var b strings.Builder
	for _, s := range []string{"iforest", "supervised", "contextual", "exfil", "beacon"} {
		fmt.Fprintf(&b, "[detectors.%s]\nmodel = %q\n", s, m)
	}
	os.WriteFile(cfg, []byte(b.String()), 0o644)
	beacons := func(out string) int { return strings.Count(out, `"rule":{"name":"beacon"`) }

	_, without, _ := runCLI(t, "score", "-q", trickbot)
	code, withM, errs := runCLI(t, "score", "-q", "-m", m, trickbot)
	if code != 0 {
		t.Fatalf("score -m: exit %d: %s", code, errs)
	}
	_, withCfg, _ := runCLI(t, "score", "-q", "-c", cfg, trickbot)
	if beacons(without) == 0 || beacons(withM) != 0 {
		t.Errorf("beacon notices: %d without the model, %d with -m; want some, then none", beacons(without), beacons(withM))
	}
	if withM != withCfg {
		t.Errorf("score -m and score -c (model keys) differ:\n%s\n---\n%s", withM, withCfg)
	}
	// -m overrides the config's model keys
	bad := filepath.Join(dir, "v999.json")
	os.WriteFile(bad, []byte(`{"magic":"zeekanom-model","version":999}`), 0o644)
	if code, out, _ := runCLI(t, "score", "-q", "-c", cfg, "-m", bad, trickbot); code != 1 || out != "" {
		t.Errorf("score -c (a good model) -m (a bad one): exit %d, stdout %q; want the -m model refused", code, out)
	}
	code, out, errs := runCLI(t, "score", "-m", bad, trickbot)
	if code != 1 || out != "" || !strings.Contains(errs, "version 999") || strings.Count(errs, "\n") != 1 {
		t.Errorf("score -m (version 999): exit %d, stdout %q, stderr %q; want exit 1 and one line naming the version", code, out, errs)
	}
}

// A model the config names that does not load is reported as the other
// config errors are, with the file, line and key; one given by -m as -m.
// Both said "[detectors.beacon]: open m.json: ...", without the file.
func TestModelErrorNamesItsKey(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	missing := filepath.Join(dir, "nope.json")
	v999 := filepath.Join(dir, "v999.json")
	os.WriteFile(v999, []byte(`{"magic":"zeekanom-model","version":999}`), 0o644)
	demo := filepath.Join("..", "..", "testdata", "demo")
	for _, c := range []struct {
		file string
		args []string
		want string
	}{
		{"[detectors.beacon]\nwindow = \"1h\"\nmodel = " + strconv.Quote(missing) + "\n", nil,
			cfg + ":3: detectors.beacon.model: open " + missing + ": no such file or directory"},
		{"[detectors.iforest]\nmodel = " + strconv.Quote(v999) + "\n", nil,
			cfg + ":2: detectors.iforest.model: " + v999 + ": model version mismatch: file is version 999"},
		{"", []string{"-m", missing}, "-m: open " + missing + ": no such file or directory"},
	} {
		os.WriteFile(cfg, []byte(c.file), 0o644)
		for _, cmd := range []string{"score", "eval"} {
			args := append(append([]string{cmd, "-c", cfg}, c.args...), demo)
			code, _, errs := runCLI(t, args...)
			if want := "zeekanom " + cmd + ": " + c.want; code != 1 || !strings.HasPrefix(errs, want) || strings.Count(errs, "\n") != 1 {
				t.Errorf("%v: exit %d, stderr %q; want exit 1 and %q", args, code, errs, want)
			}
		}
	}
}

// eval -m says when the model was trained on the time it evaluates (train
// --labels and eval -m on one capture report what the model remembers),
// with the share in the JSON; a model of another period gets no warning.
func TestEvalSaysWhenTheModelIsInSample(t *testing.T) {
	dir := t.TempDir()
	tiny := filepath.Join("..", "..", "testdata", "eval", "tiny")
	m := filepath.Join(dir, "m.json")
	if code, _, errs := runCLI(t, "train", "--labels", "-o", m, tiny); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	report := filepath.Join(dir, "r.json")
	code, _, errs := runCLI(t, "eval", "-m", m, "--json", report, tiny)
	want := "warning: the model " + m + " was trained on 2023-11-14T22:15:00Z to 2023-11-14T22:25:00Z, the time of 4 of the 4 host-windows with rows (100.0%): its scores there are in-sample"
	if code != 0 || !strings.Contains(errs, want) {
		t.Fatalf("eval -m on its own training logs: exit %d, stderr %q: want %q", code, errs, want)
	}
	var rep eval.Report
	if b, err := os.ReadFile(report); err != nil || json.Unmarshal(b, &rep) != nil || rep.ModelTrainedOn == nil || *rep.ModelTrainedOn != 1 {
		t.Fatalf("model_trained_on: %v (%v)", rep.ModelTrainedOn, err)
	}
	// the same model, as if trained a day earlier
	b, _ := os.ReadFile(m)
	earlier := strings.NewReplacer(`"trained_from":"2023-11-14`, `"trained_from":"2023-11-13`, `"trained_until":"2023-11-14`, `"trained_until":"2023-11-13`).Replace(string(b))
	os.WriteFile(m, []byte(earlier), 0o644)
	code, _, errs = runCLI(t, "eval", "-m", m, "--json", report, tiny)
	rep = eval.Report{}
	if b, err := os.ReadFile(report); code != 0 || strings.Contains(errs, "in-sample") || err != nil || json.Unmarshal(b, &rep) != nil ||
		rep.ModelTrainedOn == nil || *rep.ModelTrainedOn != 0 {
		t.Fatalf("a model of another day: exit %d, stderr %q, model_trained_on %v", code, errs, rep.ModelTrainedOn)
	}
	// a file without the range (written before it was recorded) loads, silently
	fixture := filepath.Join("..", "..", "testdata", "models", "test18-labels-v5.json")
	if code, _, errs := runCLI(t, "eval", "-m", fixture, tiny); code != 0 || strings.Contains(errs, "in-sample") {
		t.Fatalf("a model without its range: exit %d, stderr %q", code, errs)
	}
}

// README.md (Upgrading a sensor) quotes the refusal of a model file older
// than this build reads, as config check (and so scripts/install) prints
// it: it still said "versions 3 to 5" after version 6.
func TestREADMEModelRefusal(t *testing.T) {
	dir := t.TempDir()
	cfg, v2 := filepath.Join(dir, "c.toml"), filepath.Join(dir, "v2.json")
	os.WriteFile(v2, []byte(`{"magic":"zeekanom-model","version":2}`), 0o644)
	os.WriteFile(cfg, []byte("[detectors.iforest]\nmodel = "+strconv.Quote(v2)+"\n"), 0o644)
	code, _, errs := runCLI(t, "config", "check", cfg)
	_, msg, ok := strings.Cut(strings.TrimSpace(errs), v2+": ")
	if code != exitConfig || !ok || !strings.HasPrefix(msg, "model version mismatch: file is version 2") {
		t.Fatalf("config check (a version 2 model): exit %d, %q; want exit 78 and the model's refusal", code, errs)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if readme := strings.Join(strings.Fields(string(b)), " "); !strings.Contains(readme, "`"+msg+"`") {
		t.Errorf("README.md does not quote config check's refusal of a version 2 model:\n`%s`", msg)
	}
}

// train --labels with nothing to train the classifier on says why: no
// window labelled malicious (no label column and no labels file, or a
// labels file none of whose lines a row falls in), or no benign window.
// It failed with the classifier's "training data needs both malicious and
// benign windows", naming neither cause nor remedy.
func TestTrainLabelsWithoutBothClasses(t *testing.T) {
	logs := smallConnLogs(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name, labels, want string
	}{
		{"no label column", "", "--labels: none of the 240 host-windows is labelled malicious: no row's label"},
		{"labels file of absent hosts", "host,start,end,class\n10.9.9.9,,,bot\n", "--labels: none of the 240 host-windows is labelled malicious: no row is from or to a host of "},
		{"every host", "host,start,end,class\n0.0.0.0/0,,,bot\n", "--labels: all 240 host-windows are labelled malicious: the classifier needs benign windows too"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"train", "--trees", "10", "--labels", "-o", filepath.Join(dir, "m.json"), logs}
			if tc.labels != "" {
				lf := filepath.Join(dir, "l.labels")
				if err := os.WriteFile(lf, []byte(tc.labels), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--labels-file", lf)
			}
			code, _, errs := runCLI(t, args...)
			if code != 1 || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, errs, tc.want)
			}
		})
	}
}

// train --labels-file and features --labels name the labels lines that
// match no row, by file:line, as eval does, up to 10 and then a count: a
// mistyped host trained its attack as benign without a word, and train
// failed only when no line matched at all. A line whose rows an earlier
// line labelled (line 3: the extractor's labeler stops at the first line,
// and is not asked again of a window already malicious) matched them.
func TestTrainAndFeaturesNameLabelsThatMatchNoRow(t *testing.T) {
	logs := smallConnLogs(t)
	dir := t.TempDir()
	lf := filepath.Join(dir, "l.labels")
	body := "host,start,end,class\n10.0.0.1,,,bot\n10.0.0.1,,,again\n"
	for i := range 12 { // lines 4 to 15
		body += fmt.Sprintf("10.0.0.%d,,,typo\n", 40+i)
	}
	if err := os.WriteFile(lf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cmd  string
		args []string
	}{
		{"train", []string{"train", "--trees", "10", "--labels-file", lf, "-o", filepath.Join(dir, "m.json"), logs}},
		{"features", []string{"features", "--labels", lf, "-o", filepath.Join(dir, "f.csv"), logs}},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			code, _, errs := runCLI(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			for _, w := range []string{
				"zeekanom " + tc.cmd + ": warning: " + lf + ":4: no row is from or to 10.0.0.40 at any time: the line labels nothing",
				"zeekanom " + tc.cmd + ": warning: " + lf + ":13: no row is from or to 10.0.0.49 at any time",
				"zeekanom " + tc.cmd + ": warning: " + lf + ": 2 more lines match no row",
			} {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if n := strings.Count(errs, "labels nothing"); n != 10 {
				t.Errorf("%d lines named, want 10 (lines 4 to 13):\n%s", n, errs)
			}
		})
	}
}

// A model of other windows than the detectors' names the length and the
// sections to set it in, those of the detectors that read the model
// (supervised only when the model has a classifier): it said "retrain with
// --window or set window", and eval's --window, the host-windows' length,
// does not set the detectors'.
func TestModelWindowFixNamesLengthAndSections(t *testing.T) {
	logs := smallConnLogs(t)
	dir := t.TempDir()
	labels := filepath.Join(dir, "bot.labels")
	if err := os.WriteFile(labels, []byte("host,start,end,class\n10.0.0.1,,,bot\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		train []string
		want  string
	}{
		{"forest", nil, `set window = "10m0s" in [detectors.iforest] of the config file`},
		{"forest and classifier", []string{"--labels-file", labels}, `set window = "10m0s" in [detectors.iforest] and [detectors.supervised] of the config file`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".json")
			if code, _, errs := runCLI(t, append([]string{"train", "--trees", "10", "--window", "10m", "-o", m, logs}, tc.train...)...); code != 0 {
				t.Fatalf("train: exit %d: %s", code, errs)
			}
			code, _, errs := runCLI(t, "eval", "-m", m, "--window", "10m", logs)
			if code != 1 || !strings.Contains(errs, "train again with --window 5m0s, or "+tc.want) {
				t.Errorf("eval: exit %d, stderr %q; want 1 and %q", code, errs, tc.want)
			}
		})
	}
}

// trainModels trains a model without a classifier (plain) and one with
// (labelled: 10.0.0.1 malicious) on the same logs.
func trainModels(t *testing.T, logs string) (plain, labelled string) {
	t.Helper()
	dir := t.TempDir()
	lf := filepath.Join(dir, "bot.labels")
	if err := os.WriteFile(lf, []byte("host,start,end,class\n10.0.0.1,,,bot\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plain, labelled = filepath.Join(dir, "plain.json"), filepath.Join(dir, "labelled.json")
	for _, args := range [][]string{{"-o", plain}, {"--labels-file", lf, "-o", labelled}} {
		if code, _, errs := runCLI(t, append(append([]string{"train", "--trees", "10"}, args...), logs)...); code != 0 {
			t.Fatalf("train %v: exit %d: %s", args, code, errs)
		}
	}
	return plain, labelled
}

const noClassifier = "the model has no classifier (trained without --labels), so supervised.classifier is off; train --labels"

// A model without a classifier that the config names in
// [detectors.supervised] builds no supervised detector: score and eval
// say so once on stderr (exit status and notices unchanged). A model the
// supervised detector shares as the iforest's (-m alone, or only
// [detectors.iforest] naming it) is no such request: no word.
func TestScoreSaysTheSupervisedModelHasNoClassifier(t *testing.T) {
	logs := smallConnLogs(t)
	plain, labelled := trainModels(t, logs)
	for _, tc := range []struct {
		name, config string
		m            string
		want         string // "" for no warning
	}{
		{"supervised names a plain model", "[detectors.supervised]\nmodel = " + strconv.Quote(plain) + "\n", "",
			"warning: [detectors.supervised] model = " + strconv.Quote(plain) + ": " + noClassifier},
		{"-m a plain model for the one the config names", "[detectors.supervised]\nmodel = " + strconv.Quote(labelled) + "\n", plain,
			"warning: -m " + plain + " (for [detectors.supervised] model = " + strconv.Quote(labelled) + "): " + noClassifier},
		{"supervised names a model with a classifier", "[detectors.supervised]\nmodel = " + strconv.Quote(labelled) + "\n", "", ""},
		{"iforest alone names a plain model", "[detectors.iforest]\nmodel = " + strconv.Quote(plain) + "\n", "", ""},
		{"-m a plain model alone", "", plain, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"score", "-o", filepath.Join(t.TempDir(), "n.ndjson")}
			if tc.config != "" {
				cfg := filepath.Join(t.TempDir(), "zeekanom.toml")
				if err := os.WriteFile(cfg, []byte(tc.config), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "-c", cfg)
			}
			if tc.m != "" {
				args = append(args, "-m", tc.m)
			}
			// eval's detectors are score's: it says the same (it did not
			// until 2026-12-02)
			for _, args := range [][]string{args, append([]string{"eval"}, args[3:]...)} {
				code, _, errs := runCLI(t, append(args, logs)...)
				if code != 0 {
					t.Fatalf("%s: exit %d: %s", args[0], code, errs)
				}
				n := strings.Count(errs, noClassifier)
				switch {
				case tc.want == "" && n != 0:
					t.Errorf("%s: a warning where the config asks for no classifier:\n%s", args[0], errs)
				case tc.want != "" && (n != 1 || !strings.Contains(errs, tc.want)):
					t.Errorf("%s: %d warnings; want one, %q:\n%s", args[0], n, tc.want, errs)
				}
			}
		})
	}
}

// run logs the same warning once, at start; config check prints it.
func TestRunLogsTheSupervisedModelHasNoClassifier(t *testing.T) {
	plain, labelled := trainModels(t, smallConnLogs(t))
	logdir, _ := zeekDir(t)
	for _, tc := range []struct {
		model string
		want  int
	}{{plain, 1}, {labelled, 0}} {
		state := t.TempDir()
		cfg := filepath.Join(t.TempDir(), "zeekanom.toml")
		body := "[input]\nlogdir = " + strconv.Quote(logdir) + "\n[metrics]\nlisten = \"\"\n" +
			"[output.ndjson]\npath = " + strconv.Quote(filepath.Join(state, "n.ndjson")) + "\n" +
			"[detectors.supervised]\nmodel = " + strconv.Quote(tc.model) + "\n"
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		r, err := newRunner(context.Background(), runFlags{config: cfg, stateDir: state, set: map[string]bool{}}, io.Discard, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		r.sinks.Close()
		r.lock.Close()
		log := stderr.String()
		if n := strings.Count(log, noClassifier); n != tc.want || tc.want == 1 && !strings.Contains(log, "level=WARN") {
			t.Errorf("%s: %d warnings, want %d:\n%s", filepath.Base(tc.model), n, tc.want, log)
		}
		// config check says it too (valid: exit 0, ok), as a warning
		code, out, errs := runCLI(t, "config", "check", cfg)
		if n := strings.Count(errs, "zeekanom config: warning: [detectors.supervised] model = "+strconv.Quote(tc.model)+": "+noClassifier); code != 0 || out != cfg+": ok\n" || n != tc.want {
			t.Errorf("config check, %s: exit %d, %q, %d warnings, want 0, ok, %d:\n%s", filepath.Base(tc.model), code, out, n, tc.want, errs)
		}
	}
}
