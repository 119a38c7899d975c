package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/output/notice"
)

// TestRunSIGKILLEqualsBatch runs the real binary as a sidecar beside a
// Zeek-like writer (appends real rows, rotates by rename, gzips rotated
// files into the zeekctl archive) and kills it with SIGKILL at random
// moments, many times. At the end the notices it wrote, de-duplicated by
// event.id as Elasticsearch does, are exactly those `score` gives for the
// same rows in batch.
func TestRunSIGKILLEqualsBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test with the real binary")
	}
	bin := buildBinary(t)
	root := t.TempDir()
	logdir := filepath.Join(root, "current")
	os.MkdirAll(logdir, 0o755)
	state, notices := t.TempDir(), filepath.Join(root, "notices.ndjson")
	cfg := filepath.Join(root, "zeekanom.toml")
	os.WriteFile(cfg, []byte("[input]\npoll_interval = \"20ms\"\nlogs = [\"conn\"]\n[state]\ncheckpoint_interval = \"50ms\"\n"), 0o644)
	args := []string{"run", "-c", cfg, "--logdir", logdir, "--state-dir", state, "-o", notices, "--metrics", "off"}

	// Rows of the Cerber capture (a UDP sweep: scan notices), repeated
	// with fresh uids.
	w := cerberWriter(t, logdir)
	w.append(50) // the first start reads it, even when the writer rotates it at once
	rng := rand.New(rand.NewPCG(11, 3))
	kills := 0
	var logs strings.Builder // the runs' warnings, shown on failure
	for i := 0; i < 20; i++ {
		cmd := exec.Command(bin, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Write while it runs, then kill it at a random moment.
		until := time.Now().Add(time.Duration(50+rng.IntN(250)) * time.Millisecond)
		for time.Now().Before(until) {
			if rng.IntN(12) == 0 {
				w.rotate(rng.IntN(2) == 0)
			} else {
				w.append(1 + rng.IntN(60))
			}
			<-time.After(time.Duration(rng.IntN(15)) * time.Millisecond) // the writer's pace
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		for _, l := range strings.Split(stderr.String(), "\n") {
			if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") || strings.Contains(l, "resuming") {
				logs.WriteString(l + "\n")
			}
		}
		fmt.Fprintf(&logs, "--- killed run %d at %d rows written\n", i, len(w.written))
		kills++
		if rng.IntN(3) == 0 { // and write while it is down
			w.append(1 + rng.IntN(100))
			w.rotate(true)
		}
	}
	out, err := exec.Command(bin, append(args, "--drain", "--flush")...).CombinedOutput()
	if err != nil {
		t.Fatalf("final drain: %v\n%s", err, out)
	}
	fmt.Fprintf(&logs, "--- drain at %d rows written:\n%s", len(w.written), out)

	// The same rows, in the order written, scored in batch.
	batchLog := filepath.Join(t.TempDir(), "conn.log")
	var all strings.Builder
	all.WriteString(w.header)
	for _, row := range w.rows0 {
		all.WriteString(row + "\n")
	}
	os.WriteFile(batchLog, []byte(all.String()), 0o644)
	code, batch, errs := runCLI(t, "score", "-q", batchLog)
	if code != 0 {
		t.Fatalf("score: %s", errs)
	}
	want := noticeIDs(t, strings.NewReader(batch))
	f, err := os.Open(notices)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := noticeIDs(t, f)
	if len(want) == 0 {
		t.Fatal("batch gave no notices: the comparison would prove nothing")
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		lb, _ := os.ReadFile(notices)
		t.Errorf("after %d SIGKILLs: live notices %d distinct, batch %d\nonly batch: %v\nonly live: %v\n%s", kills, len(got), len(want),
			onlyIn(batch, string(lb)), onlyIn(string(lb), batch), logs.String())
	}
	t.Logf("%d rows, %d SIGKILLs, %d notices equal to batch", len(w.written), kills, len(want))
}

// noticeIDs reads NDJSON notices and returns their distinct ids, sorted;
// a line that is not a whole notice fails the test (outputs must never be
// corrupted, even by SIGKILL).
func noticeIDs(t *testing.T, r interface{ Read([]byte) (int, error) }) []string {
	t.Helper()
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var n notice.Notice
		if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
			t.Fatalf("corrupt notice line: %v: %.200s", err, sc.Text())
		}
		seen[n.ID] = true
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// onlyIn lists the notices of a (NDJSON) whose ids b lacks, briefly.
func onlyIn(a, b string) []string {
	ids := map[string]bool{}
	for _, l := range strings.Split(b, "\n") {
		var n notice.Notice
		if json.Unmarshal([]byte(l), &n) == nil {
			ids[n.ID] = true
		}
	}
	var out []string
	for _, l := range strings.Split(a, "\n") {
		var n notice.Notice
		if json.Unmarshal([]byte(l), &n) == nil && !ids[n.ID] {
			ids[n.ID] = true
			out = append(out, fmt.Sprintf("%s %s>%s %s-%s %s", n.Rule, n.Source, n.Destination, n.Start.Format("01-02T15:04:05"), n.End.Format("01-02T15:04:05"), n.Message))
		}
	}
	return out
}
