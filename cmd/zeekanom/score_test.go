package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/beacon"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/metrics"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
	"github.com/zeekanom/zeekanom/zeekreader/zeekgen"
)

func parseNotices(t *testing.T, out string) []notice.Notice {
	t.Helper()
	var ns []notice.Notice
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var n notice.Notice
		if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
			t.Fatalf("not a notice: %v: %s", err, sc.Text())
		}
		ns = append(ns, n)
	}
	return ns
}

// The README's first command: the Cerber sweep is found, explained, and the
// run is deterministic.
func TestScoreDemoEndToEnd(t *testing.T) {
	demo := filepath.Join("..", "..", "testdata", "demo")
	code, out, errs := runCLI(t, "score", demo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	ns := parseNotices(t, out)
	found := false
	for _, n := range ns {
		switch n.Severity {
		case 21, 47, 73, 99:
		default:
			t.Errorf("severity %d not one of 21/47/73/99", n.Severity)
		}
		if n.ID == "" || n.Message == "" || n.Note == "" || n.Explain.Detector == "" || len(n.Explain.Features) == 0 {
			t.Errorf("incomplete notice: %+v", n)
		}
		if n.Timestamp.Year() != 2016 {
			t.Errorf("@timestamp %v is not event time", n.Timestamp)
		}
		if n.Rule == notice.RuleScanHorizontal && n.Source.String() == "10.12.15.101" && n.DestPort == 6892 {
			found = true
		}
	}
	if !found {
		t.Errorf("no scan.horizontal notice for 10.12.15.101 udp/6892 in:\n%s", out)
	}
	_, again, _ := runCLI(t, "score", demo)
	if again != out {
		t.Error("two runs over the same input differ")
	}
	if !strings.Contains(errs, "scan.horizontal=") {
		t.Errorf("summary missing: %q", errs)
	}
}

func TestScoreToFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "notices.ndjson")
	code, stdout, errs := runCLI(t, "score", "-q", "-o", out, filepath.Join("..", "..", "testdata", "demo", "conn.log"))
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, errs)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(parseNotices(t, string(b))) == 0 {
		t.Error("no notices in the -o file")
	}
	// scoring again replaces the file (the live sidecar's -o appends)
	if code, _, errs := runCLI(t, "score", "-q", "-o", out, filepath.Join("..", "..", "testdata", "demo", "conn.log")); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, errs)
	}
	if again, _ := os.ReadFile(out); string(again) != string(b) {
		t.Errorf("a second score -o run left %d bytes, the first %d", len(again), len(b))
	}
	// a run that fails before reading (no such input, no logs) leaves the
	// previous results alone
	for _, in := range []string{filepath.Join(t.TempDir(), "nonexistent"), t.TempDir()} {
		if code, _, _ := runCLI(t, "score", "-q", "-o", out, in); code == 0 {
			t.Errorf("score %s: exit 0", in)
		}
		if kept, _ := os.ReadFile(out); string(kept) != string(b) {
			t.Errorf("score -o over a failed run on %s left %d bytes, had %d", in, len(kept), len(b))
		}
	}
}

// score --workers changes how many cores the detectors use, not the
// notices (the engine-level test covers every notice; this the flag).
func TestScoreWorkers(t *testing.T) {
	in := filepath.Join("..", "..", "testdata", "detectors", "trickbot")
	_, one, _ := runCLI(t, "score", "-q", "--workers", "1", in)
	_, three, _ := runCLI(t, "score", "-q", "--workers", "3", in)
	if one == "" || one != three {
		t.Errorf("--workers 1 and 3 differ (or no notices):\n%s\n---\n%s", one, three)
	}
	if code, _, errs := runCLI(t, "score", "--workers", "0", in); code == 0 || !strings.Contains(errs, "--workers 0") {
		t.Errorf("--workers 0: exit %d, %q", code, errs)
	}
}

// A JSON conn log under a name that is not Zeek's is read, but no detector
// takes its rows (a JSON log's kind comes from its name): the summary says
// so instead of reporting a clean run.
func TestScoreSaysRowsNotScored(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "zeekreader", "conn-underscore.json"))
	if err != nil {
		t.Fatal(err)
	}
	flows := filepath.Join(t.TempDir(), "flows.json")
	if err := os.WriteFile(flows, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, errs := runCLI(t, "score", flows)
	if !strings.Contains(errs, "20 rows not scored") {
		t.Errorf("no rows-not-scored line in %q", errs)
	}
	_, _, errs = runCLI(t, "score", filepath.Join("..", "..", "testdata", "demo", "conn.log"))
	if strings.Contains(errs, "not scored") {
		t.Errorf("a conn.log's rows reported not scored: %q", errs)
	}
}

