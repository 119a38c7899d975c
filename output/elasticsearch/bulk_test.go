package elasticsearch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/output/notice"
)

// logLines collects a sink's log lines (and passes them to t.Logf).
type logLines struct {
	t  testing.TB
	mu sync.Mutex
	ls []string
}

func (l *logLines) logf(f string, a ...any) {
	line := fmt.Sprintf(f, a...)
	l.t.Log(line)
	l.mu.Lock()
	l.ls = append(l.ls, line)
	l.mu.Unlock()
}

// with returns the lines containing every one of subs.
func (l *logLines) with(subs ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
next:
	for _, line := range l.ls {
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

func newLoggedSink(t *testing.T, cfg Config, opts ...Option) (*Sink, *logLines) {
	t.Helper()
	l := &logLines{t: t}
	s, err := New(context.Background(), cfg, append(opts, WithLogf(l.logf))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, l
}

// frontProxy is an HTTP server in front of target that answers a request
// itself when refuse says so (status and body), else forwards it.
func frontProxy(t *testing.T, target string, refuse func(r *http.Request, body []byte) (int, string)) string {
	url, _ := frontProxyConns(t, target, refuse)
	return url
}

// frontProxyConns is frontProxy that also counts the connections made to it.
func frontProxyConns(t *testing.T, target string, refuse func(r *http.Request, body []byte) (int, string)) (string, *atomic.Int64) {
	conns := &atomic.Int64{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if st, msg := refuse(r, body); st != 0 {
			w.WriteHeader(st)
			io.WriteString(w, msg)
			return
		}
		r2, _ := http.NewRequest(r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		r2.Header = r.Header.Clone()
		res, err := http.DefaultClient.Do(r2)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		io.Copy(w, res.Body)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, conns
}

// A refusal's page is read to its end, so that the connection is reused:
// left unread, it closed the connection, and a batch split in halves on
// 413 opened one a request.
func TestRefusalsReuseTheConnection(t *testing.T) {
	const limit = 16 << 10
	page := "<html><body>" + strings.Repeat("413 Request Entity Too Large ", 400) + "</body></html>" // 11 KB
	url, conns := frontProxyConns(t, newMock(t, &mockES{}), func(r *http.Request, body []byte) (int, string) {
		if r.URL.Path == "/_bulk" && len(body) > limit {
			return http.StatusRequestEntityTooLarge, page
		}
		return 0, ""
	})
	s, _ := newLoggedSink(t, Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", MaxRetries: 1, Workers: 1,
		FlushBytes: 1 << 20, FlushInterval: time.Hour})
	writeAll(t, s, makeNotices(200, 26))
	if st := s.Stats(); st.Indexed != 200 {
		t.Fatalf("stats %+v", st)
	}
	if n := conns.Load(); n > 2 {
		t.Errorf("%d connections for one worker's requests", n)
	}
}

// A bulk request larger than a proxy in front of the cluster accepts (here
// 64 KiB, as nginx's client_max_body_size) is refused with 413 every time.
// It used to be taken for an outage: its notices were spooled, every later
// notice queued behind them, and the replayer sent the same batch for ever.
// Now the batch is sent again in halves until the parts go in; a notice
// that is too large on its own is counted as failed; the replayer does the
// same with a spooled batch that is too large.
func TestOversizedBulkIsSentInHalves(t *testing.T) {
	const limit = 64 << 10
	var down atomic.Bool
	inner := &mockES{status: func(int) int {
		if down.Load() {
			return 503
		}
		return 200
	}}
	url := frontProxy(t, newMock(t, inner), func(r *http.Request, body []byte) (int, string) {
		if len(body) > limit {
			return http.StatusRequestEntityTooLarge, "<html><body>413 Request Entity Too Large</body></html>"
		}
		return 0, ""
	})
	s, logs := newLoggedSink(t, Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", MaxRetries: 1,
		SpoolDir: t.TempDir(), FlushInterval: time.Hour, FlushBytes: 1 << 20})

	writeAll(t, s, makeNotices(200, 12)) // ~230 KB: each worker's bulk request is over the limit
	writeAll(t, s, makeNotices(1, 13))   // later, a small notice
	if st := s.Stats(); inner.stored() != 201 || st.Indexed != 201 || st.Failed != 0 || st.Spooled != 0 || s.Pending() {
		t.Fatalf("stored %d, stats %+v, pending %v: want all 201 indexed directly", inner.stored(), st, s.Pending())
	}
	if len(logs.with("refused as too large", "set flush_bytes")) == 0 {
		t.Error("no log line says the bulk requests are too large")
	}

	// One notice larger than the limit on its own: rejected, named in the log.
	big := makeNotices(1, 14)[0]
	big.Message = strings.Repeat("x", limit)
	writeAll(t, s, []*notice.Notice{big})
	if st := s.Stats(); st.Failed != 1 || len(logs.with("rejected", big.ID, "413")) != 1 {
		t.Fatalf("stats %+v: want the oversized notice %s failed and logged once", st, big.ID)
	}

	// The replayer: 200 notices spooled while the cluster answers 503 are
	// one replay batch, too large for the proxy.
	down.Store(true)
	writeAll(t, s, makeNotices(200, 15))
	if st := s.Stats(); st.Spooled != 200 {
		t.Fatalf("stats %+v: want 200 spooled", st)
	}
	down.Store(false)
	s.kick()
	eventually(t, 60*time.Second, "the spool to drain", func() bool { return !s.Pending() })
	if st := s.Stats(); inner.stored() != 401 || st.Replayed != 200 || st.Failed != 1 {
		t.Fatalf("stored %d, stats %+v: want the 200 spooled notices replayed", inner.stored(), st)
	}
}

// Behind a proxy whose body limit is under flush_bytes, every batch was
// refused and halved again. The sink now keeps its requests within the
// sizes it has seen accepted and refused (bisecting toward the limit), so
// after a few batches none is refused.
func TestTooLargeSizeIsRemembered(t *testing.T) {
	const limit = 64 << 10
	inner := &mockES{}
	var refusals, requests atomic.Int64
	url := frontProxy(t, newMock(t, inner), func(r *http.Request, body []byte) (int, string) {
		if r.URL.Path != "/_bulk" {
			return 0, ""
		}
		requests.Add(1)
		if len(body) > limit {
			refusals.Add(1)
			return http.StatusRequestEntityTooLarge, "<html><body>413 Request Entity Too Large</body></html>"
		}
		return 0, ""
	})
	s, _ := newLoggedSink(t, Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", MaxRetries: 1, Workers: 1,
		FlushInterval: time.Hour, FlushBytes: 1 << 20})
	var perBatch []int64
	for seed := range uint64(6) {
		r0 := refusals.Load()
		writeAll(t, s, makeNotices(200, 21+seed)) // ~325 KB in one batch
		perBatch = append(perBatch, refusals.Load()-r0)
	}
	if st := s.Stats(); inner.stored() != 1200 || st.Indexed != 1200 || st.Failed != 0 {
		t.Fatalf("stored %d, stats %+v: want 1200 indexed", inner.stored(), st)
	}
	if perBatch[0] == 0 {
		t.Fatal("the first batch was not refused: the test proves nothing")
	}
	if rest := perBatch[1:]; slices.Max(rest) > 1 || rest[len(rest)-1] != 0 || perBatch[1]+perBatch[2]+perBatch[3] > 3 {
		t.Errorf("refusals per batch %v: want a few probes after the first batch, then none", perBatch)
	}
	// within an eighth of the limit: 325 KB in 6 requests or fewer (5 at the limit)
	r0 := requests.Load()
	writeAll(t, s, makeNotices(200, 40))
	if n := requests.Load() - r0; n > 6 {
		t.Errorf("%d requests for a batch of 325 KB behind a 64 KiB limit", n)
	}
}

func TestBodySizesLimit(t *testing.T) {
	type ev struct {
		size     int
		tooLarge bool
	}
	for _, tc := range []struct {
		name string
		evs  []ev
		want int
	}{
		{"never refused", []ev{{900, false}}, 0},
		{"refused, none accepted", []ev{{1000, true}}, 999},
		{"accepted before the refusal counts", []ev{{900, false}, {1000, true}}, 900},
		{"accepted far below: try the middle", []ev{{1000, true}, {500, false}}, 750},
		{"within an eighth: keep to the accepted", []ev{{1000, true}, {500, false}, {750, false}, {875, false}}, 875},
		{"a larger accepted after a refusal is ignored", []ev{{1000, true}, {500, false}, {2000, false}}, 750},
		{"the limit went down", []ev{{1000, true}, {900, false}, {800, true}}, 799},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bodySizes
			now := time.Unix(1e9, 0)
			for _, e := range tc.evs {
				b.note(e.size, e.tooLarge, now)
			}
			if got := b.limit(now.Add(sizesKept - time.Second)); got != tc.want {
				t.Errorf("limit %d, want %d (%+v)", got, tc.want, b)
			}
			// an hour after the last refusal, batches go whole again
			if got := b.limit(now.Add(sizesKept)); got != 0 {
				t.Errorf("limit %d an hour on, want 0 (%+v)", got, b)
			}
		})
	}
}

