package elasticsearch

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// busyCluster is a mock whose bulk answers go through (200) but refuse the
// notices of some _ids on their own with status, in the requests for which
// refuse says so (a write thread pool's es_rejected_execution_exception).
// It counts the items of each bulk request.
type busyCluster struct {
	m      *mockES
	mu     sync.Mutex
	items  map[int]int // request number -> items in it
	status int
}

// whole, if not nil, is the status of each bulk request as a whole (200:
// answered item by item).
func newBusyCluster(t *testing.T, status int, refuse func(req int, id string) bool, whole func(req int) int) (*busyCluster, string) {
	b := &busyCluster{items: map[int]int{}, status: status}
	b.m = &mockES{status: whole, item: func(req int, id string) int {
		b.mu.Lock()
		b.items[req]++
		b.mu.Unlock()
		if busyID(id) && refuse(req, id) {
			return b.status
		}
		return 201
	}}
	return b, newMock(t, b.m)
}

// busyID: the _ids (hex) the busy cluster refuses, about a quarter.
func busyID(id string) bool { return id != "" && strings.ContainsRune("0123", rune(id[0])) }

// requestItems is the number of items in each bulk request answered item
// by item, in order.
func (b *busyCluster) requestItems() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	reqs := slices.Sorted(maps.Keys(b.items))
	out := make([]int, len(reqs))
	for i, req := range reqs {
		out[i] = b.items[req]
	}
	return out
}

// Notices refused on their own with 429 or 5xx inside a bulk answer that
// went through (HTTP 200, errors: true) are sent again by the sink in
// follow-up bulk requests of only those notices, max_retries times with
// the client's backoff, before they go to the spool or, without one (score
// --es-url), are dropped. They were dropped at once without a spool: a
// busy cluster's write queue cost score notices, counted in Dropped.
func TestItemsRefusedForNowAreSentAgain(t *testing.T) {
	const n, maxRetries = 100, 3
	for _, tc := range []struct {
		name     string
		status   int
		refusals int // requests in which the busy notices are refused (-1: all)
		spool    bool
		requests int // bulk requests
		retries  int64
		givenUp  bool // the busy notices are still refused after max_retries
	}{
		{"429 twice, then indexed", 429, 2, false, 3, 2, false},
		{"503 once, then indexed", 503, 1, false, 2, 1, false},
		{"429 twice, then indexed, with a spool", 429, 2, true, 3, 2, false},
		{"always 429, no spool: dropped", 429, -1, false, 1 + maxRetries, maxRetries, true},
		{"always 429: spooled", 429, -1, true, 1 + maxRetries, maxRetries, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, url := newBusyCluster(t, tc.status, func(req int, _ string) bool { return tc.refusals < 0 || req <= tc.refusals }, nil)
			cfg := Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", Workers: 1, MaxRetries: maxRetries, FlushInterval: time.Hour}
			if tc.spool {
				cfg.SpoolDir = t.TempDir()
			}
			s, logs := newLoggedSink(t, cfg)
			ns := makeNotices(n, 41)
			busy := 0
			for _, nt := range ns {
				if busyID(sinkDocID(s, nt)) {
					busy++
				}
			}
			start := time.Now()
			writeAll(t, s, ns) // one batch
			took := time.Since(start)
			st := s.Stats()
			reqs := b.requestItems()
			t.Logf("stats %+v; %d busy notices; items per request %v; %s", st, busy, reqs, took)
			if tc.spool && tc.givenUp && len(reqs) > tc.requests {
				// the replayer has begun to send the spooled notices
				reqs = reqs[:tc.requests]
				st.Retries = min(st.Retries, tc.retries)
			}
			if len(reqs) != tc.requests || reqs[0] != n {
				t.Fatalf("bulk requests of %v items, want %d requests, the first of %d", reqs, tc.requests, n)
			}
			for i, k := range reqs[1:] {
				if k != busy {
					t.Errorf("follow-up request %d sent %d notices, want only the %d refused", i+1, k, busy)
				}
			}
			if st.Retries != tc.retries {
				t.Errorf("Retries %d, want %d (one per follow-up request)", st.Retries, tc.retries)
			}
			wantIndexed, wantDropped, wantSpooled := int64(n), int64(0), int64(0)
			if tc.givenUp {
				wantIndexed = int64(n - busy)
				if tc.spool {
					wantSpooled = int64(busy)
				} else {
					wantDropped = int64(busy)
				}
			}
			if st.Indexed != wantIndexed || st.Dropped != wantDropped || st.Spooled != wantSpooled || st.Failed != 0 || st.Duplicates != 0 {
				t.Errorf("indexed %d dropped %d spooled %d failed %d duplicates %d, want %d, %d, %d, 0, 0",
					st.Indexed, st.Dropped, st.Spooled, st.Failed, st.Duplicates, wantIndexed, wantDropped, wantSpooled)
			}
			if got := b.m.stored(); int64(got) != wantIndexed {
				t.Errorf("the cluster stored %d notices, want %d", got, wantIndexed)
			}
			lines := logs.with("still refused after 3 retries")
			switch {
			case !tc.givenUp && len(lines) != 0:
				t.Errorf("logged %q, with every notice indexed", lines)
			case tc.givenUp && len(lines) != 1:
				t.Errorf("want one line saying %d notices were still refused, logged %q", busy, logs.with())
			case tc.givenUp && !strings.Contains(lines[0], map[bool]string{true: "spooled to", false: "dropped"}[tc.spool]):
				t.Errorf("the line does not say what became of them: %q", lines[0])
			}
			// the client's backoff: at most 50+100+200 ms for 3 retries
			if took > 10*time.Second {
				t.Errorf("the batch took %s to settle", took)
			}
		})
	}
}

