package elasticsearch

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkBulkIndex measures notices/s from one Sink into the real node
// (ZEEKANOM_ES_URL), through the bulk indexer, including the final flush.
func BenchmarkBulkIndex(b *testing.B) {
	url := esURL(b)
	s, err := New(context.Background(), Config{URLs: []string{url}, Index: testIndex(b), Workers: benchWorkers(),
		FlushBytes: 4 << 20, FlushInterval: time.Second}, WithLogf(b.Logf))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Setup(ctx); err != nil {
		b.Fatal(err)
	}
	ns := makeNotices(20000, 9)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := *ns[i%len(ns)]
		n.Finalize(strconv.Itoa(i)) // a fresh id per iteration
		if err := s.Write(ctx, &n); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	st := s.Stats()
	if st.Indexed != int64(b.N) {
		b.Fatalf("indexed %d of %d (%+v)", st.Indexed, b.N, st)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notices/s")
}

// benchWorkers is ZEEKANOM_ES_BENCH_WORKERS, default 2.
func benchWorkers() int {
	if n, err := strconv.Atoi(os.Getenv("ZEEKANOM_ES_BENCH_WORKERS")); err == nil && n > 0 {
		return n
	}
	return 2
}

// BenchmarkBulkIndexClientOnly is the client's ceiling: the same Sink into
// an in-process endpoint that acknowledges every item without indexing.
func BenchmarkBulkIndexClientOnly(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := bytes.Count(body, []byte{'\n'}) / 2
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		var out bytes.Buffer
		out.WriteString(`{"errors":false,"items":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				out.WriteByte(',')
			}
			out.WriteString(`{"create":{"status":201}}`)
		}
		out.WriteString(`]}`)
		w.Write(out.Bytes())
	}))
	defer srv.Close()
	s, err := New(context.Background(), Config{URLs: []string{srv.URL}, Index: "logs-zeekanom.notice-bench", Workers: benchWorkers(),
		FlushBytes: 4 << 20, FlushInterval: time.Second}, WithLogf(b.Logf))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	ns := makeNotices(20000, 9)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Write(ctx, ns[i%len(ns)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if st := s.Stats(); st.Indexed != int64(b.N) {
		b.Fatalf("indexed %d of %d (%+v)", st.Indexed, b.N, st)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notices/s")
}
