package zeekreader_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/zeekanom/zeekanom/zeekreader"
)

const hdr = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"

// readAll returns the rows (as field→unescaped value maps of the given
// fields) and the row errors.
func readAll(t *testing.T, in string, fields ...string) (rows []map[string]string, rowErrs []error, fatal error) {
	t.Helper()
	r := zeekreader.NewReader(strings.NewReader(in), "test.log")
	defer r.Close()
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			if zeekreader.IsRowError(err) {
				rowErrs = append(rowErrs, err)
				continue
			}
			fatal = err
			return
		}
		m := map[string]string{}
		for _, f := range fields {
			i := rec.Schema().Index(f)
			switch {
			case rec.IsUnset(i):
				m[f] = "<unset>"
			case rec.IsEmpty(i):
				m[f] = "<empty>"
			default:
				m[f] = rec.String(i)
			}
		}
		rows = append(rows, m)
	}
}

func TestTSVDirectivesAndValues(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		fields []string
		want   []map[string]string
	}{
		{"separator as \\x09",
			hdr + "#fields\tts\tuid\n#types\ttime\tstring\n1.5\tCabc\n",
			[]string{"ts", "uid"}, []map[string]string{{"ts": "1.5", "uid": "Cabc"}}},
		{"separator written as a literal tab",
			"#separator\t\n#fields\tts\ta\n#types\ttime\tstring\n1\tx\n",
			[]string{"a"}, []map[string]string{{"a": "x"}}},
		{"separator as \\t",
			"#separator \\t\n#fields\tts\ta\n#types\ttime\tstring\n1\ty\n",
			[]string{"a"}, []map[string]string{{"a": "y"}}},
		{"other separator and set separator",
			"#separator |\n#set_separator|;\n#fields|ts|s\n#types|time|set[string]\n1|a;b\n",
			[]string{"s"}, []map[string]string{{"s": "a;b"}}},
		{"escapes: \\x09 tab, \\x0a newline, \\\\ backslash",
			hdr + "#fields\tts\tq\n#types\ttime\tstring\n1\ta\\x09b\\x0ac\\\\d\n",
			[]string{"q"}, []map[string]string{{"q": "a\tb\nc\\d"}}},
		{"unset versus empty versus literal",
			hdr + "#fields\tts\ta\tb\tc\n#types\ttime\tstring\tset[string]\tstring\n1\t-\t(empty)\t\\x2d\n",
			[]string{"a", "b", "c"}, []map[string]string{{"a": "<unset>", "b": "<empty>", "c": "-"}}},
		{"custom unset and empty markers",
			"#separator \\x09\n#empty_field\tEMPTY\n#unset_field\tNIL\n#fields\tts\ta\tb\n#types\ttime\tstring\tstring\n1\tNIL\tEMPTY\n",
			[]string{"a", "b"}, []map[string]string{{"a": "<unset>", "b": "<empty>"}}},
		{"header changes mid-stream",
			hdr + "#fields\tts\ta\n#types\ttime\tcount\n1\t5\n#close\tx\n" + hdr + "#fields\tts\tb\ta\n#types\ttime\tstring\tcount\n2\tz\t7\n",
			[]string{"a", "b"}, []map[string]string{{"a": "5", "b": "<unset>"}, {"a": "7", "b": "z"}}},
		{"Bro 2.x table[string] and missing local_resp",
			hdr + "#fields\tts\ttunnel_parents\n#types\ttime\ttable[string]\n1\t(empty)\n",
			[]string{"tunnel_parents", "local_resp"}, []map[string]string{{"tunnel_parents": "<empty>", "local_resp": "<unset>"}}},
		{"extension columns read without complaint",
			hdr + "#fields\t_write_ts\t_stream\t_system_name\tts\tmystery\n#types\ttime\tstring\tstring\ttime\tfancytype\n2\tconn\tsensor1\t1\t???\n",
			[]string{"_stream", "mystery"}, []map[string]string{{"_stream": "conn", "mystery": "???"}}},
		{"blank lines and indented header",
			"\t" + hdr + "\n#fields\tts\ta\n#types\ttime\tstring\n\n1\tq\n",
			[]string{"a"}, []map[string]string{{"a": "q"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, errs, fatal := readAll(t, c.in, c.fields...)
			if fatal != nil || len(errs) > 0 {
				t.Fatalf("errors: fatal=%v rows=%v", fatal, errs)
			}
			if len(rows) != len(c.want) {
				t.Fatalf("got %d rows %v, want %d", len(rows), rows, len(c.want))
			}
			for i := range rows {
				for k, v := range c.want[i] {
					if rows[i][k] != v {
						t.Errorf("row %d field %s = %q, want %q", i, k, rows[i][k], v)
					}
				}
			}
		})
	}
}