// A cluster that keeps refusing notices on their own costs each batch at
// most max_retries follow-up requests, and the log says so on the 1st,
// 2nd, 4th, 8th... batch, not once a batch.
func TestItemsStillRefusedAreLoggedBoundedly(t *testing.T) {
	b, url := newBusyCluster(t, 429, func(int, string) bool { return true }, nil)
	s, logs := newLoggedSink(t, Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", Workers: 1, MaxRetries: 1,
		FlushBytes: 4 << 10, FlushInterval: time.Hour})
	ns := makeNotices(60, 43)
	writeAll(t, s, ns)
	st := s.Stats()
	reqs := b.requestItems()
	batches := int64(len(reqs)) - st.Retries
	givenUp := st.Retries // one follow-up request each (max_retries 1), in vain
	lines := logs.with("still refused after 1 retries")
	t.Logf("stats %+v; %d requests, %d batches, %d given up; %d lines", st, len(reqs), batches, givenUp, len(lines))
	if st.Indexed+st.Dropped != int64(len(ns)) || st.Dropped < givenUp || st.Failed != 0 {
		t.Errorf("stats %+v: every notice indexed or dropped, at least one a batch given up", st)
	}
	if givenUp < 8 {
		t.Fatalf("%d batches given up, want at least 8 for the test", givenUp)
	}
	want := 0
	for k := int64(1); k <= givenUp; k *= 2 {
		want++
	}
	if len(lines) != want {
		t.Errorf("%d lines for %d batches given up, want %d (1st, 2nd, 4th...)", len(lines), givenUp, want)
	}
}

// The replayer sends spooled notices refused on their own again too, as
// the bulk workers do: they are indexed in the same attempt, each counted
// once in Replayed.
func TestReplaySendsItemsRefusedForNowAgain(t *testing.T) {
	var mu sync.Mutex
	healthyFrom := 0          // request number from which the cluster answers; 0: down
	seen := map[string]bool{} // busy notices refused once since
	refuse := func(req int, id string) bool {
		mu.Lock()
		defer mu.Unlock()
		if healthyFrom == 0 || req < healthyFrom || seen[id] {
			return false
		}
		seen[id] = true
		return true
	}
	b, url := newBusyCluster(t, 429, refuse, func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if healthyFrom == 0 {
			return 503
		}
		return 200
	})
	cfg := Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", Workers: 1, MaxRetries: 2,
		SpoolDir: t.TempDir(), FlushInterval: time.Hour}
	// a run while the cluster was down left its notices in the spool
	down, _ := newLoggedSink(t, cfg)
	ns := makeNotices(50, 47)
	writeAll(t, down, ns)
	down.Close()
	if st := down.Stats(); st.Spooled != int64(len(ns)) || st.SpoolBytes == 0 {
		t.Fatalf("stats %+v, want all spooled while the cluster is down", st)
	}
	busy := 0
	for _, nt := range ns {
		if busyID(sinkDocID(down, nt)) {
			busy++
		}
	}
	mu.Lock()
	healthyFrom = int(b.m.reqs.Load()) + 1 // the busy notices are refused the first time they come
	mu.Unlock()
	before := len(b.requestItems())
	s, logs := newLoggedSink(t, cfg) // replays the spool at start
	eventually(t, 30*time.Second, "the spool to drain", func() bool { return !s.Pending() })
	st := s.Stats()
	reqs := b.requestItems()[before:]
	t.Logf("stats %+v; %d busy notices; items per request %v", st, busy, reqs)
	// (the first run's replayer cut the spool into segments as it went:
	// each is a request, then one of its busy notices)
	sent := 0
	for _, k := range reqs {
		sent += k
	}
	if sent != len(ns)+busy || st.Retries == 0 || st.Retries > int64(len(reqs)/2) {
		t.Errorf("the replay's requests had %v items (%d), want the %d notices and again the %d refused, in %d follow-ups",
			reqs, sent, len(ns), busy, st.Retries)
	}
	if st.Replayed != int64(len(ns)) || st.Indexed != int64(len(ns)) || st.Duplicates != 0 || st.Failed != 0 || b.m.stored() != len(ns) {
		t.Errorf("stats %+v, stored %d: want %d replayed, each once", st, b.m.stored(), len(ns))
	}
	if lines := logs.with("still refused"); len(lines) != 0 {
		t.Errorf("logged %q", lines)
	}
}