// Interrupted (SIGINT or SIGTERM cancel main's context), score says so
// and how far it got: it said "context canceled" after a summary of 0
// rows, whatever it had read.
func TestScoreInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, workers := range []string{"1", "2"} {
		var out, errb bytes.Buffer
		code := run(ctx, []string{"score", "--workers", workers, filepath.Join("..", "..", "testdata", "demo", "conn.log")}, &out, &errb)
		errs := errb.String()
		if code != 1 || !strings.HasSuffix(errs, "zeekanom score: interrupted before the end of the input\n") {
			t.Errorf("--workers %s: exit %d, stderr %q", workers, code, errs)
		}
		if !strings.HasPrefix(errs, "zeekanom score: ") || strings.HasPrefix(errs, "zeekanom score: 0 rows") ||
			strings.Contains(errs, "not scored") {
			t.Errorf("--workers %s: the summary does not count the rows read: %q", workers, errs)
		}
	}
}

// Reading a batch ahead on its own goroutine hands out the same rows in
// the same batches as reading inline, and stopping it early returns (the
// reader goroutine is waited for).
func TestBatchReaderAhead(t *testing.T) {
	var buf bytes.Buffer
	zeekgen.Write(&buf, zeekgen.Options{Rows: 5000, Hosts: 50, Seed: 3})
	buf.WriteString("not\ta\trow\n") // a skipped row, counted by both
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "conn.log"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(ahead bool, upto int) (uids []string, errs int64) {
		arch, err := zeekreader.Walk([]string{dir})
		if err != nil {
			t.Fatal(err)
		}
		src := arch.Open(false)
		defer src.Close()
		res := &scoreResult{}
		rd := &batchReader{src: src, res: res, stderr: io.Discard, prog: &progress{}}
		next := rd.inline()
		if ahead {
			var stop func()
			next, stop = rd.ahead()
			defer func() { stop(); errs = res.skipped.n }()
		}
		for n := 0; n < upto; n++ {
			b, done, err := next()
			if err != nil {
				t.Fatal(err)
			}
			uids = append(uids, fmt.Sprint(len(b.Events)))
			for _, ev := range b.Events {
				uids = append(uids, string(ev.Conn.UID))
			}
			if done {
				break
			}
		}
		return uids, res.skipped.n
	}
	want, wantErrs := read(false, 1<<30)
	got, gotErrs := read(true, 1<<30)
	if strings.Join(got, " ") != strings.Join(want, " ") || gotErrs != wantErrs || wantErrs != 1 {
		t.Errorf("ahead: %d items, %d skipped; inline: %d items, %d skipped", len(got), gotErrs, len(want), wantErrs)
	}
	if part, _ := read(true, 2); strings.Join(part, " ") != strings.Join(want[:len(part)], " ") || len(part) != 2*(batchRows+1) {
		t.Errorf("stopped after two batches: %d items", len(part))
	}
}

