package zeekreader_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func connLog(ts ...float64) string {
	var b strings.Builder
	b.WriteString(hdr + "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\n")
	for i, t := range ts {
		fmt.Fprintf(&b, "%.6f\tC%d\t10.0.0.1\t%d\t10.0.0.2\t80\ttcp\n", t, int(t), 1000+i)
	}
	return b.String()
}

func dnsLog(ts ...float64) string {
	var b strings.Builder
	b.WriteString(`{"_path":"dns"}` + "\n")
	b.Reset()
	for _, t := range ts {
		fmt.Fprintf(&b, `{"ts":%.6f,"uid":"D%d","id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"example.com"}`+"\n", t, int(t))
	}
	return b.String()
}

// The zeekctl layout: hourly gzip files in date folders, one chain per log
// across days, merged in timestamp order; non-log files are noted.
func TestArchiveZeekctlLayout(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "2024-01-01", "conn.23:00:00-00:00:00.log.gz"), gz([]byte(connLog(100, 300))))
	writeFile(t, filepath.Join(dir, "2024-01-02", "conn.00:00:00-01:00:00.log.gz"), gz([]byte(connLog(500, 700))))
	writeFile(t, filepath.Join(dir, "2024-01-01", "dns.23:00:00-00:00:00.log.gz"), gz([]byte(dnsLog(200, 400))))
	writeFile(t, filepath.Join(dir, "2024-01-02", "dns.00:00:00-01:00:00.log"), []byte(dnsLog(600)))
	writeFile(t, filepath.Join(dir, "2024-01-01", "weird.23:00:00-00:00:00.log.gz"), gz([]byte(connLog(1))))
	writeFile(t, filepath.Join(dir, "2024-01-01", "README.txt"), []byte("not a log"))
	// zeekctl's trace-summary report: its every line was a skipped row
	// of conn ("data row before any #fields header")
	writeFile(t, filepath.Join(dir, "2024-01-01", "conn-summary.23:00:00-00:00:00.log.gz"),
		gz([]byte(">== Total === 2024-01-01-23-00-00 - 2024-01-02-00-00-00\n   - Bytes 1.2m - 17 sessions\n")))
	a, err := zeekreader.Walk([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Chains) != 2 || len(a.Files()) != 4 {
		t.Fatalf("chains = %+v, want conn and dns of two files each", a.Chains)
	}
	if len(a.Notes) != 1 || !strings.Contains(a.Notes[0], "README.txt") {
		t.Errorf("notes = %v", a.Notes)
	}
	m := a.Open(false)
	defer m.Close()
	if got, want := merged(t, m), "conn@100 dns@200 conn@300 dns@400 conn@500 dns@600 conn@700"; got != want {
		t.Errorf("merged = %s\nwant     %s", got, want)
	}
	if st := m.Stats(); st.Rows != 7 {
		t.Errorf("stats rows = %d", st.Rows)
	}
}

// chainsOf is each chain of a as kind:number of files.
func chainsOf(a *zeekreader.Archive) string {
	var chains []string
	for _, c := range a.Chains {
		chains = append(chains, fmt.Sprintf("%s:%d", c.Kind, len(c.Files)))
	}
	return strings.Join(chains, " ")
}

// wantMerged checks the events of a, merged, against want.
func wantMerged(t *testing.T, a *zeekreader.Archive, want string) {
	t.Helper()
	m := a.Open(false)
	defer m.Close()
	if got := merged(t, m); got != want {
		t.Errorf("merged = %s\nwant     %s", got, want)
	}
}

