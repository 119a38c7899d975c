package follow

import (
	"context"
	"io"
	"testing"
)

// BenchmarkFollowDrain measures the follower alone (live-mode reader, typed
// events, offsets) over real conn rows: 100k rows per iteration.
func BenchmarkFollowDrain(b *testing.B) {
	w := newZeekWriter(b, b.TempDir(), false)
	for range 100 {
		w.Append(1000)
	}
	w.Close()
	b.ResetTimer()
	var bytes int64
	for range b.N {
		f, err := New(Options{Dir: w.dir, Drain: true}, nil) // (the default logs: dns, http and ssl missing, looked at now and then)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := f.Next(context.Background())
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 100000 {
			b.Fatalf("%d rows", n)
		}
		bytes = f.Positions()[0].Offset
		f.Close()
	}
	b.SetBytes(bytes)
	b.ReportMetric(float64(100000*b.N)/b.Elapsed().Seconds(), "rows/s")
}
