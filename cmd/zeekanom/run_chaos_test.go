package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/zeekreader"
	"github.com/zeekanom/zeekanom/zeekreader/follow"
)

// countingDetector is a Stateful detector that records every conn row it
// is handed; its snapshot travels in the run's checkpoint.
type countingDetector struct {
	Seen     map[string]int `json:"seen"`
	Dups     int            `json:"dups"`
	observed atomic.Int64
}

func (c *countingDetector) Name() string                      { return "count" }
func (c *countingDetector) Kinds() []zeekreader.Kind          { return []zeekreader.Kind{zeekreader.KindConn} }
func (c *countingDetector) Advance(time.Time, detectors.Emit) {}
func (c *countingDetector) Flush(detectors.Emit)              {}
func (c *countingDetector) Observe(ev *zeekreader.Event) {
	uid := string(ev.Conn.UID)
	if c.Seen[uid] > 0 {
		c.Dups++
	}
	c.Seen[uid]++
	c.observed.Add(1)
}
func (c *countingDetector) Snapshot() ([]byte, error) { return json.Marshal(c) }
func (c *countingDetector) Restore(b []byte) error    { return json.Unmarshal(b, c) }

// rotatingWriter appends real conn rows (unique uids) and rotates like
// Zeek + zeekctl: rename, new file, gzip into archive/YYYY-MM-DD.
type rotatingWriter struct {
	t       *testing.T
	dir     string
	header  string
	rows    []string
	n       int
	clock   time.Time
	written []string
	rows0   []string // the rows written, in order, as written
}

func newRotatingWriter(t *testing.T, dir string) *rotatingWriter {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "follow", "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	return newRotatingWriterOf(t, dir, b)
}

// newRotatingWriterOf writes the rows of the given log text.
func newRotatingWriterOf(t *testing.T, dir string, b []byte) *rotatingWriter {
	w := &rotatingWriter{t: t, dir: dir, clock: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if strings.HasPrefix(l, "#") {
			w.header += l + "\n"
		} else {
			w.rows = append(w.rows, l)
		}
	}
	return w
}

// cerberWriter is a rotatingWriter of the Cerber capture's rows (a UDP
// sweep: scan and beacon notices) into dir.
func cerberWriter(t *testing.T, dir string) *rotatingWriter {
	plain := filepath.Join(t.TempDir(), "cerber.log")
	gunzipTo(t, filepath.Join("..", "..", "testdata", "detectors", "cerber", "conn.log.gz"), plain)
	src, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	return newRotatingWriterOf(t, dir, src)
}

func (w *rotatingWriter) live() string { return filepath.Join(w.dir, "conn.log") }

func (w *rotatingWriter) append(n int) {
	var b strings.Builder
	if _, err := os.Stat(w.live()); err != nil {
		b.WriteString(strings.Replace(w.header, "#open\t", "#open\t"+w.clock.Format("2006-01-02-15-04-05")+"x", 1))
	}
	for range n {
		f := strings.Split(w.rows[w.n%len(w.rows)], "\t")
		f[1] = fmt.Sprintf("C%09d", w.n)
		// Each pass over the rows is an hour later, so time moves on.
		if ts, err := strconv.ParseFloat(f[0], 64); err == nil {
			f[0] = strconv.FormatFloat(ts+3600*float64(w.n/len(w.rows)), 'f', 6, 64)
		}
		w.written = append(w.written, f[1])
		w.n++
		row := strings.Join(f, "\t")
		w.rows0 = append(w.rows0, row)
		b.WriteString(row + "\n")
	}
	f, err := os.OpenFile(w.live(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		w.t.Fatal(err)
	}
	f.WriteString(b.String())
	f.Close()
}

func (w *rotatingWriter) rotate(gz bool) {
	if _, err := os.Stat(w.live()); err != nil {
		return
	}
	stamp := w.clock
	w.clock = w.clock.Add(time.Hour)
	renamed := filepath.Join(w.dir, "conn."+stamp.Format("2006-01-02-15-04-05")+".log")
	if err := os.Rename(w.live(), renamed); err != nil {
		w.t.Fatal(err)
	}
	if !gz {
		return
	}
	day := filepath.Join(filepath.Dir(w.dir), stamp.Format("2006-01-02"))
	os.MkdirAll(day, 0o755)
	b, _ := os.ReadFile(renamed)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	dst := filepath.Join(day, "conn."+stamp.Format("15:04:05")+"-"+w.clock.Format("15:04:05")+".log.gz")
	os.WriteFile(dst, z.Bytes(), 0o644)
	os.Remove(renamed)
}

// TestRunChaosKill drives the real run loop (follower, engine, outputs,
// checkpoints) with a counting Stateful detector while a Zeek-like writer
// rotates and gzips, killing the run abruptly (no final flush or
// checkpoint) many times. The detector state restored from the last
// checkpoint has seen every row exactly once. "in step" waits for each
// append to be read before the next; "writer's pace" writes and rotates
// on its own clock (as Zeek does) while the run reads, so rotations
// overtake the follower (files written and rotated away before it looks).
func TestRunChaosKill(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test")
	}
	t.Run("in step", func(t *testing.T) { chaosKill(t, false) })
	t.Run("writer's pace", func(t *testing.T) { chaosKill(t, true) })
}