func TestTypedAccessors(t *testing.T) {
	in := hdr + "#fields\tts\tn\ti\td\tiv\tb\ta\tsn\tp\tv\n#types\ttime\tcount\tint\tdouble\tinterval\tbool\taddr\tsubnet\tport\tvector[count]\n" +
		"1379288667.706265\t18446744073709551615\t-42\t3.25\t0.000001\tT\t2001:db8::1\t10.0.0.0/8\t65535\t1,2,3\n"
	r := zeekreader.NewReader(strings.NewReader(in), "x.log")
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	s := rec.Schema()
	ts, ok := rec.Time(s.Index("ts"))
	if !ok || ts.UnixMicro() != 1379288667706265 {
		t.Errorf("ts = %v (exact microseconds expected)", ts)
	}
	if n, _ := rec.Uint(s.Index("n")); n != 18446744073709551615 {
		t.Errorf("count = %d", n)
	}
	if i, _ := rec.Int(s.Index("i")); i != -42 {
		t.Errorf("int = %d", i)
	}
	if d, _ := rec.Float(s.Index("d")); d != 3.25 {
		t.Errorf("double = %v", d)
	}
	if iv, _ := rec.Duration(s.Index("iv")); iv.Microseconds() != 1 {
		t.Errorf("interval = %v", iv)
	}
	if b, ok := rec.Bool(s.Index("b")); !ok || !b {
		t.Errorf("bool = %v %v", b, ok)
	}
	if a, _ := rec.Addr(s.Index("a")); a.String() != "2001:db8::1" {
		t.Errorf("addr = %v", a)
	}
	if p, _ := rec.Uint(s.Index("p")); p != 65535 {
		t.Errorf("port = %d", p)
	}
	if v := rec.Elems(s.Index("v"), nil); len(v) != 3 || string(v[2]) != "3" {
		t.Errorf("vector = %q", v)
	}
	if got := s.Fields[s.Index("v")]; got.Type != zeekreader.TypeVector || got.Elem != zeekreader.TypeCount {
		t.Errorf("vector type = %+v", got)
	}
	if rec.Line() != 8 {
		t.Errorf("line = %d, want 8", rec.Line())
	}
}