// A bulk request refused as a whole with 400 (Elasticsearch does so for a
// record it cannot parse as an action) used to be spooled and retried for
// ever with every notice behind it. Now the batch is halved until the bad
// notice is alone: it is counted as failed, logged once with its id, rule,
// source and time, and the others are indexed.
func TestWholeRequest400IsolatesTheBadNotice(t *testing.T) {
	ns := makeNotices(50, 16)
	bad := ns[17]
	inner := &mockES{}
	var requests atomic.Int64
	url := frontProxy(t, newMock(t, inner), func(r *http.Request, body []byte) (int, string) {
		requests.Add(1)
		if bytes.Contains(body, []byte(bad.ID)) {
			return http.StatusBadRequest, `{"error":{"type":"x_content_e_o_f_exception","reason":"[1:56] Unexpected end of file"},"status":400}`
		}
		return 0, ""
	})
	s, logs := newLoggedSink(t, Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", MaxRetries: 1,
		SpoolDir: t.TempDir(), FlushInterval: time.Hour})
	writeAll(t, s, ns)
	st := s.Stats()
	if inner.stored() != 49 || st.Indexed != 49 || st.Failed != 1 || st.Spooled != 0 || s.Pending() {
		t.Fatalf("stored %d, stats %+v: want 49 indexed, 1 failed, nothing spooled", inner.stored(), st)
	}
	want := []string{"rejected", bad.ID, "rule " + bad.Rule, "source " + bad.Source.String(), bad.Timestamp.Format("2006-01-02T15:04"), "x_content_e_o_f_exception"}
	if got := logs.with(want...); len(got) != 1 || len(logs.with("rejected")) != 1 {
		t.Errorf("want one log line with %q; rejections logged: %q", want, logs.with("rejected"))
	}
	if n := requests.Load(); n > 13 { // 1 + 2 per halving (50 -> 25 -> 13 -> 7 -> 4 -> 2 -> 1)
		t.Errorf("%d requests to isolate one notice among 50", n)
	}
}

