package follow

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// counter is a stand-in for a Stateful detector: it counts every row handed
// to it, and its snapshot travels in the checkpoint with the positions.
type counter struct {
	Seen map[string]int `json:"seen"`
	Dups int            `json:"dups"`
}

func (c *counter) observe(uid string) {
	if c.Seen[uid] > 0 {
		c.Dups++
	}
	c.Seen[uid]++
}

// TestChaosKillRestart runs a Zeek-like writer (real rows, rotation by
// rename, gzip into the archive) while the follower is killed abruptly (no
// final checkpoint, like kill -9) and restarted from its last checkpoint
// many times. In the end the counter, restored from checkpoints, has seen
// every written row exactly once.
func TestChaosKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test")
	}
	root := t.TempDir()
	stateDir := t.TempDir()
	w := newZeekWriter(t, root, false)
	tick := make(chan struct{})
	writerDone := make(chan struct{})
	const steps = 800
	go func() {
		defer close(writerDone)
		defer w.Close()
		rng := rand.New(rand.NewPCG(7, 11))
		var renamed []string
		for i := 0; i < steps; i++ {
			<-tick
			switch r := rng.IntN(30); {
			case r == 0:
				renamed = append(renamed, w.Rotate())
			case r <= 2 && len(renamed) > 0:
				w.Archive(renamed[0])
				renamed = renamed[1:]
			case r == 3:
				w.AppendSplit()() // two writes for one row
			default:
				w.Append(1 + rng.IntN(15))
			}
		}
		for _, r := range renamed {
			w.Archive(r)
		}
	}()
	poke := func() bool {
		select {
		case tick <- struct{}{}:
			return true
		case <-writerDone:
			return false
		}
	}
	pokeNB := func() {
		select {
		case tick <- struct{}{}:
		default:
		}
	}

	rng := rand.New(rand.NewPCG(3, 5))
	restarts := 0
	save := func(f *Follower, c *counter) {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := SaveState(stateDir, &State{Files: f.Positions(), Detectors: map[string][]byte{"count": b}}); err != nil {
			t.Fatal(err)
		}
	}
	load := func() (*State, *counter) {
		st, err := LoadState(stateDir)
		if err != nil {
			t.Fatal(err)
		}
		c := &counter{Seen: map[string]int{}}
		b, err := st.Snapshot("count")
		if err != nil {
			t.Fatal(err)
		}
		if b != nil {
			if err := json.Unmarshal(b, c); err != nil {
				t.Fatal(err)
			}
		}
		return st, c
	}
	for running := true; running; {
		select {
		case <-writerDone:
			running = false
			continue
		default:
		}
		// Down: the writer goes on for a while.
		for n := rng.IntN(5); n > 0; n-- {
			if !poke() {
				break
			}
		}
		st, c := load()
		f, err := New(Options{Dir: w.dir, Logs: []string{"conn"}, PollInterval: 5 * time.Millisecond, Warn: func(f string, a ...any) { t.Logf("warn: "+f, a...) }}, st.Files)
		if err != nil {
			t.Fatal(err)
		}
		kill := 1 + rng.IntN(80)
		every := 1 + rng.IntN(40)
		for got := 0; got < kill; {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			ev, err := f.Next(ctx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				if !poke() {
					break
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			c.observe(uidOf(ev))
			got++
			if got%every == 0 {
				save(f, c)
			}
			pokeNB()
		}
		f.Close() // killed: rows since the last checkpoint are forgotten
		restarts++
	}
	// Final run: drain everything and checkpoint.
	st, c := load()
	f, err := New(Options{Dir: w.dir, Logs: []string{"conn"}, Drain: true, Warn: func(f string, a ...any) { t.Logf("final warn: "+f, a...) }}, st.Files)
	t.Logf("final from %+v", st.Files)
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := f.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		c.observe(uidOf(ev))
	}
	t.Logf("final stats %+v", f.Stats()[0])
	if g := f.Stats()[0].Gaps; g != 0 {
		t.Errorf("gaps: %d", g)
	}
	save(f, c)
	f.Close()

	written := w.Written()
	missing := 0
	for _, u := range written {
		if c.Seen[u] != 1 {
			missing++
			if missing < 5 {
				t.Errorf("row %s seen %d times", u, c.Seen[u])
			}
		}
	}
	if c.Dups != 0 || missing != 0 || len(c.Seen) != len(written) {
		t.Fatalf("%d rows written, %d distinct seen, %d duplicates, %d not exactly once", len(written), len(c.Seen), c.Dups, missing)
	}
	gz, _ := filepath.Glob(filepath.Join(root, "2026-*", "*.gz"))
	t.Logf("%d rows, %d restarts, %d gzipped rotations, every row exactly once", len(written), restarts, len(gz))
}

// TestLiveEqualsBatch follows logs while they are written (split writes,
// header blocks mid-file, rotations, gzip), then reads the same files in
// batch: the row sequences are identical.
func TestLiveEqualsBatch(t *testing.T) {
	for _, js := range []bool{false, true} {
		root := t.TempDir()
		w := newZeekWriter(t, root, js)
		f := newFollower(t, w, false, nil)
		var live []string
		take := func() {
			f.opts.Drain = true
			defer func() { f.opts.Drain = false }()
			for {
				ev, err := f.Next(context.Background())
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				live = append(live, string(ev.Record.Text()))
			}
		}
		rng := rand.New(rand.NewPCG(1, 2))
		var finish func()
		for i := 0; i < 200; i++ {
			switch r := rng.IntN(12); {
			case finish != nil:
				finish()
				finish = nil
			case r == 0:
				w.Archive(w.Rotate())
			case r == 1:
				finish = w.AppendSplit()
			case r == 2 && !js && w.f != nil:
				w.clock = w.clock.Add(time.Second)
				w.write(w.headerBlock())
			default:
				w.Append(1 + rng.IntN(10))
			}
			take()
		}
		if finish != nil {
			finish()
		}
		take()
		f.Close()
		w.Close()

		// Batch: the archive in rotation order, then the live file.
		files, _ := filepath.Glob(filepath.Join(root, "2026-*", "conn.*.log.gz"))
		sort.Strings(files)
		if _, err := os.Stat(w.path()); err == nil {
			files = append(files, w.path())
		}
		var batch []string
		for _, p := range files {
			r, err := zeekreader.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			for {
				rec, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				batch = append(batch, string(rec.Text()))
			}
			r.Close()
		}
		if len(batch) != len(w.Written()) {
			t.Fatalf("json=%v: batch read %d rows, %d written", js, len(batch), len(w.Written()))
		}
		for i := range batch {
			if i >= len(live) || live[i] != batch[i] {
				t.Fatalf("json=%v: live and batch differ at row %d of %d/%d", js, i, len(live), len(batch))
			}
		}
		if len(live) != len(batch) {
			t.Fatalf("json=%v: live %d rows, batch %d", js, len(live), len(batch))
		}
	}
}