func chaosKill(t *testing.T, paced bool) {
	root := t.TempDir()
	logdir := filepath.Join(root, "current")
	os.MkdirAll(logdir, 0o755)
	state := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "zeekanom.toml")
	os.WriteFile(cfgPath, []byte("[input]\npoll_interval = \"10ms\"\nlogs = [\"conn\"]\n[state]\ncheckpoint_interval = \"15ms\"\n"), 0o644)
	w := newRotatingWriter(t, logdir)
	var logs syncBuffer // the runs' logs, shown when rows go missing
	rng := rand.New(rand.NewPCG(9, 9))
	fl := runFlags{config: cfgPath, logdir: logdir, stateDir: state, out: filepath.Join(root, "n.ndjson"),
		metrics: "off", set: map[string]bool{"metrics": true}}

	start := func(drain bool) (*runner, *countingDetector, context.CancelFunc, chan error) {
		fl := fl
		fl.drain = drain
		fmt.Fprintf(&logs, "--- start (drain %v), %d rows written so far\n", drain, len(w.written))
		r, err := newRunner(context.Background(), fl, io.Discard, &logs)
		if err != nil {
			t.Fatal(err)
		}
		c := &countingDetector{Seen: map[string]int{}}
		r.dets = []detectors.Detector{c}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.run(ctx) }()
		return r, c, cancel, done
	}
	step := func() bool {
		if rng.IntN(10) == 0 {
			w.rotate(rng.IntN(2) == 0)
			fmt.Fprintf(&logs, "--- rotated at %d rows\n", len(w.written))
			return false
		}
		w.append(1 + rng.IntN(40))
		return true
	}
	kills := 0
	for i := 0; i < 25; i++ {
		for n := rng.IntN(4); n > 0 && i > 0; n-- {
			step() // while down (the very first start reads the live file only)
		}
		r, c, cancel, done := start(false)
		if paced {
			for until := time.Now().Add(time.Duration(20+rng.IntN(150)) * time.Millisecond); time.Now().Before(until); {
				step()
				<-time.After(time.Duration(rng.IntN(8)) * time.Millisecond) // the writer's pace
			}
		}
		for n := rng.IntN(6); n > 0 && !paced; n-- {
			want := c.observed.Load() + 1
			if !step() { // while running
				continue
			}
			// a deadline, not a wait: generous for a loaded CI machine
			// (2 s failed once while other packages' tests ran)
			deadline := time.Now().Add(10 * time.Second)
			for c.observed.Load() < want && time.Now().Before(deadline) {
				select {
				case err := <-done:
					t.Fatalf("run exited: %v", err)
				case <-time.After(2 * time.Millisecond):
				}
			}
			if c.observed.Load() < want {
				t.Fatalf("run %d: appended rows not read within 10s; files: %v", i, lsR(root))
			}
		}
		r.abandon.Store(true) // kill -9: no final flush, no checkpoint
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		kills++
	}
	// Final run: drain and checkpoint properly.
	_, _, cancel, done := start(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cancel()
	st, err := follow.LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	var c countingDetector
	snap, err := st.Snapshot("count")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(snap, &c); err != nil {
		t.Fatal(err)
	}
	bad := 0
	var missing []string
	for _, u := range w.written {
		if c.Seen[u] != 1 {
			bad++
			missing = append(missing, fmt.Sprintf("%s×%d", u, c.Seen[u]))
		}
	}
	if bad > 0 {
		t.Logf("rows not seen exactly once: %v\nlogs:\n%s", missing, logs.String())
	}
	if c.Dups != 0 || bad != 0 || len(c.Seen) != len(w.written) {
		t.Fatalf("%d rows written, %d distinct handed to the detector, %d duplicates, %d not exactly once",
			len(w.written), len(c.Seen), c.Dups, bad)
	}
	t.Logf("%d rows, %d kills, every row handed to the detector exactly once", len(w.written), kills)
}

func lsR(root string) []string {
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			out = append(out, fmt.Sprintf("%s:%d", strings.TrimPrefix(p, root), fi.Size()))
		}
		return nil
	})
	return out
}
