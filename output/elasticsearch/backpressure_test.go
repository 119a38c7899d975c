package elasticsearch

import (
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"
)

// A cluster that answers, slowly, costs score no notices: found on
// 2026-12-02, when score --es-url of TrickBot into a freshly started node
// on a busy VM dropped 1 of 91 notices, its Write having waited
// write_timeout (5 s) for room in the bulk queue behind requests the node
// was slow to answer, and exited 1. With WithBackpressure (score's) and no
// write_timeout in the config Write waits while the cluster answers; a
// write_timeout the config sets is honoured, and run (without the option)
// keeps its bound. In an outage (requests failing as a whole) a
// backpressured Write waits write_timeout again: a cluster that is down
// fails as fast as before, and notices behind the first failures are
// dropped at Write, never sent.
func TestBackpressureWaitsForASlowCluster(t *testing.T) {
	const (
		notices = 6
		delay   = 200 * time.Millisecond // every bulk request's answer
		wait    = 20 * time.Millisecond  // write_timeout, set or (explicit false) as if the default
	)
	idRe := regexp.MustCompile(`"_id":"([0-9a-f]+)"`)
	for _, tc := range []struct {
		name                   string
		backpressure, explicit bool
		status                 int // of every bulk request
		dropped, sent          int // -1: some, fewer than notices
	}{
		{"score, slow cluster", true, false, 200, 0, notices},
		{"score, slow cluster, write_timeout set", true, true, 200, -1, -1},
		{"run, slow cluster", false, true, 200, -1, -1},
		{"score, cluster failing (503)", true, false, 503, notices, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := &mockES{status: func(int) int { return tc.status }}
			var mu sync.Mutex
			sent := map[string]bool{}
			url := frontProxy(t, newMock(t, inner), func(r *http.Request, body []byte) (int, string) {
				if r.URL.Path == "/_bulk" {
					mu.Lock()
					for _, m := range idRe.FindAllSubmatch(body, -1) {
						sent[string(m[1])] = true
					}
					mu.Unlock()
					select { // the slow cluster
					case <-time.After(delay):
					case <-r.Context().Done():
					}
				}
				return 0, ""
			})
			var opts []Option
			if tc.backpressure {
				opts = append(opts, WithBackpressure())
			}
			// one worker sending each notice alone, no spool: a notice
			// that finds no room in time is dropped
			s, logs := newLoggedSink(t, Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", Workers: 1,
				FlushBytes: 1, MaxRetries: 1, WriteTimeout: wait, FlushInterval: time.Hour}, opts...)
			s.writeTimeoutSet = tc.explicit // (false: wait plays the default's part)
			writeAll(t, s, makeNotices(notices, 31))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			mu.Lock()
			nsent := len(sent)
			mu.Unlock()
			t.Logf("stats %+v; %d notices sent; log %q", st, nsent, logs.with("elasticsearch"))
			check := func(what string, got int64, want int) {
				t.Helper()
				if want < 0 && (got == 0 || got >= notices) || want >= 0 && got != int64(want) {
					t.Errorf("%s: %d of %d notices, want %d (-1: some, not all)", what, got, notices, want)
				}
			}
			check("dropped", st.Dropped, tc.dropped)
			check("sent", int64(nsent), tc.sent)
			if tc.status == 200 && st.Indexed+st.Dropped != notices {
				t.Errorf("indexed %d + dropped %d is not the %d notices written", st.Indexed, st.Dropped, notices)
			}
		})
	}
}
