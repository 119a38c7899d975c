package elasticsearch

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// Found by a review of the sink's own bulk requests (2026-11-30); each
// failed before its fix.

// spoolRecords counts the whole records (two lines each) in the spool
// segments on disk.
func spoolRecords(t *testing.T, dir string) int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, segPrefix+"*"+segSuffix))
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += bytes.Count(b, []byte{'\n'}) / 2
	}
	return n
}

// Flush promises (output.Sink) that after it returns nil every notice
// written before it is indexed or durable in the spool, and run advances
// its checkpoint on that promise. When a worker's bulk request hangs (a
// cluster that stopped answering) and the spool already holds something,
// Flush's context expiring makes flushWorkers fail: Flush must say so. It
// returned nil because the spool was not empty, with the notices the
// worker holds in neither place; a crash (or Close's 30 s running out)
// then lost them behind an advanced checkpoint.
func TestFlushFailsWhileAWorkerHoldsNotices(t *testing.T) {
	s, dir, bulks := hangingSink(t, 100*time.Millisecond)
	ctx := context.Background()
	ns := makeNotices(4, 21)
	for i, n := range ns {
		if err := s.Write(ctx, n); err != nil {
			t.Fatal(err)
		}
		if i == 0 { // the worker takes the first; its request hangs
			eventually(t, 10*time.Second, "the worker's request", func() bool { return bulks.Load() > 0 })
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	ferr := s.Flush(fctx)
	st := s.Stats()
	onDisk := spoolRecords(t, dir)
	settled := int(st.Indexed+st.Duplicates+st.Failed+st.Dropped) + onDisk
	t.Logf("Flush: %v; stats %+v; %d records durable in the spool", ferr, st, onDisk)
	if ferr == nil && settled < len(ns) {
		t.Fatalf("Flush returned nil, but only %d of %d notices are settled or durable in the spool (%d on disk): "+
			"the rest sit in a worker whose request hangs", settled, len(ns), onDisk)
	}
}

// Write with a context that is already done (run's emit passes the run
// context, cancelled by SIGTERM while a batch is being observed) while the
// bulk queue is full spools the notice. It returned ctx.Err() without
// spooling or counting it; run logged "notice not written" and its final
// checkpoint then advanced past the rows that produced it: the notice was
// gone, in no counter.
func TestWriteWithADoneContextSpools(t *testing.T) {
	s, _, bulks := hangingSink(t, 5*time.Second)
	ns := makeNotices(3, 23)
	for i, n := range ns[:2] { // the worker takes the first (its request hangs), the second fills the queue
		if err := s.Write(context.Background(), n); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			eventually(t, 10*time.Second, "the worker's request", func() bool { return bulks.Load() > 0 })
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // SIGTERM
	werr := s.Write(ctx, ns[2])
	st := s.Stats()
	t.Logf("Write: %v; stats %+v", werr, st)
	if werr != nil && st.Spooled+st.Dropped+st.Failed == 0 {
		t.Fatalf("Write returned %v and the notice is neither spooled, dropped nor failed (stats %+v), with a spool at hand", werr, st)
	}
}

// WithTemplate judges the install by the PUT's answer. It took the status
// of the last response any of its requests got: on a fresh cluster the
// GET of the shared template (legacyPatterns) answers 404, and when the
// PUT then got no answer (the node restarting, a connection reset) New
// took the GET's 404 for the PUT's and failed as for a template the
// cluster refuses, instead of starting and installing it before the
// first notice.
func TestWithTemplateJudgesThePUTNotTheGET(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		if r.Method == http.MethodPut {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close() // no answer
			}
			return
		}
		w.WriteHeader(404) // GET _index_template/zeekanom-notice: not there yet
		w.Write([]byte(`{"error":{"type":"resource_not_found_exception","reason":"index template matching [zeekanom-notice] not found"},"status":404}`))
	}))
	defer srv.Close()
	s, err := New(context.Background(), Config{URLs: []string{srv.URL}, Index: "logs-zeekanom.notice-t", MaxRetries: 1,
		SpoolDir: t.TempDir(), FlushInterval: time.Hour}, WithLogf(t.Logf), WithTemplate())
	if err != nil {
		t.Fatalf("New failed though the PUT got no answer: %v", err)
	}
	s.Close()
}