func TestJSON(t *testing.T) {
	in := `{"ts":1588205199.82437,"uid":"C1","id_orig_h":"10.0.1.6","id_orig_p":54243,"id_resp_h":"10.0.0.4","id_resp_p":53,"proto":"udp","@stream":"conn"}
{"_path":"conn","_write_ts":"2018-03-24T17:15:20.866586Z","ts":"2018-03-24T17:15:20.865716Z","uid":"C2","id.orig_h":"10.47.1.100","id.orig_p":1,"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","service":null,"tunnel_parents":[]}
{"ts":1.5,"uid":"C3","id":{"orig_h":"::1","orig_p":2,"resp_h":"::2","resp_p":3},"proto":"tcp","q":"a\u0009b\"c\\","answers":["x","y\n"]}
`
	r := zeekreader.NewReader(strings.NewReader(in), "conn.log")
	ev := zeekreader.NewEventReader(r)
	var got []string
	for {
		e, err := ev.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		c := e.Conn
		got = append(got, string(c.UID)+" "+c.TS.UTC().Format("2006-01-02T15:04:05.000000")+" "+c.Orig.String()+">"+c.Resp.String())
		if string(c.UID) == "C3" {
			s := e.Record.Schema()
			if q := e.Record.String(s.Index("q")); q != "a\tb\"c\\" {
				t.Errorf("unescaped q = %q", q)
			}
			if a := e.Record.Elems(s.Index("answers"), nil); len(a) != 2 || string(a[1]) != "y\n" {
				t.Errorf("answers = %q", a)
			}
		}
		if string(c.UID) == "C2" && !e.Record.IsEmpty(e.Record.Schema().Index("tunnel_parents")) {
			t.Errorf("[] should be empty")
		}
		if string(c.UID) == "C2" && !e.Record.IsUnset(e.Record.Schema().Index("service")) {
			t.Errorf("null should be unset")
		}
	}
	want := []string{
		"C1 2020-04-30T00:06:39.824370 10.0.1.6>10.0.0.4",
		"C2 2018-03-24T17:15:20.865716 10.47.1.100>10.0.0.100",
		"C3 1970-01-01T00:00:01.500000 ::1>::2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMalformedRowsAreSkippedWithFileLine(t *testing.T) {
	long := strings.Repeat("A", zeekreader.DefaultMaxLine+10)
	in := hdr + "#fields\tts\tid.orig_h\tn\n#types\ttime\taddr\tcount\n" +
		"1\t10.0.0.1\t5\n" + // line 8 ok
		"1\t10.0.0.1\n" + // 9: field count
		"1\tnot-an-ip\t5\n" + // 10: bad addr
		"1\t10.0.0.1\t5x\n" + // 11: bad number
		"\x00\x01\xff\xfe binary junk\n" + // 12
		long + "\n" + // 13: over-long line
		`{"ts":1,"broken` + "\n" + // 14: truncated JSON
		"2\t10.0.0.2\t6\n" // 15 ok
	rows, errs, fatal := readAll(t, in, "n")
	if fatal != nil {
		t.Fatal(fatal)
	}
	if len(rows) != 2 || rows[1]["n"] != "6" {
		t.Errorf("rows = %v", rows)
	}
	wantLines := []string{"test.log:9:", "test.log:10: field id.orig_h", "test.log:11: field n", "test.log:12:", "test.log:13:", "test.log:14:"}
	if len(errs) != len(wantLines) {
		t.Fatalf("errors = %v", errs)
	}
	for i, w := range wantLines {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i], w)
		}
	}
	if !errors.Is(errs[4], zeekreader.ErrLineTooLong) {
		t.Errorf("long line error = %v", errs[4])
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestGzipByMagicAndTruncation(t *testing.T) {
	var plain bytes.Buffer
	plain.WriteString(hdr + "#fields\tts\tn\n#types\ttime\tcount\n")
	for i := 0; i < 20000; i++ {
		plain.WriteString("1\t123456789\n")
	}
	z := gz(plain.Bytes())
	// Named .log, content gzip: detected by magic.
	rows, errs, fatal := readAll(t, string(z), "n")
	if fatal != nil || len(errs) > 0 || len(rows) != 20000 {
		t.Fatalf("gzip: %d rows, errs %v, fatal %v", len(rows), errs, fatal)
	}
	// Truncated: the rows before the damage, then a clear error.
	rows, _, fatal = readAll(t, string(z[:len(z)/2]), "n")
	if fatal == nil || !strings.Contains(fatal.Error(), "truncated or corrupt gzip") {
		t.Fatalf("truncated gzip error = %v", fatal)
	}
	if len(rows) == 0 || len(rows) >= 20000 {
		t.Errorf("rows before damage = %d", len(rows))
	}
}

func TestLiveModeKeepsPartialLine(t *testing.T) {
	pr, pw := io.Pipe()
	_ = pr
	f, err := os.CreateTemp(t.TempDir(), "conn.log")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(hdr + "#fields\tts\tn\n#types\ttime\tcount\n1\t1\n2\t2")
	rf, _ := os.Open(f.Name())
	r := zeekreader.NewReader(rf, f.Name(), zeekreader.Options{Live: true})
	defer r.Close()
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	end := rec.EndOffset()
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("partial line: got %v, want io.EOF", err)
	}
	if r.Offset() != end {
		t.Errorf("offset moved past the partial line: %d != %d", r.Offset(), end)
	}
	f.WriteString("2\n")
	rec, err = r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := rec.Uint(1); n != 22 {
		t.Errorf("completed line value = %d, want 22", n)
	}
	pw.Close()
}

