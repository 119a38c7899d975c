package features

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// unloggedRows is a host's 12 connections in one window, sending 550 kB
// and receiving nothing (resp_bytes 0 where the log gives it).
func unloggedRows(unset func(i int) bool) []window.Conn {
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var rows []window.Conn
	for i := range 12 {
		rows = append(rows, window.Conn{TS: t0.Add(time.Duration(i) * 20 * time.Second), Src: "10.0.0.5", Dst: fmt.Sprintf("198.51.100.%d", i%3+1),
			SPort: uint16(40000 + i), DPort: 443, State: "SF", OrigBytes: 45800, Duration: time.Second, OrigPkts: 40, RespPkts: 20,
			NoRespBytes: unset != nil && unset(i)})
	}
	return rows
}

// A host-window says which byte counts none of its conn rows gave
// (Vector.Unlogged): a conn log written without orig_bytes or resp_bytes
// (TSV with a trimmed #fields line, JSON without the keys), or with
// resp_bytes unset on every row. Its values are those of a log giving 0
// (the models' input is unchanged), and a snapshot taken mid-window
// keeps what the rows before it gave.
func TestUnloggedBytes(t *testing.T) {
	all := func(int) bool { return true }
	for _, c := range []struct {
		name  string
		json  bool
		omit  []string
		unset func(int) bool
		want  Unlogged
	}{
		{"TSV, every column", false, nil, nil, 0},
		{"TSV without resp_bytes", false, []string{"resp_bytes"}, nil, UnloggedIn},
		{"TSV without orig_bytes", false, []string{"orig_bytes"}, nil, UnloggedOut},
		{"TSV without either", false, []string{"orig_bytes", "resp_bytes"}, nil, UnloggedOut | UnloggedIn},
		{"TSV resp_bytes unset on every row", false, nil, all, UnloggedIn},
		{"TSV resp_bytes unset but on the last row", false, nil, func(i int) bool { return i != 11 }, 0},
		{"TSV resp_bytes unset but on the first row", false, nil, func(i int) bool { return i != 0 }, 0},
		{"JSON, every key", true, nil, nil, 0},
		{"JSON without resp_bytes", true, []string{"resp_bytes"}, nil, UnloggedIn},
		{"JSON without either", true, []string{"orig_bytes", "resp_bytes"}, nil, UnloggedOut | UnloggedIn},
	} {
		log := window.ConnLog(unloggedRows(c.unset), c.json, c.omit...)
		run := func(cut int) Vector {
			x := New(DefaultConfig())
			i := 0
			window.ReadLog(t, log, func(ev *zeekreader.Event) {
				if i == cut {
					b, err := x.Snapshot()
					if err != nil {
						t.Fatal(err)
					}
					x = New(DefaultConfig())
					if err := x.Restore(b); err != nil {
						t.Fatal(err)
					}
				}
				x.Observe(ev)
				i++
			})
			vs := x.Flush()
			if len(vs) != 1 {
				t.Fatalf("%s: %d vectors, want 1", c.name, len(vs))
			}
			return vs[0]
		}
		v := run(-1)
		if v.Unlogged != c.want {
			t.Errorf("%s: Unlogged %d, want %d", c.name, v.Unlogged, c.want)
		}
		out := 12 * 45800.0
		if c.want&UnloggedOut != 0 {
			out = 0
		}
		if v.Values[4] != out || v.Values[5] != 0 {
			t.Errorf("%s: bytes_out %v, bytes_in %v, want %v and 0", c.name, v.Values[4], v.Values[5], out)
		}
		for _, cut := range []int{1, 6, 11} {
			if r := run(cut); !reflect.DeepEqual(r, v) {
				t.Errorf("%s: restored after %d rows:\n got %+v\nwant %+v", c.name, cut, r, v)
			}
		}
	}
}
