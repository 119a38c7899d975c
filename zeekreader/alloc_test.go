package zeekreader_test

import (
	"bytes"
	"testing"

	"github.com/zeekanom/zeekanom/zeekreader"
	"github.com/zeekanom/zeekanom/zeekreader/zeekgen"
)

// TestNoAllocsPerRow: once the buffers are warm, reading and decoding a row
// allocates nothing, for TSV and for JSON (with a _path too, as
// json-streaming-logs and Corelight write it).
func TestNoAllocsPerRow(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counting reads 40k rows")
	}
	for _, in := range []struct{ json, path bool }{{false, false}, {true, false}, {true, true}} {
		json := in.json
		var buf bytes.Buffer
		zeekgen.Write(&buf, zeekgen.Options{Rows: 40000, Hosts: 100, JSON: json, Seed: 3})
		rows := buf.Bytes()
		if in.path {
			rows = bytes.ReplaceAll(rows, []byte("\n{"), []byte("\n{\"_path\":\"conn\","))
		}
		r := zeekreader.NewReader(bytes.NewReader(rows), "conn.log")
		var c zeekreader.Conn
		next := func() {
			rec, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if err := zeekreader.DecodeConn(rec, &c); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 1000; i++ { // warm up: schema, key cache, buffers
			next()
		}
		if a := testing.AllocsPerRun(20000, next); a > 0.01 {
			t.Errorf("json=%v _path=%v: %.3f allocations per row, want 0", json, in.path, a)
		}
	}
}
