package elasticsearch

import (
	"context"
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
