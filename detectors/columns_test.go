package detectors

import (
	"bufio"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// needer is a detector of the given logs with the given Needs.
type needer struct {
	recorder
	name  string
	needs []Need
}

func (n *needer) Name() string  { return n.name }
func (n *needer) Needs() []Need { return n.needs }

// demoConn is the header and the first rows of testdata/demo/conn.log
// (a real Zeek conn log: 22 columns).
func demoConn(t *testing.T, rows int) (header, types []string, body [][]string) {
	t.Helper()
	f, err := os.Open("../testdata/demo/conn.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(body) < rows {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "#fields\t"):
			header = strings.Split(l, "\t")[1:]
		case strings.HasPrefix(l, "#types\t"):
			types = strings.Split(l, "\t")[1:]
		case !strings.HasPrefix(l, "#"):
			body = append(body, strings.Split(l, "\t"))
		}
	}
	if len(header) == 0 || len(types) != len(header) || len(body) < rows {
		t.Fatalf("demo conn log: %d columns, %d types, %d rows", len(header), len(types), len(body))
	}
	return header, types, body
}

// tsvBlock writes a header block of the demo log without the columns
// drop, with rows of its body.
func tsvBlock(t *testing.T, path string, rows int, drop ...string) string {
	header, types, body := demoConn(t, rows)
	var keep []int
	for i, n := range header {
		if !slices.Contains(drop, n) {
			keep = append(keep, i)
		}
	}
	pick := func(f []string) string {
		out := make([]string, len(keep))
		for j, i := range keep {
			out[j] = f[i]
		}
		return strings.Join(out, "\t")
	}
	var b strings.Builder
	b.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t" + path + "\n")
	b.WriteString("#fields\t" + pick(header) + "\n#types\t" + pick(types) + "\n")
	for _, r := range body {
		b.WriteString(pick(r) + "\n")
	}
	return b.String()
}

// checkAll reads each named log through zeekreader into c.
func checkAll(t *testing.T, c *ColumnCheck, logs ...[2]string) {
	t.Helper()
	for _, l := range logs {
		er := zeekreader.NewEventReader(zeekreader.NewReader(strings.NewReader(l[1]), l[0]))
		n := 0
		for {
			ev, err := er.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", l[0], err)
			}
			c.Check(ev)
			n++
		}
		if n == 0 {
			t.Fatalf("%s: no rows read", l[0])
		}
	}
}

func TestColumnCheck(t *testing.T) {
	conn := []zeekreader.Kind{zeekreader.KindConn}
	dets := []Detector{
		&needer{recorder{kinds: conn}, "exfil", []Need{{zeekreader.KindConn, []string{"orig_bytes"}, "outbound volume"}}},
		&needer{recorder{kinds: conn}, "dos", []Need{
			{zeekreader.KindConn, []string{"conn_state"}, "half-open connections"},
			{zeekreader.KindConn, []string{"duration", "orig_pkts"}, "one-way flows"}}},
		// a Need of a log the detector does not take is not checked
		&needer{recorder{kinds: conn}, "odd", []Need{{zeekreader.KindDNS, []string{"query"}, "queries"}}},
		&recorder{kinds: conn}, // no Needs
	}
	full := tsvBlock(t, "conn", 5)
	noBytes := tsvBlock(t, "conn", 5, "orig_bytes", "resp_bytes")
	lean := tsvBlock(t, "conn", 5, "orig_bytes", "duration", "conn_state", "history")
	json := `{"ts":1481764837.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":80,"proto":"tcp"}` + "\n"
	for _, tc := range []struct {
		name string
		logs [][2]string
		want []string
	}{
		{"full", [][2]string{{"conn.log", full}}, nil},
		{"json without the keys", [][2]string{{"conn.json", json}, {"b/conn.json", json}}, nil},
		{"no bytes", [][2]string{{"a/conn.log", noBytes}}, []string{
			"exfil: conn.log has no orig_bytes: outbound volume cannot be judged (a/conn.log)"}},
		{"each once over files and repeated headers", [][2]string{
			{"a/conn.log", noBytes + noBytes}, {"b/conn.log", full}, {"c/conn.log", noBytes}, {"d/conn.log", lean}, {"e/conn.log", lean}}, []string{
			"exfil: conn.log has no orig_bytes: outbound volume cannot be judged (a/conn.log)",
			"dos: conn.log has no conn_state: half-open connections cannot be judged (d/conn.log)",
			"dos: conn.log has no duration: one-way flows cannot be judged (d/conn.log)"}},
		{"header changed mid-file", [][2]string{{"conn.log", full + lean}}, []string{
			"exfil: conn.log has no orig_bytes: outbound volume cannot be judged (conn.log)",
			"dos: conn.log has no conn_state: half-open connections cannot be judged (conn.log)",
			"dos: conn.log has no duration: one-way flows cannot be judged (conn.log)"}},
		{"another log path", [][2]string{{"open_conn.log", tsvBlock(t, "open_conn", 2, "orig_bytes")}, {"conn.log", noBytes}}, []string{
			"exfil: open_conn.log has no orig_bytes: outbound volume cannot be judged (open_conn.log)",
			"exfil: conn.log has no orig_bytes: outbound volume cannot be judged (conn.log)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var warned []string
			c := NewColumnCheck(func(m Missing) { warned = append(warned, m.String()) }, dets...)
			checkAll(t, c, tc.logs...)
			if !slices.Equal(warned, tc.want) {
				t.Errorf("warned\n%q\nwant\n%q", warned, tc.want)
			}
			if len(c.Found) != len(warned) {
				t.Errorf("Found has %d, warned %d", len(c.Found), len(warned))
			}
		})
	}
	// the header change is seen at its first row, not at the end
	t.Run("warned at the change", func(t *testing.T) {
		var at []int64
		c := NewColumnCheck(func(Missing) { at = append(at, -1) }, dets[0])
		er := zeekreader.NewEventReader(zeekreader.NewReader(strings.NewReader(full+noBytes), "conn.log"))
		for {
			ev, err := er.Next()
			if err != nil {
				break
			}
			c.Check(ev)
			if len(at) > 0 && at[len(at)-1] == -1 {
				at[len(at)-1] = ev.Record.Line()
			}
		}
		// 7 header lines and 5 rows, then 7 header lines: line 20 is the
		// first row of the trimmed block
		if !slices.Equal(at, []int64{20}) {
			t.Errorf("warned at lines %v, want [20]", at)
		}
	})
	var nilCheck *ColumnCheck
	nilCheck.Check(&zeekreader.Event{}) // a nil check checks nothing
}