func TestLazyParsesOnAccess(t *testing.T) {
	in := hdr + "#fields\tts\tn\ta\n#types\ttime\tcount\taddr\n1.5\t12x\t10.0.0.1\n2\t7\tnope\n"
	r := zeekreader.NewReader(strings.NewReader(in), "x.log", zeekreader.Options{Lazy: true})
	var got []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("lazy mode reported %v at Next", err)
		}
		n, nok := rec.Uint(1)
		a, aok := rec.Addr(2)
		ts, _ := rec.Time(0)
		got = append(got, fmt.Sprintf("%d %v %v %v %v", ts.UnixMilli(), n, nok, a, aok))
	}
	want := []string{"1500 0 false 10.0.0.1 true", "2000 7 true invalid IP false"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestParseAddrAgreesWithNetip: the reader takes what netip takes, less
// an IPv6 zone (Zeek writes none; see TestAddrZoneIsDropped).
func TestParseAddrAgreesWithNetip(t *testing.T) {
	for _, s := range []string{"10.0.0.1", "255.255.255.255", "0.0.0.0", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4",
		"1..2.3", ".1.2.3", "1.2.3.", "::1", "fe80::1%eth0", "2001:db8::1", "", "1.2.3.4x", "::ffff:1.2.3.4", "1.2.3.04", "1.2.3.4%eth0"} {
		want, werr := netip.ParseAddr(s)
		want = want.WithZone("")
		r := zeekreader.NewReader(strings.NewReader(hdr+"#fields\tts\ta\n#types\ttime\taddr\n1\t"+s+"\n"), "x.log")
		rec, err := r.Next()
		if (err != nil) != (werr != nil) {
			t.Errorf("%q: reader error %v, netip error %v", s, err, werr)
			continue
		}
		if err == nil {
			if got, _ := rec.Addr(1); got != want {
				t.Errorf("%q: got %v, netip %v", s, got, want)
			}
		}
	}
}

// TestAccessorsAcrossTypes asks a column for another numeric type than it
// was declared with: the answer comes from the value, never from the bits
// the typed parse stored (a double's float bits are not a count).
func TestAccessorsAcrossTypes(t *testing.T) {
	in := hdr + "#fields\td\tdi\tiv\tn\ti\tneg\tts\n#types\tdouble\tdouble\tinterval\tcount\tint\tint\ttime\n" +
		"1.5\t12.0\t3.0\t7\t9\t-4\t1379288667.0\n"
	rec, err := zeekreader.NewReader(strings.NewReader(in), "x.log").Next()
	if err != nil {
		t.Fatal(err)
	}
	s := rec.Schema()
	uints := []struct {
		f    string
		want uint64
		ok   bool
	}{{"d", 0, false}, {"di", 12, true}, {"iv", 3, true}, {"n", 7, true}, {"i", 9, true}, {"neg", 0, false}, {"ts", 1379288667, true}}
	for _, c := range uints {
		if got, ok := rec.Uint(s.Index(c.f)); got != c.want || ok != c.ok {
			t.Errorf("Uint(%s) = %d, %v; want %d, %v", c.f, got, ok, c.want, c.ok)
		}
	}
	ints := []struct {
		f    string
		want int64
		ok   bool
	}{{"d", 0, false}, {"di", 12, true}, {"n", 7, true}, {"i", 9, true}, {"neg", -4, true}, {"ts", 1379288667, true}}
	for _, c := range ints {
		if got, ok := rec.Int(s.Index(c.f)); got != c.want || ok != c.ok {
			t.Errorf("Int(%s) = %d, %v; want %d, %v", c.f, got, ok, c.want, c.ok)
		}
	}
}

// The Stratosphere label columns are read under each spelling their
// captures use (detailedlabel; IoT-23's detailed-label).
func TestDetailedLabelSpellings(t *testing.T) {
	for _, name := range []string{"detailedlabel", "detailed-label", "detailed_label"} {
		log := "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tlabel\t" + name + "\n" +
			"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tstring\n" +
			"1700000000.000000\tCx1\t10.0.0.1\t1234\t10.0.0.2\t80\ttcp\tMalicious\tC&C-HeartBeat\n"
		ev, err := zeekreader.NewEventReader(zeekreader.NewReader(strings.NewReader(log), "conn.log")).Next()
		if err != nil {
			t.Fatal(name, err)
		}
		if string(ev.Conn.Label) != "Malicious" || string(ev.Conn.DetailedLabel) != "C&C-HeartBeat" {
			t.Errorf("%s: label %q detailed %q", name, ev.Conn.Label, ev.Conn.DetailedLabel)
		}
	}
}

// A JSON row's _path is its log's path, row by row: one stream may hold
// every log (a Corelight sensor's export, json-streaming-logs' files
// concatenated). A row without one is the log its file's name (or
// Options.Path, a log's name as a file's is) says. The rows of a stream
// of several logs were all the first row's log.
func TestJSONPathOfEachRow(t *testing.T) {
	rows := `{"_path":"dns","_system_name":"sensor1","ts":1,"id.orig_h":"10.0.0.1","id.orig_p":5,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"a.example"}
{"_path":"conn","_system_name":"sensor1","ts":2,"id.orig_h":"10.0.0.1","id.orig_p":6,"id.resp_h":"10.0.0.2","id.resp_p":443,"proto":"tcp"}
{"_path":"ssl","ts":3,"id.orig_h":"10.0.0.1","id.orig_p":6,"id.resp_h":"10.0.0.2","id.resp_p":443,"server_name":"b.example"}
{"_path":"weird","ts":4,"name":"bad_TCP_checksum"}
{"_path":"http","ts":5,"id.orig_h":"10.0.0.1","id.orig_p":7,"id.resp_h":"10.0.0.2","id.resp_p":80,"host":"c.example"}
{"_path":"c\u006fnn","ts":6,"id.orig_h":"10.0.0.1","id.orig_p":8,"id.resp_h":"10.0.0.2","id.resp_p":80}
{"ts":7,"id.orig_h":"10.0.0.1","id.orig_p":9,"id.resp_h":"10.0.0.2","id.resp_p":80}
`
	for _, c := range []struct {
		name, path string
		want       string // each row's kind
	}{
		{"corelight-export.json", "", "dns conn ssl other http conn other"},
		{"conn.log", "", "dns conn ssl other http conn conn"},
		{"json_streaming_dns.1.log", "", "dns conn ssl other http conn dns"},
		{"x.log", "json_streaming_http", "dns conn ssl other http conn http"},
		{"x.log", "dns", "dns conn ssl other http conn dns"},
	} {
		er := zeekreader.NewEventReader(zeekreader.NewReader(strings.NewReader(rows), c.name, zeekreader.Options{Path: c.path}))
		er.All = true
		var got []string
		for {
			ev, err := er.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			got = append(got, ev.Kind.String())
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s (Path %q): kinds %s\nwant %s", c.name, c.path, g, c.want)
		}
	}
}

// The forms of one instant a JSON log's ts takes (LogAscii::json_timestamps
// and what exports make of it) read as that instant: epoch seconds
// (TS_EPOCH), milliseconds (TS_MILLIS and TS_MILLIS_UNSIGNED write
// int64(ts * 1000)) and ISO-8601 (TS_ISO8601, or another zone, precision
// or separator). Milliseconds were a bad value, every row of such a log
// skipped.
func TestJSONTimestampForms(t *testing.T) {
	at := time.Date(2018, 11, 2, 7, 35, 57, 488000000, time.UTC)
	for _, c := range []struct {
		ts   string
		want time.Time
	}{
		{`1541144157.488`, at}, // TS_EPOCH
		{`1541144157.488795`, at.Add(795 * time.Microsecond)},
		{`1541144157`, at.Truncate(time.Second)},
		{`1541144157488`, at},                 // TS_MILLIS
		{`1541144157488.0`, time.Time{}},      // a double past year 2255 is no time
		{`"2018-11-02T07:35:57.488000Z"`, at}, // TS_ISO8601
		{`"2018-11-02T07:35:57.488Z"`, at},
		{`"2018-11-02T07:35:57Z"`, at.Truncate(time.Second)},
		{`"2018-11-02T08:35:57.488+01:00"`, at},
		{`"2018-11-02T02:35:57.488-0500"`, at},
		{`"2018-11-02 07:35:57.488"`, at},
		{`9000000000`, time.Date(2255, 3, 14, 16, 0, 0, 0, time.UTC)}, // seconds up to maxEpochSec
		{`9000000001`, time.Unix(9000000, 1e6).UTC()},                 // milliseconds past it: April 1970
		{`9000000000001`, time.Unix(9000000000, 1e6).UTC()},
		{`9000000001000`, time.Time{}}, // milliseconds past year 2255
		{`-1541144157488`, time.Time{}},
	} {
		r := zeekreader.NewReader(strings.NewReader(`{"ts":`+c.ts+`,"uid":"C1"}`), "conn.log")
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("%s: %v", c.ts, err)
		}
		got, ok := rec.Time(rec.Schema().Index("ts"))
		if ok != !c.want.IsZero() || !got.Equal(c.want) {
			t.Errorf("ts %s: %v %v, want %v", c.ts, got, ok, c.want)
		}
	}
}