// A whole request refused with 401 or 403 is not a record's fault: the
// notices are spooled and replayed once the cluster takes them, as in an
// outage; but the log says it is an authentication or authorisation
// failure (once), not that the cluster is unreachable.
func TestAuthFailuresSpoolAndSaySo(t *testing.T) {
	for _, tc := range []struct {
		status int
		says   string
	}{
		{401, "authentication failed (401 Unauthorized"},
		{403, "not authorised (403 Forbidden"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			var refused atomic.Bool
			refused.Store(true)
			m := &mockES{status: func(int) int {
				if refused.Load() {
					return tc.status
				}
				return 200
			}}
			s, logs := newLoggedSink(t, Config{URLs: []string{newMock(t, m)}, Index: "logs-zeekanom.notice-t", MaxRetries: 1,
				SpoolDir: t.TempDir(), FlushInterval: time.Hour})
			writeAll(t, s, makeNotices(30, 17))
			sent := m.reqs.Load()
			eventually(t, 60*time.Second, "a replay attempt", func() bool { return m.reqs.Load() > sent })
			if st := s.Stats(); st.Spooled != 30 || st.Failed != 0 || !s.Pending() {
				t.Fatalf("stats %+v: want 30 spooled", st)
			}
			if got := logs.with(tc.says); len(got) != 1 || len(logs.with("unreachable")) != 0 {
				t.Errorf("want one log line %q and none saying unreachable; logged %q", tc.says, logs.with())
			}
			refused.Store(false)
			s.kick()
			eventually(t, 60*time.Second, "the spool to drain", func() bool { return !s.Pending() })
			if st := s.Stats(); st.Replayed != 30 || m.stored() != 30 {
				t.Fatalf("stats %+v stored %d: want 30 replayed", st, m.stored())
			}
		})
	}
}

