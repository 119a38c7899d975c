package follow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// zeekWriter writes real conn rows like Zeek: a header block with a fresh
// #open, rows, #close at rotation, rotation by rename to
// conn.YYYY-MM-DD-HH-MM-SS.log, and (like zeekctl's archive-log) gzip of the
// renamed files into archive/YYYY-MM-DD/conn.HH:MM:SS-HH:MM:SS.log.gz.
type zeekWriter struct {
	t       testing.TB
	dir     string // logs/current
	archive string // logs
	log     string
	logger  string // zeekctl's archive-name suffix with several loggers ("logger-1"), if set
	json    bool
	header  []string
	rows    [][]string
	n       int       // rows written so far (uid counter)
	clock   time.Time // fake wall clock: one minute per rotation
	f       *os.File
	opened  time.Time
	mu      sync.Mutex
	written []string // uids in write order
}

func loadRows(t testing.TB, json bool) (header []string, rows [][]string) {
	name := "conn.log"
	if json {
		name = "conn.json"
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "follow", name))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if strings.HasPrefix(l, "#") {
			header = append(header, l)
		} else if json {
			rows = append(rows, []string{l})
		} else {
			rows = append(rows, strings.Split(l, "\t"))
		}
	}
	return header, rows
}

func newZeekWriter(t testing.TB, root string, json bool) *zeekWriter {
	w := &zeekWriter{t: t, dir: filepath.Join(root, "current"), archive: root, log: "conn", json: json,
		clock: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)}
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w.header, w.rows = loadRows(t, json)
	return w
}

func (w *zeekWriter) path() string { return filepath.Join(w.dir, w.log+".log") }

// headerBlock is the header with this file's #open time.
func (w *zeekWriter) headerBlock() string {
	if w.json {
		return ""
	}
	var b strings.Builder
	for _, h := range w.header {
		if strings.HasPrefix(h, "#open") {
			h = "#open\t" + w.clock.Format("2006-01-02-15-04-05")
		}
		b.WriteString(h + "\n")
	}
	return b.String()
}

func (w *zeekWriter) open() {
	f, err := os.OpenFile(w.path(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		w.t.Fatal(err)
	}
	w.f, w.opened = f, w.clock
	w.write(w.headerBlock())
}

func (w *zeekWriter) write(s string) {
	if _, err := w.f.WriteString(s); err != nil {
		w.t.Fatal(err)
	}
}

// row is the next row's text, with a unique uid.
func (w *zeekWriter) row() string {
	src := w.rows[w.n%len(w.rows)]
	uid := fmt.Sprintf("C%09d", w.n)
	w.n++
	w.mu.Lock()
	w.written = append(w.written, uid)
	w.mu.Unlock()
	if w.json {
		l := src[0]
		i := strings.Index(l, `"uid":"`) + len(`"uid":"`)
		j := i + strings.IndexByte(l[i:], '"')
		return l[:i] + uid + l[j:] + "\n"
	}
	f := append([]string(nil), src...)
	f[1] = uid
	return strings.Join(f, "\t") + "\n"
}

// Append writes n rows (opening the file first if needed).
func (w *zeekWriter) Append(n int) {
	if w.f == nil {
		w.open()
	}
	var b strings.Builder
	for range n {
		b.WriteString(w.row())
	}
	w.write(b.String())
}

// AppendSplit writes one row in two writes, returning a func writing the
// second half.
func (w *zeekWriter) AppendSplit() func() {
	if w.f == nil {
		w.open()
	}
	r := w.row()
	w.write(r[:len(r)/2])
	return func() { w.write(r[len(r)/2:]) }
}

// Rotate closes the file, renames it away and returns the renamed path.
// The next Append creates a new file.
func (w *zeekWriter) Rotate() string {
	to := filepath.Join(w.dir, w.log+"."+w.opened.Format("2006-01-02-15-04-05")+".log")
	if w.f == nil {
		to = filepath.Join(w.dir, w.log+"."+w.clock.Format("2006-01-02-15-04-05")+".log")
	}
	w.renameTo(to)
	w.clock = w.clock.Add(time.Minute)
	return to
}

// renameTo finishes the file (#close) and renames it to "to".
func (w *zeekWriter) renameTo(to string) {
	if w.f == nil {
		w.open()
	}
	if !w.json {
		w.write("#close\t" + w.clock.Format("2006-01-02-15-04-05") + "\n")
	}
	w.f.Close()
	w.f = nil
	if err := os.Rename(w.path(), to); err != nil {
		w.t.Fatal(err)
	}
}

// Archive gzips a renamed file into its date directory and removes it.
func (w *zeekWriter) Archive(renamed string) string {
	base := filepath.Base(renamed) // conn.2026-11-25-18-00-00.log
	ts, err := time.Parse("2006-01-02-15-04-05", strings.TrimSuffix(strings.TrimPrefix(base, w.log+"."), ".log"))
	if err != nil {
		w.t.Fatal(err)
	}
	day := filepath.Join(w.archive, ts.Format("2006-01-02"))
	if err := os.MkdirAll(day, 0o755); err != nil {
		w.t.Fatal(err)
	}
	suffix := ""
	if w.logger != "" {
		suffix = "-" + w.logger
	}
	dst := filepath.Join(day, fmt.Sprintf("%s.%s-%s%s.log.gz", w.log, ts.Format("15:04:05"), ts.Add(time.Minute).Format("15:04:05"), suffix))
	b, err := os.ReadFile(renamed)
	if err != nil {
		w.t.Fatal(err)
	}
	writeGz(w.t, dst, b)
	if err := os.Remove(renamed); err != nil {
		w.t.Fatal(err)
	}
	return dst
}

// writeGz writes b gzipped to dst, atomically as an archiver does.
func writeGz(t testing.TB, dst string, b []byte) {
	t.Helper()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	if err := os.WriteFile(dst+".tmp", z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dst+".tmp", dst); err != nil {
		t.Fatal(err)
	}
}

func (w *zeekWriter) Written() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.written...)
}

func (w *zeekWriter) Close() {
	if w.f != nil {
		w.f.Close()
	}
}

// uidOf is the uid of a conn event.
func uidOf(ev *zeekreader.Event) string {
	if ev.Conn != nil {
		return string(ev.Conn.UID)
	}
	return ev.Record.String(ev.Record.Schema().Index("uid"))
}

// collect reads n rows within the deadline.
func collect(t testing.TB, f *Follower, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []string
	for len(out) < n {
		ev, err := f.Next(ctx)
		if err != nil {
			t.Fatalf("after %d of %d rows: %v", len(out), n, err)
		}
		out = append(out, uidOf(ev))
	}
	return out
}

// drain reads with a Drain follower until io.EOF.
func drainAll(t testing.TB, f *Follower) []string {
	t.Helper()
	var out []string
	for {
		ev, err := f.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, uidOf(ev))
	}
}

// idle checks that nothing is available now (a drain pass gives io.EOF).
func assertNothing(t testing.TB, f *Follower) {
	t.Helper()
	saved := f.opts.Drain
	f.opts.Drain = true
	defer func() { f.opts.Drain = saved }()
	if ev, err := f.Next(context.Background()); err != io.EOF {
		t.Fatalf("expected nothing, got %v %v", ev, err)
	}
}