// score -q: its help says only errors go to standard error. It printed
// the note: and skipped: lines anyway and left out only the summary; now
// skipped rows are one line (count and first), notes and the summary are
// not printed, the notices are the same, and errors still are printed.
func TestScoreQuiet(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conn := filepath.Join(dir, "conn.log")
	text := strings.Replace(string(b), "#close", "not\ta\trow\nx\n#close", 1)
	os.WriteFile(conn, []byte(text), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a log\n"), 0o644)

	code, loud, errs := runCLI(t, "score", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"note: " + filepath.Join(dir, "notes.txt"), "skipped: " + conn + ":", "zeekanom score: 1156 rows"} {
		if !strings.Contains(errs, want) {
			t.Errorf("without -q: no %q in %q", want, errs)
		}
	}

	code, quiet, errs := runCLI(t, "score", "-q", dir)
	if code != 0 || quiet != loud || len(parseNotices(t, quiet)) == 0 {
		t.Fatalf("-q: exit %d, %d notices, stdout differs: %v", code, len(parseNotices(t, quiet)), quiet != loud)
	}
	wantPrefix := "zeekanom score: 2 skipped: bad rows, unreadable or damaged files (the first: " + conn + ":"
	wantSuffix := ": wrong number of fields: 3, header declares 22)\n"
	if !strings.HasPrefix(errs, wantPrefix) || !strings.HasSuffix(errs, wantSuffix) || strings.Count(errs, "\n") != 1 {
		t.Errorf("-q: stderr %q, want one line %q...%q", errs, wantPrefix, wantSuffix)
	}

	if code, _, errs := runCLI(t, "score", "-q", filepath.Join("..", "..", "testdata", "demo")); code != 0 || errs != "" {
		t.Errorf("-q on a clean input: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := runCLI(t, "score", "-q", filepath.Join(dir, "missing")); code != 1 || !strings.Contains(errs, "no such file or directory") {
		t.Errorf("-q: an error must still be printed: exit %d, stderr %q", code, errs)
	}
}

// A command whose every input file fails (cannot be opened, or is damaged
// before its first row) exits 1 naming the first failure: score, eval,
// train and features counted it as skipped and exited 0, as if the log were
// empty. An input of which some file was read still exits 0 with the
// skip count.
func TestNothingReadIsAnError(t *testing.T) {
	dir := t.TempDir()
	// a socket: open(2) fails on it even for root, as a file without read
	// permission does for a user
	sock := filepath.Join(dir, "conn.log")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	gz := filepath.Join(dir, "dns.log.gz")
	os.WriteFile(gz, []byte("\x1f\x8b\x08 not gzip"), 0o644)
	// a zeekctl hour whose compression was cut short before its header
	// (a full disk): read as an empty plain log, it was no failure
	empty := filepath.Join(dir, "http.10:00:00-11:00:00.log.gz")
	os.WriteFile(empty, nil, 0o644)
	demo := filepath.Join("..", "..", "testdata", "demo", "conn.log")
	out := t.TempDir()
	for _, c := range []struct {
		paths []string
		code  int
		want  string
	}{
		{[]string{sock}, 1, "no input could be read: open " + sock + ": no such device or address\n"},
		{[]string{gz}, 1, "no input could be read: " + gz + ": "},
		{[]string{sock, gz}, 1, "no input could be read: all 2 files failed (the first: open " + sock + ": "},
		{[]string{sock, demo}, 0, "1 skipped: bad rows, unreadable or damaged files (the first: open " + sock + ": "},
		{[]string{empty}, 1, "no input could be read: " + empty + ": empty file named .gz: "},
		{[]string{empty, demo}, 0, "1 skipped: bad rows, unreadable or damaged files (the first: " + empty + ": empty file named .gz: "},
	} {
		for _, cmd := range [][]string{
			{"score", "-q"}, {"eval"}, {"train", "-o", filepath.Join(out, "m.json")}, {"features", "-o", filepath.Join(out, "v.csv")},
		} {
			args := append(append([]string{}, cmd...), c.paths...)
			code, stdout, errs := runCLI(t, args...)
			if code != c.code || !strings.Contains(stdout+errs, c.want) { // (train's summary is on stdout)
				t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", args, code, errs, c.code, c.want)
			}
		}
	}
}

// The notices file (score -o, [output.ndjson] path) is created with the
// mode of the Zeek feed and of the other output files, 0644 less the
// umask: it was 0640, the feed 0644.
func TestOutputFileModes(t *testing.T) {
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref")
	if err := os.WriteFile(ref, nil, 0o644); err != nil { // 0644 less this process's umask
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("[output.zeekfeed]\npath = \"feed.log\"\n[output.ndjson]\npath = \"notices.ndjson\"\n"), 0o644)
	demo := filepath.Join("..", "..", "testdata", "demo", "conn.log")
	if code, _, errs := runCLI(t, "score", "-q", "-c", cfg, demo); code != 0 {
		t.Fatalf("score -c: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(t, "score", "-q", "-o", filepath.Join(dir, "o.ndjson"), demo); code != 0 {
		t.Fatalf("score -o: exit %d: %s", code, errs)
	}
	want, err := os.Stat(ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"feed.log", "notices.ndjson", "o.ndjson"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Error(err)
		} else if st.Mode().Perm() != want.Mode().Perm() {
			t.Errorf("%s: mode %v; want %v (0644 less the umask)", f, st.Mode().Perm(), want.Mode().Perm())
		}
	}
}

// features -o, setup kibana -o, train -o and eval --json create their
// files 0644 less the umask, as the notices and the feed are: os.Create's
// 0666 made them writable by everyone under a umask of 0 (run here with
// that umask).
func TestOtherOutputFileModes(t *testing.T) {
	old := umask(0)
	defer umask(old)
	dir := t.TempDir()
	demo := filepath.Join("..", "..", "testdata", "demo", "conn.log")
	for _, c := range [][]string{
		{"features", "-o", filepath.Join(dir, "f.csv"), demo},
		{"setup", "kibana", "-o", filepath.Join(dir, "k.ndjson")},
		{"train", "--trees", "2", "-o", filepath.Join(dir, "m.json"), demo},
		{"eval", "--json", filepath.Join(dir, "e.json"), demo},
	} {
		if code, _, errs := runCLI(t, c...); code != 0 {
			t.Fatalf("%v: exit %d: %s", c, code, errs)
		}
	}
	for _, f := range []string{"f.csv", "k.ndjson", "m.json", "e.json"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		} else if st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", f, st.Mode().Perm())
		}
	}
}