// A front end that answers 400 to every _bulk request (a proxy's rule, a
// URL that is not Elasticsearch's, a path prefix missing) is not any one
// notice's fault: the notices are spooled as in an outage. Each batch was
// halved down to single notices (2n-1 requests for n notices) and every
// notice counted as failed for good, the spool's too.
func TestA400NotFromElasticsearchIsAnOutage(t *testing.T) {
	var requests atomic.Int64
	inner := &mockES{}
	url := frontProxy(t, newMock(t, inner), func(r *http.Request, body []byte) (int, string) {
		if r.URL.Path == "/_bulk" {
			requests.Add(1)
			return http.StatusBadRequest, "<html><body>400 Bad Request</body></html>"
		}
		return 0, ""
	})
	s, logs := newLoggedSink(t, Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", MaxRetries: 1, Workers: 1,
		SpoolDir: t.TempDir(), FlushInterval: time.Hour})
	writeAll(t, s, makeNotices(64, 24))
	st := s.Stats()
	t.Logf("stats %+v, %d bulk requests, %d 'rejected' log lines", st, requests.Load(), len(logs.with("rejected")))
	if st.Failed != 0 || st.Spooled != 64 || len(logs.with("rejected")) != 0 {
		t.Errorf("all 64 notices counted as failed for good (and logged one by one) after %d requests: "+
			"a 400 that every single notice gets is the endpoint's, not the notices'", requests.Load())
	}
}

// hangingSink is a sink of one worker, one notice a request, with a spool
// in dir, against a server whose bulk requests hang (counted in bulks)
// until the test ends, and then answer 503.
func hangingSink(t *testing.T, writeTimeout time.Duration) (*Sink, string, *atomic.Int64) {
	release := make(chan struct{})
	bulks := &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_bulk" {
			bulks.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.WriteHeader(503)
	}))
	dir := t.TempDir()
	s, err := New(context.Background(), Config{URLs: []string{srv.URL}, Index: "logs-zeekanom.notice-t", Workers: 1,
		FlushBytes: 1, MaxRetries: 1, WriteTimeout: writeTimeout, SpoolDir: dir, FlushInterval: time.Hour},
		WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(release); s.Close(); srv.Close() })
	return s, dir, bulks
}

// mountSmall mounts a tmpfs of size bytes (root only), unmounted at the end.
func mountSmall(t *testing.T, size string) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// A disk that fills while notices are spooled (ENOSPC, not the spool's own
// spool_max_bytes): every notice ends indexed, failed, dropped, or spooled
// and then replayed, and the spool's byte count returns to 0. The spool's
// buffered writer kept a sticky error: the records it buffered were
// counted in Spooled and returned nil to Write but never reached the
// segment, and their bytes stayed in the count for ever (Pending true:
// Close waited its whole 30 s each time).
func TestDiskFullSpoolAccountsForEveryNotice(t *testing.T) {
	dir := mountSmall(t, "48k")
	var healthy atomic.Bool
	m := &mockES{status: func(int) int {
		if healthy.Load() {
			return 200
		}
		return 503
	}}
	s, _ := newLoggedSink(t, Config{URLs: []string{newMock(t, m)}, Index: "logs-zeekanom.notice-t", Workers: 1,
		MaxRetries: 1, SpoolDir: dir, FlushInterval: time.Hour})
	ctx := context.Background()
	ns := makeNotices(150, 22)
	werrs := 0
	for _, n := range ns {
		if err := s.Write(ctx, n); err != nil {
			werrs++
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Logf("Flush: %v", err)
	}
	before := s.Stats()
	t.Logf("after the writes: %d Write errors, stats %+v", werrs, before)
	healthy.Store(true)
	s.kick()
	eventually(t, 15*time.Second, "the spool to drain", func() bool { s.kick(); return !s.Pending() })
	st := s.Stats()
	t.Logf("after replay: stats %+v, stored %d, pending %v", st, m.stored(), s.Pending())
	// Every notice handed to Write ends indexed, failed, dropped, or
	// spooled and then replayed.
	if acc := st.Indexed + st.Failed + st.Dropped; acc != int64(len(ns)) {
		t.Errorf("%d notices written, %d accounted for (indexed %d, failed %d, dropped %d; spooled %d, replayed %d): %d vanished",
			len(ns), acc, st.Indexed, st.Failed, st.Dropped, st.Spooled, st.Replayed, int64(len(ns))-acc)
	}
	if st.Spooled != st.Replayed+st.Failed {
		t.Errorf("spooled %d but replayed %d (failed %d)", st.Spooled, st.Replayed, st.Failed)
	}
	if s.Pending() || st.SpoolBytes != 0 {
		t.Errorf("the spool is empty on disk but Pending %v, SpoolBytes %d", s.Pending(), st.SpoolBytes)
	}
}
