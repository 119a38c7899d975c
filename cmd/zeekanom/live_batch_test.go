package main

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Live equals batch at the level users see: the same conn.log followed by
// `run --drain` as Zeek's live file, and scored by `score`, gives the same
// notices (same ids, same documents).
func TestLiveEqualsBatchNotices(t *testing.T) {
	for _, src := range []string{"trickbot/conn.log.gz", "nashua/NASHUA_conn.log.gz", "cerber/conn.log.gz"} {
		t.Run(filepath.Dir(src), func(t *testing.T) {
			logdir := t.TempDir()
			live := filepath.Join(logdir, "conn.log") // the follower reads plain live files
			gunzipTo(t, filepath.Join("..", "..", "testdata", "detectors", src), live)

			liveOut := filepath.Join(t.TempDir(), "live.ndjson")
			if code, _, errs := runCLI(t, "run", "--logdir", logdir, "--state-dir", t.TempDir(),
				"-o", liveOut, "--metrics", "off", "--drain", "--flush"); code != 0 {
				t.Fatalf("run --drain: exit %d: %s", code, errs)
			}
			code, batch, errs := runCLI(t, "score", "-q", live)
			if code != 0 {
				t.Fatalf("score: exit %d: %s", code, errs)
			}
			b, _ := os.ReadFile(liveOut)
			l, s := sortedLines(string(b)), sortedLines(batch)
			if len(s) == 0 {
				t.Fatal("batch scoring produced no notices: the comparison would prove nothing")
			}
			if strings.Join(l, "\n") != strings.Join(s, "\n") {
				t.Errorf("live (%d notices) and batch (%d notices) differ", len(l), len(s))
			}
		})
	}
}

func sortedLines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

func gunzipTo(t *testing.T, src, dst string) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
}
