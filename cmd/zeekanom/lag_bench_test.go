package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
	"github.com/zeekanom/zeekanom/zeekreader/follow"
)

// BenchmarkLiveLag writes conn rows at 50,000 rows/s (a busy 10 Gbit/s
// sensor) into a live conn.log, stamped with the wall clock, while the
// follower feeds every default detector as run does. It reports how far
// behind the writer the detectors are once they have taken each row (p50,
// p99, max over all rows, and in the last second of the run: flat lag
// means the sidecar keeps up). One op is one second of traffic.
func BenchmarkLiveLag(b *testing.B) {
	const rate = 50000
	dir := b.TempDir()
	path := filepath.Join(dir, "conn.log")
	w, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	fmt.Fprint(w, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"+
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\n"+
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\n")
	dets, err := buildDetectors(nil, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	eng := detectors.NewEngine(func(*notice.Notice) {}, dets...)
	f, err := follow.New(follow.Options{Dir: dir, Logs: []string{"conn"}, PollInterval: 50 * time.Millisecond}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	total := b.N * rate
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(b.N)*time.Second+30*time.Second)
	defer cancel()
	go func() { // the writer: batches every 10 ms, like Zeek's buffered writes
		start := time.Now()
		buf := make([]byte, 0, 1<<16)
		for i := 0; i < total; {
			due := int(time.Since(start).Seconds() * rate)
			buf = buf[:0]
			for ; i < due && i < total; i++ {
				now := float64(time.Now().UnixMicro()) / 1e6
				buf = fmt.Appendf(buf, "%.6f\tC%017d\t10.%d.%d.%d\t%d\t93.184.%d.%d\t443\ttcp\tssl\t0.5\t500\t5000\tSF\n",
					now, i, i%7, (i/7)%250, i%250, 1024+i%60000, (i/13)%250, i%200)
			}
			w.Write(buf)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	lags := make([]time.Duration, 0, total)
	batch := zeekreader.NewBatch(batchRows)
	b.ResetTimer()
	for len(lags) < total { // as run does: a run of what is ready, then the detectors
		if err := readRun(ctx, f, batch, nil); err != nil {
			b.Fatalf("after %d rows: %v", len(lags), err)
		}
		eng.ObserveBatch(batch.Events)
		now := time.Now()
		for _, ev := range batch.Events {
			lags = append(lags, now.Sub(ev.TS))
		}
		batch.Reset()
	}
	b.StopTimer()
	tail := append([]time.Duration(nil), lags[len(lags)-rate:]...)
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	sort.Slice(tail, func(i, j int) bool { return tail[i] < tail[j] })
	b.ReportMetric(lags[len(lags)/2].Seconds()*1000, "p50-lag-ms")
	b.ReportMetric(lags[len(lags)*99/100].Seconds()*1000, "p99-lag-ms")
	b.ReportMetric(lags[len(lags)-1].Seconds()*1000, "max-lag-ms")
	b.ReportMetric(tail[len(tail)*99/100].Seconds()*1000, "last-second-p99-ms")
}
