package elasticsearch

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// firstBulkAfterTemplate checks that the first _bulk request came after a
// successful PUT of the index template.
func firstBulkAfterTemplate(t *testing.T, reqs []string) {
	t.Helper()
	installed := false
	for _, r := range reqs {
		switch {
		case strings.HasPrefix(r, "PUT /_index_template/") && strings.HasSuffix(r, " 200"):
			installed = true
		case strings.Contains(r, "/_bulk"):
			if !installed {
				t.Fatalf("a bulk request before the index template was installed: %q", reqs)
			}
			return
		}
	}
	t.Fatalf("no bulk request: %q", reqs)
}

// downMock is a mock cluster that answers every request 503 until down is
// set to false.
func downMock(t *testing.T) (*mockES, *atomic.Bool, string) {
	down := new(atomic.Bool)
	down.Store(true)
	st := func() int {
		if down.Load() {
			return 503
		}
		return 200
	}
	m := &mockES{status: func(int) int { return st() }, other: st}
	return m, down, newMock(t, m)
}

// With the cluster unreachable at start (here 503 to everything), New
// with WithTemplate does not fail: the sink starts, and it installs the
// index template before it sends any notice. With a spool the notices wait there
// until then; without one, those written while it cannot be installed are
// dropped (counted) and the log says so. Before, score and run refused to
// start.
func TestWithTemplateStartsWhileClusterDown(t *testing.T) {
	for _, spool := range []bool{true, false} {
		name := map[bool]string{true: "spool", false: "no spool"}[spool]
		t.Run(name, func(t *testing.T) {
			m, down, url := downMock(t)
			cfg := Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", MaxRetries: 1, FlushInterval: time.Hour}
			if spool {
				cfg.SpoolDir = t.TempDir()
			}
			s, logs := newLoggedSink(t, cfg, WithTemplate())
			writeAll(t, s, makeNotices(20, 20))
			stats := s.Stats()
			if spool {
				if stats.Spooled != 20 || len(logs.with("cluster unreachable", "starting anyway", "spooled to")) != 1 {
					t.Fatalf("stats %+v: want 20 spooled and the start logged", stats)
				}
			} else if stats.Dropped != 20 || stats.Failed != 0 || s.Lost() != 20 || len(logs.with("cluster unreachable", "starting anyway", "no spool_dir", "dropped")) != 1 {
				t.Fatalf("stats %+v: want 20 dropped and the start logged, saying so", stats)
			}
			down.Store(false)
			s.kick()
			if !spool {
				writeAll(t, s, makeNotices(20, 21))
			}
			eventually(t, 60*time.Second, "notices indexed", func() bool { return m.stored() == 20 && !s.Pending() })
			firstBulkAfterTemplate(t, m.requests())
			if len(logs.with("index template installed")) != 1 {
				t.Error("the late install is not logged")
			}
		})
	}
}

// A 4xx other than 408 and 429 when the template is installed at start is
// not an outage: bad credentials, missing privileges or a template the
// cluster refuses would not go away by waiting; New returns it.
func TestWithTemplateFailsOn4xx(t *testing.T) {
	for _, tc := range []struct {
		status int
		fails  bool
	}{{400, true}, {401, true}, {403, true}, {404, true}, {408, false}, {429, false}, {500, false}, {503, false}} {
		m := &mockES{other: func() int { return tc.status }}
		s, err := New(context.Background(), Config{URLs: []string{newMock(t, m)}, Index: "logs-zeekanom.notice-t", MaxRetries: 1, SpoolDir: t.TempDir()},
			WithTemplate(), WithLogf(t.Logf))
		if (err != nil) != tc.fails {
			t.Errorf("template answered %d: New returned %v", tc.status, err)
		}
		if err == nil {
			s.Close()
		}
	}
}

// Against the node, through a proxy that is down when the sink starts:
// the notices written meanwhile are spooled, and once the cluster is back
// the template is installed before they are replayed, so they land in a
// data stream with the template's mappings (source.ip an ip).
func TestIntegrationStartWhileClusterDown(t *testing.T) {
	url := esURL(t)
	es := testClient(t, url)
	index := testIndex(t)
	p := newProxy(t, strings.TrimPrefix(url, "http://"))
	p.stop()
	s, _ := newLoggedSink(t, Config{URLs: []string{p.url()}, Index: index, SpoolDir: t.TempDir(), MaxRetries: 1, FlushInterval: 100 * time.Millisecond},
		WithTemplate())
	writeAll(t, s, makeNotices(50, 22))
	if st := s.Stats(); st.Spooled != 50 {
		t.Fatalf("stats %+v: want 50 spooled", st)
	}
	p.start(t)
	eventually(t, 90*time.Second, "the spool to drain", func() bool { return !s.Pending() })
	if got := count(t, es, index, nil); got != 50 {
		t.Fatalf("count %d, want 50 (stats %+v)", got, s.Stats())
	}
	mp := call(t, es, "GET", "/"+index+"/_mapping/field/source.ip", nil)
	for bi, v := range mp {
		ty := v.(map[string]any)["mappings"].(map[string]any)["source.ip"].(map[string]any)["mapping"].(map[string]any)["ip"].(map[string]any)["type"]
		if !strings.HasPrefix(bi, ".ds-"+index) || ty != "ip" {
			t.Errorf("backing index %s, source.ip mapped %v: the notices went in before the template", bi, ty)
		}
	}
}

// A spool left by a previous run is replayed only once the index template
// is installed (New installs it before the replayer starts): the notices
// must not create the data stream with other mappings.
func TestWithTemplateGoesBeforeTheLeftSpool(t *testing.T) {
	m, down, url := downMock(t)
	cfg := Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", MaxRetries: 1, FlushInterval: time.Hour, SpoolDir: t.TempDir()}
	s, _ := newLoggedSink(t, cfg)
	writeAll(t, s, makeNotices(20, 23))
	s.Close()
	down.Store(false)
	before := len(m.requests())
	s2, _ := newLoggedSink(t, cfg, WithTemplate())
	eventually(t, 60*time.Second, "the spool to drain", func() bool { return !s2.Pending() })
	if m.stored() != 20 {
		t.Fatalf("stored %d, want 20", m.stored())
	}
	firstBulkAfterTemplate(t, m.requests()[before:])
}

// Close gives the replayer the rest of its 30 s to empty the spool while
// the cluster takes it (it used to stop it at once: a short score left
// everything spooled), and does not wait while the cluster stays down.
func TestCloseDrainsTheSpool(t *testing.T) {
	m, down, url := downMock(t)
	cfg := Config{URLs: []string{url}, Index: "logs-zeekanom.notice-t", MaxRetries: 1, FlushInterval: time.Hour, SpoolDir: t.TempDir()}
	s, logs := newLoggedSink(t, cfg)
	writeAll(t, s, makeNotices(200, 24))
	down.Store(false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); m.stored() != 200 || st.Replayed != 200 || st.SpoolBytes != 0 {
		t.Fatalf("stored %d, stats %+v: want the spool sent before Close returns", m.stored(), st)
	}

	down.Store(true)
	s2, logs2 := newLoggedSink(t, cfg)
	writeAll(t, s2, makeNotices(20, 25))
	start := time.Now()
	s2.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close waited %s with the cluster down", d)
	}
	if len(logs.with("left in the spool")) != 0 || len(logs2.with("left in the spool")) != 1 || s2.Stats().SpoolBytes == 0 {
		t.Errorf("want the notices left in the spool, logged by the second sink only")
	}
}