// A conn row says whether it gives resp_bytes: a TSV "-", a column the
// log does not have and a JSON field left out or null give none, which a
// RespBytes of 0 alone did not tell from an answer of no data.
func TestConnHasRespBytes(t *testing.T) {
	const tsv = "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\t"
	const types = "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\t"
	const json = `{"ts":1700000000,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1234,"id.resp_h":"10.0.0.2","id.resp_p":80,"proto":"tcp"`
	for _, c := range []struct {
		name, log string
		resp      uint64
		has       bool
	}{
		{"TSV 0", hdr + tsv + "orig_bytes\tresp_bytes\n" + types + "count\tcount\n1700000000.000000\tC1\t10.0.0.1\t1234\t10.0.0.2\t80\ttcp\t5\t0\n", 0, true},
		{"TSV 900", hdr + tsv + "orig_bytes\tresp_bytes\n" + types + "count\tcount\n1700000000.000000\tC1\t10.0.0.1\t1234\t10.0.0.2\t80\ttcp\t5\t900\n", 900, true},
		{"TSV unset", hdr + tsv + "orig_bytes\tresp_bytes\n" + types + "count\tcount\n1700000000.000000\tC1\t10.0.0.1\t1234\t10.0.0.2\t80\ttcp\t5\t-\n", 0, false},
		{"TSV without the column", hdr + tsv + "orig_bytes\n" + types + "count\n1700000000.000000\tC1\t10.0.0.1\t1234\t10.0.0.2\t80\ttcp\t5\n", 0, false},
		{"TSV orig_bytes unset", hdr + tsv + "orig_bytes\tresp_bytes\n" + types + "count\tcount\n1700000000.000000\tC1\t10.0.0.1\t1234\t10.0.0.2\t80\ttcp\t-\t7\n", 7, true},
		{"JSON 0", json + `,"orig_bytes":5,"resp_bytes":0}` + "\n", 0, true},
		{"JSON 900", json + `,"orig_bytes":5,"resp_bytes":900}` + "\n", 900, true},
		{"JSON null", json + `,"orig_bytes":5,"resp_bytes":null}` + "\n", 0, false},
		{"JSON left out", json + `,"orig_bytes":5}` + "\n", 0, false},
	} {
		ev, err := zeekreader.NewEventReader(zeekreader.NewReader(strings.NewReader(c.log), "conn.log")).Next()
		if err != nil {
			t.Fatal(c.name, err)
		}
		if ev.Conn.RespBytes != c.resp || ev.Conn.HasRespBytes != c.has {
			t.Errorf("%s: resp_bytes %d (given %v), want %d (%v)", c.name, ev.Conn.RespBytes, ev.Conn.HasRespBytes, c.resp, c.has)
		}
	}
}

