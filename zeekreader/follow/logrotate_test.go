package follow

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// logrotateConf is what a logrotate(8) stanza for the log says.
type logrotateConf struct {
	compress, delaycompress, dateext, copytruncate bool
}

// logrotate rotates the writer's log as logrotate does. Without
// copytruncate: the older rotations moved up a number (dateext: none),
// conn.log renamed to conn.log.1 (conn.log-YYYYMMDD of the writer's
// clock) and Zeek restarted by the postrotate script (the file finished
// with #close; the next row opens a new conn.log). With copytruncate:
// conn.log copied and emptied in place, the writer's descriptor kept.
// compress gzips the new rotation (delaycompress: the one before).
func (w *zeekWriter) logrotate(c logrotateConf) {
	w.t.Helper()
	live := w.path()
	name := func(n int, gz bool) string {
		p := fmt.Sprintf("%s.%d", live, n)
		if gz {
			p += ".gz"
		}
		return p
	}
	var rotated, older string // the new rotation, and the one before it
	if c.dateext {
		ents, _ := os.ReadDir(w.dir)
		for _, e := range ents {
			if n := e.Name(); strings.HasPrefix(n, w.log+".log-") && !strings.HasSuffix(n, ".gz") {
				older = filepath.Join(w.dir, n)
			}
		}
		rotated = live + w.clock.Format("-20060102")
	} else {
		n := 1
		for ; fileExists(name(n, false)) || fileExists(name(n, true)); n++ {
		}
		for ; n > 1; n-- {
			for _, gz := range []bool{false, true} {
				if fileExists(name(n-1, gz)) {
					if err := os.Rename(name(n-1, gz), name(n, gz)); err != nil {
						w.t.Fatal(err)
					}
				}
			}
		}
		rotated = name(1, false)
		if fileExists(name(2, false)) {
			older = name(2, false)
		}
	}
	if c.copytruncate {
		b, err := os.ReadFile(live)
		if err != nil {
			w.t.Fatal(err)
		}
		if err := os.WriteFile(rotated, b, 0o644); err != nil {
			w.t.Fatal(err)
		}
		if err := w.f.Truncate(0); err != nil {
			w.t.Fatal(err)
		}
	} else {
		w.renameTo(rotated)
	}
	gzip := rotated
	if c.delaycompress {
		gzip = older
	}
	if c.compress && gzip != "" {
		b, err := os.ReadFile(gzip)
		if err != nil {
			w.t.Fatal(err)
		}
		writeGz(w.t, gzip+".gz", b)
		if err := os.Remove(gzip); err != nil {
			w.t.Fatal(err)
		}
	}
	w.clock = w.clock.Add(24 * time.Hour)
}

// rotatedLive is a follower reading a log rotated once as c says, 5 rows
// after the last it read: what it read.
func rotatedLive(t *testing.T, json bool, c logrotateConf) (*zeekWriter, *Follower, []string) {
	t.Helper()
	w := newZeekWriter(t, t.TempDir(), json)
	t.Cleanup(w.Close)
	w.Append(10)
	live := newFollower(t, w, false, nil)
	got := collect(t, live, 10)
	w.Append(5)
	w.logrotate(c)
	w.Append(7)
	return w, live, append(got, collect(t, live, 12)...)
}