// merged reads m to its end: each event as kind@unix-time.
func merged(t *testing.T, m *zeekreader.Merged) string {
	t.Helper()
	var got []string
	for {
		ev, err := m.Next()
		if err == io.EOF {
			return strings.Join(got, " ")
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s@%d", ev.Kind, ev.TS.Unix()))
	}
}

// A damaged file ends its own stream with a FileError; the others go on.
func TestArchiveDamagedFileIsSkippable(t *testing.T) {
	dir := t.TempDir()
	z := gz([]byte(connLog(100, 200, 300)))
	writeFile(t, filepath.Join(dir, "conn.log.gz"), z[:len(z)-12])
	writeFile(t, filepath.Join(dir, "dns.log"), []byte(dnsLog(150, 250)))
	a, err := zeekreader.Walk([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	m := a.Open(false)
	defer m.Close()
	rows, fileErrs := 0, 0
	for {
		_, err := m.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !zeekreader.Skippable(err) {
				t.Fatalf("not skippable: %v", err)
			}
			var fe *zeekreader.FileError
			if errors.As(err, &fe) {
				fileErrs++
			}
			continue
		}
		rows++
	}
	if fileErrs != 1 || rows < 2 {
		t.Errorf("rows=%d fileErrs=%d", rows, fileErrs)
	}
}

// Copies named as a browser or a file manager names them ("conn (1).log",
// "dns copy.log") are logs of their kind, each its own stream: they were
// ignored, so a directory of downloaded captures gave one of its logs.
func TestArchiveCopiesOfLogs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "conn.log"), []byte(connLog(500, 700)))
	writeFile(t, filepath.Join(dir, "conn (1).log"), []byte(connLog(100, 300)))
	writeFile(t, filepath.Join(dir, "conn (2).log.gz"), gz([]byte(connLog(200))))
	writeFile(t, filepath.Join(dir, "dns copy.log"), []byte(dnsLog(400)))
	writeFile(t, filepath.Join(dir, "weird (1).log"), []byte(connLog(1)))
	writeFile(t, filepath.Join(dir, "ORIGINALdns.log"), []byte(dnsLog(1)))
	writeFile(t, filepath.Join(dir, "sub", "ORIGINALdns.log"), []byte(dnsLog(1)))
	writeFile(t, filepath.Join(dir, "ldap_search.log"), []byte(connLog(1)))
	a, err := zeekreader.Walk([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	// a renamed log is noted, once however many files have its name;
	// Zeek's other logs (weird, ldap_search) are not
	if len(a.Notes) != 1 || !strings.Contains(a.Notes[0], "ORIGINALdns.log and 1 more named ORIGINALdns: not named as a conn, dns, http or ssl log") {
		t.Errorf("notes %q", a.Notes)
	}
	if got := chainsOf(a); got != "conn:1 conn:1 conn:1 dns:1" {
		t.Fatalf("chains %s, want three conn streams of one file and a dns one", got)
	}
	wantMerged(t, a, "conn@100 conn@200 conn@300 dns@400 conn@500 conn@700")
}

// A file reached twice, through overlapping paths (an archive and one of
// its days, a directory and a file in it) or a link, is read once: its
// rows were read twice, and TrickBot's week named with one of its days
// again gave 2 more beacon notices, each pair's connections counted twice.
func TestArchiveFileReachedTwice(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "2024-01-01", "conn.23:00:00-00:00:00.log.gz"), gz([]byte(connLog(100, 300))))
	writeFile(t, filepath.Join(dir, "2024-01-02", "conn.00:00:00-01:00:00.log.gz"), gz([]byte(connLog(500))))
	writeFile(t, filepath.Join(dir, "flat", "dns.log"), []byte(dnsLog(200)))
	link := filepath.Join(t.TempDir(), "dns.log")
	if err := os.Symlink(filepath.Join(dir, "flat", "dns.log"), link); err != nil {
		t.Fatal(err)
	}
	dotdot := filepath.Join(dir, "flat", "..", "flat", "dns.log")
	a, err := zeekreader.Walk([]string{dir, filepath.Join(dir, "2024-01-02"), filepath.Join(dir, "flat", "dns.log"), dotdot, link})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(a.Files()); got != 3 {
		t.Errorf("files %v, want each of the 3 once", a.Files())
	}
	if len(a.Notes) != 1 || !strings.HasSuffix(a.Notes[0], "conn.00:00:00-01:00:00.log.gz: named twice (overlapping paths), read once (and 3 more files reached twice)") {
		t.Errorf("notes %q", a.Notes)
	}
	wantMerged(t, a, "conn@100 dns@200 conn@300 conn@500")
}

