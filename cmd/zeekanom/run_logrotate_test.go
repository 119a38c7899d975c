package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// Zeek run without zeekctl, its logs rotated by logrotate (rename and
// create, the postrotate script restarting Zeek): run --drain now and then
// gives score's notices of the same logs whole, whatever the rotations
// between two drains, and so does score over the rotated directory.
func TestRunFollowsLogrotate(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "jsonvariants", "tsv")
	code, scored, errs := runCLI(t, "score", src)
	if code != 0 {
		t.Fatalf("score: exit %d: %s", code, errs)
	}
	want := strings.Split(strings.TrimSpace(scored), "\n")
	slices.Sort(want)
	for _, conf := range []string{"rotate", "compress delaycompress", "dateext compress"} {
		for _, drainAt := range [][]int{{0, 1, 2, 3}, {1, 3}, {3}} {
			dir := t.TempDir()
			got := followLogrotated(t, src, dir, conf, drainAt)
			if !slices.Equal(got, want) {
				t.Errorf("%s, drains after periods %v: %d notices\n%s\nscore: %d\n%s", conf, drainAt,
					len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
			}
			code, scoredRotated, errs := runCLI(t, "score", filepath.Join(dir, "logs"))
			got = strings.Split(strings.TrimSpace(scoredRotated), "\n")
			slices.Sort(got)
			if code != 0 || !slices.Equal(got, want) {
				t.Errorf("%s: score of the rotated logs: exit %d, %d notices, want %d: %s", conf, code, len(got), len(want), errs)
			}
		}
	}
}

// followLogrotated writes the logs of src into dir/logs in four periods of
// their rows (by the conn log's ts), logrotate rotating every log between
// two as conf says, and runs run --drain after the periods drainAt names;
// it returns the notices, the last of each event.id, sorted.
func followLogrotated(t *testing.T, src, dir, conf string, drainAt []int) []string {
	t.Helper()
	logdir := filepath.Join(dir, "logs")
	os.MkdirAll(logdir, 0o755)
	cfg := filepath.Join(dir, "zeekanom.toml")
	os.WriteFile(cfg, []byte("[input]\nlogdir = \"logs\"\n"), 0o644)
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "notices.ndjson")
	logs := []string{"conn", "dns", "http", "ssl"}
	periods := map[string][4][]byte{}
	var bounds []float64
	for _, l := range logs {
		b, err := os.ReadFile(filepath.Join(src, l+".log"))
		if err != nil {
			t.Fatal(err)
		}
		var hdr []byte
		var rows [][]byte
		for _, line := range bytes.SplitAfter(b, []byte("\n")) {
			switch {
			case len(line) == 0 || bytes.HasPrefix(line, []byte("#close")):
			case line[0] == '#':
				hdr = append(hdr, line...)
			default:
				rows = append(rows, line)
			}
		}
		if l == "conn" {
			for i := 1; i < 4; i++ {
				ts, _ := strconv.ParseFloat(string(bytes.SplitN(rows[i*len(rows)/4], []byte("\t"), 2)[0]), 64)
				bounds = append(bounds, ts)
			}
		}
		// each period's file opened at its own time, as Zeek's rotation
		// writes it: with one #open line, a period's file of a log with
		// few rows (a header and a row or two) was a prefix of the others
		// and the follower took the rotated files for copies of one file
		// (a first start after three rotations read 103 of 178 rows)
		var p [4][]byte
		for k := range p {
			p[k] = bytes.Replace(slices.Clone(hdr), []byte("#open\t2025-11-23-10-"), []byte(fmt.Sprintf("#open\t2025-11-23-1%d-", k)), 1)
		}
		for _, r := range rows {
			ts, _ := strconv.ParseFloat(string(bytes.SplitN(r, []byte("\t"), 2)[0]), 64)
			k, _ := slices.BinarySearch(bounds, ts)
			p[k] = append(p[k], r...)
		}
		periods[l] = p
	}
	for k := range 4 {
		for _, l := range logs {
			live := filepath.Join(logdir, l+".log")
			if k > 0 {
				logrotateRename(t, live, conf, k)
			}
			if err := os.WriteFile(live, periods[l][k], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if slices.Contains(drainAt, k) {
			drain(t, cfg, state, out, k == 3) // the last period: the input is over
		}
	}
	return sortedNotices(t, out)
}

// logrotateRename rotates live as logrotate does at its k-th rotation:
// the older rotations numbered one up (dateext: a name of the k-th day),
// live renamed, and with compress the new rotation gzipped (delaycompress:
// the one before it).
func logrotateRename(t *testing.T, live, conf string, k int) {
	t.Helper()
	rotated, older := live+".1", live+".2"
	if strings.Contains(conf, "dateext") {
		rotated, older = live+fmt.Sprintf("-202411%02d", k), live+fmt.Sprintf("-202411%02d", k-1)
	} else {
		for n := k; n > 0; n-- {
			for _, gz := range []string{"", ".gz"} {
				os.Rename(fmt.Sprintf("%s.%d%s", live, n, gz), fmt.Sprintf("%s.%d%s", live, n+1, gz))
			}
		}
	}
	if err := os.Rename(live, rotated); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(conf, "compress") {
		return
	}
	gz := rotated
	if strings.Contains(conf, "delaycompress") {
		gz = older
	}
	b, err := os.ReadFile(gz)
	if os.IsNotExist(err) {
		return // none yet
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	if err := os.WriteFile(gz+".gz", z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(gz)
}