// restartAcross stops the live follower, which has read got and nothing
// more is there, rotates n times while it is stopped, then starts a drain
// from its positions: every row once, no gap.
func restartAcross(t *testing.T, w *zeekWriter, live *Follower, got []string, c logrotateConf, n int) {
	t.Helper()
	assertNothing(t, live)
	live.Close()
	pos := live.Positions()
	w.Append(4)
	for range n {
		w.logrotate(c)
		w.Append(6)
	}
	f := newFollower(t, w, true, pos)
	defer f.Close()
	got = append(got, drainAll(t, f)...)
	checkSame(t, got, w.Written())
	if st := f.Stats()[0]; st.Gaps != 0 {
		t.Errorf("stats %+v", st)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

var logrotateConfs = []struct {
	name string
	c    logrotateConf
}{
	{"rotate", logrotateConf{}},
	{"compress", logrotateConf{compress: true}},
	{"compress delaycompress", logrotateConf{compress: true, delaycompress: true}},
	{"dateext", logrotateConf{dateext: true}},
	{"dateext compress delaycompress", logrotateConf{dateext: true, compress: true, delaycompress: true}},
}

// Zeek without zeekctl, its conn.log rotated by logrotate (rename, then
// create: the postrotate script restarts Zeek) while run follows it, and
// while run is stopped: every row once, in order. A checkpointed file
// renamed to conn.log.1 was not found (logrotate's names were no rotated
// files to the follower: a gap, its rows after the checkpoint lost), and
// neither were the plain rotations after it; with delaycompress, conn.log.2.gz
// (gzipped after conn.log.1 was renamed) was taken for the newer by its
// time.
func TestLogrotateRename(t *testing.T) {
	for _, tc := range logrotateConfs {
		t.Run(tc.name, func(t *testing.T) {
			w, live, got := rotatedLive(t, false, tc.c)
			// stopped: three rotations, the first of the file it was reading
			restartAcross(t, w, live, got, tc.c, 3)
		})
	}
}

// The rotated files of a logrotate'd log are candidates in rotation order,
// whatever their times say.
func TestLogrotateCandidates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string // oldest first
	}{
		{"numbered", []string{"conn.log.11", "conn.log.10", "conn.log.3.gz", "conn.log.2.gz", "conn.log.1"}},
		{"start 0", []string{"conn.log.1.gz", "conn.log.0"}},
		{"dateext", []string{"conn.log-20241031.gz", "conn.log-20241101.gz", "conn.log-20241102"}},
		{"Zeek's own names", []string{"conn.2024-11-01-10-00-00.log.gz", "conn.2024-11-02-10-00-00.log"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			now := time.Now()
			for i, name := range tc.files {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(name+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				mt := now.Add(-time.Duration(i) * time.Second) // the oldest the newest
				os.Chtimes(p, mt, mt)
			}
			os.WriteFile(filepath.Join(dir, "conn.log"), nil, 0o644)
			os.WriteFile(filepath.Join(dir, "dns.log.1"), nil, 0o644)
			var got []string
			for _, c := range rotatedCandidates(dir, "", "conn", filepath.Join(dir, "conn.log")) {
				got = append(got, filepath.Base(c.path))
			}
			if !slices.Equal(got, tc.files) {
				t.Errorf("candidates %v, want %v", got, tc.files)
			}
		})
	}
}

// logrotate's copytruncate (for a writer that cannot reopen its file):
// conn.log copied to conn.log.1 and emptied in place, the writer's
// descriptor kept. The rows written before the copy and not read yet are
// read from the copy, at the offset reached, then the live file from its
// start: every row once. They were lost: the follower saw the live file
// shorter and read it again from its start (5 of 22 rows in the live
// case). The writer here appends (O_APPEND), as logrotate's manual
// assumes; Zeek's own writer does not (see the README).
func TestLogrotateCopytruncate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    logrotateConf
	}{
		{"copytruncate", logrotateConf{copytruncate: true}},
		{"copytruncate compress", logrotateConf{copytruncate: true, compress: true}},
		{"copytruncate compress delaycompress", logrotateConf{copytruncate: true, compress: true, delaycompress: true}},
		{"copytruncate dateext compress", logrotateConf{copytruncate: true, dateext: true, compress: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, live, got := rotatedLive(t, true, tc.c)
			assertNothing(t, live)
			checkSame(t, got, w.Written())
			// the same again, then stopped across two more
			w.Append(3)
			w.logrotate(tc.c)
			w.Append(30) // past the offset reached: the first bytes say it
			got = append(got, collect(t, live, 33)...)
			restartAcross(t, w, live, got, tc.c, 2)
		})
	}
}

// A rotated file queued under one name and renamed by the next rotation
// before it is opened (logrotate's conn.log.1 to conn.log.2, not
// compressed) is read under its new name, found by its inode: only a .gz
// copy was looked for, and the file was a gap.
func TestQueuedFileRenamedAgain(t *testing.T) {
	w := newZeekWriter(t, t.TempDir(), false)
	defer w.Close()
	w.Append(10)
	w.logrotate(logrotateConf{})
	w.Append(3)
	f := newFollower(t, w, true, nil)
	defer f.Close()
	tl := f.tails[0]
	s, err := openSource(filepath.Join(w.dir, "conn.log.1"), false, false)
	if err != nil {
		t.Fatal(err)
	}
	id := s.id
	s.close()
	w.logrotate(logrotateConf{}) // conn.log.1 is conn.log.2 now
	tl.queue = []queued{{path: filepath.Join(w.dir, "conn.log.1"), id: id}}
	tl.openQueued()
	if tl.cur == nil || filepath.Base(tl.cur.path) != "conn.log.2" || tl.stats.Gaps != 0 {
		t.Fatalf("opened %+v, stats %+v", tl.cur, tl.stats)
	}
}
