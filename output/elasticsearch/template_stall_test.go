package elasticsearch

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// templateStaller serves m, but while stall holds the index template
// requests of method (GET or PUT) stall after their headers
// (stallingServer).
func templateStaller(t *testing.T, m *mockES, method string, stall *atomic.Bool) string {
	return stallingServer(t, m, func(r *http.Request) bool {
		return stall.Load() && r.Method == method && strings.HasPrefix(r.URL.Path, "/_index_template/")
	}, false, `{"index_templates":[`)
}

// The requests about the index template are bounded as a whole, their
// answers' bodies too (adminTimeout; here shortened to 300 ms): a cluster
// whose answer stalled after its headers held New, and with it score and
// run at start, for ever, and the bulk worker that installs the template
// before the first notice. A request that reaches the bound is an outage,
// as an unreachable cluster: New starts anyway and says why, the notices
// are dropped without a spool (score then exits 1) or spooled, and the
// template is installed once the cluster answers again, before the
// notices are sent.
func TestAStalledTemplateAnswerIsAnOutage(t *testing.T) {
	const bound = 300 * time.Millisecond
	for _, tc := range []struct {
		name   string
		method string // the request that stalls
		spool  bool   // run's; without: score's (and backpressure)
		says   string
	}{
		{"score, GET stalls", "GET", false, "reading index template zeekanom-notice: GET _index_template/zeekanom-notice not answered in full within 300ms"},
		{"score, PUT stalls", "PUT", false, "put template: PUT _index_template/zeekanom-notice not answered in full within 300ms"},
		{"run, GET stalls", "GET", true, "GET _index_template/zeekanom-notice not answered in full within 300ms"},
		{"run, PUT stalls", "PUT", true, "PUT _index_template/zeekanom-notice not answered in full within 300ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stall := new(atomic.Bool)
			stall.Store(true)
			m := &mockES{}
			cfg := Config{URLs: []string{templateStaller(t, m, tc.method, stall)}, Index: "logs-zeekanom.notice-t", Workers: 1, MaxRetries: 1,
				FlushBytes: 1, FlushInterval: time.Hour}
			opts := []Option{WithTemplate(), withRequestTimeout(bound)}
			if tc.spool {
				cfg.SpoolDir = t.TempDir()
			} else {
				opts = append(opts, WithBackpressure())
			}
			start := time.Now()
			var s *Sink
			var logs *logLines
			returns(t, "New", func() { s, logs = newLoggedSink(t, cfg, opts...) })
			if took := time.Since(start); took > 10*bound {
				t.Errorf("New took %s, its requests bounded by %s", took, bound)
			}
			if lines := logs.with("cluster unreachable", tc.says, "starting anyway"); len(lines) != 1 {
				t.Errorf("want one line saying the cluster is unreachable (%s), starting anyway; logged %q", tc.says, logs.with())
			}
			ns := makeNotices(3, 61)
			returns(t, "Write and Flush", func() {
				if err := writeFlush(s, ns); err != nil {
					t.Error(err)
				}
			})
			st := s.Stats()
			if tc.spool {
				if st.Spooled != 3 || st.Lost != 0 {
					t.Errorf("stats %+v: want the 3 notices spooled", st)
				}
			} else if st.Dropped != 3 || s.Lost() != 3 {
				t.Errorf("stats %+v: want the 3 notices dropped (no spool), and counted", st)
			}
			if m.reqs.Load() != 0 || st.Retries != 0 {
				t.Errorf("%d bulk requests, %d retries: want none before the template is installed (requests %q)", m.reqs.Load(), st.Retries, m.requests())
			}
			if !tc.spool {
				return
			}
			stall.Store(false) // the cluster answers again: run goes on
			s.kick()
			eventually(t, 30*time.Second, "spooled notices indexed", func() bool { return m.stored() == 3 && !s.Pending() })
			firstBulkAfterTemplate(t, m.requests())
			if len(logs.with("index template installed")) != 1 {
				t.Error("the late install is not logged")
			}
		})
	}
}

// returns runs f and fails the test if it has not returned after 30 s.
func returns(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s still waiting after 30 s for a cluster whose answers stall", what)
	}
}