// A directory walk reads a link to a log file as the file: a folder of
// links to an archive's hours (or to a log kept elsewhere) read nothing
// and failed "no conn, dns, http or ssl logs under". A link beside its
// file is that file, read once; a link to a directory (zeekctl's
// logs/current, the live spool) is walked as the directory
// (TestArchiveLinkedDirectory); a link to nothing is noted when its name
// is a log's.
func TestArchiveWalkFollowsFileLinks(t *testing.T) {
	store := t.TempDir()
	writeFile(t, filepath.Join(store, "conn.10:00:00-11:00:00.log.gz"), gz([]byte(connLog(100, 300))))
	writeFile(t, filepath.Join(store, "conn.11:00:00-12:00:00.log.gz"), gz([]byte(connLog(500))))
	writeFile(t, filepath.Join(store, "dns.log"), []byte(dnsLog(200)))
	spool := t.TempDir()
	writeFile(t, filepath.Join(spool, "conn.log"), []byte(connLog(900)))
	dir := t.TempDir()
	day := filepath.Join(dir, "2024-01-01")
	for link, target := range map[string]string{
		filepath.Join(day, "conn.10:00:00-11:00:00.log.gz"): filepath.Join(store, "conn.10:00:00-11:00:00.log.gz"),
		filepath.Join(day, "conn.11:00:00-12:00:00.log.gz"): filepath.Join(store, "conn.11:00:00-12:00:00.log.gz"),
		filepath.Join(day, "dns.log"):                       filepath.Join(store, "dns.log"),
		filepath.Join(day, "dns.12:00:00-13:00:00.log.gz"):  filepath.Join(store, "gone.log.gz"),
		filepath.Join(day, "notes.txt"):                     filepath.Join(store, "gone.txt"),
		filepath.Join(dir, "current"):                       spool,
	} {
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	a, err := zeekreader.Walk([]string{dir, store})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(a.Files()); got != 4 {
		t.Errorf("files %v, want the 3 linked files once each and current's conn.log", a.Files())
	}
	notes := strings.Join(a.Notes, "\n")
	if !strings.Contains(notes, "dns.12:00:00-13:00:00.log.gz: a link to nothing readable, ignored") || strings.Contains(notes, "notes.txt") {
		t.Errorf("notes %q, want the dangling log link named and the other not", a.Notes)
	}
	if !strings.Contains(notes, "reached twice") {
		t.Errorf("notes %q, want the files reached by link and in the store read once, noted", a.Notes)
	}
	wantMerged(t, a, "conn@100 dns@200 conn@300 conn@500 conn@900")

	a, err = zeekreader.Walk([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	wantMerged(t, a, "conn@100 dns@200 conn@300 conn@500 conn@900")
}

// An empty file named .gz (a zeekctl hour whose compression was cut short
// before its 10-byte header: a full disk) is a damaged file, a FileError
// naming it, and the chain goes on with the next; it was read as an empty
// plain log, no error, its hour's rows lost without a word. An empty
// plain log is still no error.
func TestArchiveEmptyGzipIsDamage(t *testing.T) {
	dir := t.TempDir()
	day := filepath.Join(dir, "2024-01-01")
	writeFile(t, filepath.Join(day, "conn.10:00:00-11:00:00.log.gz"), gz([]byte(connLog(100))))
	writeFile(t, filepath.Join(day, "conn.11:00:00-12:00:00.log.gz"), nil)
	writeFile(t, filepath.Join(day, "conn.12:00:00-13:00:00.log.gz"), gz([]byte(connLog(300))))
	writeFile(t, filepath.Join(dir, "flat", "dns.log"), nil)
	a, err := zeekreader.Walk([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	m := a.Open(false)
	defer m.Close()
	var got, errs []string
	for {
		ev, err := m.Next()
		if err == io.EOF {
			break
		}
		var fe *zeekreader.FileError
		switch {
		case errors.As(err, &fe):
			errs = append(errs, filepath.Base(fe.File)+": "+err.Error())
		case err != nil:
			t.Fatal(err)
		default:
			got = append(got, fmt.Sprintf("%s@%d", ev.Kind, ev.TS.Unix()))
		}
	}
	if strings.Join(got, " ") != "conn@100 conn@300" {
		t.Errorf("rows %v, want the hours either side", got)
	}
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "conn.11:00:00-12:00:00.log.gz: "+filepath.Join(day, "conn.11:00:00-12:00:00.log.gz")+": empty file named .gz") {
		t.Errorf("file errors %q, want one naming the empty .gz and not the empty plain log", errs)
	}
}

// A copy of a zeekctl hourly file ("conn.10:00:00-11:00:00 (1).log.gz",
// its mark after the rotation time) is a stream of its own, as any copy:
// it was taken for a rotation of the log, sorted before its original, and
// its rows went back in time.
func TestArchiveCopyOfRotatedLog(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "2024-01-01", "conn.10:00:00-11:00:00.log.gz"), gz([]byte(connLog(100, 300))))
	writeFile(t, filepath.Join(dir, "2024-01-01", "conn.10:00:00-11:00:00 (1).log.gz"), gz([]byte(connLog(200))))
	writeFile(t, filepath.Join(dir, "2024-01-01", "conn.11:00:00-12:00:00.log.gz"), gz([]byte(connLog(400))))
	a, err := zeekreader.Walk([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := chainsOf(a); got != "conn:2 conn:1" {
		t.Fatalf("chains %s, want the log's two hours and the copy", got)
	}
	if c := a.Chains[1]; !strings.HasSuffix(c.Files[0], "(1).log.gz") {
		t.Errorf("the copy's stream is %v", c.Files)
	}
}

// A copy with the same bytes as another file of the archive (a second
// download, a copy kept beside its original) is left out, with a note: read
// as its own stream, each of its connections reached the detectors twice
// (TrickBot's conn.log beside an identical "conn (1).log": 106 notices
// instead of 91, every beacon's connections doubled). A copy with other
// bytes is another capture, read as before.
func TestArchiveIdenticalCopiesReadOnce(t *testing.T) {
	dir := t.TempDir()
	conn := []byte(connLog(100, 300))
	writeFile(t, filepath.Join(dir, "conn (1).log"), conn)
	writeFile(t, filepath.Join(dir, "conn.log"), conn)
	writeFile(t, filepath.Join(dir, "conn (2).log"), []byte(connLog(200)))
	writeFile(t, filepath.Join(dir, "dns copy.log"), []byte(dnsLog(400)))
	writeFile(t, filepath.Join(dir, "dns.log"), []byte(dnsLog(400)))
	writeFile(t, filepath.Join(dir, "empty", "conn.log"), nil)
	writeFile(t, filepath.Join(dir, "empty2", "conn.log"), nil)
	hour := gz([]byte(connLog(500)))
	writeFile(t, filepath.Join(dir, "logs", "2024-01-01", "conn.10:00:00-11:00:00.log.gz"), hour)
	writeFile(t, filepath.Join(dir, "logs", "2024-01-01 (1)", "conn.10:00:00-11:00:00.log.gz"), hour)
	a, err := zeekreader.Walk([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range a.Files() {
		files = append(files, strings.TrimPrefix(f, dir+string(filepath.Separator)))
	}
	if got, want := strings.Join(files, ","), "conn.log,dns.log,conn (2).log,empty/conn.log,empty2/conn.log,logs/2024-01-01/conn.10:00:00-11:00:00.log.gz"; got != want {
		t.Errorf("files %s, want %s", got, want)
	}
	if want := filepath.Join(dir, "conn (1).log") + ": the same bytes as " + filepath.Join(dir, "conn.log") + ", a copy: left out (and 2 more)"; len(a.Notes) != 1 || a.Notes[0] != want {
		t.Errorf("notes %q, want %q", a.Notes, want)
	}
	wantMerged(t, a, "conn@100 conn@200 conn@300 dns@400 conn@500")
}

// Files named on the command line (a shell's glob of hourly files) are
// chained as their directories' files are: each was a stream of its own,
// all open at once, so a month of hourly files held gigabytes and, past
// the limit of open files, was skipped as "too many open files".
func TestArchiveNamedFilesChain(t *testing.T) {
	dir := t.TempDir()
	var named []string
	for i, f := range []string{"2024-01-01/conn.23:00:00-00:00:00.log.gz", "2024-01-02/conn.00:00:00-01:00:00.log.gz", "2024-01-02/conn.01:00:00-02:00:00.log.gz"} {
		named = append(named, filepath.Join(dir, f))
		writeFile(t, named[i], gz([]byte(connLog(float64(100*(2*i+1)), float64(100*(2*i+2))))))
	}
	named = append(named, filepath.Join(dir, "2024-01-02", "dns.00:00:00-01:00:00.log"))
	writeFile(t, named[3], []byte(dnsLog(250)))
	a, err := zeekreader.Walk(named)
	if err != nil {
		t.Fatal(err)
	}
	if got := chainsOf(a); got != "conn:3 dns:1" {
		t.Errorf("chains %s, want the conn log's three hours as one", got)
	}
	wantMerged(t, a, "conn@100 conn@200 dns@250 conn@300 conn@400 conn@500 conn@600")
}

// corelight/json-streaming-logs renames json_streaming_dns.log to
// json_streaming_dns.1.log after .1 to .2 and so on: a chain reads the
// highest number first and the live file last, as Zeek's own renamed
// files (conn.2024-01-01-23-00-00.log) read by their times. By name,
// .1.log came before .10.log and .2.log, and the rows went back in time.
func TestArchiveNumberedRotations(t *testing.T) {
	dir := t.TempDir()
	for f, ts := range map[string]float64{
		"json_streaming_dns.10.log": 100, "json_streaming_dns.2.log": 200, "json_streaming_dns.1.log": 300,
		"json_streaming_dns.log": 400, "conn.2024-01-01-23-00-00.log": 150, "conn.2024-01-02-00-00-00.log": 250,
		"conn.log": 350,
	} {
		if strings.HasPrefix(f, "conn") {
			writeFile(t, filepath.Join(dir, f), []byte(connLog(ts)))
		} else {
			writeFile(t, filepath.Join(dir, f), []byte(dnsLog(ts)))
		}
	}
	a, err := zeekreader.Walk([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range a.Chains {
		for _, f := range c.Files {
			got = append(got, filepath.Base(f))
		}
	}
	want := []string{"conn.2024-01-01-23-00-00.log", "conn.2024-01-02-00-00-00.log", "conn.log",
		"json_streaming_dns.10.log", "json_streaming_dns.2.log", "json_streaming_dns.1.log", "json_streaming_dns.log"}
	if !slices.Equal(got, want) {
		t.Errorf("chains' files %v\nwant %v", got, want)
	}
	wantMerged(t, a, "dns@100 conn@150 dns@200 conn@250 dns@300 conn@350 dns@400")
}

func TestPathFromName(t *testing.T) {
	for name, want := range map[string]string{
		"conn.log":                              "conn",
		"conn.09:00:00-10:00:00.log.gz":         "conn",
		"NASHUA_conn.log":                       "conn",
		"dns (7).log":                           "dns",
		"conn copy.log":                         "conn",
		"open_conn (2).log":                     "open_conn",
		"my capture.log":                        "my",
		"dns.log (1)":                           "dns",
		"/tmp/a b/conn.log":                     "conn",
		"http (1).09:00:00-10:00:00.log":        "http",
		"http.09:00:00-10:00:00 (1).log":        "http",
		"conn.log (1).gz":                       "conn",
		"conn-summary.00:00:00-01:00:00.log.gz": "conn-summary",
		"conn-bro22.log":                        "conn",
		"json_streaming_conn.log":               "conn",
		"json_streaming_conn.3.log":             "conn",
		"json_streaming_open_conn.1.log":        "open_conn",
		"json_streaming_conn":                   "conn", // a log's name, as Options.Path takes it
	} {
		if got := zeekreader.PathFromName(name); got != want {
			t.Errorf("PathFromName(%q) = %q, want %q", name, got, want)
		}
	}
}

// WalkRange reads the rows of a time range and opens only the files whose
// zeekctl names' hours can hold them: a row is logged after its ts, so a
// file closed before the range holds none; a file opened after its end
// holds only later rows, or rows of long connections logged more than
// Late after it. The names' hours are the sensor's local time, any zone's
// (UTC-12 to UTC+14). A file not read here is not gzip: opened, it would
// be a FileError.
func TestArchiveRestrict(t *testing.T) {
	day := func(s string) float64 {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return float64(tm.Unix())
	}
	dir := t.TempDir()
	junk := []byte("\x1f\x8b\x08 not gzip: opened, a FileError")
	for name, data := range map[string][]byte{
		"2024-01-01/conn.09:00:00-10:00:00.log.gz":     junk, // closed 22:00 UTC at the latest (UTC-12)
		"2024-01-01 (1)/conn.09:00:00-10:00:00.log.gz": junk,
		"2024-01-01/conn.11:00:00-12:00:00.log.gz":     gz([]byte(connLog(day("2024-01-01T11:30:00Z")))),
		// a long connection started before the range, logged in it
		"2024-01-02/conn.00:00:00-01:00:00.log.gz": gz([]byte(connLog(day("2024-01-01T23:50:00Z"), day("2024-01-02T00:10:00Z")))),
		// one logged 14h30 after its end (here, of a sensor at UTC+14, 30 minutes)
		"2024-01-03/conn.14:00:00-15:00:00.log.gz": gz([]byte(connLog(day("2024-01-02T23:30:00Z"), day("2024-01-03T14:10:00Z")))),
		"2024-01-03/conn.15:00:00-16:00:00.log.gz": gz([]byte(connLog(day("2024-01-03T15:10:00Z")))),
		"2024-01-03/conn.16:00:00-17:00:00.log.gz": junk, // opened 02:00 UTC at the earliest: past To+Late
		"flat/dns.log": []byte(dnsLog(day("2024-01-01T12:00:00Z"), day("2024-01-02T12:00:00Z"))),
	} {
		writeFile(t, filepath.Join(dir, name), data)
	}
	from, _ := time.Parse(time.RFC3339, "2024-01-02T00:00:00Z")
	a, err := zeekreader.WalkRange([]string{dir}, zeekreader.TimeRange{From: from, To: from.Add(24 * time.Hour), Late: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got := chainsOf(a); got != "conn:4 dns:1" {
		t.Errorf("chains %s, want conn's four files that may hold rows of the range, and dns", got)
	}
	if want := filepath.Join(dir, "2024-01-01 (1)", "conn.09:00:00-10:00:00.log.gz") + ": its name's hours are outside the time range, not read (and 2 more)"; len(a.Notes) != 1 || a.Notes[0] != want {
		t.Errorf("notes %q, want only %q (the two junk files alike were not hashed as copies)", a.Notes, want)
	}
	m := a.Open(false)
	defer m.Close()
	if got, want := merged(t, m), "conn@1704154200 dns@1704196800 conn@1704238200"; got != want {
		t.Errorf("merged = %s\nwant     %s", got, want)
	}
	if st := m.Stats(); st.Rows != 8 || st.Outside != 5 {
		t.Errorf("rows %d, outside %d; want 8 read, 5 of them outside", st.Rows, st.Outside)
	}
}

// Which zeekctl names WalkRange reads, for the range of 2024-01-02 (UTC)
// and an hour's lateness: those whose hours, in any zone, may hold its
// rows, and every name whose hours it cannot read.
func TestArchiveRestrictByName(t *testing.T) {
	for _, c := range []struct {
		name string
		read bool
	}{
		{"2024-01-01/conn.11:00:00-12:00:00.log.gz", true},  // closed 00:00 UTC at the latest
		{"2024-01-01/conn.10:00:00-11:00:00.log.gz", false}, // 23:00
		{"2024-01-01/conn.23:00:00-00:00:00.log.gz", true},  // closed on the next day
		{"2023-12-31/conn.00:00:00-00:00:00.log.gz", false}, // a daily rotation: closed 2024-01-01 12:00 at the latest
		{"2024-01-01/conn.00:00:00-00:00:00.log.gz", true},
		{"2024-01-01 (1)/conn.10:00:00-11:00:00.log.gz", false},
		{"2024-01-01/conn.10:00:00-11:00:00 (1).log.gz", false},
		{"2024-01-01/conn.10:00:00-11:00:00-logger-1.log.gz", false},
		{"2024-01-03/conn.15:00:00-16:00:00.log.gz", true}, // opened 01:00 UTC at the earliest: To+Late
		{"2024-01-03/conn.16:00:00-17:00:00.log.gz", false},
		{"2024-01-03/conn.16:00:00-17:00:00x.log.gz", true}, // not a rotation's hours
		{"2024-01-03/conn.16:00-17:00.log.gz", true},
		{"2024-01-03/conn.26:00:00-27:00:00.log.gz", true},
		{"2024-01-03/conn.log", true},
		{"2024-13-03/conn.16:00:00-17:00:00.log.gz", true},
		{"logs/conn.16:00:00-17:00:00.log.gz", true}, // no day
	} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, c.name), nil)
		from, _ := time.Parse(time.RFC3339, "2024-01-02T00:00:00Z")
		a, err := zeekreader.WalkRange([]string{dir}, zeekreader.TimeRange{From: from, To: from.Add(24 * time.Hour), Late: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(a.Files()) == 1; got != c.read {
			t.Errorf("%s: read %v, want %v", c.name, got, c.read)
		}
	}
}

// Zeek run without zeekctl, its logs rotated by logrotate(8) or by Zeek
// itself: every rotation of a log is one chain, read oldest first and the
// live file last. conn.log.1 was no log name (not read, noted), and
// conn.log.2.gz and conn.log-20241102.gz came after conn.log by name,
// their rows read back in time.
func TestArchiveLogrotateNames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string // oldest first, as a chain must read them
	}{
		{"rotate, compress", []string{"conn.log.3.gz", "conn.log.2.gz", "conn.log.1.gz", "conn.log"}},
		{"rotate, delaycompress", []string{"conn.log.3.gz", "conn.log.2.gz", "conn.log.1", "conn.log"}},
		{"rotate, start 0", []string{"conn.log.2.gz", "conn.log.1", "conn.log.0", "conn.log"}},
		{"rotate, no compress", []string{"conn.log.12", "conn.log.11", "conn.log.10", "conn.log.9", "conn.log.2", "conn.log.1", "conn.log"}},
		{"dateext, compress", []string{"conn.log-20241031.gz", "conn.log-20241101.gz", "conn.log-20241102.gz", "conn.log"}},
		{"dateext, delaycompress", []string{"conn.log-20241101.gz", "conn.log-20241102", "conn.log"}},
		{"dateformat -%Y-%m-%d-%s", []string{"conn.log-2024-11-01-1730419200", "conn.log-2024-11-02-1730505600.gz", "conn.log"}},
		{"dateext, extension .log", []string{"conn-20241101.log.gz", "conn-20241102.log", "conn.log"}},
		{"JSON logs", []string{"conn.json.2.gz", "conn.json.1", "conn.json"}},
		{"Zeek's own rotation (Log::default_rotation_date_format)", []string{
			"conn.2024-11-02-09-00-00.log.gz", "conn.2024-11-02-10-00-00.log", "conn.log"}},
		{"a sensor's prefix", []string{"NASHUA_conn.log.2.gz", "NASHUA_conn.log.1", "NASHUA_conn.log"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var want []string
			for i, f := range tc.files {
				b := []byte(connLog(float64(100 * (i + 1))))
				if strings.HasSuffix(f, ".gz") {
					b = gz(b)
				}
				writeFile(t, filepath.Join(dir, f), b)
				want = append(want, fmt.Sprintf("conn@%d", 100*(i+1)))
			}
			a, err := zeekreader.Walk([]string{dir})
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Chains) != 1 {
				t.Fatalf("chains %+v, want one", a.Chains)
			}
			var got []string
			for _, f := range a.Chains[0].Files {
				got = append(got, filepath.Base(f))
			}
			if !slices.Equal(got, tc.files) {
				t.Errorf("chain %v\nwant  %v", got, tc.files)
			}
			if len(a.Notes) > 0 {
				t.Errorf("notes %v", a.Notes)
			}
			wantMerged(t, a, strings.Join(want, " "))
		})
	}
}

// A link to a directory is walked as the directory: zeekctl's
// logs/current is a link to spool/zeek, and `score logs/current` found
// no log ("no conn, dns, http or ssl logs under"), `score logs` left its
// live files out. A link back up (a loop) ends, each file read once.
func TestArchiveLinkedDirectory(t *testing.T) {
	root := t.TempDir()
	logs := filepath.Join(root, "logs")
	writeFile(t, filepath.Join(logs, "2024-01-01", "conn.10:00:00-11:00:00.log.gz"), gz([]byte(connLog(100))))
	writeFile(t, filepath.Join(root, "spool", "zeek", "conn.log"), []byte(connLog(200)))
	writeFile(t, filepath.Join(root, "spool", "zeek", "dns.log"), []byte(dnsLog(300)))
	if err := os.Symlink(filepath.Join("..", "spool", "zeek"), filepath.Join(logs, "current")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(logs, "2024-01-01", "up")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{[]string{filepath.Join(logs, "current")}, "conn@200 dns@300"},
		{[]string{logs}, "conn@100 conn@200 dns@300"},
		{[]string{logs, filepath.Join(logs, "current")}, "conn@100 conn@200 dns@300"},
	} {
		a, err := zeekreader.Walk(tc.paths)
		if err != nil {
			t.Fatal(err)
		}
		wantMerged(t, a, tc.want)
	}
}