// A conn row says whether it gives resp_pkts, as it does of resp_bytes:
// Zeek logs a 0 where it leaves resp_bytes unset (a one-packet
// connection), a trimmed config may log neither, and a JSON writer may
// leave out a zero.
func TestConnHasRespPkts(t *testing.T) {
	const tsv = "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tresp_bytes\t"
	const types = "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\t"
	const row = "1700000000.000000\tC1\t10.0.0.1\t1234\t10.0.0.2\t53\tudp\t-\t"
	const json = `{"ts":1700000000,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1234,"id.resp_h":"10.0.0.2","id.resp_p":53,"proto":"udp"`
	const pkts = "orig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\n"
	const ptypes = "count\tcount\tcount\tcount\n"
	for _, c := range []struct {
		name, log string
		resp      uint64
		has       bool
	}{
		{"TSV 0, resp_bytes unset", hdr + tsv + pkts + types + ptypes + row + "1\t70\t0\t0\n", 0, true},
		{"TSV 3", hdr + tsv + pkts + types + ptypes + row + "3\t210\t3\t450\n", 3, true},
		{"TSV unset", hdr + tsv + pkts + types + ptypes + row + "1\t70\t-\t-\n", 0, false},
		{"TSV without the column", hdr + tsv + "orig_pkts\torig_ip_bytes\n" + types + "count\tcount\n" + row + "1\t70\n", 0, false},
		{"TSV orig_pkts unset", hdr + tsv + pkts + types + ptypes + row + "-\t-\t2\t300\n", 2, true},
		{"JSON 0", json + `,"orig_pkts":1,"resp_pkts":0}` + "\n", 0, true},
		{"JSON 3", json + `,"orig_pkts":3,"resp_pkts":3}` + "\n", 3, true},
		{"JSON null", json + `,"orig_pkts":1,"resp_pkts":null}` + "\n", 0, false},
		{"JSON left out", json + `,"orig_pkts":1}` + "\n", 0, false},
	} {
		ev, err := zeekreader.NewEventReader(zeekreader.NewReader(strings.NewReader(c.log), "conn.log")).Next()
		if err != nil {
			t.Fatal(c.name, err)
		}
		if ev.Conn.RespPkts != c.resp || ev.Conn.HasRespPkts != c.has {
			t.Errorf("%s: resp_pkts %d (given %v), want %d (%v)", c.name, ev.Conn.RespPkts, ev.Conn.HasRespPkts, c.resp, c.has)
		}
	}
}

