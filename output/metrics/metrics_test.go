package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type tableStats struct {
	Tracked int
	Evicted int64
}

type detStats struct {
	tableStats
	EvictedHosts int64
	Scored       int64
}

func TestFlatten(t *testing.T) {
	got := Flatten(detStats{tableStats{3, 4}, 5, 6})
	want := map[string]float64{"tracked": 3, "evicted": 4, "evicted_hosts": 5, "scored": 6}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	// dns's DGAs and SlowDGAs were dg_as and slow_dg_as
	for in, want := range map[string]string{"QueueDepth": "queue_depth", "HTTPErrors": "http_errors",
		"DGAs": "dgas", "SlowDGAs": "slow_dgas", "IPsSeen": "ips_seen", "DNSServers": "dns_servers", "Hosts": "hosts"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestServe(t *testing.T) {
	m := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, _, err := m.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("healthz before any update: %d", code)
	}
	m.Set(Snapshot{
		Updated:   time.Now(),
		Logs:      []Log{{Log: "conn", Rows: 42, ParseErrors: 1, Newest: time.Now().Add(-3 * time.Second), BytesBehind: 100}},
		Notices:   map[string]int64{"scan.horizontal": 2},
		Detectors: map[string]map[string]float64{"scan": Flatten(detStats{tableStats{7, 1}, 0, 0})},
		Outputs:   map[string]map[string]float64{"elasticsearch": {"queue_depth": 5, "spool_bytes": 1024, "errors": 2}},
		MissingColumns: []MissingColumns{{Detector: "exfil", Log: "conn", Columns: "orig_bytes"},
			{Detector: "contextual", Log: "conn", Columns: "orig_bytes,resp_bytes"}},
	})
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("healthz: %d %q", code, body)
	}
	_, body := get("/metrics")
	for _, want := range []string{
		`zeekanom_rows_read_total{log="conn"} 42`,
		`zeekanom_missing_columns{columns="orig_bytes",detector="exfil",log="conn"} 1`,
		`zeekanom_missing_columns{columns="orig_bytes,resp_bytes",detector="contextual",log="conn"} 1`,
		`zeekanom_parse_errors_total{log="conn"} 1`,
		`zeekanom_bytes_behind{log="conn"} 100`,
		`zeekanom_lag_seconds{log="conn"}`,
		`zeekanom_notices_total{rule="scan.horizontal"} 2`,
		`zeekanom_hosts_tracked{detector="scan"} 7`,
		`zeekanom_hosts_evicted_total{detector="scan"} 1`,
		`zeekanom_output_queue_depth{output="elasticsearch"} 5`,
		`zeekanom_output_spool_bytes{output="elasticsearch"} 1024`,
		`zeekanom_output_errors_total{output="elasticsearch"} 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// /healthz fails when no checkpoint was written for longer than the
// snapshot's CheckpointDue (a full state directory, an output that cannot
// flush): it said ok while nothing was saved.
func TestHealthzChecksCheckpoints(t *testing.T) {
	m := New()
	now := time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	h := m.Handler()
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code, rec.Body.String()
	}
	for _, c := range []struct {
		last time.Duration // age of the last checkpoint written (0: none yet)
		due  time.Duration
		code int
	}{
		{time.Second, time.Minute, 200},
		{2 * time.Minute, time.Minute, 503},
		{2 * time.Minute, 0, 200}, // not judged
		{0, time.Minute, 200},     // none written yet: the start checks the state directory
	} {
		s := Snapshot{Updated: now, CheckpointDue: c.due}
		if c.last > 0 {
			s.LastCheckpoint = now.Add(-c.last)
		}
		m.Set(s)
		if code, body := get(); code != c.code || (code == 503 && !strings.Contains(body, "no checkpoint written for 2m0s")) {
			t.Errorf("last checkpoint %s ago, due %s: %d %q, want %d", c.last, c.due, code, body, c.code)
		}
	}
}
