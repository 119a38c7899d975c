package zeekreader_test

import (
	"bytes"
	"io"
	"sync"
	"testing"

	stdgzip "compress/gzip"

	"github.com/klauspost/compress/gzip"

	"github.com/zeekanom/zeekanom/zeekreader"
	"github.com/zeekanom/zeekanom/zeekreader/zeekgen"
)

const benchRows = 200000

var benchData = map[string][]byte{}
var benchMu sync.Mutex

func benchInput(b *testing.B, json, gz bool) []byte {
	key := map[bool]string{false: "tsv", true: "json"}[json] + map[bool]string{false: "", true: ".gz"}[gz]
	benchMu.Lock()
	defer benchMu.Unlock()
	if d, ok := benchData[key]; ok {
		return d
	}
	var buf bytes.Buffer
	if err := zeekgen.Write(&buf, zeekgen.Options{Rows: benchRows, Hosts: 3000, JSON: json, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	d := buf.Bytes()
	if gz {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(d)
		zw.Close()
		d = z.Bytes()
	}
	benchData[key] = d
	return d
}

// benchConn reads every row fully typed (DecodeConn touches every column
// the detectors use) and reports rows/s.
func benchConn(b *testing.B, json, gz bool) {
	data := benchInput(b, json, gz)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	cpu0 := cpuTime()
	rows := 0
	var c zeekreader.Conn
	for i := 0; i < b.N; i++ {
		r := zeekreader.NewReader(bytes.NewReader(data), "conn.log")
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if err := zeekreader.DecodeConn(rec, &c); err != nil {
				b.Fatal(err)
			}
			rows++
		}
		r.Close()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	// CPU time per row is steadier than wall time on a shared machine.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(rows), "cpu-ns/row")
	b.ReportMetric(0, "MB/s")
}

func BenchmarkTSVConn(b *testing.B)     { benchConn(b, false, false) }
func BenchmarkJSONConn(b *testing.B)    { benchConn(b, true, false) }
func BenchmarkTSVConnGzip(b *testing.B) { benchConn(b, false, true) }

// BenchmarkTSVRaw is the reader alone (split + per-type validation), no view.
func BenchmarkTSVRaw(b *testing.B) {
	data := benchInput(b, false, false)
	b.ReportAllocs()
	rows := 0
	for i := 0; i < b.N; i++ {
		r := zeekreader.NewReader(bytes.NewReader(data), "conn.log")
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			rows++
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkGunzip compares decompression alone: the standard library against
// klauspost/compress, which the reader uses (the reason it is a dependency).
func BenchmarkGunzip(b *testing.B) {
	data := benchInput(b, false, true)
	for _, impl := range []struct {
		name string
		open func(io.Reader) (io.Reader, error)
	}{
		{"stdlib", func(r io.Reader) (io.Reader, error) { return stdgzip.NewReader(r) }},
		{"klauspost", func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }},
	} {
		b.Run(impl.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				zr, err := impl.open(bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, zr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