// A spool segment with a damaged record: an action line cut (a disk
// error, a hand edit), which Elasticsearch refuses as a whole request (400)
// with every notice in the same replay batch (it used to block the spool
// for ever); or a document line cut short by a write that failed half-way
// and could not be undone, run into the next record's action line (read
// as lines, the next document was taken for an action line, and every
// record after it in the segment was refused: 11 of 30 indexed, 18
// refused). Against the node: the damaged notice alone is counted as
// failed, named in the log, and the spool drains.
func TestIntegrationDamagedSpoolLineIsRejectedAlone(t *testing.T) {
	url := esURL(t)
	es := testClient(t, url)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		damage func(r *rec) // of notice 11
		cut    bool         // its line has no newline
		says   []string
		// only is what is left of notice 11: its action line cut short by
		// a write that failed half-way, run into the next record's (the
		// log cannot name a notice whose action line is cut)
		only func(r rec) []byte
	}{
		{"action line cut", func(r *rec) { r.meta = r.meta[:len(r.meta)-2] }, false, []string{"spooled notice", "rejected", "400"}, nil},
		{"document cut short", func(r *rec) { r.doc = r.doc[:len(r.doc)/2] }, true, []string{"spool-", "not a whole record", "skipped"}, nil},
		{"action line cut short", nil, false, []string{"spool-", "not a whole record", "skipped"}, func(r rec) []byte { return r.meta[:len(r.meta)/2] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			index := testIndex(t)
			if err := PutTemplate(ctx, es, index); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			enc := &Sink{cfg: Config{Index: index}}
			var seg bytes.Buffer
			ns := makeNotices(30, 18)
			for i, n := range ns {
				r, err := enc.record(n)
				if err != nil {
					t.Fatal(err)
				}
				if i == 11 && tc.only != nil {
					seg.Write(tc.only(r))
					continue
				}
				if i == 11 {
					tc.damage(&r)
				}
				seg.Write(r.meta)
				seg.WriteByte('\n')
				seg.Write(r.doc)
				if i != 11 || !tc.cut {
					seg.WriteByte('\n')
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "spool-00000000000000000001.ndjson"), seg.Bytes(), 0o640); err != nil {
				t.Fatal(err)
			}
			s, logs := newLoggedSink(t, Config{URLs: []string{url}, Index: index, SpoolDir: dir, FlushInterval: 100 * time.Millisecond})
			eventually(t, 60*time.Second, "the spool to drain", func() bool { return !s.Pending() })
			st := s.Stats()
			if got := count(t, es, index, nil); got != 29 || st.Replayed != 29 || st.Failed != 1 {
				t.Fatalf("count %d, stats %+v: want 29 replayed and 1 failed", got, st)
			}
			named := append([]string{}, tc.says...)
			if tc.only == nil {
				// its event.id, or the _id of its action line when its
				// document cannot be read
				id := ns[11].ID
				if tc.cut {
					id = DocID(ns[11])
				}
				named = append(named, id)
			}
			if got := logs.with(named...); len(got) != 1 {
				t.Errorf("no single log line names the damaged notice %s: %q", named, logs.with())
			}
		})
	}
}