// stallingServer serves m (nil: a mock answering every request 200), but
// answers a request stalls picks with its headers (200, or none when
// before) and the start of a body (partial), then stalls until the
// request's context ends or the test does. Stalled requests are not in
// m.requests().
func stallingServer(t *testing.T, m *mockES, stalls func(*http.Request) bool, before bool, partial string) string {
	if m == nil {
		m = &mockES{}
	}
	m.ids = map[string]int{}
	if m.status == nil {
		m.status = func(int) int { return 200 }
	}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !stalls(r) {
			m.ServeHTTP(w, r)
			return
		}
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		if !before {
			w.WriteHeader(200)
			w.Write([]byte(partial))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before srv.Close: its handlers return
	return srv.URL
}

// A bulk request is bounded as a whole, its answer's body too: the
// transport bounds only an answer's headers (60 s), and an answer whose
// body stalled after them held its worker, and score's Write behind it,
// for ever. A request that reaches the bound failed as a whole: its
// notices are spooled, or dropped without a spool, as in an outage, and
// the log says why.
func TestAStalledAnswerIsAFailedRequest(t *testing.T) {
	const bound = 300 * time.Millisecond
	for _, tc := range []struct {
		name         string
		before       bool // the stall is before the headers
		spool        bool
		backpressure bool // score's
		flushBytes   int  // 1: one notice a request
	}{
		{"score, body stalls", false, false, true, 1},
		{"body stalls, no spool", false, false, false, 0},
		{"body stalls, spool", false, true, false, 0},
		{"headers stall, no spool", true, false, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{URLs: []string{stallingServer(t, nil, func(r *http.Request) bool { return r.URL.Path == "/_bulk" }, tc.before,
				`{"errors":false,"items":[{"create":{"status":201}},`)}, Index: "logs-zeekanom.notice-t", Workers: 1, MaxRetries: 1,
				FlushBytes: tc.flushBytes, FlushInterval: time.Hour}
			if tc.spool {
				cfg.SpoolDir = t.TempDir()
			}
			opts := []Option{withRequestTimeout(bound)}
			if tc.backpressure {
				opts = append(opts, WithBackpressure())
			}
			s, logs := newLoggedSink(t, cfg, opts...)
			ns := makeNotices(3, 53)
			done := make(chan struct{})
			start := time.Now()
			go func() {
				defer close(done)
				if err := writeFlush(s, ns); err != nil {
					t.Error(err)
				}
			}()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("Write and Flush still waiting after 30 s for a cluster whose answers stall (stats %+v)", s.Stats())
			}
			took := time.Since(start)
			st := s.Stats()
			t.Logf("stats %+v in %s", st, took)
			settled := st.Dropped
			if tc.spool {
				settled = st.Spooled
			}
			if settled != int64(len(ns)) || st.Indexed != 0 || st.Failed != 0 {
				t.Errorf("stats %+v: want all %d notices %s", st, len(ns), map[bool]string{true: "spooled", false: "dropped"}[tc.spool])
			}
			if lines := logs.with("cluster unreachable", "not answered in full within 300ms"); len(lines) != 1 {
				t.Errorf("want one line saying the cluster is unreachable, its answer not in full within the bound; logged %q", logs.with())
			}
			if took > 10*time.Second {
				t.Errorf("took %s for %d notices, each request bounded by %s", took, len(ns), bound)
			}
			// none was sent again: the bound ended each one's only
			// attempt (the transport's backoff callback, called then
			// too, counted one retry for it)
			if st.Retries != 0 {
				t.Errorf("Retries %d, want 0: no request was sent again", st.Retries)
			}
		})
	}
}