// Every count of a conn row a notice may show says whether the row gave
// it: each of the six, given ("-" in TSV, null in JSON), left out of the
// log, or left out of a JSON row, alone while the others are given (the
// fast path takes them in groups, the slow one each by itself).
func TestConnHasCounts(t *testing.T) {
	cols := []string{"orig_bytes", "resp_bytes", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes"}
	get := func(c *zeekreader.Conn) (v [6]uint64, has [6]bool) {
		return [6]uint64{c.OrigBytes, c.RespBytes, c.OrigPkts, c.OrigIPBytes, c.RespPkts, c.RespIPBytes},
			[6]bool{c.HasOrigBytes, c.HasRespBytes, c.HasOrigPkts, c.HasOrigIPBytes, c.HasRespPkts, c.HasRespIPBytes}
	}
	const tsvHead = "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto"
	const tsvTypes = "#types\ttime\tstring\taddr\tport\taddr\tport\tenum"
	const tsvRow = "1700000000.000000\tC1\t10.0.0.1\t1234\t10.0.0.2\t53\tudp"
	const jsonRow = `{"ts":1700000000,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1234,"id.resp_h":"10.0.0.2","id.resp_p":53,"proto":"udp"`
	// log gives the row with column miss not given (-1: all given)
	type form struct {
		name string
		log  func(miss int) string
	}
	forms := []form{
		{"TSV -", func(miss int) string {
			h, ty, r := tsvHead, tsvTypes, tsvRow
			for i, c := range cols {
				h, ty = h+"\t"+c, ty+"\tcount"
				if i == miss {
					r += "\t-"
				} else {
					r += "\t" + strconv.Itoa(i+1)
				}
			}
			return hdr + h + "\n" + ty + "\n" + r + "\n"
		}},
		{"TSV without the column", func(miss int) string {
			h, ty, r := tsvHead, tsvTypes, tsvRow
			for i, c := range cols {
				if i != miss {
					h, ty, r = h+"\t"+c, ty+"\tcount", r+"\t"+strconv.Itoa(i+1)
				}
			}
			return hdr + h + "\n" + ty + "\n" + r + "\n"
		}},
		{"JSON null", func(miss int) string {
			r := jsonRow
			for i, c := range cols {
				if i == miss {
					r += `,"` + c + `":null`
				} else {
					r += `,"` + c + `":` + strconv.Itoa(i+1)
				}
			}
			return r + "}\n"
		}},
		{"JSON left out", func(miss int) string {
			r := jsonRow
			for i, c := range cols {
				if i != miss {
					r += `,"` + c + `":` + strconv.Itoa(i+1)
				}
			}
			return r + "}\n"
		}},
	}
	for _, f := range forms {
		for miss := -1; miss < len(cols); miss++ {
			ev, err := zeekreader.NewEventReader(zeekreader.NewReader(strings.NewReader(f.log(miss)), "conn.log")).Next()
			if err != nil {
				t.Fatal(f.name, miss, err)
			}
			v, has := get(ev.Conn)
			for i, c := range cols {
				want, wantHas := uint64(i+1), i != miss
				if !wantHas {
					want = 0
				}
				if v[i] != want || has[i] != wantHas {
					t.Errorf("%s, %d not given: %s %d (given %v), want %d (%v)", f.name, miss, c, v[i], has[i], want, wantHas)
				}
			}
		}
	}
}