// [output.ndjson] path in a directory not there yet is made, as the Zeek
// feed's is: config check passed it, and run failed at every restart.
func TestNDJSONDirectoryMade(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("[output.ndjson]\npath = \"out/notices/n.ndjson\"\n"), 0o644)
	demo := filepath.Join("..", "..", "testdata", "demo", "conn.log")
	if code, _, errs := runCLI(t, "score", "-q", "-c", cfg, demo); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "out", "notices", "n.ndjson")); err != nil || len(b) == 0 {
		t.Fatalf("%v: %d bytes", err, len(b))
	}
}

// The progress line's ETA is the share of the archive's bytes on disk read
// so far: gzip files counted at 8:1 of their text said 1m20s left as the
// last rows of an archive of hourly files compressed 3:1 were read. Here,
// five of ten files read in 10 s leave 10 s, and the whole archive none.
func TestProgressETAFromBytesOnDisk(t *testing.T) {
	dir := t.TempDir()
	for i := range 10 {
		var text bytes.Buffer
		zeekgen.Write(&text, zeekgen.Options{Rows: 2000, Hosts: 50, Seed: uint64(i + 1)})
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(text.Bytes())
		zw.Close()
		if r := float64(text.Len()) / float64(z.Len()); r > 6 {
			t.Fatalf("compressed %.1f:1; the test wants less than 8:1", r)
		}
		name := filepath.Join(dir, "2024-01-01", fmt.Sprintf("conn.%02d:00:00-%02d:00:00.log.gz", i, i+1))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, z.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	arch, err := zeekreader.Walk([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	p := newProgress(io.Discard, true, arch)
	src := arch.Open(false)
	defer src.Close()
	eta := func() string {
		l := p.line(src.Stats(), 10*time.Second)
		return l[strings.Index(l, "ETA"):]
	}
	for range 5 * 2000 {
		if _, err := src.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if got := eta(); !strings.HasPrefix(got, "ETA 10s ") {
		t.Errorf("half read in 10s: %q, want ETA 10s", got)
	}
	for {
		if _, err := src.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if got := eta(); !strings.HasPrefix(got, "ETA 0s ") {
		t.Errorf("all read: %q, want ETA 0s", got)
	}
}

// Where no log is found, score still prints the walk's notes, which say
// why: a directory holding only a renamed conn log, or an archive whose
// files' hours are all outside --from/--to, gave 'no conn, dns, http or
// ssl logs under [...]' alone.
func TestNoLogsSaysWhy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	renamed, archive, export := t.TempDir(), t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(renamed, "ORIGINALconn.log"), b, 0o644)
	os.WriteFile(filepath.Join(export, "corelight-export.json"), nil, 0o644)
	os.Mkdir(filepath.Join(archive, "2024-01-01"), 0o755)
	os.WriteFile(filepath.Join(archive, "2024-01-01", "conn.10:00:00-11:00:00.log"), b, 0o644)
	for _, c := range []struct {
		args []string
		note string
	}{
		{[]string{"score", renamed}, "note: " + filepath.Join(renamed, "ORIGINALconn.log") + ": not named as a conn, dns, http or ssl log, ignored; name a file on the command line"},
		{[]string{"score", export}, "note: " + filepath.Join(export, "corelight-export.json") + ": named as no Zeek log, ignored; name a file on the command line"},
		{[]string{"score", "--from", "2025-01-01", archive}, "note: " + filepath.Join(archive, "2024-01-01", "conn.10:00:00-11:00:00.log") + ": its name's hours are outside the time range, not read"},
	} {
		code, out, errs := runCLI(t, c.args...)
		if code != 1 || out != "" || !strings.Contains(errs, c.note) || !strings.Contains(errs, "no conn, dns, http or ssl logs under") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 with %q", c.args, code, out, errs, c.note)
		}
	}
	// features, train and eval fail as score does (they exited 0 with an
	// empty table, an empty model's error, no metrics), saying why too
	why := filepath.Join(renamed, "ORIGINALconn.log") + ": not named as a conn, dns, http or ssl log"
	for _, args := range [][]string{{"features", renamed}, {"eval", renamed}, {"train", "-o", filepath.Join(t.TempDir(), "m.json"), renamed}} {
		if code, out, errs := runCLI(t, args...); code != 1 || out != "" || !strings.Contains(errs, "no conn, dns, http or ssl logs under") ||
			!strings.Contains(errs, why) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1, no logs, %q", args, code, out, errs, why)
		}
	}
}

// features, train and eval print the walk's notes as score does, where
// logs are found too: a renamed log beside them was skipped without a
// word (the review).
func TestWalkNotesPrinted(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	logs := t.TempDir()
	os.WriteFile(filepath.Join(logs, "conn.log"), b, 0o644)
	os.WriteFile(filepath.Join(logs, "ORIGINALconn.log"), b, 0o644)
	note := "note: " + filepath.Join(logs, "ORIGINALconn.log") + ": not named as a conn, dns, http or ssl log, ignored"
	for _, args := range [][]string{
		{"score", logs},
		{"features", "-o", filepath.Join(t.TempDir(), "v.csv"), logs},
		{"eval", logs},
		{"train", "-o", filepath.Join(t.TempDir(), "m.json"), logs},
	} {
		if code, _, errs := runCLI(t, args...); code != 0 || !strings.Contains(errs, note) {
			t.Errorf("%v: exit %d, stderr %q; want exit 0 and %q", args, code, errs, note)
		}
	}
}

// score's summary names the rows beacon dropped (a key's rows of its
// next window past the 16 it holds while the window before waits for
// lateness), as it names the rows a detector left out as late, and the
// metrics get them as beacon's detector_stat "dropped" beside tracked
// and evicted. Before, only Detector.Dropped and the snapshots kept the count.
func TestScoreSummaryNamesDroppedRows(t *testing.T) {
	day := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
	var rows []window.Conn
	for i := range 10 { // the day before
		rows = append(rows, window.Conn{TS: day.Add(time.Duration(i-10) * time.Minute), Src: "10.1.1.1", SPort: uint16(40000 + i), Dst: "198.51.100.7", DPort: 443, State: "SF", OrigBytes: 90, RespBytes: 900})
	}
	for i := range 20 { // 16 held, 4 dropped by the pair's key and the /24's
		rows = append(rows, window.Conn{TS: day.Add(time.Duration(i) * 5 * time.Second), Src: "10.1.1.1", SPort: uint16(41000 + i), Dst: "198.51.100.7", DPort: 443, State: "SF", OrigBytes: 90, RespBytes: 900})
	}
	fields := []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration", "orig_bytes", "resp_bytes", "conn_state"}
	logs := window.WriteConnLog(t, t.TempDir(), fields, false, rows)
	code, _, errs := runCLI(t, "score", logs)
	if want := "zeekanom score: rows a detector had no room to hold, left out by it (beacon: a key's rows of its next window past the 16 it holds while the window before waits for lateness, counted per key): beacon 8\n"; code != 0 || !strings.HasSuffix(errs, want) {
		t.Errorf("score: exit %d, summary %q: want it to end with %q", code, errs, want)
	}

	d := beacon.New(beacon.DefaultConfig())
	window.Run(d, rows)
	v, ok := callStats(d)
	if !ok {
		t.Fatal("beacon has no Stats")
	}
	st := metrics.Flatten(v)
	if st["dropped"] != 8 || st["late"] != 0 {
		t.Errorf("beacon's detector stats %v: want dropped 8, late 0", st)
	}
	for _, k := range []string{"tracked", "evicted"} { // the metrics' hosts_tracked, hosts_evicted_total
		if _, ok := st[k]; !ok {
			t.Errorf("beacon's detector stats %v: no %s", st, k)
		}
	}
}