// The spool reader keeps records aligned around damage: a record cut at
// the end (a crash while it was written) is the end; a line that is not an
// action line is skipped alone; a document cut short and run into the
// next record's action line costs that record only; offsets add up to the
// segment's bytes, so a replay resumed at any of them reads the same.
func TestSpoolReaderStaysAligned(t *testing.T) {
	enc := &Sink{cfg: Config{Index: "logs-zeekanom.notice-t"}}
	var whole [][]byte
	for _, n := range makeNotices(4, 3) {
		r, err := enc.record(n)
		if err != nil {
			t.Fatal(err)
		}
		whole = append(whole, append(append(append(append([]byte{}, r.meta...), '\n'), r.doc...), '\n'))
	}
	tornDoc := func(b []byte) []byte { return b[:len(b)-len(b)/4] } // no newline
	for _, tc := range []struct {
		name string
		seg  [][]byte
		want string // per record: ok, damaged; then the end
	}{
		{"whole", whole, "ok ok ok ok EOF"},
		{"cut at the end", [][]byte{whole[0], whole[1], tornDoc(whole[2])}, "ok ok EOF"},
		{"action line cut at the end", [][]byte{whole[0], []byte(`{"create":{"_ind`)}, "ok EOF"},
		{"a stray line", [][]byte{whole[0], []byte("garbage\n"), whole[1]}, "ok damaged ok EOF"},
		{"document cut short, then a record", [][]byte{whole[0], tornDoc(whole[1]), whole[2], whole[3]}, "ok damaged ok ok EOF"},
		{"two cut short in a row", [][]byte{tornDoc(whole[0]), tornDoc(whole[1]), whole[2]}, "damaged damaged ok EOF"},
		// a write that failed inside the action line: the next record's
		// action line runs on from it (one line, two action prefixes)
		{"action line cut short, then a record", [][]byte{whole[0], whole[1][:25], whole[2], whole[3]}, "ok damaged ok ok EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg := bytes.Join(tc.seg, nil)
			read := func(from int64) (got []string, offs []int64) {
				sr := &spoolReader{r: bufio.NewReader(bytes.NewReader(seg[from:]))}
				off := from
				for {
					r, n, err := sr.next()
					switch {
					case err == io.EOF:
						return append(got, "EOF"), offs
					case err == errDamaged:
						got = append(got, "damaged")
					case err != nil:
						t.Fatal(err)
					default:
						if !bytes.HasPrefix(r.meta, actionPrefix) || !json.Valid(r.meta) || !json.Valid(r.doc) {
							t.Errorf("record at %d: %q / %q", off, r.meta, r.doc)
						}
						got = append(got, "ok")
					}
					off += n
					offs = append(offs, off)
				}
			}
			got, offs := read(0)
			// a replay resumes where its last record ended
			for k, off := range offs {
				if rest, _ := read(off); strings.Join(rest, " ") != strings.Join(got[k+1:], " ") {
					t.Errorf("resumed at %d: read %q, want %q", off, rest, got[k+1:])
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("read %q, want %q", g, tc.want)
			}
		})
	}
}

// A replay batch with one notice the mapping rejects and one answered 429
// the first time used to be sent again whole: the rejected notice was
// counted (and logged) as failed once per attempt, and the notices indexed
// the first time came back 409 and were counted again in Duplicates and
// Replayed. Now only the notice answered 429 is sent again: each notice is
// counted once.
func TestReplayCountsEachNoticeOnce(t *testing.T) {
	var healthy atomic.Bool
	var badID, slowID atomic.Value
	var slowSeen sync.Map
	m := &mockES{
		status: func(int) int {
			if healthy.Load() {
				return 200
			}
			return 503
		},
		item: func(_ int, id string) int {
			if id == badID.Load().(string) {
				return 400 // document_parsing_exception: rejected for good
			}
			if id == slowID.Load().(string) {
				if _, seen := slowSeen.LoadOrStore(id, true); !seen {
					return 429
				}
			}
			return 201
		},
	}
	s, logs := newLoggedSink(t, Config{URLs: []string{newMock(t, m)}, Index: "logs-zeekanom.notice-t", MaxRetries: 1,
		SpoolDir: t.TempDir(), FlushInterval: time.Hour})
	ns := makeNotices(10, 11)
	badID.Store(sinkDocID(s, ns[3]))
	slowID.Store(sinkDocID(s, ns[7]))
	writeAll(t, s, ns) // cluster down: all 10 spooled
	if st := s.Stats(); st.Spooled != 10 {
		t.Fatalf("stats %+v, want 10 spooled", st)
	}
	healthy.Store(true)
	s.kick()
	eventually(t, 60*time.Second, "replay", func() bool { return !s.Pending() })
	st := s.Stats()
	if n := len(logs.with("rejected")); st.Failed != 1 || n != 1 {
		t.Errorf("one rejected notice counted %d times as Failed, logged %d times", st.Failed, n)
	}
	if st.Duplicates != 0 || st.Replayed != 9 || st.Indexed != 9 || m.stored() != 9 {
		t.Errorf("stats %+v, stored %d: want 9 replayed (indexed once each), no duplicates", st, m.stored())
	}
}

