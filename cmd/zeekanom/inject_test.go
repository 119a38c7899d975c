package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// With two weeks of replayed history the detectors that learn a host's
// days judge the planted day: the off-hours and exfiltration plants are
// found (without history neither can be: contextual waits for min_days,
// exfil's prior has fewer than min_history windows).
func TestInjectHistoryEval(t *testing.T) {
	dir := t.TempDir()
	benign := filepath.Join("..", "..", "testdata", "detectors", "benign", "evanswj")
	injected := filepath.Join(dir, "injected")
	code, out, errs := runCLI(t, "inject", "--kinds", "exfil,offhours", "--history-days", "14", "-o", injected, benign)
	if code != 0 {
		t.Fatalf("inject: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "history   14 days: 14 copies every 1 day, ") {
		t.Errorf("inject output has no history line:\n%s", out)
	}
	recall := classRecall(t, injected)
	for _, k := range []string{"exfil", "offhours"} {
		if got := recall["From_malicious-Injected-"+k]; got == 0 {
			t.Errorf("%s: host-window recall 0 with 14 days of history", k)
		}
	}
}

// classRecall runs eval on dir: the host-window recall of every class.
func classRecall(t *testing.T, dir string) map[string]float64 {
	t.Helper()
	report := filepath.Join(t.TempDir(), "eval.json")
	if code, _, errs := runCLI(t, "eval", "--json", report, dir); code != 0 {
		t.Fatalf("eval: exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		ByClass map[string]struct {
			HostWindow struct{ Recall float64 } `json:"host_window"`
		} `json:"by_class"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	recall := map[string]float64{}
	for c, v := range r.ByClass {
		recall[c] = v.HostWindow.Recall
	}
	return recall
}

func TestInjectNegativeHistory(t *testing.T) {
	code, _, errs := runCLI(t, "inject", "--history-days", "-1", "-o", t.TempDir(), filepath.Join("..", "..", "testdata", "demo"))
	if code == 0 || !strings.Contains(errs, "--history-days") {
		t.Errorf("exit %d, stderr %q: want a clear error", code, errs)
	}
}

// dga@D slows the walk to a query every D on average; a bad D is a usage
// error.
func TestInjectDGAInterval(t *testing.T) {
	benign := filepath.Join("..", "..", "testdata", "iforest", "proxy_rolling") // conn and dns (gzip)
	for _, bad := range []string{"dga@-1s", "dga@0s", "dga@soon"} {
		code, _, errs := runCLI(t, "inject", "--kinds", bad, "-o", t.TempDir(), benign)
		if code == 0 || !strings.Contains(errs, bad) {
			t.Errorf("%s: exit %d, stderr %q: want a clear error", bad, code, errs)
		}
	}
	code, out, errs := runCLI(t, "inject", "--kinds", "dga@60s", "-o", t.TempDir(), benign)
	if code != 0 {
		t.Fatalf("inject: exit %d: %s", code, errs)
	}
	i := strings.Index(out, "dga ")
	if i < 0 {
		t.Fatalf("no dga line in %q", out)
	}
	f := strings.Fields(out[i:]) // dga host H peer P START .. END conn N dns N
	from, err1 := time.Parse(time.RFC3339, f[5])
	to, err2 := time.Parse(time.RFC3339, f[7])
	if err1 != nil || err2 != nil {
		t.Fatalf("dga line %q", out[i:])
	}
	if span := to.Sub(from); span < 3*time.Hour || span > 8*time.Hour {
		t.Errorf("dga@60s walk spans %v (%s .. %s), want 4-7 hours", span, f[5], f[7])
	}
}

// dga is planted only when named; named after the default kinds it leaves
// their rows as they are, and eval scores it as its own class (dns.dga
// finds it).
func TestInjectDGA(t *testing.T) {
	dir := t.TempDir()
	benign := filepath.Join("..", "..", "testdata", "iforest", "proxy_rolling") // conn and dns (gzip)
	def, with := filepath.Join(dir, "default"), filepath.Join(dir, "dga")
	if code, _, errs := runCLI(t, "inject", "-o", def, benign); code != 0 {
		t.Fatalf("inject: exit %d: %s", code, errs)
	}
	code, out, errs := runCLI(t, "inject", "--kinds", "scan,dos,beacon,dnstunnel,exfil,offhours,dga", "-o", with, benign)
	if code != 0 {
		t.Fatalf("inject: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "\ndga ") {
		t.Errorf("no dga line in:\n%s", out)
	}
	for _, f := range []string{"conn.log.gz", "dns.log.gz"} {
		a, b := gunzipFile(t, filepath.Join(def, f)), gunzipFile(t, filepath.Join(with, f))
		var kept []string
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if !strings.Contains(l, "Injected-dga") {
				kept = append(kept, l)
			}
		}
		if strings.Join(kept, "") != string(a) || len(a) == len(b) {
			t.Errorf("%s: default kinds changed by dga, or no dga rows", f)
		}
	}
	if r, ok := classRecall(t, with)["From_malicious-Injected-dga"]; !ok || r == 0 {
		t.Errorf("dga class missing or missed (dns.dga should fire on the burst): recall %v", r)
	}
}

func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "out")
	gunzipTo(t, path, dst)
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A zeekctl archive of hourly gzip files in date folders is injected as
// one log and written back in its layout: each planted row in the file of
// its hour, labelled, the same rows as the same days injected as one
// file, and score of the output leaves out no more rows as late than
// score of the one-file injection.
func TestInjectArchive(t *testing.T) {
	dir := t.TempDir()
	archive, flat := filepath.Join(dir, "logs"), filepath.Join(dir, "flat")
	inputs := splitHourly(t, filepath.Join("..", "..", "testdata", "detectors", "trickbot", "conn.log.gz"), archive, flat,
		time.Date(2018, 11, 4, 0, 0, 0, 0, time.UTC))
	if len(inputs) < 40 {
		t.Fatalf("%d hour files, want about 48", len(inputs))
	}
	kinds := "scan,dos,beacon,exfil,offhours"
	outA, outF := filepath.Join(dir, "inj-archive"), filepath.Join(dir, "inj-flat")
	if code, _, errs := runCLI(t, "inject", "--kinds", kinds, "-o", outA, archive); code != 0 {
		t.Fatalf("inject archive: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(t, "inject", "--kinds", kinds, "-o", outF, flat); code != 0 {
		t.Fatalf("inject flat: exit %d: %s", code, errs)
	}
	var got []string
	filepath.WalkDir(outA, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(outA, p)
			got = append(got, rel)
		}
		return nil
	})
	if strings.Join(got, " ") != strings.Join(inputs, " ") {
		t.Fatalf("layout not kept:\n got %v\nwant %v", got, inputs)
	}
	planted := map[string]int{} // planted lines, archive minus flat
	for _, rel := range inputs {
		raw, err := os.ReadFile(filepath.Join(outA, rel))
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
			t.Errorf("%s: not gzip, as its input was", rel)
		}
		open, err := time.Parse("2006-01-02 15:04:05", filepath.Dir(rel)+" "+strings.Split(filepath.Base(rel), ".")[1][:8])
		if err != nil {
			t.Fatal(err)
		}
		prev := 0.0
		for _, l := range strings.Split(string(gunzipFile(t, filepath.Join(outA, rel))), "\n") {
			if l == "" || l[0] == '#' {
				continue
			}
			f := strings.Split(l, "\t")
			if lab := f[len(f)-2]; lab != "Malicious" {
				if lab != "benign" {
					t.Fatalf("%s: row labelled %q", rel, lab)
				}
				continue
			}
			planted[l]++
			ts, _ := strconv.ParseFloat(f[0], 64)
			if at := time.Unix(int64(ts), 0).UTC(); at.Before(open) || !at.Before(open.Add(time.Hour)) {
				t.Errorf("%s: planted row of %s", rel, at)
			}
			if ts < prev {
				t.Errorf("%s: planted rows out of ts order", rel)
			}
			prev = ts
		}
	}
	n := 0
	for _, l := range strings.Split(string(mustRead(t, filepath.Join(outF, "conn.log"))), "\n") {
		if strings.Contains(l, "\tMalicious\t") {
			planted[l]--
			n++
		}
	}
	for l, c := range planted {
		if c != 0 {
			t.Fatalf("planted row in the archive %+d times more than in the one-file injection: %s", c, l)
		}
	}
	if n < 600 {
		t.Fatalf("%d planted rows", n)
	}
	lateA, lateF := scoreLate(t, outA), scoreLate(t, outF)
	t.Logf("%d planted rows in %d files; rows late: archive %v, one file %v", n, len(inputs), lateA, lateF)
	for det, a := range lateA {
		if a > lateF[det] {
			t.Errorf("%s: %d rows late in the injected archive, %d in the one-file injection", det, a, lateF[det])
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// splitHourly writes the rows of a TSV log before until as zeekctl
// archives them (a gzip file an hour in date folders, each row in the
// hour its connection ends, in the log's order) under archive, and their
// concatenation as flat/conn.log; it returns the archive's files.
func splitHourly(t *testing.T, src, archive, flat string, until time.Time) []string {
	t.Helper()
	var header []string
	hours := map[time.Time][]string{}
	var order []time.Time
	for _, l := range strings.Split(string(gunzipFile(t, src)), "\n") {
		if strings.HasPrefix(l, "#") {
			if !strings.HasPrefix(l, "#close") && len(hours) == 0 {
				header = append(header, l)
			}
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) < 9 {
			continue
		}
		ts, _ := strconv.ParseFloat(f[0], 64)
		dur, _ := strconv.ParseFloat(f[8], 64) // "-": 0
		if ts >= float64(until.Unix()) {
			continue
		}
		h := time.Unix(int64(ts+dur), 0).UTC().Truncate(time.Hour)
		if hours[h] == nil {
			order = append(order, h)
		}
		hours[h] = append(hours[h], l)
	}
	slices.SortFunc(order, func(a, b time.Time) int { return a.Compare(b) })
	var files []string
	var all []string
	for _, h := range order {
		rel := filepath.Join(h.Format("2006-01-02"), "conn."+h.Format("15:04:05")+"-"+h.Add(time.Hour).Format("15:04:05")+".log.gz")
		body := strings.Join(append(append([]string(nil), header...), hours[h]...), "\n") + "\n"
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write([]byte(body))
		zw.Close()
		p := filepath.Join(archive, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, zb.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, rel)
		all = append(all, hours[h]...)
	}
	os.MkdirAll(flat, 0o755)
	if err := os.WriteFile(filepath.Join(flat, "conn.log"), []byte(strings.Join(append(header, all...), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return files
}

// scoreLate runs score on dir: the rows each detector left out as late.
func scoreLate(t *testing.T, dir string) map[string]int {
	t.Helper()
	code, out, errs := runCLI(t, "score", "-o", filepath.Join(t.TempDir(), "notices.log"), dir)
	if code != 0 {
		t.Fatalf("score %s: exit %d: %s", dir, code, errs)
	}
	late := map[string]int{}
	const mark = "left out by it (mostly conn rows of long connections, logged when they end): "
	for _, l := range strings.Split(out+errs, "\n") {
		if _, list, ok := strings.Cut(l, mark); ok {
			for _, item := range strings.Split(list, ", ") {
				det, n, _ := strings.Cut(item, " ")
				late[det], _ = strconv.Atoi(n)
			}
		}
	}
	return late
}

// What inject refuses on an archive, saying why: replayed history (made
// for a capture), and hour files of a log with different columns.
func TestInjectArchiveRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		edit func(archive string, files []string)
		want string
	}{
		{"history", []string{"--history-days", "2"}, func(string, []string) {}, "--history-days takes a capture"},
		{"columns", nil, func(archive string, files []string) {
			p := filepath.Join(archive, files[1])
			b := strings.Replace(string(gunzipFile(t, p)), "\tip_proto", "\tipproto", 1)
			var zb bytes.Buffer
			zw := gzip.NewWriter(&zb)
			zw.Write([]byte(b))
			zw.Close()
			if err := os.WriteFile(p, zb.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "its columns are not those of"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			archive := filepath.Join(dir, "logs")
			files := splitHourly(t, filepath.Join("..", "..", "testdata", "detectors", "trickbot", "conn.log.gz"), archive, filepath.Join(dir, "flat"),
				time.Date(2018, 11, 2, 6, 0, 0, 0, time.UTC))
			c.edit(archive, files)
			args := append(append([]string{"inject", "--kinds", "scan"}, c.args...), "-o", filepath.Join(dir, "out"), archive)
			if code, _, errs := runCLI(t, args...); code == 0 || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, stderr %q: want an error saying %q", code, errs, c.want)
			}
		})
	}
}
