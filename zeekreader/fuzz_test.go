package zeekreader_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/zeekanom/zeekanom/zeekreader"
)

func addSeeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "zeekreader", pattern))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// exercise reads everything and touches every accessor of every field: the
// reader must never panic, whatever the bytes.
func exercise(t *testing.T, data []byte) {
	r := zeekreader.NewReader(bytes.NewReader(data), "fuzz.log", zeekreader.Options{MaxLine: 4096})
	ev := zeekreader.NewEventReader(r)
	ev.All = true
	var elems [][]byte
	for n := 0; n < 10000; n++ {
		e, err := ev.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			if zeekreader.IsRowError(err) {
				if err.Error() == "" {
					t.Fatal("empty error message")
				}
				continue
			}
			return
		}
		rec := e.Record
		if c := e.Conn; c != nil {
			// every count's Has flag, fast path or slow, says the field
			// is given, and a value not given is 0
			for _, f := range []struct {
				name string
				v    uint64
				has  bool
			}{
				{"orig_bytes", c.OrigBytes, c.HasOrigBytes}, {"resp_bytes", c.RespBytes, c.HasRespBytes},
				{"orig_pkts", c.OrigPkts, c.HasOrigPkts}, {"orig_ip_bytes", c.OrigIPBytes, c.HasOrigIPBytes},
				{"resp_pkts", c.RespPkts, c.HasRespPkts}, {"resp_ip_bytes", c.RespIPBytes, c.HasRespIPBytes},
			} {
				i := rec.Schema().Index(f.name)
				if f.has == rec.IsUnset(i) || !f.has && f.v != 0 {
					t.Fatalf("%s %d given %v, field unset %v", f.name, f.v, f.has, rec.IsUnset(i))
				}
			}
		}
		for i := -1; i <= rec.Len(); i++ {
			rec.IsUnset(i)
			rec.IsEmpty(i)
			rec.Bytes(i)
			rec.Uint(i)
			rec.Int(i)
			rec.Float(i)
			rec.Time(i)
			rec.Duration(i)
			rec.Bool(i)
			rec.Addr(i)
			elems = rec.Elems(i, elems[:0])
		}
	}
}

func FuzzTSV(f *testing.F) {
	addSeeds(f, "*.log")
	f.Add([]byte("#separator \\x09\n#fields\tts\ta\n#types\ttime\tset[string]\n1\ta,b\\x2cc\n"))
	f.Fuzz(exercise)
}

func FuzzJSON(f *testing.F) {
	addSeeds(f, "*.json")
	f.Add([]byte(`{"ts":"2018-03-24T17:15:20.865716Z","id":{"orig_h":"::1"},"a":["x\u0000",1]}` + "\n"))
	f.Fuzz(exercise)
}