// A replay attempt that fails as a whole part-way through a segment (the
// cluster goes away between two batches) resumes where it stopped: the
// batches already acknowledged are not sent again (they would come back
// 409 and be counted twice in Replayed and Duplicates).
func TestReplayResumesAfterAFailedBatch(t *testing.T) {
	var healthy atomic.Bool
	var failFrom atomic.Int64 // request numbers failFrom, failFrom+1: 503 (one try, one retry)
	m := &mockES{status: func(n int) int {
		if !healthy.Load() || int64(n) == failFrom.Load() || int64(n) == failFrom.Load()+1 {
			return 503
		}
		return 200
	}}
	s, _ := newLoggedSink(t, Config{URLs: []string{newMock(t, m)}, Index: "logs-zeekanom.notice-t", MaxRetries: 1,
		SpoolDir: t.TempDir(), FlushInterval: time.Hour, FlushBytes: 8 << 10})
	writeAll(t, s, makeNotices(60, 19)) // ~8 replay batches of 8 KiB
	if st := s.Stats(); st.Spooled != 60 {
		t.Fatalf("stats %+v, want 60 spooled", st)
	}
	failFrom.Store(m.reqs.Load() + 3) // the replay's third batch
	healthy.Store(true)
	s.kick()
	eventually(t, 60*time.Second, "replay", func() bool { return !s.Pending() })
	if st := s.Stats(); st.Replayed != 60 || st.Duplicates != 0 || m.stored() != 60 {
		t.Fatalf("stats %+v, stored %d: want 60 replayed once each", st, m.stored())
	}
}

// A notice refused on its own with 401 or 403 (an API key without the
// privilege on this data stream) is not the notice's fault either: it is
// spooled, and sent once the privilege is granted, not counted as failed
// and dropped (so every notice was, until the operator noticed).
func TestItemAuthFailuresSpool(t *testing.T) {
	for _, status := range []int{401, 403} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var refused atomic.Bool
			refused.Store(true)
			m := &mockES{status: func(int) int { return 200 }, item: func(int, string) int {
				if refused.Load() {
					return status
				}
				return 201
			}}
			s, logs := newLoggedSink(t, Config{URLs: []string{newMock(t, m)}, Index: "logs-zeekanom.notice-t", MaxRetries: 1,
				SpoolDir: t.TempDir(), FlushInterval: time.Hour})
			writeAll(t, s, makeNotices(20, 19))
			if st := s.Stats(); st.Spooled != 20 || st.Failed != 0 || !s.Pending() {
				t.Fatalf("stats %+v: want 20 spooled, none failed", st)
			}
			if len(logs.with("spooling notices")) != 1 || len(logs.with("rejected")) != 0 {
				t.Errorf("want one line saying the notices spool, none rejecting them; logged %q", logs.with())
			}
			refused.Store(false)
			s.kick()
			eventually(t, 60*time.Second, "the spool to drain", func() bool { return !s.Pending() })
			if st := s.Stats(); st.Replayed != 20 || st.Failed != 0 || m.stored() != 20 {
				t.Fatalf("stats %+v stored %d: want 20 replayed", st, m.stored())
			}
		})
	}
}
